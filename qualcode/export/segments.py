"""``coded_segments.csv`` / ``.xlsx``: one row per (segment, code).

Every coded-unit segment appears at least once (a segment without codes has one row with an
empty ``code``), in document and segment order.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from qualcode.errors import QualcodeError
from qualcode.segments import coded_units, effective_codings
from qualcode.store import Project

COLUMNS = [
    "document", "segment_id", "order", "speaker", "role", "start", "end", "text", "code",
    "label", "status", "score", "source", "explanation",
]  # fmt: skip


def coded_segment_rows(
    project: Project,
    *,
    statuses: Iterable[str] | None = None,
    coder: str | None = None,
    codes: set[str] | None = None,
) -> list[dict[str, Any]]:
    codings = effective_codings(project, coder=coder, statuses=statuses)
    rows: list[dict[str, Any]] = []
    for seg in coded_units(project):
        base = {
            "document": seg.document,
            "segment_id": seg.id,
            "order": seg.order,
            "speaker": seg.speaker,
            "role": seg.role,
            "start": seg.start,
            "end": seg.end,
            "text": seg.text,
        }
        mine = [c for c in codings.get(seg.id, []) if codes is None or c.code in codes]
        if not mine:
            rows.append(
                {
                    **base,
                    "code": "",
                    "label": "",
                    "status": "",
                    "score": None,
                    "source": "",
                    "explanation": "",
                }
            )
            continue
        for c in mine:
            rows.append(
                {
                    **base,
                    "code": c.code,
                    "label": c.label,
                    "status": c.status,
                    "score": round(c.score, 3) if c.score is not None else None,
                    "source": c.source,
                    "explanation": c.explanation,
                }
            )
    return rows


def write_segments(rows: list[dict[str, Any]], path: str | Path) -> Path:
    from qualcode.export.tables import write_csv, write_table

    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    suffix = target.suffix.lower()
    if suffix == ".csv":
        write_csv(target, COLUMNS, rows)
    elif suffix == ".xlsx":
        write_table(
            target,
            [("coded segments", COLUMNS, rows)],
            widths={
                "document": 28,
                "text": 80,
                "code": 36,
                "label": 24,
                "explanation": 60,
                "speaker": 16,
                "role": 18,
            },
            wrap=("text", "explanation"),
        )
    else:
        raise QualcodeError(f"cannot write '{target.name}'", "use a .csv or .xlsx file name")
    return target


def export_segments(
    project: Project,
    path: str | Path,
    *,
    statuses: Iterable[str] | None = None,
    coder: str | None = None,
) -> Path:
    """Write coded segments to ``path`` (.csv or .xlsx)."""
    return write_segments(coded_segment_rows(project, statuses=statuses, coder=coder), path)
