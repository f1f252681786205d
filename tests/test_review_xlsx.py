"""The spreadsheet review: export the open suggestions to .xlsx, fill in decisions, import them
back (once, idempotently, per coder), and one-line errors for every wrong file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from coding_helpers import (
    EENZAAMHEID,
    FG,
    INT,
    SCHULDEN,
    add_coding,
    assert_one_line_error,
    build_project,
    codings,
    connect,
    copy_project,
    invoke,
    segment_ids,
)
from openpyxl import load_workbook

from qualcode.review.spreadsheet import COLUMNS, import_review, parse_decision
from qualcode.store import open_project

OUDEREN = "doelgroep/ouderen"
JONGEREN = "doelgroep/jongeren"


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_project(tmp_path_factory.mktemp("review_xlsx") / "project")


@pytest.fixture
def project_dir(base: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("QUALCODE_CODER", raising=False)
    return copy_project(base, tmp_path / "project")


def export(project_dir: Path, target: Path, *args: str, coder: str = "anna") -> Path:
    result = invoke("review", "export", "-p", project_dir, "--coder", coder, "-o", target, *args)
    assert result.exit_code == 0, result.output
    return target


def sheet_rows(path: Path) -> list[dict[str, Any]]:
    book = load_workbook(path)
    rows = list(book["review"].iter_rows(values_only=True))
    return [dict(zip(rows[0], r, strict=True)) for r in rows[1:]]


def fill(path: Path, target: Path, decisions: dict[tuple[str, int, str], dict[str, Any]],
         project_dir: Path) -> Path:  # fmt: skip
    """Write cells of the rows for (document, order, code) as a researcher would in Excel."""
    ids = segment_ids(project_dir)
    book = load_workbook(path)
    sheet = book["review"]
    header = [c.value for c in sheet[1]]
    done = set()
    for row in sheet.iter_rows(min_row=2):
        key = (row[0].value, row[header.index("code")].value)
        for (doc, order, code), cells in decisions.items():
            if key == (ids[(doc, order)], code):
                done.add((doc, order, code))
                for column, value in cells.items():
                    row[header.index(column)].value = value
    assert done == set(decisions), set(decisions) - done
    book.save(target)
    return target


def decisions_of(project_dir: Path, coder: str) -> dict[tuple[str, int, str], tuple]:
    conn = connect(project_dir)
    try:
        rows = conn.execute(
            """
            SELECT d.name, s.ord, k.path, c.status, c.source, c.score, c.explanation
            FROM codings c JOIN segments s ON s.id = c.segment_id
            JOIN documents d ON d.id = s.document_id JOIN codes k ON k.id = c.code_id
            WHERE c.coder = ?
            """,
            (coder,),
        ).fetchall()
    finally:
        conn.close()
    return {(r[0], r[1], r[2]): tuple(r[3:]) for r in rows}


def memo_rows(project_dir: Path) -> list[tuple]:
    conn = connect(project_dir)
    try:
        return [tuple(r) for r in conn.execute("SELECT * FROM memos ORDER BY id")]
    finally:
        conn.close()


FILLED = {
    (FG, 2, EENZAAMHEID): {"besluit": "accepteren"},
    (FG, 3, EENZAAMHEID): {"besluit": "Nee", "memo": "Gaat over contact, niet over gevoel."},
    (FG, 6, EENZAAMHEID): {"besluit": "✓"},
    (FG, 9, JONGEREN): {"andere_code": "ouderen"},
    (FG, 4, SCHULDEN): {"besluit": "ACCEPT", "andere_code": "impact/financieel"},
    (INT, 10, SCHULDEN): {"besluit": "j", "memo": "Sterk citaat."},
}


# -- export ------------------------------------------------------------------------------


def test_export_writes_one_row_per_open_suggestion(project_dir: Path, tmp_path: Path) -> None:
    result = invoke("review", "export", "-p", project_dir, "--coder", "anna",
                    "-o", tmp_path / "review.xlsx")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "12 suggestions for anna" in result.output
    assert "qualcode review import" in result.output
    rows = sheet_rows(tmp_path / "review.xlsx")
    assert len(rows) == 12 and list(rows[0]) == COLUMNS
    first = rows[0]
    assert first["document"] == FG and first["code"] == EENZAAMHEID
    assert first["spreker"] == "Deelnemer 1 (buurtbewoner)"
    assert first["context"].startswith("Moderator: Welkom allemaal.")
    assert first["tekst"] == "Zeker. Mijn buurvrouw vereenzaamt, ze zag wekenlang niemand."
    assert first["label"] == "Eenzaamheid" and first["score"] == pytest.approx(0.55)
    assert "vereenzamen" in first["uitleg"]
    assert not any(r["besluit"] or r["andere_code"] or r["memo"] for r in rows)


def test_the_file_is_made_for_excel(project_dir: Path, tmp_path: Path) -> None:
    book = load_workbook(export(project_dir, tmp_path / "review.xlsx"))
    sheet = book["review"]
    assert sheet.freeze_panes == "A2" and sheet.auto_filter.ref == "A1:L13"
    assert sheet.column_dimensions["E"].width >= 60  # tekst
    assert sheet["E2"].alignment.wrap_text
    states = {name: book[name].sheet_state for name in book.sheetnames}
    assert states == {"review": "visible", "uitleg": "visible", "codes": "hidden",
                      "qualcode": "veryHidden", "qualcode_rows": "veryHidden"}  # fmt: skip
    validations = {str(v.sqref): v for v in sheet.data_validations.dataValidation}
    assert validations["J2:J13"].formula1 == '"accepteren,afwijzen"'
    assert validations["K2:K13"].formula1.startswith("codes!$A$1:$A$")
    codes = [r[0] for r in book["codes"].iter_rows(values_only=True)]
    assert EENZAAMHEID in codes and "doelgroep" in codes
    meta = dict(book["qualcode"].iter_rows(values_only=True))
    assert meta["format"] == "qualcode-review" and meta["coder"] == "anna"
    with open_project(project_dir) as proj:
        assert meta["project_uid"] == proj.uid


def test_export_of_one_code_in_another_order(project_dir: Path, tmp_path: Path) -> None:
    target = export(project_dir, tmp_path / "r.xlsx", "--code", "financieel", "--order", "score")
    rows = sheet_rows(target)
    assert [r["code"] for r in rows] == [SCHULDEN] * 3
    assert [r["score"] for r in rows] == sorted((r["score"] for r in rows), reverse=True)


def test_export_needs_a_coder_and_an_xlsx_name(project_dir: Path, tmp_path: Path) -> None:
    assert_one_line_error(
        invoke("review", "export", "-p", project_dir, "-o", tmp_path / "r.xlsx"), "no coder name"
    )
    assert_one_line_error(
        invoke("review", "export", "-p", project_dir, "--coder", "anna", "-o", tmp_path / "r.csv"),
        "r.csv",
    )


# -- import ------------------------------------------------------------------------------


def test_round_trip_applies_decisions_other_codes_and_memos(
    project_dir: Path, tmp_path: Path
) -> None:
    add_coding(project_dir, FG, 2, EENZAAMHEID, "rejected", coder="bob")
    bob = codings(project_dir, "bob")
    machine = codings(project_dir)
    filled = fill(export(project_dir, tmp_path / "r.xlsx"), tmp_path / "filled.xlsx", FILLED,
                  project_dir)  # fmt: skip
    result = invoke("review", "import", filled, "-p", project_dir, "--coder", "anna")
    assert result.exit_code == 0, result.output
    assert (
        "4 accepted, 2 rejected, 2 other codes added, 2 memos, 0 unchanged, 6 left empty"
        in result.output
    )
    backup = next(
        line.split(": ", 1)[1] for line in result.output.splitlines() if line.startswith("Backup")
    )
    assert Path(backup).is_file() and "before-review-import" in backup

    got = decisions_of(project_dir, "anna")
    assert {k: v[0] for k, v in got.items()} == {
        (FG, 2, EENZAAMHEID): "accepted",
        (FG, 3, EENZAAMHEID): "rejected",
        (FG, 6, EENZAAMHEID): "accepted",
        (FG, 9, JONGEREN): "rejected",  # besluit empty + andere_code: the suggestion is rejected
        (FG, 9, OUDEREN): "manual",  # ... and the passage gets the other code by hand
        (FG, 4, SCHULDEN): "accepted",
        (FG, 4, "impact/financieel"): "manual",
        (INT, 10, SCHULDEN): "accepted",
    }
    assert all(v[1] == "review:xlsx" for v in got.values())
    _, _, score, explanation = got[(FG, 2, EENZAAMHEID)]
    assert score == pytest.approx(0.55) and "vereenzamen" in explanation
    assert got[(FG, 4, "impact/financieel")][2:] == (None, None)
    memos = memo_rows(project_dir)
    assert [(m[1], m[3], m[4]) for m in memos] == [
        ("segment", "anna", "Gaat over contact, niet over gevoel."),
        ("segment", "anna", "Sterk citaat."),
    ]
    assert memos[0][2] == segment_ids(project_dir)[(FG, 3)]
    # nobody else's rows changed: not bob's, not the machine's suggestions
    assert codings(project_dir, "bob") == bob
    assert codings(project_dir) == machine


def test_a_second_import_changes_nothing_and_says_so(project_dir: Path, tmp_path: Path) -> None:
    filled = fill(export(project_dir, tmp_path / "r.xlsx"), tmp_path / "filled.xlsx", FILLED,
                  project_dir)  # fmt: skip
    assert invoke("review", "import", filled, "-p", project_dir, "--coder", "anna").exit_code == 0
    after_first = (codings(project_dir, "anna"), memo_rows(project_dir))
    backups = sorted((project_dir / "backups").iterdir())
    again = invoke("review", "import", filled, "-p", project_dir, "--coder", "anna")
    assert again.exit_code == 0, again.output
    assert "Nothing changed" in again.output and "6 unchanged, 6 left empty" in again.output
    assert "Backup" not in again.output
    assert (codings(project_dir, "anna"), memo_rows(project_dir)) == after_first
    assert sorted((project_dir / "backups").iterdir()) == backups


def test_decided_suggestions_leave_the_next_export(project_dir: Path, tmp_path: Path) -> None:
    filled = fill(export(project_dir, tmp_path / "r.xlsx"), tmp_path / "filled.xlsx", FILLED,
                  project_dir)  # fmt: skip
    invoke("review", "import", filled, "-p", project_dir, "--coder", "anna")
    rest = sheet_rows(export(project_dir, tmp_path / "rest.xlsx"))
    assert len(rest) == 12 - 7  # FG#9 ouderen was suggested too and is now coded by hand
    assert len(sheet_rows(export(project_dir, tmp_path / "bob.xlsx", coder="bob"))) == 12

    full = export(project_dir, tmp_path / "full.xlsx", "--include-decided")
    rows = sheet_rows(full)
    assert len(rows) == 12
    by_key = {(r["segment_id"], r["code"]): r["besluit"] for r in rows}
    ids = segment_ids(project_dir)
    assert by_key[(ids[(FG, 2)], EENZAAMHEID)] == "accepteren"
    assert by_key[(ids[(FG, 3)], EENZAAMHEID)] == "afwijzen"
    assert by_key[(ids[(FG, 10)], "impact/sociaal")] is None
    before = codings(project_dir, "anna")
    reimport = invoke("review", "import", full, "-p", project_dir, "--coder", "anna")
    assert "Nothing changed" in reimport.output
    assert codings(project_dir, "anna") == before


def test_two_coders_import_side_by_side(project_dir: Path, tmp_path: Path) -> None:
    anna = fill(export(project_dir, tmp_path / "a.xlsx"), tmp_path / "af.xlsx",
                {(FG, 2, EENZAAMHEID): {"besluit": "accepteren"}}, project_dir)  # fmt: skip
    bob = fill(export(project_dir, tmp_path / "b.xlsx", coder="bob"), tmp_path / "bf.xlsx",
               {(FG, 2, EENZAAMHEID): {"besluit": "afwijzen"}}, project_dir)  # fmt: skip
    assert invoke("review", "import", bob, "-p", project_dir, "--coder", "bob").exit_code == 0
    bob_rows = codings(project_dir, "bob")
    assert invoke("review", "import", anna, "-p", project_dir, "--coder", "anna").exit_code == 0
    assert codings(project_dir, "bob") == bob_rows
    assert decisions_of(project_dir, "anna")[(FG, 2, EENZAAMHEID)][0] == "accepted"
    assert decisions_of(project_dir, "bob")[(FG, 2, EENZAAMHEID)][0] == "rejected"


def test_dry_run_saves_nothing(project_dir: Path, tmp_path: Path) -> None:
    filled = fill(export(project_dir, tmp_path / "r.xlsx"), tmp_path / "filled.xlsx", FILLED,
                  project_dir)  # fmt: skip
    result = invoke("review", "import", filled, "-p", project_dir, "--coder", "anna", "--dry-run")
    assert result.exit_code == 0 and "Dry run" in result.output and "4 accepted" in result.output
    assert codings(project_dir, "anna") == [] and memo_rows(project_dir) == []
    assert not (project_dir / "backups").exists()


@pytest.mark.parametrize(
    ("word", "decision"),
    [("accepteren", "accepted"), ("Accept", "accepted"), ("JA", "accepted"), ("j", "accepted"),
     ("✓", "accepted"), (" afwijzen ", "rejected"), ("reject", "rejected"), ("Nee", "rejected"),
     ("n", "rejected"), ("", None), (None, None), ("leeg", None)],
)  # fmt: skip
def test_decision_spellings(word: str | None, decision: str | None) -> None:
    assert parse_decision(word) == decision


def test_the_library_import_reports_counts(project_dir: Path, tmp_path: Path) -> None:
    filled = fill(export(project_dir, tmp_path / "r.xlsx"), tmp_path / "filled.xlsx", FILLED,
                  project_dir)  # fmt: skip
    with open_project(project_dir) as proj:
        report = import_review(proj, filled, coder="anna")
    assert (report.accepted, report.rejected, report.other_codes, report.memos) == (4, 2, 2, 2)
    assert (report.unchanged, report.empty, report.rows) == (0, 6, 12)
    assert report.backup is not None and report.backup.is_file()


# -- wrong files -------------------------------------------------------------------------


def _import_error(project_dir: Path, path: Path, *fragments: str, coder: str = "anna") -> None:
    before = (codings(project_dir, coder), memo_rows(project_dir))
    result = invoke("review", "import", path, "-p", project_dir, "--coder", coder)
    assert_one_line_error(result, *fragments)
    assert (codings(project_dir, coder), memo_rows(project_dir)) == before


def test_a_file_from_another_project_is_refused(
    project_dir: Path, base: Path, tmp_path: Path
) -> None:
    other = copy_project(base, tmp_path / "other")
    # a copy has the same uid: make it another project
    with open_project(other) as proj, proj.transaction() as conn:
        conn.execute("UPDATE project SET value = 'andere-uid' WHERE key = 'uuid'")
    filled = fill(export(other, tmp_path / "r.xlsx"), tmp_path / "f.xlsx", FILLED, other)
    _import_error(project_dir, filled, "exported from another project", str(other))


def test_an_edited_text_is_refused_naming_the_row(project_dir: Path, tmp_path: Path) -> None:
    filled = fill(export(project_dir, tmp_path / "r.xlsx"), tmp_path / "f.xlsx",
                  {**FILLED, (FG, 6, EENZAAMHEID): {"besluit": "ja", "tekst": "Anders."}},
                  project_dir)  # fmt: skip
    _import_error(project_dir, filled, "row 6", "'tekst' was changed", f"{FG}#6")


def test_a_passage_changed_in_the_project_is_refused(project_dir: Path, tmp_path: Path) -> None:
    filled = fill(export(project_dir, tmp_path / "r.xlsx"), tmp_path / "f.xlsx", FILLED,
                  project_dir)  # fmt: skip
    with open_project(project_dir) as proj, proj.transaction() as conn:
        conn.execute("UPDATE documents SET text = replace(text, 'vereenzaamt', 'VEREENZAAMT')")
    _import_error(project_dir, filled, "row 2", "has changed in the project since the export")


def test_an_unknown_other_code_is_refused_naming_the_row(project_dir: Path, tmp_path: Path) -> None:
    filled = fill(export(project_dir, tmp_path / "r.xlsx"), tmp_path / "f.xlsx",
                  {**FILLED, (INT, 2, SCHULDEN): {"andere_code": "armoede"}},
                  project_dir)  # fmt: skip
    _import_error(project_dir, filled, "row 12", "andere_code", "no code 'armoede'")


def test_an_unknown_decision_is_refused_naming_the_row(project_dir: Path, tmp_path: Path) -> None:
    filled = fill(export(project_dir, tmp_path / "r.xlsx"), tmp_path / "f.xlsx",
                  {(FG, 3, EENZAAMHEID): {"besluit": "misschien"}}, project_dir)  # fmt: skip
    _import_error(project_dir, filled, "row 3", "besluit 'misschien'")


def test_conflicting_rows_are_refused(project_dir: Path, tmp_path: Path) -> None:
    path = export(project_dir, tmp_path / "r.xlsx")
    book = load_workbook(path)
    sheet = book["review"]
    sheet.append([c.value for c in sheet[2]])  # a copied row with another decision
    sheet["J2"], sheet[f"J{sheet.max_row}"] = "ja", "nee"
    book.save(tmp_path / "f.xlsx")
    _import_error(project_dir, tmp_path / "f.xlsx", f"row {sheet.max_row}", "than row 2")


def test_a_changed_segment_id_is_refused(project_dir: Path, tmp_path: Path) -> None:
    path = export(project_dir, tmp_path / "r.xlsx")
    book = load_workbook(path)
    book["review"]["A4"] = 999
    book["review"]["J4"] = "ja"
    book.save(tmp_path / "f.xlsx")
    _import_error(project_dir, tmp_path / "f.xlsx", "row 4", "not a row of this export")


def test_a_file_for_another_coder_is_refused(project_dir: Path, tmp_path: Path) -> None:
    filled = fill(export(project_dir, tmp_path / "r.xlsx"), tmp_path / "f.xlsx", FILLED,
                  project_dir)  # fmt: skip
    _import_error(project_dir, filled, "exported for coder anna, not bob", coder="bob")


def test_a_spreadsheet_that_is_not_a_review_file(project_dir: Path, tmp_path: Path) -> None:
    _import_error(project_dir, project_dir / "coded_segments.xlsx", "not a qualcode review file")


def test_a_missing_column_is_refused(project_dir: Path, tmp_path: Path) -> None:
    book = load_workbook(export(project_dir, tmp_path / "r.xlsx"))
    book["review"].delete_cols(10)  # besluit
    book.save(tmp_path / "f.xlsx")
    _import_error(project_dir, tmp_path / "f.xlsx", "column 'besluit' is missing")


@pytest.mark.parametrize(
    "content",
    [b"dit is geen excel-bestand" * 40, b"PK\x03\x04" + b"\x00" * 200, b""],
    ids=["text", "broken-zip", "empty"],
)
def test_a_corrupt_file_is_a_one_line_error(
    project_dir: Path, tmp_path: Path, content: bytes
) -> None:
    bad = tmp_path / "kapot.xlsx"
    bad.write_bytes(content)
    _import_error(project_dir, bad, "kapot.xlsx", "not an Excel .xlsx file")


def test_a_truncated_review_file_is_a_one_line_error(project_dir: Path, tmp_path: Path) -> None:
    data = export(project_dir, tmp_path / "r.xlsx").read_bytes()
    bad = tmp_path / "half.xlsx"
    bad.write_bytes(data[: len(data) // 2])
    _import_error(project_dir, bad, "half.xlsx")


def test_a_missing_file_and_no_coder(project_dir: Path, tmp_path: Path) -> None:
    _import_error(project_dir, tmp_path / "weg.xlsx", "weg.xlsx: file not found")
    path = export(project_dir, tmp_path / "r.xlsx")
    assert_one_line_error(invoke("review", "import", path, "-p", project_dir), "no coder name")
