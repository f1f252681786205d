"""Pseudonymisation of a project (AVG/GDPR): find identifiers, replace them consistently,
keep the key outside the project. See ``docs/privacy.md``."""

from __future__ import annotations

from qualcode.privacy.check import Suspect, check_project
from qualcode.privacy.pseudonymise import (
    PrivacyOptions,
    PseudonymiseReport,
    ingest_pseudonymised,
    pseudonymise,
)

__all__ = [
    "PrivacyOptions",
    "PseudonymiseReport",
    "Suspect",
    "check_project",
    "ingest_pseudonymised",
    "pseudonymise",
]
