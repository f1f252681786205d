"""The codes of a project: kept in step with the codebook file, never losing codings."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from qualcode.codebook import Code, Codebook, Pattern, load_codebook
from qualcode.errors import QualcodeError
from qualcode.models import MACHINE_CODER
from qualcode.store import Project

DEFAULT_CODEBOOK = Path("codebooks/impact.yaml")
# Codes that live in the project only, not in the codebook file: a topic promoted without
# --write-yaml. They are merged into the loaded codebook under their parent, so suggest uses them.
PROJECT_ORIGINS = ("topic",)


@dataclass
class SyncReport:
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)  # project-only codes not in the file
    merged: dict[str, tuple[str, int]] = field(default_factory=dict)  # path → (into, codings)
    deleted_codings: dict[str, int] = field(default_factory=dict)  # path → a person's codings
    backup: Path | None = None


def resolve_codebook(project: Project, codebook: str | Path | Codebook | None = None) -> Codebook:
    """The codebook given (a file or one already loaded), else the project's, else
    ``codebooks/impact.yaml`` here. A codebook given is remembered in the project settings."""
    if isinstance(codebook, Codebook):
        if codebook.file:
            project.update_settings(codebook=str(Path(codebook.file).resolve()))
        return merge_project_codes(project, codebook)
    configured = project.settings().get("codebook")
    path = codebook or configured
    if not path and DEFAULT_CODEBOOK.exists():
        path = DEFAULT_CODEBOOK
    if not path:
        raise QualcodeError(
            "this project has no codebook yet",
            "pass --codebook FILE (for example codebooks/impact.yaml)",
        )
    checked = project.meta(_PATTERNS_CHECKED)
    book = load_codebook(path, checked=(checked,) if checked else ())
    if codebook or not configured:
        project.update_settings(codebook=str(Path(path).resolve()))
    return merge_project_codes(project, book)


_PATTERNS_CHECKED = "codebook_patterns_checked"


def remember_checked(conn: Any, book: Codebook) -> None:
    """Record, inside the caller's transaction, that spaCy accepted ``book``'s patterns: later
    commands on the same file need not import spaCy to ask again (a second of every re-run
    that has nothing to tokenise). ``suggest`` calls it when it stores its suggestions."""
    if book.patterns_digest:
        conn.execute(
            "INSERT OR REPLACE INTO project (key, value) VALUES (?, ?)",
            (_PATTERNS_CHECKED, book.patterns_digest),
        )


def _code_from_spec(spec: dict[str, Any], path: str, parent: str | None) -> Code:
    """A code back from the spec JSON stored in ``codes.spec`` (``Code.to_dict``)."""
    return Code(
        id=spec["id"],
        label=spec["label"],
        path=path,
        parent=parent,
        definition=spec.get("definition", ""),
        include=tuple(spec.get("include", ())),
        exclude=tuple(spec.get("exclude", ())),
        keywords=tuple(spec.get("keywords", ())),
        patterns=tuple(
            Pattern(p["id"], p["pattern"], p.get("effect", "include"), p.get("description", ""))
            for p in spec.get("patterns", ())
        ),
        examples=tuple(spec.get("examples", ())),
        color=spec.get("color"),
        memo=spec.get("memo", ""),
    )


def _with_child(code: Code, parent: str, child: Code) -> Code:
    if code.path == parent:
        return dataclasses.replace(code, children=(*code.children, child))
    if not parent.startswith(code.path + "/"):
        return code
    return dataclasses.replace(
        code, children=tuple(_with_child(c, parent, child) for c in code.children)
    )


def merge_project_codes(project: Project, book: Codebook) -> Codebook:
    """``book`` with the project's own codes (promoted topics) added under their parents.

    A project code that the file now holds itself (same path) is left to the file: its origin
    becomes ``codebook``. One whose parent or id no longer fits the file is left out with a
    warning (it stays in the project with its codings).
    """
    marks = ", ".join("?" * len(PROJECT_ORIGINS))
    rows = project.conn.execute(
        f"SELECT path, spec FROM codes WHERE origin IN ({marks}) ORDER BY ord, id",
        PROJECT_ORIGINS,
    ).fetchall()
    if not rows:
        return book
    in_file = book.by_path
    adopted = [r["path"] for r in rows if r["path"] in in_file]
    if adopted:
        with project.transaction() as conn:
            conn.executemany(
                "UPDATE codes SET origin = 'codebook' WHERE path = ?", [(p,) for p in adopted]
            )
    codes = list(book.codes)
    ids = {c.id for c in book.walk()}
    warnings = list(book.warnings)
    for row in sorted(rows, key=lambda r: r["path"].count("/")):
        path = row["path"]
        if path in in_file:
            continue
        parent = path.rpartition("/")[0] or None
        code = _code_from_spec(json.loads(row["spec"]), path, parent)
        known = {c.path for top in codes for c in top.walk()}
        if code.id in ids or (parent and parent not in known):
            warnings.append(
                f"code {path} (made from a topic) is left out: "
                + (
                    f"the id '{code.id}' is now used in the codebook"
                    if code.id in ids
                    else f"its parent {parent} is no longer in the codebook"
                )
            )
            continue
        ids.add(code.id)
        codes = [_with_child(top, parent, code) for top in codes] if parent else [*codes, code]
    return dataclasses.replace(book, codes=tuple(codes), warnings=tuple(warnings))


@dataclass(frozen=True)
class CodeRemoval:
    """What happens to the codings of a code that left the codebook: moved to ``merge_into``,
    or deleted (``merge_into`` None)."""

    path: str
    merge_into: str | None = None


class CodeRemovalError(QualcodeError):
    """A code with a person's codings left the codebook and nobody said what happens to them."""


def pending_removals(
    project: Project, book: Codebook, removals: Sequence[CodeRemoval] = ()
) -> list[str]:
    """Check, before any work, that every code leaving the project is accounted for.

    Returns the paths of the codes that will be removed with a person's codings (those the user
    said what to do with); raises :class:`CodeRemovalError` for the others, and for removals
    that name a code still in the codebook or a merge target that is not in it.
    """
    in_book = book.by_path
    rows = project.conn.execute(
        "SELECT k.path, k.origin, c.coder, count(c.id) AS n FROM codes k"
        " LEFT JOIN codings c ON c.code_id = k.id AND c.coder != ?"
        " GROUP BY k.path, c.coder",
        (MACHINE_CODER,),
    ).fetchall()
    coders: dict[str, dict[str, int]] = {}
    origins: dict[str, str] = {}
    for r in rows:
        origins[r["path"]] = r["origin"]
        if r["coder"]:
            coders.setdefault(r["path"], {})[r["coder"]] = r["n"]
    asked = {r.path: r for r in removals}
    for path, removal in asked.items():
        if path in in_book:
            raise CodeRemovalError(
                f"{path} is still in the codebook {book.file or ''}".rstrip(),
                "remove it from the codebook first, or leave out --merge-into/--delete-codings",
            )
        if path not in origins:
            raise CodeRemovalError(f"{path} is not a code of this project")
        if removal.merge_into is not None and removal.merge_into not in in_book:
            raise CodeRemovalError(
                f"cannot merge {path} into {removal.merge_into}: that code is not in the codebook",
                "give the full path of a code in the codebook, e.g. impact/sociaal/eenzaamheid",
            )
    # codes that exist only in the project (a promoted topic, a code from a .qdpx) stay
    leaving = [p for p in origins if p not in in_book and origins[p] in ("codebook", "removed")]
    undecided = [p for p in leaving if coders.get(p) and p not in asked]
    if undecided:
        path = undecided[0]
        who = ", ".join(f"{n} by {c}" for c, n in sorted(coders[path].items()))
        more = f" (and {len(undecided) - 1} more code(s))" if len(undecided) > 1 else ""
        raise CodeRemovalError(
            f"{path} is no longer in the codebook but has codings ({who}){more}; "
            "nothing was changed",
            f"say what happens to them: --merge-into {path}=OTHER/CODE (move them) or "
            f"--delete-codings {path}; or put the code back in the codebook",
        )
    return [p for p in leaving if coders.get(p)]


def sync_codes(
    project: Project, book: Codebook, removals: Sequence[CodeRemoval] = ()
) -> SyncReport:
    """Insert and update the project's codes from ``book`` (one transaction).

    A code that disappeared from the file is deleted when nobody coded with it. When a person
    did, the user must say what happens to those codings (``removals``: merge them into another
    code, or delete them); otherwise :class:`CodeRemovalError` is raised and nothing changes.
    A backup of the database is made first when a person's codings are moved or deleted.
    """
    report = SyncReport()
    with_codings = pending_removals(project, book, removals)
    asked = {r.path: r for r in removals}
    with project.transaction() as conn:
        if with_codings:
            report.backup = project.backup("before-code-removal")
        existing = {r["path"]: r for r in conn.execute("SELECT * FROM codes")}
        ids: dict[str, int] = {}
        for order, code in enumerate(book.walk()):
            spec = json.dumps(code.to_dict(), ensure_ascii=False, sort_keys=True)
            parent_id = ids.get(code.parent) if code.parent else None
            row = existing.get(code.path)
            values = (code.id, parent_id, code.label, code.definition, code.color, order, spec)
            if row is None:
                cur = conn.execute(
                    "INSERT INTO codes (code_key, parent_id, label, definition, color, ord, spec,"
                    " path, origin) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'codebook')",
                    (*values, code.path),
                )
                ids[code.path] = cur.lastrowid  # type: ignore[assignment]
                report.added.append(code.path)
                continue
            ids[code.path] = row["id"]
            old = (
                row["code_key"],
                row["parent_id"],
                row["label"],
                row["definition"],
                row["color"],
                row["ord"],
                row["spec"],
            )
            # a project code merged into the book keeps its origin (it is not in the file)
            origin = row["origin"] if row["origin"] in PROJECT_ORIGINS else "codebook"
            if old != values or row["origin"] != origin:
                conn.execute(
                    "UPDATE codes SET code_key = ?, parent_id = ?, label = ?, definition = ?,"
                    " color = ?, ord = ?, spec = ?, origin = ? WHERE id = ?",
                    (*values, origin, row["id"]),
                )
                report.updated.append(code.path)
        gone = sorted((p for p in existing if p not in ids), key=lambda p: -p.count("/"))
        for path in gone:
            code_id = existing[path]["id"]
            human = conn.execute(
                "SELECT count(*) FROM codings WHERE code_id = ? AND coder != ?",
                (code_id, MACHINE_CODER),
            ).fetchone()[0]
            children = conn.execute(
                "SELECT count(*) FROM codes WHERE parent_id = ?", (code_id,)
            ).fetchone()[0]
            if children or existing[path]["origin"] not in ("codebook", "removed"):
                report.kept.append(path)
                continue
            removal = asked.get(path)
            if removal is not None and removal.merge_into is not None:
                report.merged[path] = (removal.merge_into, human)
                _move_codings(conn, code_id, ids[removal.merge_into])
            elif human:
                report.deleted_codings[path] = human
            conn.execute("DELETE FROM codings WHERE code_id = ?", (code_id,))
            conn.execute("DELETE FROM codes WHERE id = ?", (code_id,))
            report.removed.append(path)
    return report


def _move_codings(conn: Any, old: int, new: int) -> None:
    """A person's codings of code ``old`` become codings of ``new``; where that coder already
    has ``new`` on the passage, their existing row stands. Machine suggestions are not moved
    (the next scoring makes them)."""
    conn.execute(
        "UPDATE codings SET code_id = ? WHERE code_id = ? AND coder != ? AND NOT EXISTS ("
        " SELECT 1 FROM codings o WHERE o.segment_id = codings.segment_id"
        " AND o.code_id = ? AND o.coder = codings.coder)",
        (new, old, MACHINE_CODER, new),
    )


def code_ids(project: Project) -> dict[str, int]:
    return {r["path"]: r["id"] for r in project.conn.execute("SELECT id, path FROM codes")}
