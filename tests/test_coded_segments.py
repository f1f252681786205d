"""The ``coded_segments.csv`` / ``.xlsx`` contract: columns, one row per (segment, code), every
coded unit present, order, offsets, BOM, and the same rows in Excel."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import pytest
from coding_helpers import (
    CODED_UNITS,
    EENZAAMHEID,
    FG,
    INT,
    add_coding,
    assert_one_line_error,
    build_project,
    connect,
    copy_project,
    invoke,
)

COLUMNS = [
    "document", "segment_id", "order", "speaker", "role", "start", "end", "text", "code",
    "label", "status", "score", "source", "explanation",
]  # fmt: skip


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    project = build_project(tmp_path_factory.mktemp("export") / "out")
    add_coding(project, FG, 2, EENZAAMHEID, "accepted")
    add_coding(project, INT, 6, EENZAAMHEID, "manual")
    # export again so the files include anna's codings
    result = invoke("export", "segments", "-p", project, "-o", project / "coded_segments.csv")
    assert result.exit_code == 0, result.output
    result = invoke("export", "segments", "-p", project, "-o", project / "coded_segments.xlsx")
    assert result.exit_code == 0, result.output
    return project


def read_rows(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    text = path.read_bytes().decode("utf-8-sig")
    reader = csv.DictReader(io.StringIO(text, newline=""))
    return list(reader.fieldnames or []), list(reader)


def test_csv_starts_with_a_bom_and_has_exactly_the_columns(built: Path) -> None:
    data = (built / "coded_segments.csv").read_bytes()
    assert data.startswith(b"\xef\xbb\xbfdocument,segment_id,order,")
    header, _ = read_rows(built / "coded_segments.csv")
    assert header == COLUMNS
    from qualcode.export.segments import COLUMNS as LIBRARY_COLUMNS

    assert LIBRARY_COLUMNS == COLUMNS


def test_every_coded_unit_appears_and_uncoded_once_with_empty_code(built: Path) -> None:
    _, rows = read_rows(built / "coded_segments.csv")
    units = [(r["document"], int(r["order"])) for r in rows]
    assert set(units) == set(CODED_UNITS)  # no interviewer or annotation-only segments
    for unit in CODED_UNITS:
        mine = [r for r in rows if (r["document"], int(r["order"])) == unit]
        assert mine
        if any(not r["code"] for r in mine):
            assert len(mine) == 1, unit
            row = mine[0]
            assert (row["label"], row["status"], row["score"], row["source"]) == ("", "", "", "")
            assert row["explanation"] == ""
    # INT#8 ('niet jouw schuld') has no code at all
    [row] = [r for r in rows if (r["document"], int(r["order"])) == (INT, 8)]
    assert row["code"] == ""
    # (segment, code) pairs are unique
    pairs = [(r["segment_id"], r["code"]) for r in rows]
    assert len(pairs) == len(set(pairs))


def test_rows_are_in_document_and_segment_order(built: Path) -> None:
    _, rows = read_rows(built / "coded_segments.csv")
    keys = [(r["document"], int(r["order"])) for r in rows]
    assert keys == sorted(keys)
    assert (rows[0]["document"], rows[-1]["document"]) == (FG, INT)
    # offsets increase within a document too
    for document in (FG, INT):
        mine = [r for r in rows if r["document"] == document]
        starts = [int(r["start"]) for r in mine]
        assert starts == sorted(starts)


def test_text_is_the_document_text_between_start_and_end(built: Path) -> None:
    _, rows = read_rows(built / "coded_segments.csv")
    with connect(built) as conn:
        documents = dict(conn.execute("SELECT name, text FROM documents").fetchall())
        segment_rows = conn.execute(
            "SELECT s.id, d.name, s.ord, s.start, s.end FROM segments s"
            " JOIN documents d ON d.id = s.document_id"
        ).fetchall()
    segments = {r["id"]: r for r in segment_rows}
    for row in rows:
        start, end = int(row["start"]), int(row["end"])
        assert row["text"] == documents[row["document"]][start:end]
        seg = segments[int(row["segment_id"])]
        assert (seg["name"], seg["ord"], seg["start"], seg["end"]) == (
            row["document"],
            int(row["order"]),
            start,
            end,
        )


def test_codes_labels_statuses_and_scores(built: Path) -> None:
    _, rows = read_rows(built / "coded_segments.csv")
    by_key = {(r["document"], int(r["order"]), r["code"]): r for r in rows}
    accepted = by_key[(FG, 2, EENZAAMHEID)]  # anna accepted the machine's suggestion
    assert (accepted["status"], accepted["label"], accepted["score"]) == (
        "accepted",
        "Eenzaamheid",
        "",
    )
    assert by_key[(INT, 6, EENZAAMHEID)]["status"] == "manual"
    suggested = by_key[(FG, 3, EENZAAMHEID)]
    assert suggested["status"] == "suggested"
    assert 0.5 <= float(suggested["score"]) <= 1
    assert suggested["source"].startswith("lexical")
    assert suggested["explanation"].startswith("phrase 'sociaal isolement' in \"")
    roles = {(r["document"], r["speaker"]): r["role"] for r in rows}
    assert roles[(INT, "R")] == "huurder"  # from metadata.csv in the input folder
    assert roles[(FG, "Deelnemer 1")] == "buurtbewoner"


def test_xlsx_has_the_same_rows_a_frozen_header_and_filters(built: Path) -> None:
    import openpyxl

    _, rows = read_rows(built / "coded_segments.csv")
    workbook = openpyxl.load_workbook(built / "coded_segments.xlsx")
    sheet = workbook.worksheets[0]
    values = list(sheet.iter_rows(values_only=True))
    assert list(values[0]) == COLUMNS
    as_text = [["" if v is None else str(v) for v in row] for row in values[1:]]
    assert as_text == [[r[c] for c in COLUMNS] for r in rows]
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == f"A1:N{len(rows) + 1}"
    assert all(cell.font.bold for cell in sheet[1])


def test_run_writes_the_same_rows_as_export(tmp_path: Path) -> None:
    project = build_project(tmp_path / "out")
    again = tmp_path / "again.csv"
    result = invoke("export", "segments", "-p", project, "-o", again)
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == f"Wrote {again}"
    assert again.read_bytes() == (project / "coded_segments.csv").read_bytes()


def test_export_status_filter(built: Path, tmp_path: Path) -> None:
    target = tmp_path / "accepted.csv"
    work = copy_project(built, tmp_path / "copy")
    invoke("export", "segments", "-p", work, "-o", target, "--status", "accepted")
    _, rows = read_rows(target)
    coded = [r for r in rows if r["code"]]
    assert [(r["document"], int(r["order"]), r["status"]) for r in coded] == [(FG, 2, "accepted")]
    # every coded unit is still listed
    assert {(r["document"], int(r["order"])) for r in rows} == set(CODED_UNITS)


def test_export_unsupported_suffix(built: Path, tmp_path: Path) -> None:
    result = invoke("export", "segments", "-p", built, "-o", tmp_path / "segments.json")
    assert_one_line_error(result, "cannot write 'segments.json'")
    assert not (tmp_path / "segments.json").exists()


# -- the xlsx writer (export/tables.py) ------------------------------------------------------


def _sheet_facts(path: Path) -> dict[str, dict[str, Any]]:
    """What a researcher sees of each sheet, read back with openpyxl: per cell its value and
    type, bold, fill, wrap, alignment and number format; the width of every column, panes,
    filter, footer, visibility and dropdowns."""
    import openpyxl
    from openpyxl.utils import get_column_letter

    book = openpyxl.load_workbook(path)
    facts: dict[str, dict[str, Any]] = {}
    for sheet in book.worksheets:
        cells = [
            (
                c.coordinate,
                c.value,
                type(c.value).__name__,
                c.font.b,
                # the colour, not its alpha byte, which Excel ignores in a fill (00 or FF)
                c.fill.fgColor.rgb[-6:] if c.fill.fill_type else None,
                c.fill.fill_type,
                c.alignment.wrap_text,
                c.alignment.vertical,
                c.number_format,
            )
            for row in sheet.iter_rows()
            for c in row
        ]
        facts[sheet.title] = {
            "cells": cells,
            "widths": {  # a <col> element may span several columns of one width
                get_column_letter(n): d.width
                for d in sheet.column_dimensions.values()
                for n in range(d.min, d.max + 1)
            },
            "frozen": sheet.freeze_panes,
            "filter": sheet.auto_filter.ref,
            "footer": sheet.oddFooter.left.text,
            "state": sheet.sheet_state,
            "dropdowns": [
                (str(v.sqref), v.formula1) for v in sheet.data_validations.dataValidation
            ],
        }
    return facts


def _write_both_ways(tmp_path: Path, rows: list[dict[str, object]]) -> tuple[Path, Path]:
    from qualcode.export.tables import add_dropdown, add_hidden_sheet, save_workbook, write_xlsx

    paths = []
    for streaming in (False, True):
        target = tmp_path / f"streaming-{streaming}.xlsx"
        book = write_xlsx(
            target,
            [("rows", ["name", "text", "score"], rows), ("leeg", ["x"], [])],
            widths={"text": 70},
            wrap=("text",),
            notes={"rows": "a footer note"},
            number_formats={"score": "0.00"},
            streaming=streaming,
        )
        add_hidden_sheet(book, "codes", [("a", "A"), ("b", None)])
        add_dropdown(book["rows"], "A2:A9", source="codes!$A$1:$A$2", title="t", prompt="p")
        save_workbook(book, target)
        paths.append(target)
    return paths[0], paths[1]


def test_streamed_xlsx_looks_the_same_as_the_ordinary_one(tmp_path: Path) -> None:
    rows = [
        {"name": "=SUM(A1)", "text": "lang\tverhaal\x01 met ë", "score": 0.5},
        {"name": None, "text": True, "score": None},
        {"name": "-3", "text": "", "score": 2},
    ]
    ordinary, streamed = _write_both_ways(tmp_path, rows)
    facts = _sheet_facts(streamed)
    assert facts == _sheet_facts(ordinary)
    sheet = facts["rows"]
    cells = sheet["cells"]
    assert [c[1] for c in cells[:3]] == ["name", "text", "score"]
    assert all(c[3] and c[4] == "DDEBF7" for c in cells[:3])  # bold, coloured header
    assert [c[1] for c in cells[3:6]] == ["'=SUM(A1)", "lang\tverhaal met ë", 0.5]
    assert [c[6] for c in cells[3:6]] == [None, True, None]  # only long text wraps
    assert {c[7] for c in cells[3:]} == {"top"} and cells[5][8] == "0.00"
    assert (sheet["widths"]["B"], sheet["frozen"], sheet["filter"], sheet["footer"]) == (
        70,
        "A2",
        "A1:C4",
        "a footer note",
    )
    assert sheet["dropdowns"] == [("A2:A9", "codes!$A$1:$A$2")]
    assert facts["codes"]["state"] == "hidden"


def test_streamed_segments_xlsx_keeps_memory_flat(built: Path, tmp_path: Path) -> None:
    """The ordinary workbook keeps a cell object per value; the streamed one writes rows out
    as they come, so 20 times the rows must not take anywhere near 20 times the memory."""
    import tracemalloc

    from qualcode.export.segments import write_segments

    _, rows = read_rows(built / "coded_segments.csv")
    write_segments(rows, tmp_path / "warm.xlsx")  # imports and caches stay out of the count
    peaks = []
    for factor in (1, 20):
        tracemalloc.start()
        write_segments(rows * factor, tmp_path / f"x{factor}.xlsx")
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
    assert peaks[1] < 3 * peaks[0], peaks


def test_finished_table_looks_like_the_openpyxl_one(tmp_path: Path) -> None:
    from qualcode.export.tables import save_workbook, write_table, write_xlsx

    rows = [
        {"name": "=SUM(A1)", "text": "lang\tverhaal\x01 met ë\nen meer", "score": 0.5, "n": 3},
        {"name": None, "text": True, "score": None, "n": 0},
        {"name": "-3", "text": "", "score": 2, "n": -1},
        {"name": "https://example.org", "text": "  spaties  ", "score": 1e-9, "n": 10**12},
    ]
    sheets = [("rows", ["name", "text", "score", "n", "leeg"], rows), ("leeg", ["x"], [])]
    layout = {
        "widths": {"text": 70, "leeg:x": 12},
        "wrap": ("text",),
        "number_formats": {"score": "0.00"},
    }
    book = write_xlsx(tmp_path / "openpyxl.xlsx", sheets, streaming=True, **layout)  # type: ignore[arg-type]
    save_workbook(book, tmp_path / "openpyxl.xlsx")
    write_table(tmp_path / "table.xlsx", sheets, **layout)  # type: ignore[arg-type]
    facts = _sheet_facts(tmp_path / "table.xlsx")
    assert facts == _sheet_facts(tmp_path / "openpyxl.xlsx")
    sheet = facts["rows"]
    values = [c[1] for c in sheet["cells"][5:]]
    assert values[:5] == ["'=SUM(A1)", "lang\tverhaal met ë\nen meer", 0.5, 3, None]
    assert values[6] == "ja" and values[15] == "https://example.org"  # text, not a link
    widths = sheet["widths"]
    assert (widths["B"], widths["A"], sheet["frozen"], sheet["filter"]) == (70, 8, "A2", "A1:E5")
    empty = facts["leeg"]
    assert (empty["widths"], empty["frozen"], empty["filter"]) == ({"A": 12}, "A2", None)
    assert not list(tmp_path.glob("*.tmp"))


def test_finished_table_in_an_unwritable_place_is_a_plain_os_error(tmp_path: Path) -> None:
    """The CLI turns an OSError such as this into one line; xlsxwriter's own error it would
    not know."""
    from qualcode.export.tables import write_table

    (tmp_path / "a-file").write_text("not a folder")
    with pytest.raises(NotADirectoryError):
        write_table(tmp_path / "a-file" / "x.xlsx", [("rows", ["a"], [{"a": 1}])])
