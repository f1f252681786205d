"""Never losing work: backups and restore, two commands at once, crashes, schema versions.

Processes are real where it matters: a second ``python`` process holds the project's write lock
(or is killed with SIGKILL inside its transaction) while this one runs a command. The child
scripts pause at a chosen point by monkeypatching inside the child, never through a hook in
qualcode itself.
"""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from coding_helpers import (
    CHANGED_YAML,
    FG,
    SUGGEST_CORPUS,
    add_coding,
    assert_one_line_error,
    build_project,
    copy_project,
    invoke,
)

from qualcode import store
from qualcode.backups import list_backups, make_backup, read_backup, restore_backup
from qualcode.errors import ProjectError
from qualcode.store import DB_NAME, MIGRATIONS, open_project

# -- helpers ---------------------------------------------------------------------------------


# What suggest computes once and keeps (tokens, matches, the similarity space): written in
# their own batches on purpose, so that an interrupted first run need not start over.
CACHE_TABLES = ("segment_nlp", "segment_features", "segment_vectors", "similarity_spaces")


def snapshot(db: Path, skip: tuple[str, ...] = ()) -> dict[str, list[tuple]]:
    """Every row of every table (and the schema), to compare a database before and after."""
    conn = sqlite3.connect(db)
    try:
        tables = [
            r[0]
            for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"
            )
            if r[0] not in skip
        ]
        rows = {t: conn.execute(f"SELECT * FROM {t} ORDER BY rowid").fetchall() for t in tables}
        rows["sqlite_master"] = conn.execute(
            "SELECT type, name, sql FROM sqlite_master ORDER BY name"
        ).fetchall()
        return rows
    finally:
        conn.close()


def integrity(db: Path) -> str:
    conn = sqlite3.connect(db)
    try:
        return conn.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        conn.close()


def person_codings(db: Path) -> list[tuple]:
    conn = sqlite3.connect(db)
    try:
        return conn.execute(
            "SELECT segment_id, code_id, coder, status FROM codings WHERE coder != 'qualcode'"
        ).fetchall()
    finally:
        conn.close()


def backup_files(project_dir: Path) -> list[str]:
    folder = project_dir / "backups"
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


def old_database(path: Path, migrations: int = 1) -> Path:
    """A database as an older qualcode left it: only the first ``migrations`` applied, with one
    document and the project's identity."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute(
            "CREATE TABLE schema_migrations "
            "(id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, applied_at TEXT NOT NULL)"
        )
        for name, func in MIGRATIONS[:migrations]:
            func(conn)
            conn.execute(
                "INSERT INTO schema_migrations (name, applied_at) VALUES (?, '2024-01-01')",
                (name,),
            )
        conn.execute("INSERT INTO project VALUES ('uuid', 'oud-project')")
        conn.execute(
            "INSERT INTO documents (name, sha256, format, text, ingested_at)"
            " VALUES ('oud.txt', 'x', 'txt', 'R: Het was een eenzame tijd.', '2024-01-01')"
        )
    finally:
        conn.close()
    return path


def newer_database(path: Path) -> Path:
    """The project's database as a newer qualcode would leave it: a migration we don't know."""
    conn = sqlite3.connect(path)
    with conn:
        conn.execute(
            "INSERT INTO schema_migrations (name, applied_at) VALUES ('999_toekomst', '2030-01-01')"
        )
    conn.close()
    return path


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_project(tmp_path_factory.mktemp("safety") / "project")


@pytest.fixture
def project_dir(built: Path, tmp_path: Path) -> Path:
    return copy_project(built, tmp_path / "project")


# -- backup and the list of backups ----------------------------------------------------------


def test_backup_command_writes_a_copy_and_says_where(project_dir: Path) -> None:
    result = invoke("backup", "--project", project_dir, "--reason", "Voor de review (Anna)")
    assert result.exit_code == 0, result.output
    (name,) = backup_files(project_dir)
    assert name.startswith("qualcode-") and name.endswith("-voor-de-review-anna.db")
    assert f"Backup written: {project_dir / 'backups' / name}" in result.output
    assert "2 documents; codings: none by a person;" in result.output
    copy = project_dir / "backups" / name
    assert snapshot(copy) == snapshot(project_dir / DB_NAME)
    assert integrity(copy) == "ok"


def test_backup_list_is_newest_first_with_what_each_backup_holds(project_dir: Path) -> None:
    with open_project(project_dir) as project:
        first = make_backup(project, "eerste")
    add_coding(project_dir, FG, 2, "impact/sociaal/eenzaamheid", "accepted", coder="anna")
    add_coding(project_dir, FG, 3, "impact/sociaal/eenzaamheid", "manual", coder="bert")
    add_coding(project_dir, FG, 4, "impact/sociaal/eenzaamheid", "rejected", coder="anna")
    with open_project(project_dir) as project:
        second = make_backup(project, "tweede")
    assert second.made_at >= first.made_at

    found = list_backups(project_dir)
    assert [b.path for b in found] == [second.path, first.path]
    assert [b.number for b in found] == [1, 2]
    assert [b.reason for b in found] == ["tweede", "eerste"]
    assert found[0].person_codings == {"anna": 2, "bert": 1}
    assert found[1].person_codings == {}
    assert found[0].documents == found[1].documents == 2
    assert found[0].suggestions == found[1].suggestions > 0
    assert found[0].schema == MIGRATIONS[-1][0]
    assert found[0].size == second.path.stat().st_size > 0

    table = invoke("backup", "--list", "--project", project_dir)
    assert table.exit_code == 0, table.output
    lines = table.stdout.splitlines()
    assert lines[0].split() == ["nr", "made", "reason", "size", "holds"]
    assert "tweede" in lines[2] and "codings: anna 2, bert 1" in lines[2]
    assert "eerste" in lines[3] and "codings: none by a person" in lines[3]
    assert "qualcode restore --project" in table.stderr

    as_json = invoke("backups", "--project", project_dir, "--format", "json")
    import json

    rows = json.loads(as_json.stdout)
    assert [r["reason"] for r in rows] == ["tweede", "eerste"]
    assert rows[0]["person_codings"] == {"anna": 2, "bert": 1}
    assert rows[0]["path"] == str(second.path)


def test_backup_list_of_a_project_without_backups(project_dir: Path) -> None:
    result = invoke("backup", "--list", "--project", project_dir)
    assert result.exit_code == 0
    assert "No backups" in result.output
    assert list_backups(project_dir) == []


def test_backup_list_shows_a_damaged_file_instead_of_failing(project_dir: Path) -> None:
    with open_project(project_dir) as project:
        make_backup(project, "goed")
    (project_dir / "backups" / "kapot.db").write_bytes(b"dit is geen database" * 100)
    result = invoke("backup", "--list", "--project", project_dir, "--format", "csv")
    assert result.exit_code == 0, result.output
    assert "not a qualcode database" in result.output
    assert "kapot.db" in result.output


# -- restore ---------------------------------------------------------------------------------


def test_restore_brings_back_a_backup_and_can_itself_be_undone(project_dir: Path) -> None:
    db = project_dir / DB_NAME
    with open_project(project_dir) as project:
        make_backup(project, "voor anna")
    before = snapshot(db)
    add_coding(project_dir, FG, 2, "impact/sociaal/eenzaamheid", "accepted", coder="anna")
    with_anna = snapshot(db)
    assert with_anna != before

    result = invoke("restore", "--project", project_dir, "1")
    assert result.exit_code == 0, result.output
    assert "Restored" in result.output and "voor-anna" in result.output
    assert snapshot(db) == before
    assert integrity(db) == "ok"
    # the state before the restore is the newest backup now, and restoring it undoes the restore
    newest = list_backups(project_dir)[0]
    assert newest.reason == "before-restore"
    assert newest.person_codings == {"anna": 1}
    assert f"undo with 'qualcode restore --project {project_dir} {newest.name}'" in result.output

    undo = invoke("restore", "--project", project_dir, newest.name)
    assert undo.exit_code == 0, undo.output
    assert snapshot(db) == with_anna
    # nothing is left next to the database: no temporary copy, no journal
    assert sorted(
        p.name for p in project_dir.iterdir() if p.name.startswith(("qualcode", "."))
    ) == [DB_NAME]


def test_restore_by_file_name_or_path(project_dir: Path, tmp_path: Path) -> None:
    db = project_dir / DB_NAME
    with open_project(project_dir) as project:
        info = make_backup(project, "naam")
    before = snapshot(db)
    add_coding(project_dir, FG, 2, "impact/sociaal/eenzaamheid", "manual", coder="anna")
    restore_backup(project_dir, info.path.stem)
    assert snapshot(db) == before

    elsewhere = tmp_path / "kopie van het project.db"
    shutil.copy(info.path, elsewhere)
    add_coding(project_dir, FG, 3, "impact/sociaal/eenzaamheid", "manual", coder="anna")
    report = restore_backup(project_dir, elsewhere)
    assert report.restored.path == elsewhere
    assert snapshot(db) == before


def test_restore_of_an_unknown_backup_is_a_clear_error(project_dir: Path) -> None:
    before = snapshot(project_dir / DB_NAME)
    for ref in ("3", "bestaat-niet"):
        result = invoke("restore", "--project", project_dir, ref)
        assert_one_line_error(result, f"cannot find backup '{ref}'")
    assert "backup --list" in result.stderr
    assert snapshot(project_dir / DB_NAME) == before
    assert backup_files(project_dir) == []


@pytest.mark.parametrize(
    "kind, fragment",
    [
        ("newer", "made by a newer qualcode (schema 999_toekomst)"),
        ("truncated", "cannot be restored"),
        ("garbage", "not a qualcode database"),
        ("other sqlite", "not a qualcode database (its tables are missing)"),
        ("corrupt page", "damaged"),
        ("itself", "is the project's own database"),
    ],
)
def test_restore_checks_the_backup_first(project_dir: Path, kind: str, fragment: str) -> None:
    db = project_dir / DB_NAME
    with open_project(project_dir) as project:
        good = make_backup(project, "goed").path
    bad = project_dir / "backups" / f"{kind.replace(' ', '-')}.db"
    if kind == "newer":
        newer_database(shutil.copy(good, bad))
    elif kind == "truncated":
        bad.write_bytes(good.read_bytes()[: good.stat().st_size // 3])
    elif kind == "garbage":
        bad.write_bytes(os.urandom(8192))
    elif kind == "other sqlite":
        conn = sqlite3.connect(bad)
        conn.execute("CREATE TABLE boodschappen (wat TEXT)")
        conn.close()
    elif kind == "corrupt page":
        conn = sqlite3.connect(good)
        page_size = conn.execute("PRAGMA page_size").fetchone()[0]
        (root,) = conn.execute(
            "SELECT rootpage FROM sqlite_master WHERE name = 'codings'"
        ).fetchone()
        conn.close()
        data = bytearray(good.read_bytes())
        data[(root - 1) * page_size] = 0x07  # not a b-tree page type
        bad.write_bytes(bytes(data))
    else:
        bad = db
    before, files = snapshot(db), backup_files(project_dir)
    result = invoke("restore", "--project", project_dir, bad)
    assert_one_line_error(result, fragment)
    assert snapshot(db) == before
    assert backup_files(project_dir) == files  # no 'before-restore' backup for nothing


def test_restore_when_the_database_is_gone_or_damaged(project_dir: Path) -> None:
    db = project_dir / DB_NAME
    with open_project(project_dir) as project:
        good = make_backup(project, "goed").path
    expected = snapshot(db)

    db.unlink()
    report = restore_backup(project_dir, "1")
    assert report.previous is None
    assert snapshot(db) == expected

    damaged = os.urandom(4096) * 3
    db.write_bytes(damaged)
    refused = invoke("documents", "--project", project_dir)
    assert_one_line_error(refused, "not a qualcode database")
    assert f"qualcode backup --list --project {project_dir}" in refused.stderr
    # a stale journal: SQLite discards it rather than playing it onto the restored database
    (project_dir / f"{DB_NAME}-journal").write_bytes(b"oude journal")

    result = invoke("restore", "--project", project_dir, good.name)
    assert result.exit_code == 0, result.output
    assert snapshot(db) == expected and integrity(db) == "ok"
    # the damaged file is kept as it was
    kept = list_backups(project_dir)[0]
    assert kept.reason == "damaged-before-restore" and kept.problem
    assert kept.path.read_bytes() == damaged
    assert not (project_dir / f"{DB_NAME}-journal").exists()


def test_restore_writes_through_sqlite_where_the_file_cannot_be_renamed(
    project_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On Windows an open file cannot be renamed over: the copy goes in with the backup API."""
    db = project_dir / DB_NAME
    with open_project(project_dir) as project:
        make_backup(project, "goed")
    before = snapshot(db)
    add_coding(project_dir, FG, 2, "impact/sociaal/eenzaamheid", "manual", coder="anna")

    real_replace = os.replace

    def refuse(src: object, dst: object) -> None:
        if Path(str(dst)) == db:
            raise PermissionError(13, "The process cannot access the file", str(dst))
        real_replace(src, dst)

    monkeypatch.setattr(store.os, "replace", refuse)
    report = restore_backup(project_dir, "1")
    assert snapshot(db) == before and integrity(db) == "ok"
    assert report.previous is not None and read_backup(report.previous).person_codings


def test_restore_into_a_database_in_wal_mode(project_dir: Path) -> None:
    """Another SQLite tool may have switched the database to WAL mode: its -wal file must not
    be played back onto the restored database."""
    db = project_dir / DB_NAME
    with open_project(project_dir) as project:
        make_backup(project, "goed")
    before = snapshot(db)
    other = sqlite3.connect(db)
    assert other.execute("PRAGMA journal_mode = wal").fetchone()[0] == "wal"
    with other:
        other.execute("DELETE FROM codings")
    restore_backup(project_dir, "1")
    other.close()
    assert snapshot(db) == before and integrity(db) == "ok"


def test_a_command_that_opened_the_project_before_a_restore_cannot_write_into_it(
    project_dir: Path,
) -> None:
    with open_project(project_dir) as project:
        make_backup(project, "goed")
    before = snapshot(project_dir / DB_NAME)
    with open_project(project_dir) as stale:
        restore_backup(project_dir, "1")
        moved = "restored from a backup while this command ran"
        with pytest.raises(ProjectError, match=moved), stale.transaction() as conn:
            conn.execute(
                "INSERT INTO memos (target_type, coder, text, created_at, updated_at)"
                " VALUES ('project', 'anna', 'verloren?', 'nu', 'nu')"
            )
    assert snapshot(project_dir / DB_NAME) == before


# -- schema versions -------------------------------------------------------------------------


def test_opening_an_older_project_migrates_it_after_a_backup(tmp_path: Path) -> None:
    folder = tmp_path / "oud"
    folder.mkdir()
    old_database(folder / DB_NAME)
    with open_project(folder) as project:
        applied = [r[0] for r in project.conn.execute("SELECT name FROM schema_migrations")]
        assert applied == [name for name, _ in MIGRATIONS]
        assert project.conn.execute("SELECT name FROM documents").fetchall()[0][0] == "oud.txt"
    (backup,) = list_backups(folder)
    assert backup.reason == "before-migration"
    assert backup.schema == MIGRATIONS[0][0] and backup.documents == 1
    # opening it again changes nothing and makes no second backup
    open_project(folder).close()
    assert len(list_backups(folder)) == 1


def test_opening_a_newer_project_is_refused_and_leaves_it_alone(project_dir: Path) -> None:
    db = newer_database(project_dir / DB_NAME)
    before = db.read_bytes()
    result = invoke("documents", "--project", project_dir)
    assert_one_line_error(result, "made by a newer qualcode (schema 999_toekomst)")
    assert "upgrade qualcode" in result.stderr
    assert result.exit_code == ProjectError.exit_code
    assert db.read_bytes() == before
    assert backup_files(project_dir) == []


def test_restoring_a_backup_of_an_older_qualcode_migrates_it_on_the_next_open(
    project_dir: Path, tmp_path: Path
) -> None:
    old = old_database(tmp_path / "oud.db")
    result = invoke("restore", "--project", project_dir, old)
    assert result.exit_code == 0, result.output
    assert "made by an older qualcode" in result.output
    docs = invoke("documents", "--project", project_dir, "--format", "csv")
    assert docs.exit_code == 0, docs.output
    assert "oud.txt" in docs.output
    reasons = [b.reason for b in list_backups(project_dir)]
    assert reasons == ["before-migration", "before-restore"]
    assert integrity(project_dir / DB_NAME) == "ok"


# -- two commands at once (real processes) ---------------------------------------------------

# Holds the project's write lock (a transaction that added a memo) until RELEASE exists.
HOLDER = """
import sys, time
from pathlib import Path
from qualcode.store import open_project

project_dir, ready, release = map(Path, sys.argv[1:4])
mode = sys.argv[4]
with open_project(project_dir) as project:
    if mode == "write":
        with project.transaction() as conn:
            conn.execute(
                "INSERT INTO memos (target_type, coder, text, created_at, updated_at)"
                " VALUES ('project', 'houder', 'het eerste commando', 'nu', 'nu')"
            )
            ready.write_text("ready")
            while not release.exists():
                time.sleep(0.02)
    else:  # a long read: a shared lock that a writer's COMMIT must wait for
        project.conn.execute("BEGIN")
        project.conn.execute("SELECT count(*) FROM codings").fetchone()
        ready.write_text("ready")
        while not release.exists():
            time.sleep(0.02)
        project.conn.execute("COMMIT")
"""

# Runs the qualcode command line with a chosen busy timeout (seconds).
CLI = """
import sys
from pathlib import Path
import qualcode.store as store

store.BUSY_TIMEOUT_S = float(sys.argv[1])
Path(sys.argv[2]).write_text("started")
from qualcode.cli import cli
cli(sys.argv[3:], prog_name="qualcode")
"""

NEW_TRANSCRIPT = """\
Interviewer: Hoe was de winter voor de bewoners?

R: Zwaar. Veel ouderen zagen wekenlang niemand, en de buurtkamer bleef dicht.
"""


def _script(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def _start(script: Path, *args: object) -> subprocess.Popen[str]:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    return subprocess.Popen(
        [sys.executable, str(script), *map(str, args)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def _wait_for(path: Path, process: subprocess.Popen[str], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        if process.poll() is not None:
            raise AssertionError(f"child ended early: {process.communicate()}")
        assert time.monotonic() < deadline, f"{path} did not appear"
        time.sleep(0.02)


def _memos(db: Path) -> list[str]:
    conn = sqlite3.connect(db)
    try:
        return [r[0] for r in conn.execute("SELECT text FROM memos ORDER BY id")]
    finally:
        conn.close()


def _documents(db: Path) -> list[str]:
    conn = sqlite3.connect(db)
    try:
        return [r[0] for r in conn.execute("SELECT name FROM documents ORDER BY id")]
    finally:
        conn.close()


def test_a_second_command_waits_for_the_first_and_then_succeeds(
    project_dir: Path, tmp_path: Path
) -> None:
    ready, release = tmp_path / "ready", tmp_path / "release"
    first = _start(_script(tmp_path, "holder.py", HOLDER), project_dir, ready, release, "write")
    _wait_for(ready, first)
    transcript = _script(tmp_path, "nieuw.txt", NEW_TRANSCRIPT)
    started = tmp_path / "started"
    second = _start(
        _script(tmp_path, "cli.py", CLI), 60, started, "ingest", transcript, "-p", project_dir
    )
    _wait_for(started, second)
    time.sleep(1.5)
    assert second.poll() is None  # it cannot finish while the first holds the project
    release.write_text("go")
    assert first.wait(timeout=120) == 0
    _, err = second.communicate(timeout=120)
    assert second.returncode == 0, err
    assert "Ingest: 1 added" in err
    db = project_dir / DB_NAME
    assert integrity(db) == "ok"
    assert _memos(db) == ["het eerste commando"]
    assert "nieuw.txt" in _documents(db)


def test_a_second_command_that_waits_too_long_fails_with_a_clear_message(
    project_dir: Path, tmp_path: Path
) -> None:
    db = project_dir / DB_NAME
    documents = _documents(db)
    ready, release = tmp_path / "ready", tmp_path / "release"
    first = _start(_script(tmp_path, "holder.py", HOLDER), project_dir, ready, release, "write")
    try:
        _wait_for(ready, first)
        transcript = _script(tmp_path, "nieuw.txt", NEW_TRANSCRIPT)
        cli = _script(tmp_path, "cli.py", CLI)
        second = _start(cli, 0.5, tmp_path / "started", "ingest", transcript, "-p", project_dir)
        _, err = second.communicate(timeout=120)
    finally:
        release.write_text("go")
        assert first.wait(timeout=120) == 0
    assert second.returncode == ProjectError.exit_code, err
    assert "Traceback" not in err
    errors = [line for line in err.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and "in use by another qualcode command" in errors[0], err
    # the first command's memo, and nothing of the second
    assert _memos(db) == ["het eerste commando"]
    assert _documents(db) == documents
    assert integrity(db) == "ok"


def test_a_commit_that_must_wait_too_long_for_a_reader_is_a_clear_error(
    project_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ready, release = tmp_path / "ready", tmp_path / "release"
    reader = _start(_script(tmp_path, "holder.py", HOLDER), project_dir, ready, release, "read")
    _wait_for(ready, reader)
    monkeypatch.setattr(store, "BUSY_TIMEOUT_S", 0.3)
    db = project_dir / DB_NAME
    before = snapshot(db)
    try:
        with open_project(project_dir) as project:
            busy = "in use by another qualcode command"
            with pytest.raises(ProjectError, match=busy), project.transaction() as conn:
                conn.execute(
                    "INSERT INTO memos (target_type, coder, text, created_at, updated_at)"
                    " VALUES ('project', 'anna', 'te vroeg', 'nu', 'nu')"
                )
            # the transaction was rolled back: the connection can write again
            release.write_text("go")
            assert reader.wait(timeout=120) == 0
            with project.transaction() as conn:
                conn.execute(
                    "INSERT INTO memos (target_type, coder, text, created_at, updated_at)"
                    " VALUES ('project', 'anna', 'daarna', 'nu', 'nu')"
                )
    finally:
        release.write_text("go")
        reader.wait(timeout=120)
    assert _memos(db) == ["daarna"]
    assert snapshot(db, skip=("memos",)) == {k: v for k, v in before.items() if k != "memos"}
    assert integrity(db) == "ok"


def test_restore_is_refused_while_another_command_writes(
    project_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with open_project(project_dir) as project:
        make_backup(project, "goed")
    ready, release = tmp_path / "ready", tmp_path / "release"
    first = _start(_script(tmp_path, "holder.py", HOLDER), project_dir, ready, release, "write")
    try:
        _wait_for(ready, first)
        monkeypatch.setattr(store, "BUSY_TIMEOUT_S", 0.3)
        files = backup_files(project_dir)
        result = invoke("restore", "--project", project_dir, "1")
        assert_one_line_error(result, "in use by another qualcode command")
        assert backup_files(project_dir) == files
    finally:
        release.write_text("go")
        assert first.wait(timeout=120) == 0
    assert _memos(project_dir / DB_NAME) == ["het eerste commando"]


def test_a_backup_can_be_made_while_another_command_writes(
    project_dir: Path, tmp_path: Path
) -> None:
    """It holds what was committed, not the other command's unfinished work."""
    ready, release = tmp_path / "ready", tmp_path / "release"
    first = _start(_script(tmp_path, "holder.py", HOLDER), project_dir, ready, release, "write")
    try:
        _wait_for(ready, first)
        result = invoke("backup", "--project", project_dir)
        assert result.exit_code == 0, result.output
    finally:
        release.write_text("go")
        assert first.wait(timeout=120) == 0
    (backup,) = list_backups(project_dir)
    assert _memos(backup.path) == []
    assert _memos(project_dir / DB_NAME) == ["het eerste commando"]


# Ingests, pausing inside the transaction after the N-th document was written (until the
# release file exists). A small page cache makes SQLite write changed pages to the database file
# before the commit, as a large ingest does, so the rollback journal really has to undo them.
PAUSING_INGEST = """
import sys, time
from pathlib import Path
import qualcode.ingest as ingest
import qualcode.store as store

ready, after, release = Path(sys.argv[1]), int(sys.argv[2]), Path(sys.argv[3])
cache_pages = int(sys.argv[4])
real_connect, real_insert = store._connect, ingest._insert_document

def small_cache(db_path):
    conn = real_connect(db_path)
    if cache_pages:
        conn.execute(f"PRAGMA cache_size = {cache_pages}")
    return conn

written = []

def pausing(*args, **kwargs):
    doc_id = real_insert(*args, **kwargs)
    written.append(doc_id)
    if len(written) == after:
        ready.write_text("inside the transaction")
        deadline = time.monotonic() + 600
        while not release.exists() and time.monotonic() < deadline:
            time.sleep(0.02)
    return doc_id

store._connect, ingest._insert_document = small_cache, pausing
from qualcode.cli import cli
cli(sys.argv[5:], prog_name="qualcode")
"""

# Suggests with a changed codebook, pausing inside the transaction that stores the suggestions
# (finish_run is its last step).
PAUSING_SUGGEST = """
import sys, time
from pathlib import Path
import qualcode.store as store

ready = Path(sys.argv[1])

def pausing(self, run_id, summary):
    ready.write_text("inside the transaction")
    time.sleep(600)

store.Project.finish_run = pausing
from qualcode.cli import cli
cli(sys.argv[2:], prog_name="qualcode")
"""


def _kill_inside(process: subprocess.Popen[str], ready: Path, db: Path) -> None:
    _wait_for(ready, process, timeout=300)
    assert Path(f"{db}-journal").exists()  # a transaction is under way
    process.send_signal(signal.SIGKILL)
    process.communicate(timeout=60)
    assert process.returncode == -signal.SIGKILL


def test_ingest_killed_inside_its_transaction_leaves_the_project_as_it_was(
    project_dir: Path, tmp_path: Path
) -> None:
    db = project_dir / DB_NAME
    folder = tmp_path / "nieuw"
    folder.mkdir()
    for n in range(6):
        text = NEW_TRANSCRIPT + f"\nR: Aanvulling {n}: " + "de buurt hield elkaar vast. " * 300
        _script(folder, f"gesprek{n}.txt", text)
    before, before_bytes = snapshot(db), db.read_bytes()
    ready = tmp_path / "ready"
    process = _start(
        _script(tmp_path, "ingest.py", PAUSING_INGEST),
        ready,
        4,
        tmp_path / "never",
        2,
        "ingest",
        folder,
        "-p",
        project_dir,
    )
    _kill_inside(process, ready, db)
    assert db.read_bytes() != before_bytes  # half of the ingest had reached the file itself
    assert snapshot(db) == before  # ... and the journal undid it
    assert integrity(db) == "ok"
    assert not Path(f"{db}-journal").exists()
    result = invoke("ingest", folder, "-p", project_dir)
    assert result.exit_code == 0 and "6 added" in result.output


def test_suggest_killed_inside_its_transaction_leaves_the_project_as_it_was(
    project_dir: Path, tmp_path: Path
) -> None:
    db = project_dir / DB_NAME
    before = snapshot(db, CACHE_TABLES)
    ready = tmp_path / "ready"
    process = _start(
        _script(tmp_path, "suggest.py", PAUSING_SUGGEST),
        ready,
        "suggest",
        "-p",
        project_dir,
        "--codebook",
        CHANGED_YAML,
    )
    _kill_inside(process, ready, db)
    assert snapshot(db, CACHE_TABLES) == before  # codes and suggestions alike
    assert integrity(db) == "ok"


def test_two_commands_ingesting_the_same_new_file_at_once(
    project_dir: Path, tmp_path: Path
) -> None:
    """The second one waits, then finds the file already there: no clash, no traceback."""
    db = project_dir / DB_NAME
    transcript = _script(tmp_path, "nieuw.txt", NEW_TRANSCRIPT)
    ready, release = tmp_path / "ready", tmp_path / "release"
    first = _start(
        _script(tmp_path, "ingest.py", PAUSING_INGEST),
        ready,
        1,
        release,
        0,  # SQLite's usual cache: the first holds the write lock, others can still read
        "ingest",
        transcript,
        "-p",
        project_dir,
    )
    try:
        _wait_for(ready, first)
        started = tmp_path / "started"
        second = _start(
            _script(tmp_path, "cli.py", CLI), 60, started, "ingest", transcript, "-p", project_dir
        )
        _wait_for(started, second)
        time.sleep(1.5)
    finally:
        release.write_text("go")
    _, first_err = first.communicate(timeout=120)
    _, second_err = second.communicate(timeout=120)
    assert first.returncode == 0, first_err
    assert "Ingest: 1 added" in first_err
    assert second.returncode == 0, second_err
    assert "Ingest: 0 added, 1 unchanged" in second_err
    assert _documents(db).count("nieuw.txt") == 1
    assert integrity(db) == "ok"


# -- a failure in the middle of a command ----------------------------------------------------


class Crash(Exception):
    pass


def test_an_error_in_the_middle_of_ingest_leaves_the_project_as_it_was(
    project_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import qualcode.ingest as ingest

    db = project_dir / DB_NAME
    before = snapshot(db)
    real = ingest._insert_document
    calls: list[int] = []

    def failing(*args: object, **kwargs: object) -> int:
        if len(calls) == 1:
            raise Crash("disk full, say")
        calls.append(real(*args, **kwargs))  # type: ignore[arg-type]
        return calls[-1]

    monkeypatch.setattr(ingest, "_insert_document", failing)
    folder = tmp_path / "nieuw"
    folder.mkdir()
    for n in range(3):
        _script(folder, f"g{n}.txt", NEW_TRANSCRIPT + f"\nR: Gesprek {n}.\n")
    with open_project(project_dir) as project, pytest.raises(Crash):
        ingest.ingest_files(project, [folder])
    assert calls  # the first document had been written before the failure
    assert snapshot(db) == before
    assert integrity(db) == "ok"


def test_an_error_while_replacing_a_document_leaves_the_project_and_no_backup(
    project_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import qualcode.ingest as ingest

    db = project_dir / DB_NAME
    add_coding(project_dir, FG, 2, "impact/sociaal/eenzaamheid", "accepted", coder="anna")
    changed = tmp_path / FG
    changed.write_text(
        (SUGGEST_CORPUS / FG).read_text(encoding="utf-8") + "\nR: Nog een nagekomen zin.\n",
        encoding="utf-8",
    )
    conn = sqlite3.connect(db)
    with conn:  # make the project's copy point at the changed file's name
        conn.execute("UPDATE documents SET path = ? WHERE name = ?", (str(changed), FG))
    conn.close()
    before = snapshot(db)

    def failing(*args: object, **kwargs: object) -> int:
        raise Crash("power cut")

    monkeypatch.setattr(ingest, "_reanchor", failing)
    with open_project(project_dir) as project, pytest.raises(Crash):
        ingest.ingest_files(project, [changed], replace=True)
    assert snapshot(db) == before
    assert backup_files(project_dir) == []


def test_an_error_in_the_middle_of_suggest_leaves_the_project_as_it_was(
    project_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With an edited codebook, so that the codes would change too."""
    import qualcode.suggest as suggest_module

    db = project_dir / DB_NAME
    add_coding(project_dir, FG, 2, "impact/sociaal/eenzaamheid", "accepted", coder="anna")
    before = snapshot(db, CACHE_TABLES)

    def failing(*args: object, **kwargs: object) -> object:
        raise Crash("out of memory, say")

    # called inside the transaction, after the old suggestions were deleted and new ones stored
    monkeypatch.setattr(suggest_module, "summary_counts", failing)
    with open_project(project_dir) as project, pytest.raises(Crash):
        suggest_module.suggest(project, codebook=CHANGED_YAML)
    assert snapshot(db, CACHE_TABLES) == before
    assert integrity(db) == "ok"
    # the same command without the failure does change the codes and suggestions
    monkeypatch.undo()
    with open_project(project_dir) as project:
        suggest_module.suggest(project, codebook=CHANGED_YAML)
    after = snapshot(db)
    assert after["codes"] != before["codes"] and after["codings"] != before["codings"]
    assert len(person_codings(db)) == 1  # anna's coding is untouched either way


def test_suggest_interrupted_on_a_new_project_keeps_only_the_lemmas(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Lemmas are a cache, stored in batches on purpose so that a long first run that is
    interrupted need not start over; everything else is as it was."""
    import qualcode.suggest as suggest_module
    from qualcode.ingest import ingest_files
    from qualcode.store import init_project

    with init_project(tmp_path / "nieuw") as project:
        ingest_files(project, [SUGGEST_CORPUS])
    db = tmp_path / "nieuw" / DB_NAME
    before = snapshot(db)
    assert before["segment_nlp"] == []

    def failing(*args: object, **kwargs: object) -> object:
        raise Crash("interrupted")

    monkeypatch.setattr(suggest_module, "summary_counts", failing)
    with open_project(tmp_path / "nieuw") as project, pytest.raises(Crash):
        suggest_module.suggest(project, codebook=CHANGED_YAML)
    after = snapshot(db)
    assert after["segment_nlp"] and after["segment_features"]  # the cache was kept ...
    assert {k: v for k, v in after.items() if k not in CACHE_TABLES} == {
        k: v for k, v in before.items() if k not in CACHE_TABLES
    }  # ... and nothing else changed: no codes, no suggestions, no run
