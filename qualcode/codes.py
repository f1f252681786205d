"""The codes of a project: kept in step with the codebook file, never losing codings."""

from __future__ import annotations

import dataclasses
import json
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
    kept: list[str] = field(default_factory=list)  # gone from the file but coded: kept


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
    book = load_codebook(path)
    if codebook or not configured:
        project.update_settings(codebook=str(Path(path).resolve()))
    return merge_project_codes(project, book)


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


def sync_codes(project: Project, book: Codebook) -> SyncReport:
    """Insert and update the project's codes from ``book`` (one transaction).

    A code that disappeared from the file is deleted when nobody coded with it; when a person
    did, it stays (listed in ``kept``) so their work is not lost.
    """
    report = SyncReport()
    with project.transaction() as conn:
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
            if human or children or existing[path]["origin"] not in ("codebook", "removed"):
                if existing[path]["origin"] == "codebook":
                    conn.execute("UPDATE codes SET origin = 'removed' WHERE id = ?", (code_id,))
                report.kept.append(path)
                continue
            conn.execute("DELETE FROM codings WHERE code_id = ?", (code_id,))
            conn.execute("DELETE FROM codes WHERE id = ?", (code_id,))
            report.removed.append(path)
    return report


def code_ids(project: Project) -> dict[str, int]:
    return {r["path"]: r["id"] for r in project.conn.execute("SELECT id, path FROM codes")}
