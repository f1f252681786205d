"""The metadata sidecar: CSV (comma, semicolon, Windows-1252) and XLSX; attributes, roles,
interviewer override, and metadata that arrives after the transcripts."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import TRANSCRIPTS, invoke, write_csv

from qualcode.documents import document_speakers, list_documents
from qualcode.ingest import ingest_files
from qualcode.ingest.metadata import load_metadata
from qualcode.store import Project, open_project

TABLE = """\
document,speaker,role,interviewer,type,date,place,organisation,group
f4_spreker.txt,,,,interview,2020-11-03,Groningen,wijkteam,interview 2
f4_spreker.txt,Spreker 1,onderzoeker,ja,,,,,
f4_spreker.txt,Spreker 2,mantelzorger,,,,,,
focusgroep_deelnemers,,,,focusgroep,2021-03-03,Zwolle,welzijnsorganisatie,focusgroep 4
focusgroep_deelnemers,Moderator,moderator,ja,,,,,
focusgroep_deelnemers,Deelnemer 2,vrijwilliger,,,,,,
focusgroep_deelnemers,deelnemer 4,coördinator buurtwerk,,,,,,
"""
HEADER, *ROWS = [line.split(",") for line in TABLE.splitlines()]
FILES = [TRANSCRIPTS / "f4_spreker.txt", TRANSCRIPTS / "focusgroep_deelnemers.txt"]


def _speakers(project: Project, name: str) -> dict[str, tuple[str | None, bool]]:
    return {
        s["speaker"]: (s["role"], s["is_interviewer"]) for s in document_speakers(project, name)
    }


def _check(project: Project) -> None:
    docs = {d.name: d for d in list_documents(project)}
    assert docs["f4_spreker.txt"].attributes == {
        "type": "interview",
        "date": "2020-11-03",
        "place": "Groningen",
        "organisation": "wijkteam",
        "group": "interview 2",
    }
    assert docs["focusgroep_deelnemers.txt"].attributes["type"] == "focusgroep"
    # 'Spreker 1' is no interviewer by convention: the metadata says it is
    assert _speakers(project, "f4_spreker") == {
        "Spreker 1": ("onderzoeker", True),
        "Spreker 2": ("mantelzorger", False),
    }
    assert _speakers(project, "focusgroep_deelnemers") == {
        "Moderator": ("moderator", True),
        "Deelnemer 2": ("vrijwilliger", False),
        "Deelnemer 4": ("coördinator buurtwerk", False),  # matched case-insensitively
    }


@pytest.mark.parametrize(
    ("delimiter", "encoding"),
    [(",", "utf-8"), (";", "utf-8"), (";", "cp1252"), (",", "utf-8-sig"), ("\t", "utf-8")],
)
def test_csv_metadata(delimiter: str, encoding: str, tmp_path: Path, project: Project) -> None:
    meta = write_csv(tmp_path / "metadata.csv", [HEADER, *ROWS], delimiter, encoding=encoding)
    if encoding == "cp1252":
        assert "coördinator".encode("cp1252") in meta.read_bytes()
    report = ingest_files(project, FILES, metadata=meta)
    assert sorted(report.added) == ["f4_spreker.txt", "focusgroep_deelnemers.txt"]
    _check(project)


def test_xlsx_metadata(tmp_path: Path, project: Project) -> None:
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(HEADER)
    for row in ROWS:
        # Excel gives dates as dates; empty cells as None
        sheet.append(
            [
                dt.datetime.fromisoformat(v) if k == 5 and v else (v or None)
                for k, v in enumerate(row)
            ]
        )
    book.save(tmp_path / "metadata.xlsx")
    ingest_files(project, FILES, metadata=tmp_path / "metadata.xlsx")
    _check(project)


def test_dutch_column_names(tmp_path: Path, project: Project) -> None:
    meta = write_csv(
        tmp_path / "metadata.csv",
        [
            ["Bestand", "Spreker", "Rol", "Gespreksleider", "Plaats"],
            ["interview_namen.txt", "", "", "", "Leeuwarden"],
            ["interview_namen.txt", "Els Hoekstra", "maatschappelijk werker", "nee", ""],
        ],
        ";",
    )
    ingest_files(project, [TRANSCRIPTS / "interview_namen.txt"], metadata=meta)
    assert _speakers(project, "interview_namen") == {
        "Interviewer": (None, True),
        "Els Hoekstra": ("maatschappelijk werker", False),
    }
    assert list_documents(project)[0].attributes == {"plaats": "Leeuwarden"}


def test_interviewer_override_both_ways(tmp_path: Path, project: Project) -> None:
    meta = write_csv(
        tmp_path / "metadata.csv",
        [
            ["document", "speaker", "interviewer"],
            ["interview_ir.txt", "I", "nee"],
            ["interview_ir.txt", "R", "ja"],
        ],
    )
    ingest_files(project, [TRANSCRIPTS / "interview_ir.txt"], metadata=meta)
    assert _speakers(project, "interview_ir") == {"I": (None, False), "R": (None, True)}


def test_metadata_on_a_later_ingest_updates_existing_documents(
    tmp_path: Path, project_dir: Path, runner: CliRunner
) -> None:
    assert invoke(runner, "ingest", *FILES, "-p", project_dir).exit_code == 0
    with open_project(project_dir) as proj:
        assert all(d.attributes == {} for d in list_documents(proj))
        assert _speakers(proj, "f4_spreker")["Spreker 1"] == (None, False)
        segments_before = proj.conn.execute("SELECT * FROM segments").fetchall()
    meta = write_csv(tmp_path / "metadata.csv", [HEADER, *ROWS], ";")
    # metadata alone, without naming the transcripts again
    result = invoke(runner, "ingest", "-m", meta, "-p", project_dir)
    assert result.exit_code == 0, result.output
    assert "0 added" in result.stderr and "metadata updated for 2" in result.stderr
    with open_project(project_dir) as proj:
        _check(proj)
        assert [tuple(r) for r in proj.conn.execute("SELECT * FROM segments")] == [
            tuple(r) for r in segments_before
        ]
    # the same metadata again: nothing to update
    again = invoke(runner, "ingest", *FILES, "-m", meta, "-p", project_dir)
    assert again.exit_code == 0
    assert "2 unchanged" in again.stderr and "metadata updated" not in again.stderr


def test_metadata_update_keeps_other_attributes(tmp_path: Path, project: Project) -> None:
    first = write_csv(
        tmp_path / "a.csv",
        [["document", "type", "place"], ["interview_ir.txt", "interview", "Breda"]],
    )
    ingest_files(project, [TRANSCRIPTS / "interview_ir.txt"], metadata=first)
    second = write_csv(tmp_path / "b.csv", [["document", "place"], ["interview_ir", "Tilburg"]])
    report = ingest_files(project, [], metadata=second)
    assert report.metadata_updated == ["interview_ir.txt"]
    assert list_documents(project)[0].attributes == {"type": "interview", "place": "Tilburg"}


def test_metadata_role_from_label_kept_when_metadata_has_none(
    tmp_path: Path, project: Project
) -> None:
    meta = write_csv(
        tmp_path / "metadata.csv",
        [["document", "speaker", "team"], ["naam_rol.txt", "Fatima El Amrani", "Zuid"]],
    )
    ingest_files(project, [TRANSCRIPTS / "naam_rol.txt"], metadata=meta)
    assert _speakers(project, "naam_rol")["Fatima El Amrani"] == ("jongerenwerker", False)
    row = project.conn.execute(
        "SELECT attributes FROM speakers WHERE label = 'Fatima El Amrani'"
    ).fetchone()
    assert json.loads(row[0]) == {"team": "Zuid"}


def test_metadata_speaker_known_makes_a_single_name_a_label(
    tmp_path: Path, project: Project
) -> None:
    path = tmp_path / "kort.txt"
    path.write_text(
        "Interviewer: Wilt u nog iets kwijt?\n\nKarin: Nee hoor, dank u.\n", encoding="utf-8"
    )
    meta = write_csv(
        tmp_path / "metadata.csv",
        [["document", "speaker", "role"], ["kort.txt", "Karin", "buurtbewoner"]],
    )
    ingest_files(project, [path], metadata=meta)
    assert _speakers(project, "kort") == {
        "Interviewer": (None, True),
        "Karin": ("buurtbewoner", False),
    }


def test_load_metadata_structure(tmp_path: Path) -> None:
    meta = load_metadata(write_csv(tmp_path / "m.csv", [HEADER, *ROWS]))
    assert set(meta.documents) == {"f4_spreker", "focusgroep_deelnemers"}
    assert meta.referenced() == {"f4_spreker": 2, "focusgroep_deelnemers": 5}
    assert meta.speakers_of("F4_SPREKER.TXT")["spreker 1"].interviewer is True
    assert meta.speakers_of("f4_spreker")["spreker 2"].interviewer is None


@pytest.fixture(scope="module")
def interviewer_flags(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bool]:
    """Ingest every fixture once (no metadata) and read back who is an interviewer."""
    from qualcode.store import init_project

    with init_project(tmp_path_factory.mktemp("flags") / "project") as proj:
        ingest_files(proj, [TRANSCRIPTS])
        return {
            r[0]: bool(r[1])
            for r in proj.conn.execute("SELECT DISTINCT label, is_interviewer FROM speakers")
        }


@pytest.mark.parametrize(
    ("label", "interviewer"),
    [
        ("Interviewer", True),
        ("I", True),
        ("Moderator", True),
        ("R", False),
        ("R1", False),
        ("Els Hoekstra", False),
        ("Deelnemer 2", False),
        ("Spreker 1", False),
        ("Sanne de Vries", False),
    ],
)
def test_interviewer_detection_by_convention(
    label: str, interviewer: bool, interviewer_flags: dict[str, bool]
) -> None:
    assert interviewer_flags[label] is interviewer
