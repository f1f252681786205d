"""Re-ingesting: unchanged files are left alone, changed files only replaced with --replace,
and human codings move with their passages."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import TEXT_FIXTURES, TRANSCRIPTS, db_snapshot, invoke

from qualcode.errors import ProjectError
from qualcode.ingest import ingest_files
from qualcode.store import Project, open_project

V1 = """\
Interviewer: Wat is er veranderd in uw werk sinds maart?

R: Alles eigenlijk. We doen het spreekuur nu via de telefoon.

Interviewer: Merkt u eenzaamheid bij ouderen?

R: Zeker. Mevrouw Jansen belt me elke dag, gewoon om iemand te horen.

Interviewer: Dank u wel.
"""
# A new question at the start, a typo fixed in one passage; the coded passage is unchanged.
V2 = """\
Interviewer: Even vooraf: mag ik dit opnemen?

R: Ja hoor, geen probleem.

Interviewer: Wat is er veranderd in uw werk sinds maart?

R: Alles eigenlijk. We doen het spreekuur nu via de telefoon en soms via beeldbellen.

Interviewer: Merkt u eenzaamheid bij ouderen?

R: Zeker. Mevrouw Jansen belt me elke dag, gewoon om iemand te horen.

Interviewer: Dank u wel.
"""
# The coded passage about mevrouw Jansen is gone.
V3 = """\
Interviewer: Wat is er veranderd in uw werk sinds maart?

R: Alles eigenlijk. We doen het spreekuur nu via de telefoon.

Interviewer: Dank u wel.
"""
CODED = "Zeker. Mevrouw Jansen belt me elke dag, gewoon om iemand te horen."


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def _conn(project_dir: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(project_dir / "qualcode.db")
    conn.execute("PRAGMA foreign_keys = ON")
    return conn


def _code_passage(project_dir: Path, text: str) -> None:
    """Code the segment whose text is ``text`` (a person) and add a machine suggestion to it."""
    conn = _conn(project_dir)
    with conn:
        (seg_id,) = conn.execute(
            "SELECT s.id FROM segments s JOIN documents d ON d.id = s.document_id"
            " WHERE substr(d.text, s.start + 1, s.end - s.start) = ?",
            (text,),
        ).fetchone()
        conn.execute(
            "INSERT INTO codes (path, code_key, label) VALUES"
            " ('sociaal', 'sociaal', 'Sociale impact'),"
            " ('sociaal/eenzaamheid', 'eenzaamheid', 'Eenzaamheid en isolement')"
        )
        code_id = conn.execute("SELECT id FROM codes WHERE code_key = 'eenzaamheid'").fetchone()[0]
        other = conn.execute("SELECT id FROM codes WHERE code_key = 'sociaal'").fetchone()[0]
        stamp = "2021-03-01T10:00:00+00:00"
        conn.execute(
            "INSERT INTO codings (segment_id, code_id, coder, status, created_at, updated_at)"
            " VALUES (?, ?, 'marieke', 'accepted', ?, ?)",
            (seg_id, code_id, stamp, stamp),
        )
        conn.execute(
            "INSERT INTO codings (segment_id, code_id, coder, status, score, created_at,"
            " updated_at) VALUES (?, ?, 'qualcode', 'suggested', 0.8, ?, ?)",
            (seg_id, other, stamp, stamp),
        )
    conn.close()


def _codings(project_dir: Path) -> list[tuple[str, str, str]]:
    conn = _conn(project_dir)
    rows = conn.execute(
        "SELECT c.coder, k.code_key, substr(d.text, s.start + 1, s.end - s.start)"
        " FROM codings c JOIN codes k ON k.id = c.code_id JOIN segments s ON s.id = c.segment_id"
        " JOIN documents d ON d.id = s.document_id ORDER BY c.coder"
    ).fetchall()
    conn.close()
    return rows


def _doc_text(project_dir: Path) -> str:
    conn = _conn(project_dir)
    (text,) = conn.execute("SELECT text FROM documents").fetchone()
    conn.close()
    return text


def test_same_files_twice_changes_nothing(project_dir: Path, runner: CliRunner) -> None:
    first = invoke(runner, "ingest", TRANSCRIPTS, "-p", project_dir)
    assert first.exit_code == 0
    before = db_snapshot(project_dir)
    assert len(before["documents"]) == len(TEXT_FIXTURES)
    again = invoke(runner, "ingest", TRANSCRIPTS, "-p", project_dir)
    assert again.exit_code == 0
    assert f"0 added, {len(TEXT_FIXTURES)} unchanged" in again.stderr
    assert db_snapshot(project_dir) == before


def test_same_file_named_twice_in_one_call(tmp_path: Path, project: Project) -> None:
    path = TRANSCRIPTS / "naam_rol.txt"
    report = ingest_files(project, [path, path, TRANSCRIPTS])
    assert report.added.count("naam_rol.txt") == 1
    count = project.conn.execute("SELECT count(*) FROM documents").fetchone()[0]
    assert count == len(TEXT_FIXTURES)


def test_changed_file_is_reported_and_not_replaced(
    tmp_path: Path, project_dir: Path, runner: CliRunner
) -> None:
    path = _write(tmp_path / "interview.txt", V1)
    assert invoke(runner, "ingest", path, "-p", project_dir).exit_code == 0
    _code_passage(project_dir, CODED)
    before = db_snapshot(project_dir)
    _write(path, V2)
    result = invoke(runner, "ingest", path, "-p", project_dir)
    assert result.exit_code == 0
    assert "1 changed but not replaced" in result.stderr
    assert "Warning:" in result.stderr and "--replace" in result.stderr
    assert "interview.txt" in result.stderr
    assert db_snapshot(project_dir) == before
    assert not (project_dir / "backups").exists()


def test_replace_moves_codings_and_makes_a_backup(
    tmp_path: Path, project_dir: Path, runner: CliRunner
) -> None:
    path = _write(tmp_path / "interview.txt", V1)
    assert invoke(runner, "ingest", path, "-p", project_dir).exit_code == 0
    _code_passage(project_dir, CODED)
    old_ids = [r[0] for r in db_snapshot(project_dir)["segments"]]
    _write(path, V2)
    result = invoke(runner, "ingest", path, "--replace", "-p", project_dir)
    assert result.exit_code == 0, result.output
    assert "1 replaced (1 codings moved)" in result.stderr
    backups = list((project_dir / "backups").glob("*.db"))
    assert len(backups) == 1
    # the backup holds the old version
    conn = sqlite3.connect(backups[0])
    assert conn.execute("SELECT text FROM documents").fetchone()[0].count("Interviewer:") == 3
    conn.close()

    snapshot = db_snapshot(project_dir)
    assert len(snapshot["documents"]) == 1
    assert snapshot["documents"][0][1] == "interview.txt"
    assert "beeldbellen" in _doc_text(project_dir)
    # the person's coding is on the same passage in the new version; the machine's is gone
    assert _codings(project_dir) == [("marieke", "eenzaamheid", CODED)]
    new_segment = snapshot["codings"][0][1]
    assert new_segment not in old_ids
    assert len(snapshot["turns"]) == 7
    assert len(snapshot["speakers"]) == 2


def test_replace_moves_a_coding_to_a_slightly_edited_passage(
    tmp_path: Path, project_dir: Path
) -> None:
    path = _write(tmp_path / "interview.txt", V1)
    with open_project(project_dir) as proj:
        ingest_files(proj, [path])
    _code_passage(project_dir, CODED)
    _write(path, V1.replace("elke dag", "bijna elke dag"))
    with open_project(project_dir) as proj:
        report = ingest_files(proj, [path], replace=True)
    assert report.replaced == ["interview.txt"] and report.moved_codings == 1
    assert _codings(project_dir) == [
        ("marieke", "eenzaamheid", CODED.replace("elke dag", "bijna elke dag"))
    ]


def test_replace_refuses_when_a_coded_passage_disappeared(
    tmp_path: Path, project_dir: Path, runner: CliRunner
) -> None:
    path = _write(tmp_path / "interview.txt", V1)
    assert invoke(runner, "ingest", path, "-p", project_dir).exit_code == 0
    _code_passage(project_dir, CODED)
    before = db_snapshot(project_dir)
    _write(path, V3)
    result = invoke(runner, "ingest", path, "--replace", "-p", project_dir)
    assert result.exit_code == ProjectError.exit_code
    assert result.stderr.startswith("Error: 1 coding(s) are on passages that no longer exist")
    assert "--drop-unmatched-codings" in result.stderr
    assert "Traceback" not in result.output
    assert db_snapshot(project_dir) == before
    assert not list((project_dir / "backups").glob("*.db"))  # refused: no backup left behind

    result = invoke(
        runner, "ingest", path, "--replace", "--drop-unmatched-codings", "-p", project_dir
    )
    assert result.exit_code == 0, result.output
    assert "1 replaced (0 codings moved)" in result.stderr
    assert _codings(project_dir) == []
    assert "Mevrouw Jansen" not in _doc_text(project_dir)


def test_replace_of_an_unchanged_file_does_nothing(
    tmp_path: Path, project_dir: Path, runner: CliRunner
) -> None:
    path = _write(tmp_path / "interview.txt", V1)
    assert invoke(runner, "ingest", path, "-p", project_dir).exit_code == 0
    _code_passage(project_dir, CODED)
    before = db_snapshot(project_dir)
    result = invoke(runner, "ingest", path, "--replace", "-p", project_dir)
    assert result.exit_code == 0
    assert "1 unchanged" in result.stderr
    assert db_snapshot(project_dir) == before
    assert not (project_dir / "backups").exists()


def test_replace_keeps_document_memos(tmp_path: Path, project_dir: Path) -> None:
    path = _write(tmp_path / "interview.txt", V1)
    with open_project(project_dir) as proj:
        ingest_files(proj, [path])
        doc_id = proj.conn.execute("SELECT id FROM documents").fetchone()[0]
        with proj.transaction() as conn:
            conn.execute(
                "INSERT INTO memos (target_type, target_id, coder, text, created_at, updated_at)"
                " VALUES ('document', ?, 'marieke', 'Goed interview', 'nu', 'nu')",
                (doc_id,),
            )
    _write(path, V2)
    with open_project(project_dir) as proj:
        ingest_files(proj, [path], replace=True)
        new_id = proj.conn.execute("SELECT id FROM documents").fetchone()[0]
        memo = proj.conn.execute("SELECT target_id FROM memos").fetchone()[0]
    assert new_id != doc_id and memo == new_id


@pytest.mark.parametrize("unit", ["paragraph", "sentence"])
def test_replace_moves_codings_for_finer_units(
    unit: str, tmp_path: Path, project_dir: Path
) -> None:
    path = _write(tmp_path / "interview.txt", V1)
    with open_project(project_dir) as proj:
        ingest_files(proj, [path], unit=unit)
    passage = CODED if unit == "paragraph" else "Zeker."
    _code_passage(project_dir, passage)
    _write(path, V2)
    with open_project(project_dir) as proj:
        report = ingest_files(proj, [path], replace=True, unit=unit)
    assert report.moved_codings == 1
    assert _codings(project_dir) == [("marieke", "eenzaamheid", passage)]
