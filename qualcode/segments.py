"""Read-side queries about segments: the coding units and their codings."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from qualcode.models import MACHINE_CODER, Segment
from qualcode.store import Project

_SEGMENT_SQL = """
    SELECT s.id, s.document_id, d.name AS document, s.ord, t.ord AS turn_order,
           sp.label AS speaker, sp.role, sp.is_interviewer, s.start, s.end, s.has_words,
           substr(d.text, s.start + 1, s.end - s.start) AS text, t.timestamp
    FROM segments s
    JOIN documents d ON d.id = s.document_id
    JOIN turns t ON t.id = s.turn_id
    JOIN speakers sp ON sp.id = t.speaker_id
"""


def _segment(r: Any) -> Segment:
    return Segment(
        id=r["id"],
        document_id=r["document_id"],
        document=r["document"],
        order=r["ord"],
        turn_order=r["turn_order"],
        speaker=r["speaker"],
        role=r["role"],
        is_interviewer=bool(r["is_interviewer"]),
        start=r["start"],
        end=r["end"],
        text=r["text"],
        timestamp=r["timestamp"],
    )


def all_segments(project: Project) -> list[Segment]:
    """Every segment, in document and segment order (interviewer turns included)."""
    rows = project.conn.execute(_SEGMENT_SQL + " ORDER BY d.name, s.ord").fetchall()
    return [_segment(r) for r in rows]


def coded_units(project: Project) -> list[Segment]:
    """Segments that are data: not interviewer/moderator, not annotation-only."""
    rows = project.conn.execute(
        _SEGMENT_SQL + " WHERE sp.is_interviewer = 0 AND s.has_words = 1 ORDER BY d.name, s.ord"
    ).fetchall()
    return [_segment(r) for r in rows]


@dataclass(frozen=True)
class CodingRow:
    segment_id: int
    code: str
    label: str
    coder: str
    status: str
    score: float | None
    source: str | None
    explanation: str | None


def effective_codings(
    project: Project, *, coder: str | None = None, statuses: Iterable[str] | None = None
) -> dict[int, list[CodingRow]]:
    """Codings per segment as a researcher sees them.

    A person's decision (accepted, rejected, manual) stands for itself; a machine suggestion
    is shown as ``suggested`` only while no person (or, with ``coder``, that person) has
    decided on the same segment and code.
    """
    rows = project.conn.execute(
        """
        SELECT c.segment_id, k.path, k.label, c.coder, c.status, c.score, c.source,
               c.explanation, k.ord
        FROM codings c JOIN codes k ON k.id = c.code_id
        ORDER BY c.segment_id, k.ord, c.coder
        """
    ).fetchall()
    decided = {
        (r["segment_id"], r["path"])
        for r in rows
        if r["coder"] != MACHINE_CODER and (coder is None or r["coder"] == coder)
    }
    wanted = set(statuses) if statuses else None
    out: dict[int, list[CodingRow]] = {}
    for r in rows:
        machine = r["coder"] == MACHINE_CODER
        if machine and (r["segment_id"], r["path"]) in decided:
            continue
        if not machine and coder is not None and r["coder"] != coder:
            continue
        if wanted is not None and r["status"] not in wanted:
            continue
        out.setdefault(r["segment_id"], []).append(
            CodingRow(
                r["segment_id"],
                r["path"],
                r["label"],
                r["coder"],
                r["status"],
                r["score"],
                r["source"],
                r["explanation"],
            )
        )
    return out
