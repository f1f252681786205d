"""Shared fixtures: fixture folders, a fresh project, the CLI runner, generated docx/odt files."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from qualcode.store import Project

FIXTURES = Path(__file__).parent / "fixtures"
TRANSCRIPTS = FIXTURES / "transcripts"
BAD = TRANSCRIPTS / "_fouten"  # '_' folders are skipped when a folder is ingested
CORPUS = Path(__file__).parent.parent / "corpus"
CORPUS_EXPECTED = FIXTURES / "corpus_expected"

# Every well-formed text fixture (the binary formats are generated below).
TEXT_FIXTURES = sorted(
    p.name
    for p in TRANSCRIPTS.iterdir()
    if p.is_file() and p.suffix in {".txt", ".md", ".vtt", ".srt"}
)


@pytest.fixture(autouse=True)
def _offline(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never touch the network (no model downloads) and ignore a user's project."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")
    monkeypatch.delenv("QUALCODE_PROJECT", raising=False)


@pytest.fixture
def project_dir(tmp_path: Path) -> Path:
    from qualcode.store import init_project

    folder = tmp_path / "project"
    init_project(folder).close()
    return folder


@pytest.fixture
def project(project_dir: Path) -> Iterator[Project]:
    from qualcode.store import open_project

    with open_project(project_dir) as proj:
        yield proj


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def invoke(runner: CliRunner, *args: object) -> Result:
    """Run ``qualcode ARGS``; an unexpected exception fails the test with its traceback."""
    from qualcode.cli import cli

    return runner.invoke(cli, [str(a) for a in args], catch_exceptions=False)


def db_snapshot(project_dir: Path) -> dict[str, list[tuple]]:
    """Every row of the tables an ingest writes, to compare before and after."""
    conn = sqlite3.connect(project_dir / "qualcode.db")
    try:
        return {
            table: conn.execute(f"SELECT * FROM {table} ORDER BY id").fetchall()
            for table in ("documents", "speakers", "turns", "segments", "codings", "codes")
        }
    finally:
        conn.close()


# -- generated binary fixtures ---------------------------------------------------------------


def write_docx_paragraphs(path: Path) -> Path:
    """A docx as a transcription service delivers it: title, session line, labelled paragraphs."""
    import docx

    document = docx.Document()
    document.add_paragraph("Focusgroep jongerenwerkers Den Haag", style="Title")
    document.add_paragraph("Sessie 2, 12 november 2020, buurthuis De Mussen")
    document.add_paragraph("[00:00:05] Moderator: Welkom allemaal. Wie wil beginnen?")
    document.add_paragraph(
        "[00:00:12] Deelnemer 1: Ik wel. Ik werk in Moerwijk, en sinds de avondklok zie ik"
        " jongeren die nergens meer heen kunnen."
    )
    document.add_paragraph("Het buurthuis is dicht, de sportschool ook (zucht).")
    document.add_paragraph("[00:01:02] Deelnemer 2: Herkenbaar. Bij ons ook [onverstaanbaar].")
    document.add_paragraph("[00:01:30] Moderator: Dank jullie wel.")
    document.save(path)
    return path


def write_docx_table(path: Path) -> Path:
    """A docx with a title paragraph and one table 'Spreker | Tekst'."""
    import docx

    document = docx.Document()
    document.add_heading("Interview wijkteam Groningen", level=1)
    table = document.add_table(rows=1, cols=2)
    table.rows[0].cells[0].text = "Spreker"
    table.rows[0].cells[1].text = "Tekst"
    rows = [
        ("Interviewer", "Hoe gaat het met de mantelzorgers in uw wijk?"),
        ("Respondent", "Slecht, eerlijk gezegd.\nZe zijn op, echt op."),
        ("", "En dan durven ze ook nog geen hulp te vragen."),
        ("Interviewer", "Wat doet u dan?"),
        ("Respondent", "Langsgaan. Gewoon aanbellen (lacht)."),
    ]
    for speaker, text in rows:
        cells = table.add_row().cells
        cells[0].text = speaker
        cells[1].text = text
    document.save(path)
    return path


def write_odt(path: Path) -> Path:
    from odf.opendocument import OpenDocumentText
    from odf.text import H, P

    document = OpenDocumentText()
    document.text.addElement(H(outlinelevel=1, text="Interview buurtwerker Arnhem"))
    for line in (
        "I: Hoe was het voorjaar van 2020 voor de bewoners?",
        "R: Zwaar. Veel mensen zaten alleen thuis, vooral de ouderen in de flat.",
        "Sommigen zagen weken niemand.",
        "I: En de jongeren?",
        "R: Die zochten elkaar op, op het pleintje. Dat gaf weer gedoe met de buren.",
    ):
        document.text.addElement(P(text=line))
    document.save(str(path))
    return path


BINARY_WRITERS = {
    "gesprek_alineas.docx": write_docx_paragraphs,
    "gesprek_tabel.docx": write_docx_table,
    "gesprek.odt": write_odt,
}


@pytest.fixture
def binary_fixtures(tmp_path: Path) -> dict[str, Path]:
    folder = tmp_path / "binary"
    folder.mkdir()
    return {name: write(folder / name) for name, write in BINARY_WRITERS.items()}


@pytest.fixture
def all_fixtures(binary_fixtures: dict[str, Path]) -> list[Path]:
    """Every well-formed transcript fixture: the text files plus generated docx/odt."""
    return [TRANSCRIPTS / name for name in TEXT_FIXTURES] + list(binary_fixtures.values())


def write_csv(path: Path, rows: Sequence[Sequence[str]], delimiter: str = ",", **kw: str) -> Path:
    import csv

    encoding = kw.get("encoding", "utf-8")
    with path.open("w", newline="", encoding=encoding) as handle:
        csv.writer(handle, delimiter=delimiter).writerows(rows)
    return path
