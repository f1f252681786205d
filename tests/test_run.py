"""``qualcode run DIR --out OUT``: the main job in one call, and OUT as a project afterwards."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from coding_helpers import (
    CODED_UNITS,
    CODING_YAML,
    SUGGEST_CORPUS,
    assert_one_line_error,
    connect,
    invoke,
)

from qualcode.codebook import load_codebook


@pytest.fixture(scope="module")
def run_result(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, object]:
    out = tmp_path_factory.mktemp("run") / "uit"
    result = invoke("run", SUGGEST_CORPUS, "--out", out, "--codebook", CODING_YAML)
    return out, result


def test_run_succeeds_and_writes_the_project_and_exports(run_result: tuple) -> None:
    out, result = run_result
    assert result.exit_code == 0, result.output
    assert (out / "qualcode.db").is_file()
    assert (out / "settings.yaml").is_file()
    assert (out / "coded_segments.csv").read_bytes().startswith(b"\xef\xbb\xbf")
    import openpyxl

    openpyxl.load_workbook(out / "coded_segments.xlsx").close()
    assert not list(out.glob("*.tmp"))


def test_run_prints_a_summary(run_result: tuple) -> None:
    out, result = run_result
    with connect(out) as conn:
        documents = conn.execute("SELECT count(*) FROM documents").fetchone()[0]
        suggestions = conn.execute(
            "SELECT count(*) FROM codings WHERE coder = 'qualcode' AND status = 'suggested'"
        ).fetchone()[0]
    assert documents == 2 and suggestions > 0
    summary = (
        f"{documents} documents, {len(CODED_UNITS)} segments to code, "
        f"{suggestions} suggestions (threshold 0.50):"
    )
    assert summary in result.stdout
    # per branch of the codebook, adding up to the total
    counts = re.findall(r"^  (\S+)\s+(\d+)$", result.stdout, flags=re.MULTILINE)
    paths = {c.path for c in load_codebook(CODING_YAML)}
    assert counts and {c for c, _ in counts} <= paths
    assert {"impact/sociaal", "impact/financieel"} <= {c for c, _ in counts}
    assert sum(int(n) for _, n in counts) == suggestions
    assert f"Project and files in {out}/:" in result.stdout
    assert "  coded_segments.csv" in result.stdout and "  coded_segments.xlsx" in result.stdout
    assert "Ingest: 2 added, 0 unchanged." in result.stderr


def test_metadata_csv_in_the_input_folder_is_used(run_result: tuple) -> None:
    out, _ = run_result
    result = invoke("documents", "--project", out, "-f", "json")
    assert result.exit_code == 0, result.output
    docs = {d["name"]: d for d in json.loads(result.stdout)}
    assert set(docs) == {"fg_ouderen.txt", "int_schulden.txt"}  # metadata.csv is no transcript
    assert docs["int_schulden.txt"]["attributes"] == {"type": "interview", "place": "Utrecht"}
    assert docs["fg_ouderen.txt"]["attributes"] == {"type": "focusgroep", "place": "Zwolle"}
    with connect(out) as conn:
        roles = dict(conn.execute("SELECT label, role FROM speakers WHERE role IS NOT NULL"))
    assert roles == {"R": "huurder", "Deelnemer 1": "buurtbewoner",
                     "Deelnemer 2": "wijkverpleegkundige"}  # fmt: skip


def test_out_works_as_project_for_other_commands(run_result: tuple, tmp_path: Path) -> None:
    out, _ = run_result
    project = shutil.copytree(out, tmp_path / "kopie")
    result = invoke("documents", "-p", project)
    assert result.exit_code == 0, result.output
    assert "int_schulden.txt" in result.stdout and "interview" in result.stdout
    result = invoke("segments", "-p", project, "-f", "json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert rows and all(r["code"] for r in rows)
    # suggest without --codebook: the project remembers the codebook 'run' was given
    result = invoke("suggest", "-p", project, "--threshold", "0.7")
    assert result.exit_code == 0, result.output
    assert f"on {len(CODED_UNITS)} segments (threshold 0.70)." in result.stdout
    with connect(project) as conn:
        low = conn.execute(
            "SELECT count(*) FROM codings WHERE coder = 'qualcode' AND score < 0.7"
        ).fetchone()[0]
    assert low == 0


def test_run_without_metadata_file(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copy(SUGGEST_CORPUS / "int_schulden.txt", folder)
    result = invoke("run", folder, "--out", tmp_path / "uit", "--codebook", CODING_YAML)
    assert result.exit_code == 0, result.output
    assert "1 documents, 4 segments to code" in result.stdout
    with connect(tmp_path / "uit") as conn:
        assert conn.execute("SELECT attributes FROM documents").fetchone()[0] == "{}"


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("kapot.docx", b"dit is geen Word-bestand", "kapot.docx: not a valid Word .docx file"),
        ("leeg.txt", b"", "leeg.txt: the file is empty"),
    ],
)
def test_bad_file_in_the_input_is_a_one_line_error(
    tmp_path: Path, name: str, data: bytes, message: str
) -> None:
    folder = shutil.copytree(SUGGEST_CORPUS, tmp_path / "in")
    (folder / name).write_bytes(data)
    out = tmp_path / "uit"
    result = invoke("run", folder, "--out", out, "--codebook", CODING_YAML)
    assert_one_line_error(result, message)
    assert not (out / "coded_segments.csv").exists()
    assert not (out / "coded_segments.xlsx").exists()
    if (out / "qualcode.db").exists():  # nothing half-ingested
        with connect(out) as conn:
            assert conn.execute("SELECT count(*) FROM documents").fetchone()[0] == 0


def test_bad_metadata_in_the_input_is_a_one_line_error(tmp_path: Path) -> None:
    folder = shutil.copytree(SUGGEST_CORPUS, tmp_path / "in")
    with (folder / "metadata.csv").open("a", encoding="utf-8") as handle:
        handle.write("bestaat_niet.txt,,,,interview,Delft\n")
    result = invoke("run", folder, "--out", tmp_path / "uit", "--codebook", CODING_YAML)
    assert_one_line_error(result, "metadata.csv, line 7: names a document that is not")


def test_invalid_codebook_is_a_one_line_error(tmp_path: Path) -> None:
    codebook = tmp_path / "kapot.yaml"
    codebook.write_text("name: x\ncodes:\n  - id: A\n", encoding="utf-8")
    result = invoke("run", SUGGEST_CORPUS, "--out", tmp_path / "uit", "--codebook", codebook)
    assert_one_line_error(result, f"{codebook}, line 3:")
