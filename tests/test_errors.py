"""Error paths: one line naming the file (and line), non-zero exit, no traceback, no half-writes."""

from __future__ import annotations

import shutil
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import BAD, TRANSCRIPTS, db_snapshot, invoke, write_csv

from qualcode.errors import ProjectError, QualcodeError, TranscriptError
from qualcode.ingest import ingest_files, read_transcript
from qualcode.ingest.encoding import decode_bytes
from qualcode.store import Project

GOOD = TRANSCRIPTS / "interview_ir.txt"


def _copy(name: str) -> Callable[[Path], Path]:
    def make(folder: Path) -> Path:
        return Path(shutil.copy(BAD / name, folder / name))

    return make


def _bytes(name: str, data: bytes) -> Callable[[Path], Path]:
    def make(folder: Path) -> Path:
        path = folder / name
        path.write_bytes(data)
        return path

    return make


def _zip_not_docx(folder: Path) -> Path:
    path = folder / "geen_word.docx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("notities.txt", "Dit is een zip met een tekstbestand erin.")
    return path


def _zip_not_odt(folder: Path) -> Path:
    path = folder / "geen_odt.odt"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("mimetype", "text/plain")
    return path


def _docx_broken_xml(folder: Path) -> Path:
    from conftest import write_docx_paragraphs

    good = write_docx_paragraphs(folder / "heel.docx")
    path = folder / "kapotte_xml.docx"
    with zipfile.ZipFile(good) as source, zipfile.ZipFile(path, "w") as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == "word/document.xml":
                data = data[: len(data) // 2]
            target.writestr(item, data)
    good.unlink()
    return path


def _missing(folder: Path) -> Path:
    return folder / "bestaat_niet.txt"


UNDECODABLE = "Interviewer: Hoe gaat het?\nR: Goed, maar \x81\x8d\n".encode("latin-1")
BINARY = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 8

# id -> (make the bad file in a folder, words the message must contain, line or None)
BAD_FILES: dict[str, tuple[Callable[[Path], Path], str, int | None]] = {
    "missing": (_missing, "not found", None),
    "empty": (_copy("leeg.txt"), "empty", None),
    "whitespace-only": (_bytes("wit.txt", b"  \r\n\r\n \t \r\n"), "empty", None),
    "binary": (_bytes("foto.txt", BINARY), "not a text file", None),
    "random-docx": (_bytes("kapot.docx", bytes(range(256)) * 16), "not a valid Word", None),
    "zip-not-docx": (_zip_not_docx, "damaged", None),
    "docx-broken-xml": (_docx_broken_xml, "damaged", None),
    "random-odt": (_bytes("kapot.odt", b"\x00\x01 geen odt " * 50), "OpenDocument", None),
    "zip-not-odt": (_zip_not_odt, "damaged", None),
    "undecodable": (_bytes("vreemd.txt", UNDECODABLE), "neither UTF-8 nor Windows-1252", 2),
    "vtt-no-cues": (_copy("geen_cues.vtt"), "no cues", None),
    "vtt-no-header": (_copy("geen_header.vtt"), "WEBVTT", 1),
    "vtt-damaged-cue": (
        _bytes(
            "kapot.vtt",
            b"WEBVTT\n\n00:00:01.000 --> 00:00:02.000\nI: Hallo\n\n"
            b"00:00:0X.000 --> 00:00:03.000\nR: Dag\n",
        ),
        "damaged WebVTT cue",
        6,
    ),
    "srt-damaged": (
        _bytes(
            "kapot.srt",
            b"1\n00:00:01,000 --> 00:00:02,000\nR: Hallo\n\n2\n00:00:0X,000 --> 00:00:03,000\n",
        ),
        "SRT",
        5,
    ),
    "dash-dialogue": (_copy("dash_dialoog.txt"), "unknown speaker format", 1),
    "doc": (_bytes("oud.doc", b"\xd0\xcf\x11\xe0 oud Word-bestand"), "unsupported", None),
    "pdf": (_bytes("scan.pdf", b"%PDF-1.4 ..."), "unsupported", None),
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_read_transcript_raises_transcript_error(case: str, tmp_path: Path) -> None:
    make, words, line = BAD_FILES[case]
    path = make(tmp_path)
    with pytest.raises(TranscriptError) as info:
        read_transcript(path)
    error = info.value
    assert error.file == str(path)
    assert error.line == line
    assert words in str(error)
    assert "\n" not in error.message
    assert str(error).startswith(str(path) + (f", line {line}:" if line else ":"))


def _assert_one_line_error(result: object, name: str, line: int | None) -> None:
    """Exactly one 'Error:' line naming the file; at most a hint line; no traceback."""
    assert result.exit_code != 0
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert lines[0].startswith("Error: ")
    assert name in lines[0]
    if line is not None:
        assert f"line {line}" in lines[0]
    assert all(extra.startswith("  → ") for extra in lines[1:]), lines
    assert len(lines) <= 2
    assert "Traceback" not in result.output


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_cli_ingest_with_one_bad_file_changes_nothing(
    case: str, tmp_path: Path, project_dir: Path, runner: CliRunner
) -> None:
    assert invoke(runner, "ingest", GOOD, "-p", project_dir).exit_code == 0
    before = db_snapshot(project_dir)
    make, _, line = BAD_FILES[case]
    bad = make(tmp_path)
    # good files before and after the bad one: none of them may be written
    result = invoke(
        runner,
        "ingest",
        TRANSCRIPTS / "interview_namen.txt",
        bad,
        TRANSCRIPTS / "zoom.vtt",
        "-p",
        project_dir,
    )
    _assert_one_line_error(result, bad.name, line)
    assert result.exit_code == 2
    assert db_snapshot(project_dir) == before
    assert not (project_dir / "backups").exists()


def test_undecodable_bytes_are_refused_by_the_decoder() -> None:
    with pytest.raises(TranscriptError, match="line 2"):
        decode_bytes(UNDECODABLE, "vreemd.txt")
    # with an explicit encoding the user takes responsibility
    text, used = decode_bytes(UNDECODABLE, "vreemd.txt", encoding="latin-1")
    assert used == "latin-1" and "\x81" in text
    with pytest.raises(TranscriptError, match="unknown encoding"):
        decode_bytes(b"abc", "x.txt", encoding="geen-codering")


def test_forced_encoding_that_does_not_fit(tmp_path: Path, project: Project) -> None:
    path = tmp_path / "utf8.txt"
    path.write_text("I: Hoe gaat het?\nR: Prima, dank je. Ideeën genoeg.\n", encoding="utf-8")
    with pytest.raises(TranscriptError, match="cannot be read as ascii"):
        ingest_files(project, [path], encoding="ascii")


# -- metadata errors ---------------------------------------------------------------------------


def test_metadata_naming_an_unknown_file(
    tmp_path: Path, project_dir: Path, runner: CliRunner
) -> None:
    meta = write_csv(
        tmp_path / "metadata.csv",
        [
            ["document", "speaker", "role", "interviewer", "type"],
            ["interview_ir.txt", "", "", "", "interview"],
            ["interview_ir.txt", "R", "zzp'er", "", ""],
            ["bestaat_niet.docx", "", "", "", "focusgroep"],
        ],
    )
    before = db_snapshot(project_dir)
    result = invoke(runner, "ingest", GOOD, "-m", meta, "-p", project_dir)
    _assert_one_line_error(result, "metadata.csv, line 4", 4)
    assert "bestaat_niet.docx" in result.stderr
    assert db_snapshot(project_dir) == before


def test_metadata_naming_an_unknown_speaker(
    tmp_path: Path, project_dir: Path, runner: CliRunner
) -> None:
    meta = write_csv(
        tmp_path / "metadata.csv",
        [
            ["document", "speaker", "role", "interviewer"],
            ["interview_ir.txt", "I", "onderzoeker", "ja"],
            ["interview_ir.txt", "R5", "buurtbewoner", ""],
        ],
    )
    before = db_snapshot(project_dir)
    result = invoke(runner, "ingest", GOOD, "-m", meta, "-p", project_dir)
    _assert_one_line_error(result, "metadata.csv, line 3", 3)
    assert "'R5'" in result.stderr and "interview_ir.txt" in result.stderr
    assert db_snapshot(project_dir) == before


def test_metadata_unknown_speaker_of_an_already_ingested_document(
    tmp_path: Path, project_dir: Path, runner: CliRunner
) -> None:
    assert invoke(runner, "ingest", GOOD, "-p", project_dir).exit_code == 0
    meta = write_csv(
        tmp_path / "metadata.csv",
        [["document", "speaker", "role"], ["interview_ir", "Els Hoekstra", "huisarts"]],
    )
    before = db_snapshot(project_dir)
    result = invoke(runner, "ingest", "-m", meta, "-p", project_dir)
    _assert_one_line_error(result, "metadata.csv, line 2", 2)
    assert db_snapshot(project_dir) == before


@pytest.mark.parametrize(
    ("content", "words", "line"),
    [
        (b"type,place\ninterview,Utrecht\n", "no 'document' column", 1),
        (b"document,interviewer\ninterview_ir.txt,misschien\n", "ja or nee", 2),
        (b"document,type\n,interview\n", "without a document name", 2),
        (b"\n\n", "empty", None),
    ],
)
def test_bad_metadata_file(
    content: bytes,
    words: str,
    line: int | None,
    tmp_path: Path,
    project_dir: Path,
    runner: CliRunner,
) -> None:
    meta = tmp_path / "metadata.csv"
    meta.write_bytes(content)
    result = invoke(runner, "ingest", GOOD, "-m", meta, "-p", project_dir)
    _assert_one_line_error(result, "metadata.csv", line)
    assert words in result.stderr
    assert db_snapshot(project_dir)["documents"] == []


def test_metadata_file_missing_or_wrong_type(tmp_path: Path, project: Project) -> None:
    with pytest.raises(TranscriptError, match="metadata file not found"):
        ingest_files(project, [GOOD], metadata=tmp_path / "nergens.csv")
    other = tmp_path / "metadata.json"
    other.write_text("{}", encoding="utf-8")
    with pytest.raises(TranscriptError, match=r"\.csv or \.xlsx"):
        ingest_files(project, [GOOD], metadata=other)
    broken = tmp_path / "metadata.xlsx"
    broken.write_bytes(b"geen excel")
    with pytest.raises(TranscriptError, match="cannot open the Excel file"):
        ingest_files(project, [GOOD], metadata=broken)


# -- project errors ----------------------------------------------------------------------------


@pytest.mark.parametrize("command", ["documents", "ingest", "show"])
def test_commands_on_a_folder_that_is_not_a_project(
    command: str, tmp_path: Path, runner: CliRunner
) -> None:
    args = {"documents": [], "ingest": [GOOD], "show": ["interview_ir"]}[command]
    result = invoke(runner, command, *args, "-p", tmp_path)
    _assert_one_line_error(result, str(tmp_path), None)
    assert "no qualcode project" in result.stderr
    assert result.exit_code == ProjectError.exit_code
    assert not (tmp_path / "qualcode.db").exists()


def test_corrupt_project_database(tmp_path: Path, runner: CliRunner) -> None:
    (tmp_path / "qualcode.db").write_bytes(b"dit is geen sqlite-bestand" * 100)
    result = invoke(runner, "documents", "-p", tmp_path)
    _assert_one_line_error(result, "qualcode.db", None)


def test_init_on_a_file(tmp_path: Path, runner: CliRunner) -> None:
    target = tmp_path / "bestand"
    target.write_text("x", encoding="utf-8")
    result = invoke(runner, "init", target)
    assert result.exit_code != 0 and "Traceback" not in result.output


def test_ingest_folder_without_transcripts(
    tmp_path: Path, project_dir: Path, runner: CliRunner
) -> None:
    empty = tmp_path / "leeg"
    empty.mkdir()
    (empty / "notities.docx.bak").write_text("x", encoding="utf-8")
    result = invoke(runner, "ingest", empty, "-p", project_dir)
    _assert_one_line_error(result, "leeg", None)
    assert "no transcripts found" in result.stderr


def test_show_unknown_document(project_dir: Path, runner: CliRunner) -> None:
    assert invoke(runner, "ingest", GOOD, "-p", project_dir).exit_code == 0
    result = invoke(runner, "show", "bestaat_niet", "-p", project_dir)
    _assert_one_line_error(result, "bestaat_niet", None)


def test_two_files_with_the_same_name(tmp_path: Path, project: Project) -> None:
    other = tmp_path / "b"
    other.mkdir()
    shutil.copy(GOOD, other / "INTERVIEW_IR.txt")
    with pytest.raises(TranscriptError, match="same name"):
        ingest_files(project, [GOOD, other / "INTERVIEW_IR.txt"])


def test_unknown_unit_is_a_qualcode_error(project: Project) -> None:
    with pytest.raises(QualcodeError, match="unknown unit"):
        ingest_files(project, [GOOD], unit="hoofdstuk")


def test_failed_ingest_via_library_leaves_no_rows(tmp_path: Path, project_dir: Path) -> None:
    from qualcode.store import open_project

    bad = tmp_path / "vreemd.txt"
    bad.write_bytes(UNDECODABLE)
    with open_project(project_dir) as proj, pytest.raises(TranscriptError):
        ingest_files(proj, [TRANSCRIPTS, bad])
    assert all(rows == [] for rows in db_snapshot(project_dir).values())
