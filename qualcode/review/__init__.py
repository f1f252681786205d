"""Reviewing the machine's suggestions: which are open for a coder, and in what order.

A suggestion only becomes a coding when a person accepts it. Researchers review either in a
spreadsheet (:mod:`qualcode.review.spreadsheet`) or one suggestion at a time in the terminal
(:mod:`qualcode.review.terminal`); both take their list from :func:`review_items` and write
through :mod:`qualcode.coding`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from qualcode.coding import CodeRef, check_coder, find_code, project_codes
from qualcode.errors import QualcodeError
from qualcode.models import MACHINE_CODER, Segment
from qualcode.segments import all_segments
from qualcode.store import Project

ORDERS = ("document", "score", "uncertain")


@dataclass(frozen=True)
class ReviewItem:
    """One suggestion (segment + code) as a reviewer sees it."""

    segment: Segment
    code: CodeRef
    score: float | None
    explanation: str
    context: str  # the previous turn, 'Label: text' (usually the question asked)
    decision: str | None = None  # the coder's own status for this segment and code, if any


def uncertainty(score: float | None, threshold: float) -> float:
    """How sure the model is: the distance of the score from the threshold (0 = least sure).

    Kept a function of the stored score only, so it stays right whatever model produced it.
    """
    return math.inf if score is None else abs(score - threshold)


def order_items(items: list[ReviewItem], order: str, threshold: float) -> list[ReviewItem]:
    """``document`` (reading order), ``score`` (most certain first) or ``uncertain`` (closest
    to the threshold first: where a decision teaches the model most)."""
    if order not in ORDERS:
        raise QualcodeError(f"unknown order '{order}'", "use one of: " + ", ".join(ORDERS))
    ranks = {}
    for item in items:
        reading = (item.segment.document, item.segment.order, item.code.path)
        if order == "score":
            ranks[id(item)] = (-(item.score or 0.0), *reading)
        elif order == "uncertain":
            ranks[id(item)] = (uncertainty(item.score, threshold), *reading)
        else:
            ranks[id(item)] = reading
    return sorted(items, key=lambda item: ranks[id(item)])


def previous_turns(project: Project) -> dict[tuple[int, int], str]:
    """(document id, turn order) → 'Label: text' of that turn, for showing context."""
    rows = project.conn.execute(
        """
        SELECT t.document_id, t.ord, sp.label, substr(d.text, t.start + 1, t.end - t.start) AS text
        FROM turns t JOIN speakers sp ON sp.id = t.speaker_id JOIN documents d
          ON d.id = t.document_id
        """
    )
    return {(r["document_id"], r["ord"]): f"{r['label']}: {r['text']}" for r in rows}


def review_items(
    project: Project,
    coder: str,
    *,
    code: str | None = None,
    order: str = "document",
    include_decided: bool = False,
) -> list[ReviewItem]:
    """The suggestions still open for ``coder`` (no decision by them yet), in ``order``.

    ``code`` limits the list to a code and its sub-codes. With ``include_decided`` the coder's
    earlier decisions are listed too, with ``decision`` filled in (also decisions on
    suggestions that a later ``suggest`` run no longer makes).
    """
    coder = check_coder(coder)
    codes = project_codes(project)
    by_id = {c.id: c for c in codes}
    wanted = None
    if code:
        top = find_code(project, code, codes)
        wanted = {c.id for c in codes if c.path == top.path or c.path.startswith(top.path + "/")}
    rows = project.conn.execute(
        """
        SELECT c.segment_id, c.code_id, c.score, c.explanation, mine.status AS decision
        FROM codings c LEFT JOIN codings mine
          ON mine.segment_id = c.segment_id AND mine.code_id = c.code_id AND mine.coder = ?
        WHERE c.coder = ? AND c.status = 'suggested'
        """,
        (coder, MACHINE_CODER),
    ).fetchall()
    if include_decided:
        rows += project.conn.execute(
            """
            SELECT mine.segment_id, mine.code_id, mine.score, mine.explanation,
                   mine.status AS decision
            FROM codings mine
            WHERE mine.coder = ? AND mine.status IN ('accepted', 'rejected') AND NOT EXISTS (
                SELECT 1 FROM codings c WHERE c.segment_id = mine.segment_id
                  AND c.code_id = mine.code_id AND c.coder = ? AND c.status = 'suggested')
            """,
            (coder, MACHINE_CODER),
        ).fetchall()
    segments = {s.id: s for s in all_segments(project)}
    context = previous_turns(project)
    items = []
    for r in rows:
        segment = segments.get(r["segment_id"])
        if segment is None or segment.is_interviewer:
            continue
        if wanted is not None and r["code_id"] not in wanted:
            continue
        if r["decision"] is not None and not include_decided:
            continue
        items.append(
            ReviewItem(
                segment,
                by_id[r["code_id"]],
                r["score"],
                r["explanation"] or "",
                context.get((segment.document_id, segment.turn_order - 1), ""),
                r["decision"],
            )
        )
    threshold = float(project.settings().get("threshold", 0.5))
    return order_items(items, order, threshold)
