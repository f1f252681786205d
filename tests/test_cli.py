"""The command line: init, ingest, documents, show; a light import; --help."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import TEXT_FIXTURES, TRANSCRIPTS, invoke, write_csv

from qualcode.errors import TranscriptError
from qualcode.ingest import collect_files, ingest_files
from qualcode.store import Project

DOC_FIELDS = {"id", "name", "format", "turns", "speakers", "words", "attributes"}
TURN_FIELDS = {"speaker", "role", "timestamp", "start", "end", "text", "is_interviewer"}


def test_help() -> None:
    result = invoke(CliRunner(), "--help")
    assert result.exit_code == 0
    for command in ("init", "ingest", "documents", "show"):
        assert command in result.output


@pytest.mark.parametrize("command", ["init", "ingest", "documents", "show"])
def test_command_help(command: str) -> None:
    result = invoke(CliRunner(), command, "--help")
    assert result.exit_code == 0 and "Usage:" in result.output


def test_help_in_a_subprocess() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "qualcode", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )
    assert result.returncode == 0, result.stderr
    assert "Usage:" in result.stdout and "Traceback" not in result.stderr


def test_real_command_line_error_has_no_traceback(tmp_path: Path) -> None:
    """The installed entry point, not CliRunner: a bad file gives one line and exit code 2."""
    bad = tmp_path / "kapot.docx"
    bad.write_bytes(b"geen word-bestand" * 20)
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    qualcode = [sys.executable, "-m", "qualcode"]
    subprocess.run([*qualcode, "init", tmp_path / "p"], check=True, env=env, capture_output=True)
    result = subprocess.run(
        [*qualcode, "ingest", TRANSCRIPTS / "zoom.vtt", bad, "-p", tmp_path / "p"],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert result.returncode == 2
    assert result.stderr.splitlines()[0].startswith(f"Error: {bad}: not a valid Word .docx")
    assert "Traceback" not in result.stderr and result.stdout == ""


def test_importing_the_cli_stays_light() -> None:
    heavy = ["spacy", "pandas", "sklearn", "bertopic", "docx", "torch"]
    code = (
        "import json, sys\n"
        "import qualcode.cli\n"
        f"print(json.dumps(sorted(m for m in {heavy!r} if m in sys.modules)))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert json.loads(result.stdout) == []


def test_init(tmp_path: Path) -> None:
    runner = CliRunner()
    result = invoke(runner, "init", tmp_path / "studie")
    assert result.exit_code == 0
    assert (tmp_path / "studie" / "qualcode.db").exists()
    assert (tmp_path / "studie" / "settings.yaml").exists()
    # init again on the same folder is harmless
    assert invoke(runner, "init", tmp_path / "studie").exit_code == 0


def test_ingest_documents_and_show(
    project_dir: Path, runner: CliRunner, binary_fixtures: dict[str, Path]
) -> None:
    result = invoke(runner, "ingest", TRANSCRIPTS, *binary_fixtures.values(), "-p", project_dir)
    assert result.exit_code == 0, result.output
    total = len(TEXT_FIXTURES) + len(binary_fixtures)
    assert result.stderr.startswith(f"Ingest: {total} added, 0 unchanged.")

    table = invoke(runner, "documents", "-p", project_dir)
    assert table.exit_code == 0
    lines = table.stdout.splitlines()
    assert lines[0].split() == ["id", "document", "format", "type", "speakers", "turns", "words"]
    assert set(lines[1]) <= {"-", " "}
    assert len(lines) == 2 + total
    assert any(line.split()[1:3] == ["teams.vtt", "vtt-teams"] for line in lines)

    as_csv = invoke(runner, "documents", "--format", "csv", "-p", project_dir)
    rows = list(csv.DictReader(io.StringIO(as_csv.stdout)))
    assert len(rows) == total
    by_name = {r["document"]: r for r in rows}
    assert by_name["focusgroep.srt"]["format"] == "srt"
    assert by_name["focusgroep.srt"]["turns"] == "4"
    assert by_name["focusgroep.srt"]["speakers"] == "3"
    assert by_name["gesprek_tabel.docx"]["format"] == "docx"
    assert by_name["gesprek.odt"]["format"] == "odt"

    as_json = json.loads(invoke(runner, "documents", "-f", "json", "-p", project_dir).stdout)
    assert len(as_json) == total
    for doc in as_json:
        assert set(doc) == DOC_FIELDS
        assert doc["turns"] >= 1 and doc["speakers"] >= 1 and doc["words"] > 0
    zoom = next(d for d in as_json if d["name"] == "zoom.vtt")
    assert (zoom["format"], zoom["turns"], zoom["speakers"]) == ("vtt-zoom", 4, 2)
    prose = next(d for d in as_json if d["name"] == "veldnotitie.txt")
    assert (prose["turns"], prose["speakers"]) == (3, 1)

    shown = invoke(runner, "show", "interview_namen", "--format", "json", "-p", project_dir)
    turns = json.loads(shown.stdout)
    assert all(set(t) == TURN_FIELDS for t in turns)
    assert turns[0] == {
        "speaker": "Interviewer",
        "role": None,
        "timestamp": "00:00:04",
        "start": len("Interviewer: "),
        "end": len("Interviewer: ") + len(turns[0]["text"]),
        "text": "Fijn dat je tijd hebt. Kun je vertellen wat je doet bij het wijkteam?",
        "is_interviewer": True,
    }
    assert turns[1]["speaker"] == "Els Hoekstra" and turns[1]["is_interviewer"] is False

    table = invoke(runner, "show", "interview_namen.txt", "-p", project_dir)
    assert table.exit_code == 0
    assert "Interviewer *" in table.stdout and "Els Hoekstra" in table.stdout
    assert "interviewer/moderator" in table.stderr

    as_csv = invoke(runner, "show", "naam_rol", "-f", "csv", "-p", project_dir)
    rows = list(csv.DictReader(io.StringIO(as_csv.stdout)))
    assert rows[1]["speaker"] == "Fatima El Amrani" and rows[1]["role"] == "jongerenwerker"


def test_show_finds_documents_by_id_name_stem_and_prefix(
    project_dir: Path, runner: CliRunner
) -> None:
    assert invoke(runner, "ingest", TRANSCRIPTS, "-p", project_dir).exit_code == 0
    docs = json.loads(invoke(runner, "documents", "-f", "json", "-p", project_dir).stdout)
    ids = {d["name"]: d["id"] for d in docs}

    def first_speaker(ref: object) -> str:
        result = invoke(runner, "show", ref, "-f", "json", "-p", project_dir)
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)[0]["speaker"]

    assert first_speaker(ids["zoom.vtt"]) == "Ilse van Dam"
    assert first_speaker("ZOOM.VTT") == "Ilse van Dam"
    assert first_speaker("teams") == "Sanne de Vries"
    assert first_speaker("spreker_eigen") == "Spreker 1"  # unique prefix
    assert first_speaker("interview") == "Interviewer"  # the stem of interview.md
    ambiguous = invoke(runner, "show", "focusgroep_", "-p", project_dir)
    assert ambiguous.exit_code != 0 and "matches" in ambiguous.stderr


def test_show_output_file(project_dir: Path, runner: CliRunner, tmp_path: Path) -> None:
    assert invoke(runner, "ingest", TRANSCRIPTS / "zoom.vtt", "-p", project_dir).exit_code == 0
    out = tmp_path / "uit" / "zoom.json"
    result = invoke(runner, "show", "zoom", "-f", "json", "-o", out, "-p", project_dir)
    assert result.exit_code == 0 and result.stdout == ""
    assert len(json.loads(out.read_text(encoding="utf-8"))) == 4


def test_ingest_warns_when_one_speaker_got_everything(
    tmp_path: Path, project_dir: Path, runner: CliRunner
) -> None:
    """Labels qualcode does not know ('huisarts a -') leave all text with the moderator: that
    must not pass silently, while a well-labelled file gives no such warning."""
    lines = ["Moderator: Welkom allemaal."]
    lines += [f"huisarts {'ab'[n % 2]} - Het spreekuur liep vol, week {n}." for n in range(8)]
    merged = tmp_path / "fg_huisartsen.txt"
    merged.write_text("\n\n".join(lines), encoding="utf-8")
    result = invoke(runner, "ingest", merged, TRANSCRIPTS / "interview_ir.txt", "-p", project_dir)
    assert result.exit_code == 0, result.output
    warnings = [line for line in result.stderr.splitlines() if line.startswith("Warning:")]
    assert len(warnings) == 1
    assert "fg_huisartsen.txt: all 9 paragraphs were read as said by one speaker" in warnings[0]
    assert "('Moderator')" in warnings[0]


def test_ingest_with_metadata_and_unit(
    tmp_path: Path, project_dir: Path, runner: CliRunner
) -> None:
    meta = write_csv(
        tmp_path / "metadata.csv",
        [
            ["document", "speaker", "role", "type"],
            ["teams.vtt", "", "", "interview"],
            ["teams.vtt", "Sanne de Vries", "interviewer", ""],
        ],
    )
    result = invoke(
        runner,
        "ingest",
        TRANSCRIPTS / "teams.vtt",
        "-m",
        meta,
        "--unit",
        "sentence",
        "-p",
        project_dir,
    )
    assert result.exit_code == 0, result.output
    docs = json.loads(invoke(runner, "documents", "-f", "json", "-p", project_dir).stdout)
    assert docs[0]["attributes"] == {"type": "interview"}
    table = invoke(runner, "documents", "-p", project_dir).stdout
    assert "interview" in table.splitlines()[2]
    shown = json.loads(invoke(runner, "show", "teams", "-f", "json", "-p", project_dir).stdout)
    assert shown[0]["role"] == "interviewer"


def test_project_from_environment(
    project_dir: Path, runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("QUALCODE_PROJECT", str(project_dir))
    assert invoke(runner, "ingest", TRANSCRIPTS / "zoom.vtt").exit_code == 0
    assert "zoom.vtt" in invoke(runner, "documents").stdout


def test_folder_ingest_skips_hidden_underscore_and_readme(tmp_path: Path) -> None:
    folder = tmp_path / "transcripten"
    (folder / "_oud").mkdir(parents=True)
    (folder / ".cache").mkdir()
    for name in ("a.txt", "_oud/b.txt", ".cache/c.txt", "README.md", "notes.json", "sub/d.srt"):
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text("x", encoding="utf-8")
    found = [p.relative_to(folder).as_posix() for p in collect_files([folder])]
    assert found == ["a.txt", "sub/d.srt"]
    names = {p.name for p in collect_files([TRANSCRIPTS])}
    assert names.isdisjoint({"leeg.txt", "dash_dialoog.txt", "geen_cues.vtt"})
    assert sorted(names) == TEXT_FIXTURES


def test_same_name_with_another_extension_is_refused(tmp_path: Path, project: Project) -> None:
    """Documents are identified by name without extension (segment keys, metadata)."""
    other = tmp_path / "zoom.txt"
    other.write_text("I: Hallo?\n\nR: Ja, ik hoor je.\n", encoding="utf-8")
    with pytest.raises(TranscriptError, match="same name"):
        ingest_files(project, [TRANSCRIPTS / "zoom.vtt", other])
    ingest_files(project, [TRANSCRIPTS / "zoom.vtt"])
    with pytest.raises(TranscriptError, match="already has a document with the same name"):
        ingest_files(project, [other])
