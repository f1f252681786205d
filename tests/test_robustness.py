"""Small user-facing edge cases: Dutch Excel CSVs for the reference, unknown codes."""

from pathlib import Path

from click.testing import CliRunner

from qualcode.cli import cli

FIXTURES = Path(__file__).parent / "fixtures"


def _project(tmp_path: Path) -> Path:
    out = tmp_path / "p"
    result = CliRunner().invoke(
        cli,
        [
            "run",
            str(FIXTURES / "suggest" / "corpus"),
            "--out",
            str(out),
            "--codebook",
            str(FIXTURES / "codebooks" / "small.yaml"),
        ],
    )
    assert result.exit_code == 0, result.output
    return out


def test_reference_saved_by_dutch_excel_with_semicolons(tmp_path: Path) -> None:
    project = _project(tmp_path)
    reference = tmp_path / "ref.csv"
    reference.write_bytes(
        "document;order;codes\r\nfg_ouderen.txt;2;impact/sociaal/eenzaamheid\r\n"
        "fg_ouderen.txt;3;\r\n".encode("cp1252")
    )
    result = CliRunner().invoke(cli, ["evaluate", "-p", str(project), "-r", str(reference)])
    assert result.exit_code == 0, result.output
    assert "impact" in result.output


def test_reference_with_the_same_segment_twice_is_an_error(tmp_path: Path) -> None:
    project = _project(tmp_path)
    reference = tmp_path / "ref.csv"
    reference.write_text(
        "document,order,codes\nfg_ouderen.txt,2,\nfg_ouderen.txt,2,\n", encoding="utf-8"
    )
    result = CliRunner().invoke(cli, ["evaluate", "-p", str(project), "-r", str(reference)])
    assert result.exit_code != 0
    assert "line 3" in result.output and "already on line 2" in result.output


def test_segments_with_an_unknown_code_is_an_error(tmp_path: Path) -> None:
    project = _project(tmp_path)
    result = CliRunner().invoke(cli, ["segments", "-p", str(project), "--code", "bestaatniet"])
    assert result.exit_code != 0
    assert "no code 'bestaatniet'" in result.output
    assert "Traceback" not in result.output


def test_run_with_a_bad_file_leaves_no_project_behind(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "leeg.txt").write_text("", encoding="utf-8")
    out = tmp_path / "out"
    result = CliRunner().invoke(
        cli,
        [
            "run",
            str(folder),
            "--out",
            str(out),
            "--codebook",
            str(FIXTURES / "codebooks" / "small.yaml"),
        ],
    )
    assert result.exit_code != 0
    assert "leeg.txt" in result.output
    assert not out.exists()


def test_export_to_an_impossible_place_is_a_clear_error(tmp_path: Path) -> None:
    project = _project(tmp_path)
    not_a_folder = tmp_path / "notities.txt"
    not_a_folder.write_text("", encoding="utf-8")
    target = not_a_folder / "coded.csv"
    result = CliRunner().invoke(cli, ["export", "segments", "-p", str(project), "-o", str(target)])
    assert result.exit_code == 1
    assert "cannot write or read" in result.output
    assert "Traceback" not in result.output
