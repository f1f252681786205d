"""Backups of a project database: make one, list them, restore one.

Backups are written by :meth:`qualcode.store.Project.backup` (SQLite's online backup API) into
``<project>/backups/``, one file per backup named by the local time and the reason, such as
``qualcode-20240501-101502-123456-before-replace.db``. qualcode makes one before every step that
replaces or removes work (``ingest --replace``, a schema migration, a review import, a restore)
and ``qualcode backup`` makes one on request.

A backup is a complete qualcode database: :func:`restore_backup` checks it (SQLite's
``integrity_check``, a qualcode schema no newer than this qualcode), keeps the current state as a
backup of its own, and swaps the database in atomically (:func:`qualcode.store.restore_database`).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path

from qualcode.errors import ProjectError
from qualcode.models import MACHINE_CODER
from qualcode.store import (
    BACKUP_DIR,
    BACKUP_NAME_RE,
    DB_NAME,
    Project,
    newer_migrations,
    restore_database,
)


@dataclass(frozen=True)
class BackupInfo:
    """One backup file and what it holds, read from the file itself."""

    path: Path
    made_at: datetime
    reason: str
    size: int
    number: int = 0  # 1 is the newest backup of the project; 0 for a file elsewhere
    schema: str | None = None  # the last migration applied
    documents: int | None = None
    suggestions: int | None = None
    person_codings: dict[str, int] = field(default_factory=dict)  # coder → codings
    problem: str | None = None  # why the file cannot be restored, if it cannot

    @property
    def name(self) -> str:
        return self.path.name

    def summary(self) -> str:
        """'13 documents; codings: anna 120, bert 31; 1462 suggestions', or the problem."""
        if self.problem:
            return self.problem
        people = ", ".join(f"{coder} {n}" for coder, n in sorted(self.person_codings.items()))
        return (
            f"{self.documents} documents; codings: {people or 'none by a person'};"
            f" {self.suggestions} suggestions"
        )


@dataclass(frozen=True)
class RestoreReport:
    restored: BackupInfo
    previous: Path | None  # the backup of the database that was replaced (to undo)


def make_backup(project: Project, reason: str = "manual") -> BackupInfo:
    """Back up the project now; returns the new backup with its summary."""
    return read_backup(project.backup(reason), number=1)


def list_backups(folder: str | Path) -> list[BackupInfo]:
    """The project's backups, newest first, numbered from 1, each with what it holds.

    Reads only the backups folder, so it works when the project database itself is damaged.
    """
    backups = Path(folder) / BACKUP_DIR
    if not backups.is_dir():
        return []
    files = [p for p in backups.iterdir() if p.is_file() and p.suffix == ".db"]
    files.sort(key=lambda p: (_made_at(p), p.name), reverse=True)
    return [read_backup(p, number=n) for n, p in enumerate(files, start=1)]


def read_backup(path: str | Path, *, number: int = 0, check: bool = False) -> BackupInfo:
    """What a backup file holds. A file that cannot be restored gets a ``problem``;
    ``check`` also runs SQLite's integrity check (reads the whole file)."""
    file = Path(path)
    match = BACKUP_NAME_RE.match(file.name)
    info = BackupInfo(
        path=file,
        made_at=_made_at(file),
        reason=match["reason"] if match else "",
        size=file.stat().st_size,
        number=number,
    )
    try:
        conn = sqlite3.connect(f"{file.resolve().as_uri()}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        return _with(info, problem=f"cannot be opened ({exc})")
    try:
        return _summarise(conn, info, check)
    except sqlite3.DatabaseError as exc:
        return _with(info, problem=f"damaged or not a qualcode database ({exc})")
    finally:
        conn.close()


def _summarise(conn: sqlite3.Connection, info: BackupInfo, check: bool) -> BackupInfo:
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if not {"schema_migrations", "documents", "codings"} <= tables:
        return _with(info, problem="not a qualcode database (its tables are missing)")
    if check:
        result = [r[0] for r in conn.execute("PRAGMA integrity_check(5)")]
        if result != ["ok"]:
            return _with(info, problem=f"damaged (SQLite integrity check: {'; '.join(result)})")
    newer = newer_migrations(conn)
    schema = conn.execute("SELECT name FROM schema_migrations ORDER BY id DESC").fetchone()
    people = dict(
        conn.execute(
            "SELECT coder, count(*) FROM codings WHERE coder != ? GROUP BY coder", (MACHINE_CODER,)
        ).fetchall()
    )
    return _with(
        info,
        schema=schema[0] if schema else None,
        documents=conn.execute("SELECT count(*) FROM documents").fetchone()[0],
        suggestions=conn.execute(
            "SELECT count(*) FROM codings WHERE coder = ? AND status = 'suggested'",
            (MACHINE_CODER,),
        ).fetchone()[0],
        person_codings=people,
        problem=f"made by a newer qualcode (schema {newer[-1]})" if newer else None,
    )


def _with(info: BackupInfo, **changes: object) -> BackupInfo:
    return replace(info, **changes)  # type: ignore[arg-type]


def _made_at(path: Path) -> datetime:
    match = BACKUP_NAME_RE.match(path.name)
    if match:
        return datetime.strptime(match["stamp"], "%Y%m%d-%H%M%S-%f")
    return datetime.fromtimestamp(path.stat().st_mtime)


def find_backup(folder: str | Path, ref: str | Path) -> Path:
    """A backup by its number in :func:`list_backups` (1 = newest), its file name (with or
    without ``.db``), or a path to a database file."""
    text = str(ref).strip()
    backups = list_backups(folder)
    if text.isdigit() and 1 <= int(text) <= len(backups):
        return backups[int(text) - 1].path
    for info in backups:
        if text in (info.name, info.path.stem):
            return info.path
    path = Path(text)
    if path.is_file():
        return path
    if text.isdigit():
        where = f"there are {len(backups)} backup(s)" if backups else "there are no backups"
    else:
        where = "no backup with that name and no such file"
    raise ProjectError(
        f"{folder}: cannot find backup '{text}': {where}",
        f"see them with 'qualcode backup --list --project {folder}'",
    )


def restore_backup(folder: str | Path, ref: str | Path) -> RestoreReport:
    """Replace the project's database by a backup (a number, a name or a path).

    The backup is checked first (a qualcode database, SQLite's integrity check passes, a schema
    no newer than this qualcode); the current database is kept as a backup 'before-restore',
    so ``qualcode restore`` can itself be undone. A backup from an older qualcode is migrated
    the next time the project is opened. Refused while another command writes the project.
    """
    project_dir = Path(folder)
    if not project_dir.is_dir():
        raise ProjectError(f"{project_dir}: no qualcode project here")
    source = find_backup(project_dir, ref)
    if source.resolve() == (project_dir / DB_NAME).resolve():
        raise ProjectError(
            f"{source}: is the project's own database, not a backup",
            f"see the backups with 'qualcode backup --list --project {project_dir}'",
        )
    info = read_backup(source, check=True)
    if info.problem:
        raise ProjectError(f"{source}: cannot be restored: {info.problem}", "choose another backup")
    previous = restore_database(project_dir, source)
    return RestoreReport(info, previous)


def human_size(size: int) -> str:
    """1536 → '1.5 KB': sizes for the backup list."""
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"  # pragma: no cover


__all__ = [
    "BackupInfo",
    "RestoreReport",
    "find_backup",
    "human_size",
    "list_backups",
    "make_backup",
    "read_backup",
    "restore_backup",
]
