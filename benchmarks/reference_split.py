"""The reference coding split the way docs/quality.md reports it (shared by the scripts here).

"A" is what coder A coded (the half the scoring parameters were looked at on), "B" the passages
only coder B coded (held out).
"""

from __future__ import annotations

import csv
from pathlib import Path

from qualcode.codebook import Codebook
from qualcode.evaluate import load_reference
from qualcode.segments import all_segments
from qualcode.store import Project

REF = Path(__file__).resolve().parent.parent / "corpus" / "reference"


def reference_splits(project: Project, book: Codebook) -> dict[str, dict[int, set[str]]]:
    """``{"all": ..., "A": ..., "B": ...}``: segment id → reference codes (with ancestors)."""
    reference = load_reference(REF / "reference.csv", project, book)
    key = {(s.document, s.order): s.id for s in all_segments(project)}
    coder_a = {
        key[(r["document"], int(r["order"]))]
        for r in csv.DictReader((REF / "coder_a.csv").open(encoding="utf-8"))
    }
    return {
        "all": reference,
        "A": {k: v for k, v in reference.items() if k in coder_a},
        "B": {k: v for k, v in reference.items() if k not in coder_a},
    }
