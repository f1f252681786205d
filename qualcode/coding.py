"""A person's codings and memos: accept or reject a suggestion, code by hand, undo, memos.

This is the one place that writes a person's codings. Every decision is its own row, keyed by
(segment, code, coder), next to the machine's suggestion (coder ``qualcode``), so nothing one
coder does touches another coder's rows or the machine's. Each write returns a :class:`Change`
holding the row as it was, so an interactive review can undo it exactly.

Where a decision came from is kept in ``source``: ``manual`` (``qualcode code add``),
``review:xlsx`` (a spreadsheet import) or ``review:terminal`` (the interactive review).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from qualcode.errors import QualcodeError
from qualcode.models import MACHINE_CODER, Segment
from qualcode.segments import all_segments
from qualcode.store import Project, now

CODER_ENV = "QUALCODE_CODER"
DECISIONS = ("accepted", "rejected")
# A person's row with one of these statuses means: the passage has the code.
CODED = ("accepted", "manual")
MEMO_TARGETS = ("project", "document", "code", "segment")


@dataclass(frozen=True)
class CodeRef:
    id: int
    path: str
    label: str


@dataclass(frozen=True)
class Change:
    """One row as it was before a write (``None``: the write created it)."""

    table: str  # 'codings' or 'memos'
    row_id: int
    before: dict[str, Any] | None


@dataclass(frozen=True)
class Memo:
    id: int
    target_type: str
    target_id: int | None
    target: str  # readable: the code path, document name or segment key; '' for the project
    coder: str
    text: str
    created_at: str
    updated_at: str


# -- who and what --------------------------------------------------------------------------


def check_coder(name: str | None) -> str:
    """The coder's name, stripped; refuses a missing name and the machine's own name."""
    coder = (name or "").strip()
    if not coder:
        raise QualcodeError(
            "no coder name given",
            f"pass --coder NAME (your name or initials) or set {CODER_ENV}",
        )
    if coder.casefold() == MACHINE_CODER:
        raise QualcodeError(
            f"the coder name '{coder}' is reserved for the machine's suggestions",
            "pass your own name or initials with --coder",
        )
    return coder


def coder_from_env() -> str | None:
    return os.environ.get(CODER_ENV) or None


def project_codes(project: Project) -> list[CodeRef]:
    rows = project.conn.execute("SELECT id, path, label FROM codes ORDER BY ord, path")
    return [CodeRef(r["id"], r["path"], r["label"]) for r in rows]


def find_code(project: Project, ref: str, codes: Sequence[CodeRef] | None = None) -> CodeRef:
    """A code by full path, id (``eenzaamheid``), unique path suffix (``sociaal/eenzaamheid``),
    or unique beginning or end of its id (``eenz``, ``ouderen`` for ``kwetsbare_ouderen``) or
    beginning of its path (``impact/soc``)."""
    import difflib

    wanted = ref.strip().strip("/").casefold()
    if not wanted:
        raise QualcodeError("no code given", "pass a code path such as impact/sociaal")
    codes = list(codes if codes is not None else project_codes(project))

    def key(c: CodeRef) -> str:
        return c.path.casefold().rsplit("/", 1)[-1]

    steps = (
        lambda c: c.path.casefold() == wanted,
        lambda c: ("/" + c.path.casefold()).endswith("/" + wanted),
        lambda c: (
            key(c).startswith(wanted)
            or key(c).endswith(wanted)
            # 'impact/fin' is impact/financieel, not also its sub-codes
            or (c.path.casefold().startswith(wanted) and "/" not in c.path[len(wanted) :])
        ),
    )
    for matches in steps:
        hits = [c for c in codes if matches(c)]
        if len(hits) == 1:
            return hits[0]
        if hits:
            shown = ", ".join(h.path for h in hits[:5]) + (" ..." if len(hits) > 5 else "")
            raise QualcodeError(f"code '{ref}' is ambiguous", f"use the full path: {shown}")
    close = difflib.get_close_matches(wanted, [key(c) for c in codes], n=3, cutoff=0.6)
    raise QualcodeError(
        f"no code '{ref}' in this project",
        f"did you mean {' or '.join(close)}?"
        if close
        else "see the codes with 'qualcode codebook show FILE'",
    )


def find_segment(project: Project, ref: str | int) -> Segment:
    """A segment by numeric id or by its readable key ``document#order`` (the document may be
    given as in ``qualcode show``: file name, name without extension or a unique prefix)."""
    from qualcode.documents import find_document

    text = str(ref).strip()
    segments = all_segments(project)
    if text.isdigit():
        found = next((s for s in segments if s.id == int(text)), None)
    elif "#" in text:
        doc_ref, _, order = text.rpartition("#")
        if not order.strip().isdigit():
            raise QualcodeError(
                f"'{ref}' is not a segment", "use the segment id or document#order, e.g. fg01#12"
            )
        name = find_document(project, doc_ref)["name"]
        found = next((s for s in segments if s.document == name and s.order == int(order)), None)
    else:
        raise QualcodeError(
            f"'{ref}' is not a segment", "use the segment id or document#order, e.g. fg01#12"
        )
    if found is None:
        raise QualcodeError(
            f"no segment '{ref}' in this project",
            "see the segments with 'qualcode segments --uncoded'",
        )
    return found


def ensure_codable(project: Project, segment: Segment) -> None:
    """Interviewer/moderator turns and annotation-only passages are context, never coded."""
    if segment.is_interviewer:
        raise QualcodeError(
            f"segment {segment.key} is a turn of the interviewer/moderator ({segment.speaker}):"
            " it is context and is not coded",
            "code the answer instead",
        )
    row = project.conn.execute("SELECT has_words FROM segments WHERE id = ?", (segment.id,))
    if not row.fetchone()[0]:
        raise QualcodeError(
            f"segment {segment.key} has no spoken words ({segment.text[:40]}): it is not coded",
            "code a passage with spoken text",
        )


# -- codings -------------------------------------------------------------------------------


def coding_row(
    project: Project, segment_id: int, code_id: int, coder: str
) -> dict[str, Any] | None:
    row = project.conn.execute(
        "SELECT * FROM codings WHERE segment_id = ? AND code_id = ? AND coder = ?",
        (segment_id, code_id, coder),
    ).fetchone()
    return dict(row) if row else None


def suggestion_row(project: Project, segment_id: int, code_id: int) -> dict[str, Any] | None:
    return coding_row(project, segment_id, code_id, MACHINE_CODER)


def set_coding(
    project: Project,
    segment_id: int,
    code_id: int,
    coder: str,
    status: str,
    *,
    source: str,
    score: float | None = None,
    explanation: str | None = None,
) -> Change | None:
    """Give ``coder``'s row for (segment, code) this status; ``None`` when it already had it."""
    coder = check_coder(coder)
    with project.transaction() as conn:
        before = coding_row(project, segment_id, code_id, coder)
        if before is not None and before["status"] == status:
            return None
        stamp = now()
        if before is None:
            cur = conn.execute(
                "INSERT INTO codings (segment_id, code_id, coder, status, score, source,"
                " explanation, run_id, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, NULL, ?, ?)",
                (segment_id, code_id, coder, status, score, source, explanation, stamp, stamp),
            )
            assert cur.lastrowid is not None
            return Change("codings", cur.lastrowid, None)
        conn.execute(
            "UPDATE codings SET status = ?, source = ?, score = ?, explanation = ?,"
            " updated_at = ? WHERE id = ?",
            (status, source, score, explanation, stamp, before["id"]),
        )
        return Change("codings", before["id"], before)


def decide(
    project: Project,
    segment_id: int,
    code_id: int,
    coder: str,
    decision: str,
    *,
    source: str,
    score: float | None = None,
    explanation: str | None = None,
) -> Change | None:
    """Accept or reject the machine's suggestion of a code for a segment.

    The suggestion's score and explanation are copied into the decision so the reason stays
    visible; ``score``/``explanation`` are used when the suggestion is gone (re-run suggest).
    """
    if decision not in DECISIONS:
        raise ValueError(f"decision must be one of {DECISIONS}, not {decision!r}")
    if decision == "accepted":
        current = coding_row(project, segment_id, code_id, check_coder(coder))
        if current is not None and current["status"] in CODED:
            return None  # coded by hand before: accepting changes nothing
    suggestion = suggestion_row(project, segment_id, code_id)
    if suggestion is not None:
        score, explanation = suggestion["score"], suggestion["explanation"]
    return set_coding(
        project,
        segment_id,
        code_id,
        coder,
        decision,
        source=source,
        score=score,
        explanation=explanation,
    )


def add_code(
    project: Project, segment: Segment, code: CodeRef, coder: str, *, source: str = "manual"
) -> Change | None:
    """Code a passage by hand; ``None`` when the coder already has it (accepted or manual)."""
    coder = check_coder(coder)
    ensure_codable(project, segment)
    current = coding_row(project, segment.id, code.id, coder)
    if current is not None and current["status"] in CODED:
        return None
    return set_coding(project, segment.id, code.id, coder, "manual", source=source)


def remove_code(project: Project, segment: Segment, code: CodeRef, coder: str) -> Change:
    """Remove ``coder``'s own coding (accepted or manual) of a passage; others' stay."""
    coder = check_coder(coder)
    current = coding_row(project, segment.id, code.id, coder)
    if current is None or current["status"] not in CODED:
        others = [
            r[0]
            for r in project.conn.execute(
                "SELECT coder FROM codings WHERE segment_id = ? AND code_id = ? AND coder != ?"
                " AND status IN ('accepted', 'manual') ORDER BY coder",
                (segment.id, code.id, MACHINE_CODER),
            )
        ]
        hint = (
            f"only {', '.join(others)} coded it, and a coder can only remove their own codings"
            if others
            else f"see {coder}'s codings with 'qualcode code list --coder {coder}'"
        )
        raise QualcodeError(f"{coder} has no coding {code.path} on segment {segment.key}", hint)
    with project.transaction() as conn:
        conn.execute("DELETE FROM codings WHERE id = ?", (current["id"],))
    return Change("codings", current["id"], current)


def undo(project: Project, changes: Sequence[Change]) -> None:
    """Put the rows back exactly as they were before ``changes`` (one transaction)."""
    with project.transaction() as conn:
        for change in reversed(changes):
            if change.table not in ("codings", "memos"):
                raise ValueError(f"cannot undo a change to {change.table}")
            if change.before is None:
                conn.execute(f"DELETE FROM {change.table} WHERE id = ?", (change.row_id,))
                continue
            columns = list(change.before)
            conn.execute(
                f"INSERT OR REPLACE INTO {change.table} ({', '.join(columns)})"
                f" VALUES ({', '.join('?' for _ in columns)})",
                [change.before[c] for c in columns],
            )


# -- memos ---------------------------------------------------------------------------------


def memo_target(
    project: Project, target_type: str, ref: str | int | None
) -> tuple[int | None, str]:
    """(target_id, readable name) of a memo's target."""
    from qualcode.documents import find_document

    if target_type == "project":
        return None, ""
    if ref is None or not str(ref).strip():
        raise QualcodeError(f"no {target_type} given for the memo")
    if target_type == "code":
        code = find_code(project, str(ref))
        return code.id, code.path
    if target_type == "document":
        doc = find_document(project, ref)
        return doc["id"], doc["name"]
    if target_type == "segment":
        segment = ref if isinstance(ref, Segment) else find_segment(project, ref)
        return segment.id, segment.key
    raise ValueError(f"memo target must be one of {MEMO_TARGETS}, not {target_type!r}")


def add_memo(
    project: Project,
    target_type: str,
    ref: str | int | Segment | None,
    coder: str,
    text: str,
    *,
    skip_duplicate: bool = False,
) -> tuple[Memo, Change | None]:
    """Write a memo by ``coder``. With ``skip_duplicate``, the same text by the same coder on the
    same target is not written twice (returns the existing memo and no change)."""
    coder = check_coder(coder)
    body = text.strip()
    if not body:
        raise QualcodeError("the memo is empty", "give the memo text in quotes")
    target_id, name = memo_target(project, target_type, ref)
    with project.transaction() as conn:
        if skip_duplicate:
            existing = conn.execute(
                "SELECT * FROM memos WHERE target_type = ? AND target_id IS ? AND coder = ?"
                " AND text = ?",
                (target_type, target_id, coder, body),
            ).fetchone()
            if existing is not None:
                return _memo(existing, name), None
        stamp = now()
        cur = conn.execute(
            "INSERT INTO memos (target_type, target_id, coder, text, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (target_type, target_id, coder, body, stamp, stamp),
        )
        assert cur.lastrowid is not None
        row = conn.execute("SELECT * FROM memos WHERE id = ?", (cur.lastrowid,)).fetchone()
    return _memo(row, name), Change("memos", cur.lastrowid, None)


def list_memos(
    project: Project,
    *,
    target_type: str | None = None,
    ref: str | int | None = None,
    coder: str | None = None,
) -> list[Memo]:
    """Memos, optionally of one target type, one target and one coder; oldest first."""
    sql, params = "SELECT * FROM memos WHERE 1 = 1", []
    if target_type is not None:
        sql += " AND target_type = ?"
        params.append(target_type)
        if target_type != "project" and ref is not None:
            sql += " AND target_id = ?"
            params.append(memo_target(project, target_type, ref)[0])
    if coder is not None:
        sql += " AND coder = ?"
        params.append(coder.strip())
    rows = project.conn.execute(sql + " ORDER BY created_at, id", params).fetchall()
    names = _target_names(project)
    return [_memo(r, names.get((r["target_type"], r["target_id"]), "")) for r in rows]


def _target_names(project: Project) -> dict[tuple[str, int | None], str]:
    conn = project.conn
    names: dict[tuple[str, int | None], str] = {("project", None): ""}
    names.update({("code", r[0]): r[1] for r in conn.execute("SELECT id, path FROM codes")})
    names.update({("document", r[0]): r[1] for r in conn.execute("SELECT id, name FROM documents")})
    names.update(
        {
            ("segment", r[0]): f"{r[1]}#{r[2]}"
            for r in conn.execute(
                "SELECT s.id, d.name, s.ord FROM segments s"
                " JOIN documents d ON d.id = s.document_id"
            )
        }
    )
    return names


def _memo(row: Any, target: str) -> Memo:
    return Memo(
        row["id"],
        row["target_type"],
        row["target_id"],
        target,
        row["coder"],
        row["text"],
        row["created_at"],
        row["updated_at"],
    )


@dataclass(frozen=True)
class PersonCoding:
    """One of a person's codings or decisions, with the passage it is on."""

    segment: str  # the readable key document#order
    segment_id: int
    speaker: str
    code: str
    status: str
    source: str | None
    score: float | None
    coder: str
    updated_at: str


def person_codings(
    project: Project, *, coder: str | None = None, statuses: Sequence[str] = ()
) -> list[PersonCoding]:
    """People's codings and decisions (never the machine's suggestions), in reading order."""
    sql = """
        SELECT d.name, s.ord, s.id, sp.label, k.path, c.status, c.source, c.score, c.coder,
               c.updated_at
        FROM codings c JOIN segments s ON s.id = c.segment_id
        JOIN documents d ON d.id = s.document_id JOIN turns t ON t.id = s.turn_id
        JOIN speakers sp ON sp.id = t.speaker_id JOIN codes k ON k.id = c.code_id
        WHERE c.coder != ?
    """
    params: list[Any] = [MACHINE_CODER]
    if coder is not None:
        sql += " AND c.coder = ?"
        params.append(coder.strip())
    if statuses:
        sql += f" AND c.status IN ({', '.join('?' for _ in statuses)})"
        params.extend(statuses)
    rows = project.conn.execute(sql + " ORDER BY d.name, s.ord, k.ord, c.coder", params)
    return [
        PersonCoding(f"{r[0]}#{r[1]}", r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9]) for r in rows
    ]
