"""Identifiers in REFI-QDA files: stable GUIDs on export, clean code ids on import.

GUIDs are uuid5 values derived from the project's own uid (or, for a codebook file, from the
codebook's name) and a readable key such as ``code:impact/sociaal``, so exporting the same
project twice gives the same GUIDs and the files diff cleanly.
"""

from __future__ import annotations

import re
import unicodedata
import uuid

_CODEBOOK_NAMESPACE = uuid.UUID("6f1d0c4e-5b7a-5c8e-9d3f-0a1b2c3d4e5f")
_SLUG_RE = re.compile(r"[^a-z0-9]+")


class Guids:
    """GUIDs for the objects of one project (or codebook), derived from its namespace."""

    def __init__(self, namespace: uuid.UUID) -> None:
        self.namespace = namespace

    @classmethod
    def for_project(cls, project_uid: str) -> Guids:
        return cls(uuid.UUID(project_uid))

    @classmethod
    def for_codebook(cls, name: str) -> Guids:
        return cls(uuid.uuid5(_CODEBOOK_NAMESPACE, name))

    def __call__(self, kind: str, key: str) -> str:
        return str(uuid.uuid5(self.namespace, f"{kind}:{key}"))


def normalise_guid(value: str) -> str:
    """GUIDs compare case-insensitively and may be written with braces (``{...}``)."""
    return value.strip().strip("{}").lower()


def slug(name: str) -> str:
    """A code id from a code name: lowercase ASCII letters, digits and ``_``.

    ``Sociale impact`` → ``sociale_impact``, ``Financiële zorgen`` → ``financiele_zorgen``.
    """
    decomposed = unicodedata.normalize("NFKD", name.casefold())
    ascii_only = "".join(c for c in decomposed if not unicodedata.combining(c))
    return _SLUG_RE.sub("_", ascii_only).strip("_") or "code"


def unique(candidate: str, taken: set[str]) -> str:
    """``candidate``, or ``candidate_2``, ``candidate_3``... when it is already taken."""
    if candidate not in taken:
        return candidate
    n = 2
    while f"{candidate}_{n}" in taken:
        n += 1
    return f"{candidate}_{n}"
