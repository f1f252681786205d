"""The codes of a project: kept in step with the codebook file, never losing codings."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from qualcode.codebook import Codebook, load_codebook
from qualcode.errors import QualcodeError
from qualcode.models import MACHINE_CODER
from qualcode.store import Project

DEFAULT_CODEBOOK = Path("codebooks/impact.yaml")


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
        return codebook
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
    return book


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
            if old != values or row["origin"] != "codebook":
                conn.execute(
                    "UPDATE codes SET code_key = ?, parent_id = ?, label = ?, definition = ?,"
                    " color = ?, ord = ?, spec = ?, origin = 'codebook' WHERE id = ?",
                    (*values, row["id"]),
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
