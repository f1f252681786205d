"""The project store: one directory, one SQLite database, one settings file.

``Project`` owns the connection. Foreign keys are on, every write goes through
:meth:`Project.transaction` (``BEGIN IMMEDIATE``, so a second writer waits and then fails with
a clear message instead of corrupting anything), and the schema is built by named migrations
recorded in ``schema_migrations``. Before an existing database is migrated, a backup is written.

Offsets (``start``/``end`` of turns and segments) are Python string indices (code points) into
``documents.text``; SQLite's ``substr`` counts characters the same way, so
``substr(text, start + 1, end - start)`` is the segment text.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from qualcode.errors import ProjectError

DB_NAME = "qualcode.db"
SETTINGS_NAME = "settings.yaml"
BACKUP_DIR = "backups"
# qualcode-20240501-101502-123456-before-replace.db: local time, then the reason
BACKUP_NAME_RE = re.compile(r"^qualcode-(?P<stamp>\d{8}-\d{6}-\d{6})-(?P<reason>.+)\.db$")
BUSY_TIMEOUT_S = 10.0
# SQLite's extended code for a write through a connection whose file was renamed over
# (a restore while this command ran): https://sqlite.org/rescode.html#readonly_dbmoved
_SQLITE_READONLY_DBMOVED = 1032

DEFAULT_SETTINGS: dict[str, Any] = {
    "codebook": None,
    "unit": "turn",
    "max_segment_words": 250,
    "spacy_model": "nl_core_news_sm",
    "embedding_model": None,
    "threshold": 0.5,
}


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


# --------------------------------------------------------------------------------------------
# Migrations: append only. Each is a named function; its name is recorded once applied.


def _m001_initial(conn: sqlite3.Connection) -> None:
    conn.executescript(
        """
        CREATE TABLE project (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        CREATE TABLE documents (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            path TEXT,
            sha256 TEXT NOT NULL,
            format TEXT NOT NULL,
            encoding TEXT,
            text TEXT NOT NULL,
            attributes TEXT NOT NULL DEFAULT '{}',
            unit TEXT NOT NULL DEFAULT 'turn',
            words INTEGER NOT NULL DEFAULT 0,
            ingested_at TEXT NOT NULL
        );
        CREATE TABLE speakers (
            id INTEGER PRIMARY KEY,
            document_id INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
            label TEXT NOT NULL,
            role TEXT,
            is_interviewer INTEGER NOT NULL DEFAULT 0,
            attributes TEXT NOT NULL DEFAULT '{}',
            UNIQUE (document_id, label)
        );
        CREATE TABLE turns (
            id INTEGER PRIMARY KEY,
            document_id INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
            ord INTEGER NOT NULL,
            speaker_id INTEGER NOT NULL REFERENCES speakers(id) ON DELETE CASCADE,
            start INTEGER NOT NULL,
            end INTEGER NOT NULL,
            timestamp TEXT,
            start_time REAL,
            end_time REAL,
            UNIQUE (document_id, ord)
        );
        CREATE TABLE segments (
            id INTEGER PRIMARY KEY,
            document_id INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
            turn_id INTEGER NOT NULL REFERENCES turns(id) ON DELETE CASCADE,
            ord INTEGER NOT NULL,
            unit TEXT NOT NULL,
            start INTEGER NOT NULL,
            end INTEGER NOT NULL,
            -- 0 for annotation-only passages such as '(stilte)': never coded
            has_words INTEGER NOT NULL DEFAULT 1,
            UNIQUE (document_id, ord)
        );
        CREATE INDEX segments_turn ON segments(turn_id);
        -- Tokens and lemmas computed once per segment by the NLP pipeline named here.
        CREATE TABLE segment_nlp (
            segment_id INTEGER PRIMARY KEY REFERENCES segments(id) ON DELETE CASCADE,
            pipeline TEXT NOT NULL,
            tokens TEXT NOT NULL
        );
        CREATE TABLE codes (
            id INTEGER PRIMARY KEY,
            path TEXT NOT NULL UNIQUE,
            code_key TEXT NOT NULL,
            parent_id INTEGER REFERENCES codes(id) ON DELETE RESTRICT,
            label TEXT NOT NULL,
            definition TEXT,
            color TEXT,
            ord INTEGER NOT NULL DEFAULT 0,
            spec TEXT NOT NULL DEFAULT '{}',
            origin TEXT NOT NULL DEFAULT 'codebook'
        );
        CREATE TABLE runs (
            id INTEGER PRIMARY KEY,
            command TEXT NOT NULL,
            started_at TEXT NOT NULL,
            finished_at TEXT,
            params TEXT NOT NULL DEFAULT '{}',
            summary TEXT NOT NULL DEFAULT '{}'
        );
        CREATE TABLE codings (
            id INTEGER PRIMARY KEY,
            segment_id INTEGER NOT NULL REFERENCES segments(id) ON DELETE CASCADE,
            code_id INTEGER NOT NULL REFERENCES codes(id) ON DELETE RESTRICT,
            coder TEXT NOT NULL,
            status TEXT NOT NULL
                CHECK (status IN ('suggested', 'accepted', 'rejected', 'manual')),
            score REAL,
            source TEXT,
            explanation TEXT,
            run_id INTEGER REFERENCES runs(id) ON DELETE SET NULL,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            UNIQUE (segment_id, code_id, coder)
        );
        CREATE INDEX codings_code ON codings(code_id);
        CREATE INDEX codings_status ON codings(status);
        CREATE TABLE memos (
            id INTEGER PRIMARY KEY,
            target_type TEXT NOT NULL
                CHECK (target_type IN ('project', 'document', 'code', 'segment')),
            target_id INTEGER,
            coder TEXT NOT NULL,
            text TEXT NOT NULL,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        );
        """
    )


def _m002_topics(conn: sqlite3.Connection) -> None:
    # Topics found by one 'topics' run (runs.params/summary hold its settings, counts and
    # timings). Members are the passages of a topic: a whole segment (sentence 0) or one of its
    # sentences, as a span of the segment text. The nearest code is kept as a path: it is a
    # fact about the codebook at the time of the run, not a link that must follow renames.
    conn.executescript(
        """
        CREATE TABLE topics (
            id INTEGER PRIMARY KEY,
            run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
            number INTEGER NOT NULL,
            label TEXT NOT NULL,
            words TEXT NOT NULL DEFAULT '[]',
            size INTEGER NOT NULL,
            nearest_code TEXT,
            similarity REAL,
            promoted_code_id INTEGER REFERENCES codes(id) ON DELETE SET NULL,
            UNIQUE (run_id, number)
        );
        CREATE TABLE topic_members (
            topic_id INTEGER NOT NULL REFERENCES topics(id) ON DELETE CASCADE,
            segment_id INTEGER NOT NULL REFERENCES segments(id) ON DELETE CASCADE,
            sentence INTEGER NOT NULL DEFAULT 0,
            start INTEGER NOT NULL,
            end INTEGER NOT NULL,
            probability REAL NOT NULL,
            rank INTEGER,
            PRIMARY KEY (topic_id, segment_id, sentence)
        );
        CREATE INDEX topic_members_segment ON topic_members(segment_id);
        """
    )


def _m003_suggest_cache(conn: sqlite3.Connection) -> None:
    # What suggest keeps between runs so that a re-run only works on what changed (see
    # suggest/features.py and suggest/space.py). All of it can be computed again from the
    # segments and the codebook; the fingerprints say which codebook and pipeline it belongs to.
    conn.executescript(
        """
        CREATE TABLE segment_features (
            segment_id INTEGER PRIMARY KEY REFERENCES segments(id) ON DELETE CASCADE,
            fingerprint TEXT NOT NULL,
            lemmas TEXT NOT NULL,
            lexical TEXT NOT NULL
        );
        CREATE TABLE similarity_spaces (
            fingerprint TEXT PRIMARY KEY,
            segments INTEGER NOT NULL,
            created_at TEXT NOT NULL,
            data BLOB NOT NULL
        );
        CREATE TABLE segment_vectors (
            segment_id INTEGER PRIMARY KEY REFERENCES segments(id) ON DELETE CASCADE,
            space TEXT NOT NULL,
            fitted INTEGER NOT NULL DEFAULT 1,  -- 0: folded into the space after its fit
            vector BLOB NOT NULL
        );
        """
    )


MIGRATIONS: list[tuple[str, Callable[[sqlite3.Connection], None]]] = [
    ("001_initial", _m001_initial),
    ("002_topics", _m002_topics),
    ("003_suggest_cache", _m003_suggest_cache),
]


# --------------------------------------------------------------------------------------------


class Project:
    """An open qualcode project. Use :func:`init_project` or :func:`open_project`."""

    def __init__(self, path: Path, conn: sqlite3.Connection) -> None:
        self.path = path
        self.conn = conn
        self._depth = 0

    # -- lifecycle ---------------------------------------------------------------------------

    @property
    def db_path(self) -> Path:
        return self.path / DB_NAME

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> Project:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One atomic write. Nested calls join the outer transaction (via a savepoint)."""
        if self._depth:
            name = f"sp{self._depth}"
            self.conn.execute(f"SAVEPOINT {name}")
            self._depth += 1
            try:
                yield self.conn
            except BaseException:
                self.conn.execute(f"ROLLBACK TO {name}")
                self.conn.execute(f"RELEASE {name}")
                raise
            else:
                self.conn.execute(f"RELEASE {name}")
            finally:
                self._depth -= 1
            return
        try:
            self.conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            raise self._write_error(exc) from exc
        self._depth = 1
        try:
            yield self.conn
            # COMMIT can be refused too: it waits for readers to finish, up to the busy timeout
            self.conn.commit()
        except sqlite3.OperationalError as exc:
            self.conn.rollback()
            error = self._write_error(exc)
            if error is exc:
                raise
            raise error from exc
        except BaseException:
            self.conn.rollback()
            raise
        finally:
            self._depth = 0

    def _write_error(self, exc: sqlite3.OperationalError) -> Exception:
        """A plain-language ProjectError for a write refused because of another command."""
        code = getattr(exc, "sqlite_errorcode", None)
        if code == _SQLITE_READONLY_DBMOVED:
            return ProjectError(
                f"{self.db_path}: the project was restored from a backup while this command ran;"
                " nothing of this command was saved",
                "run the command again",
            )
        if code in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED) or "locked" in str(exc):
            return ProjectError(
                f"{self.db_path}: the project is in use by another qualcode command ({exc})",
                "wait until it has finished and try again",
            )
        return exc

    # -- settings ----------------------------------------------------------------------------

    @property
    def settings_path(self) -> Path:
        return self.path / SETTINGS_NAME

    def settings(self) -> dict[str, Any]:
        import yaml

        data = dict(DEFAULT_SETTINGS)
        if self.settings_path.exists():
            try:
                loaded = yaml.safe_load(self.settings_path.read_text(encoding="utf-8")) or {}
            except yaml.YAMLError as exc:
                raise ProjectError(
                    f"{self.settings_path}: not valid YAML ({exc})",
                    "fix the file or delete it to go back to the defaults",
                ) from exc
            if not isinstance(loaded, dict):
                raise ProjectError(f"{self.settings_path}: expected key: value lines")
            data.update(loaded)
        return data

    def update_settings(self, **changes: Any) -> None:
        import yaml

        data = self.settings()
        data.update(changes)
        tmp = self.settings_path.with_suffix(".tmp")
        header = "# qualcode project settings; edit with care.\n"
        tmp.write_text(header + yaml.safe_dump(data, allow_unicode=True, sort_keys=True), "utf-8")
        tmp.replace(self.settings_path)

    # -- project facts -----------------------------------------------------------------------

    def meta(self, key: str) -> str | None:
        row = self.conn.execute("SELECT value FROM project WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    @property
    def uid(self) -> str:
        value = self.meta("uuid")
        assert value is not None
        return value

    def start_run(self, command: str, params: dict[str, Any]) -> int:
        cur = self.conn.execute(
            "INSERT INTO runs (command, started_at, params) VALUES (?, ?, ?)",
            (command, now(), json.dumps(params, ensure_ascii=False, default=str)),
        )
        assert cur.lastrowid is not None
        return cur.lastrowid

    def finish_run(self, run_id: int, summary: dict[str, Any]) -> None:
        self.conn.execute(
            "UPDATE runs SET finished_at = ?, summary = ? WHERE id = ?",
            (now(), json.dumps(summary, ensure_ascii=False, default=str), run_id),
        )

    def backup(self, reason: str) -> Path:
        """Copy the database with SQLite's online backup API; returns the backup's path.

        The copy is one consistent snapshot of what was committed, made while other commands
        keep reading (and writing, between their transactions).
        """
        target = new_backup_path(self.path, reason)
        source = self.conn
        if self.conn.in_transaction:
            # SQLite does not copy through a connection that holds the write lock (Python's
            # backup() would retry for ever): read the committed state through a second one.
            source = sqlite3.connect(self.db_path, timeout=BUSY_TIMEOUT_S)
        dest = sqlite3.connect(target)
        try:
            source.backup(dest)
        except BaseException:
            dest.close()
            target.unlink(missing_ok=True)
            raise
        finally:
            if source is not self.conn:
                source.close()
        dest.close()
        return target


def new_backup_path(folder: Path, reason: str) -> Path:
    """A new file in the project's backups folder, named by the local time and the reason."""
    backups = folder / BACKUP_DIR
    backups.mkdir(exist_ok=True)
    slug = re.sub(r"\W+", "-", reason.strip().lower()).strip("-_")[:60] or "backup"
    while True:
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S-%f")
        target = backups / f"qualcode-{stamp}-{slug}.db"
        if not target.exists():
            return target


def restore_database(folder: Path, source: Path) -> Path | None:
    """Make a copy of ``source`` (a qualcode database, checked by the caller) the database of
    the project in ``folder``; returns the backup of the database it replaced (None if none).

    1. The write lock is taken first: while another command writes, this fails with the
       ProjectError "in use by another qualcode command" and nothing changes. Taking it also
       makes SQLite roll back a journal left by a command that was killed.
    2. The current database is kept as a backup 'before-restore', so a restore can be undone
       (a plain file copy, with its journal, when it is too damaged for SQLite to open).
    3. ``source`` is copied with the backup API into a temporary file in the project folder,
       in rollback-journal mode, and synced to disk.
    4. That file is renamed over the database (``os.replace``: readers see the old or the new
       database, never a mix) and the folder is synced. A command that opened the project
       before and writes after the rename is refused by SQLite (SQLITE_READONLY_DBMOVED,
       reported by :meth:`Project.transaction`), so no change lands in the replaced file.

    Where the database cannot be renamed over (on Windows while it is open, or a database in
    WAL mode, whose ``-wal`` file would be replayed onto the new one), the copy is written into
    the database with the backup API instead: one journaled, atomic write by SQLite itself.
    """
    db = folder / DB_NAME
    tmp = folder / f".{DB_NAME}.restoring"
    tmp.unlink(missing_ok=True)  # left by a restore that was killed
    try:
        _copy_for_restore(source, tmp)
        if not db.exists():
            os.replace(tmp, db)
            _sync_folder(folder)
            return None
        project = Project(folder, _connect(db))
        try:
            try:
                mode = project.conn.execute("PRAGMA journal_mode").fetchone()[0]
            except sqlite3.OperationalError as exc:
                error = project._write_error(exc)
                if error is exc:
                    raise
                raise error from exc
            except sqlite3.DatabaseError:
                # Too damaged for SQLite: no command can use it, so there is no lock to take.
                previous = _set_aside_damaged(folder, db)
                os.replace(tmp, db)
                _sync_folder(folder)
                return previous
            swapped = False
            with project.transaction():
                previous = project.backup("before-restore")
                if mode != "wal":
                    try:
                        os.replace(tmp, db)
                        swapped = True
                    except PermissionError:
                        pass
            if not swapped:
                copy = sqlite3.connect(tmp)
                try:
                    copy.backup(project.conn)
                finally:
                    copy.close()
            _sync_folder(folder)
            return previous
        finally:
            project.close()
    finally:
        tmp.unlink(missing_ok=True)


def _copy_for_restore(source: Path, target: Path) -> None:
    src = sqlite3.connect(f"{source.resolve().as_uri()}?mode=ro", uri=True)
    dest = sqlite3.connect(target, isolation_level=None)
    try:
        src.backup(dest)
        # a copy of a database in WAL mode would expect a -wal file: back to a rollback journal
        dest.execute("PRAGMA journal_mode = DELETE")
    finally:
        dest.close()
        src.close()
    with open(target, "rb+") as handle:
        os.fsync(handle.fileno())


def _set_aside_damaged(folder: Path, db: Path) -> Path:
    """Copy a database SQLite cannot open into the backups, with its journal: a journal left
    next to the restored database would be played back onto it."""
    target = new_backup_path(folder, "damaged-before-restore")
    shutil.copy2(db, target)
    for suffix in ("-journal", "-wal", "-shm"):
        side = db.with_name(db.name + suffix)
        if side.exists():
            os.replace(side, target.with_name(target.name + suffix))
    return target


def _sync_folder(folder: Path) -> None:
    """Make a rename durable (POSIX; Windows cannot open a folder for syncing)."""
    if os.name != "posix":
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _connect(db_path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(db_path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
    # Deleted text must not linger in free pages (pseudonymisation relies on this).
    conn.execute("PRAGMA secure_delete = ON")
    return conn


def _applied(conn: sqlite3.Connection) -> list[str]:
    has_table = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'"
    ).fetchone()
    if not has_table:
        return []
    return [r[0] for r in conn.execute("SELECT name FROM schema_migrations ORDER BY id")]


def newer_migrations(conn: sqlite3.Connection) -> list[str]:
    """Migrations recorded in a database that this qualcode does not know: a newer one made it."""
    known = {name for name, _ in MIGRATIONS}
    return [name for name in _applied(conn) if name not in known]


def _migrate(project: Project, *, fresh: bool) -> None:
    conn = project.conn
    applied = _applied(conn)
    unknown = newer_migrations(conn)
    if unknown:
        raise ProjectError(
            f"{project.db_path}: made by a newer qualcode (schema {unknown[-1]})",
            "upgrade qualcode to open this project",
        )
    pending = [(n, f) for n, f in MIGRATIONS if n not in applied]
    if not pending:
        return
    if not fresh:
        project.backup("before-migration")
    with project.transaction():
        conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations "
            "(id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, applied_at TEXT NOT NULL)"
        )
        for name, func in pending:
            func(conn)
            conn.execute(
                "INSERT INTO schema_migrations (name, applied_at) VALUES (?, ?)", (name, now())
            )


def init_project(path: str | Path, *, codebook: str | Path | None = None) -> Project:
    """Create a project directory (or reuse an empty/existing one) and return it open."""
    folder = Path(path)
    if folder.exists() and not folder.is_dir():
        raise ProjectError(f"{folder}: exists and is not a directory")
    folder.mkdir(parents=True, exist_ok=True)
    fresh = not (folder / DB_NAME).exists()
    project = Project(folder, _connect(folder / DB_NAME))
    _migrate(project, fresh=fresh)
    with project.transaction() as conn:
        if project.meta("uuid") is None:
            from qualcode import __version__

            conn.executemany(
                "INSERT INTO project (key, value) VALUES (?, ?)",
                [("uuid", str(uuid.uuid4())), ("created_at", now()), ("created_by", __version__)],
            )
    if not project.settings_path.exists():
        project.update_settings()
    if codebook is not None:
        project.update_settings(codebook=str(Path(codebook).resolve()))
    return project


def open_project(path: str | Path) -> Project:
    """Open an existing project; a clear error when ``path`` is not one."""
    folder = Path(path)
    db = folder / DB_NAME
    if not db.exists():
        raise ProjectError(
            f"{folder}: no qualcode project here",
            f"create one with 'qualcode init {folder}' or use 'qualcode run'",
        )
    project = Project(folder, _connect(db))
    try:
        try:
            project.conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        except sqlite3.DatabaseError as exc:
            raise ProjectError(
                f"{db}: not a qualcode database ({exc})",
                f"see the backups with 'qualcode backup --list --project {folder}' and restore"
                " one with 'qualcode restore'"
                if (folder / BACKUP_DIR).is_dir()
                else None,
            ) from exc
        _migrate(project, fresh=False)
    except BaseException:
        project.close()
        raise
    return project
