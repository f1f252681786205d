"""Tabular files a researcher opens in Excel: CSV (UTF-8 with BOM) and formatted XLSX."""

from __future__ import annotations

import csv
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any


def _value(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "ja" if value else "nee"
    return value


def write_csv(path: Path, columns: Sequence[str], rows: Sequence[Mapping[str, Any]]) -> None:
    """UTF-8 with BOM so that Excel shows ë and é correctly; written atomically."""
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(columns)
        for row in rows:
            writer.writerow([_value(row.get(c)) for c in columns])
    tmp.replace(path)


# Excel's limit: rows per sheet, the header included
EXCEL_MAX_ROWS = 1_048_576
HEADER_FILL = "DDEBF7"  # light blue behind the bold header
# one sheet of a workbook: its title, its columns and its rows (column -> value)
Sheet = tuple[str, Sequence[str], Sequence[Mapping[str, Any]]]


def write_xlsx(
    path: Path,
    sheets: Sequence[Sheet],
    *,
    widths: Mapping[str, int] | None = None,
    wrap: Sequence[str] = (),
    notes: Mapping[str, str] | None = None,
    number_formats: Mapping[str, str] | None = None,
    streaming: bool = False,
) -> Any:
    """One sheet per (title, columns, rows): bold frozen header, filters, wrapped long text.

    Returns the workbook to be saved with ``save_workbook``. By default it is an ordinary
    openpyxl workbook that callers may still change cell by cell (styles, extra rows, data
    validation). With ``streaming`` the rows go straight to disk (openpyxl's write-only mode):
    several times faster and flat in memory for large tables, and the file looks the same, but
    the sheets can no longer be changed, only added to (``add_hidden_sheet``) and given
    dropdowns (``add_dropdown``). ``number_formats`` maps a column to an Excel number format.
    """
    from openpyxl import Workbook

    _check_rows(path, sheets)
    book = Workbook(write_only=streaming)
    if not streaming:
        book.remove(book.active)
    for title, columns, rows in sheets:
        styles = _Styles.for_columns(columns, wrap, number_formats or {})
        sheet = book.create_sheet(title=title[:31])
        _lay_out(sheet, title, columns, len(rows), widths or {}, (notes or {}).get(title))
        if streaming:
            _stream_rows(sheet, columns, rows, styles)
        else:
            _fill_rows(sheet, columns, rows, styles)
    return book


def _check_rows(path: Path, sheets: Sequence[Sheet]) -> None:
    for title, _, rows in sheets:
        if len(rows) >= EXCEL_MAX_ROWS:
            from qualcode.errors import QualcodeError

            raise QualcodeError(
                f"{path.name}: {len(rows):,} rows do not fit in one Excel sheet (sheet "
                f"'{title}', at most {EXCEL_MAX_ROWS - 1:,} below the header)",
                "write a .csv instead",
            )


def write_table(
    path: Path,
    sheets: Sequence[Sheet],
    *,
    widths: Mapping[str, int] | None = None,
    wrap: Sequence[str] = (),
    number_formats: Mapping[str, str] | None = None,
) -> None:
    """Write finished sheets to ``path``, laid out as :func:`write_xlsx` lays them out (bold
    frozen header, filters, widths, wrapped long text, number formats), and save at once.

    Written with xlsxwriter in its constant-memory mode: rows go to disk as they come, as in
    openpyxl's write-only mode, in 55-60% of its time (``coded_segments.xlsx`` is rewritten by
    every run that changes anything). Nothing can be added to the file afterwards: a table
    that needs dropdowns, hidden sheets or a footer note is made with :func:`write_xlsx`.
    """
    import xlsxwriter
    from xlsxwriter.exceptions import FileCreateError

    _check_rows(path, sheets)
    tmp = path.with_name(path.name + ".tmp")
    options = {
        "constant_memory": True,
        # every value is written by its type below; these only guard against surprises
        "strings_to_numbers": False,
        "strings_to_formulas": False,
        "strings_to_urls": False,
        "nan_inf_to_errors": True,
    }
    try:
        with xlsxwriter.Workbook(str(tmp), options) as book:
            header = book.add_format({"bold": True, "pattern": 1, "bg_color": f"#{HEADER_FILL}"})
            for title, columns, rows in sheets:
                formats = [
                    book.add_format(
                        {
                            "valign": "top",
                            **({"text_wrap": True} if c in wrap else {}),
                            **({"num_format": f} if (f := (number_formats or {}).get(c)) else {}),
                        }
                    )
                    for c in columns
                ]
                sheet = book.add_worksheet(title[:31])
                _table_header(sheet, title, columns, len(rows), widths or {}, header)
                _write_table_rows(sheet, columns, rows, formats)
    except FileCreateError as exc:
        tmp.unlink(missing_ok=True)
        cause = exc.args[0] if exc.args else None
        if isinstance(cause, OSError):  # as openpyxl raises it: the CLI reports it in a line
            raise cause from None
        raise
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    tmp.replace(path)


def _table_header(
    sheet: Any,
    title: str,
    columns: Sequence[str],
    n_rows: int,
    widths: Mapping[str, int],
    header: Any,
) -> None:
    """What ``_lay_out`` and the header row do for openpyxl, for an xlsxwriter sheet."""
    for n, column in enumerate(columns):
        # xlsxwriter counts 7 pixels to a character of Calibri 11, so 7 x width pixels is
        # the width in characters that openpyxl writes
        sheet.set_column_pixels(n, n, 7 * _width(title, column, widths))
        sheet.write_string(0, n, column, header)
    sheet.freeze_panes(1, 0)
    if n_rows:
        sheet.autofilter(0, 0, n_rows, len(columns) - 1)


def _write_table_rows(
    sheet: Any, columns: Sequence[str], rows: Sequence[Mapping[str, Any]], formats: list[Any]
) -> None:
    write_string, write_number, write = sheet.write_string, sheet.write_number, sheet.write
    for r, row in enumerate(rows, start=1):
        for n, column in enumerate(columns):
            value = _clean(_value(row.get(column)))
            if value == "":  # an empty cell with its style, as openpyxl writes ""
                sheet.write_blank(r, n, None, formats[n])
            elif isinstance(value, str):
                write_string(r, n, value, formats[n])
            elif isinstance(value, int | float):
                write_number(r, n, value, formats[n])
            else:
                write(r, n, value, formats[n])


@dataclass(frozen=True)
class _Styles:
    """The styles of one sheet, made once and shared by every cell that uses them: openpyxl
    hashes a style object each time one is assigned, which made per-cell copies the bulk of
    the cost of writing a large sheet."""

    header_font: Any
    header_fill: Any
    alignments: tuple[Any, ...]  # one per column
    number_formats: tuple[str | None, ...]  # one per column

    @classmethod
    def for_columns(
        cls, columns: Sequence[str], wrap: Sequence[str], number_formats: Mapping[str, str]
    ) -> _Styles:
        from openpyxl.styles import Alignment, Font, PatternFill

        wrapped = Alignment(wrap_text=True, vertical="top")
        top = Alignment(vertical="top")
        return cls(
            Font(bold=True),
            PatternFill("solid", fgColor=HEADER_FILL),
            tuple(wrapped if c in wrap else top for c in columns),
            tuple(number_formats.get(c) for c in columns),
        )


def _lay_out(
    sheet: Any,
    title: str,
    columns: Sequence[str],
    n_rows: int,
    widths: Mapping[str, int],
    note: str | None,
) -> None:
    """Column widths, frozen header, filter and footer: set before any row, because a
    write-only sheet writes its column widths with the first row. A width keyed
    ``"sheet:column"`` is for that sheet only."""
    from openpyxl.utils import get_column_letter

    for n, column in enumerate(columns, start=1):
        sheet.column_dimensions[get_column_letter(n)].width = _width(title, column, widths)
    sheet.freeze_panes = "A2"
    if n_rows:
        sheet.auto_filter.ref = f"A1:{get_column_letter(len(columns))}{n_rows + 1}"
    if note:
        # HeaderFooter, not the oddFooter shortcut, which write-only sheets lack
        sheet.HeaderFooter.oddFooter.left.text = note


def _width(title: str, column: str, widths: Mapping[str, int]) -> int:
    """A column's width in characters: ``"sheet:column"`` first, then ``column``, else from
    the length of its name."""
    return widths.get(f"{title}:{column}") or widths.get(column) or min(40, max(8, len(column) + 2))


def _fill_rows(
    sheet: Any, columns: Sequence[str], rows: Sequence[Mapping[str, Any]], styles: _Styles
) -> None:
    sheet.append(list(columns))
    for cell in sheet[1]:
        cell.font = styles.header_font
        cell.fill = styles.header_fill
    for row in rows:
        sheet.append([_clean(_value(row.get(c))) for c in columns])
    for n, column_cells in enumerate(sheet.iter_cols(min_row=2, max_col=len(columns))):
        alignment, number_format = styles.alignments[n], styles.number_formats[n]
        for cell in column_cells:
            cell.alignment = alignment
            if number_format:
                cell.number_format = number_format


def _stream_rows(
    sheet: Any, columns: Sequence[str], rows: Sequence[Mapping[str, Any]], styles: _Styles
) -> None:
    from openpyxl.cell import WriteOnlyCell

    header = []
    for column in columns:
        cell = WriteOnlyCell(sheet, column)
        cell.font = styles.header_font
        cell.fill = styles.header_fill
        header.append(cell)
    sheet.append(header)
    # One styled cell per column, reused for every row: a write-only sheet writes a row out
    # as soon as it is appended, so only the value changes and no style is hashed again.
    cells = []
    for alignment, number_format in zip(styles.alignments, styles.number_formats, strict=True):
        cell = WriteOnlyCell(sheet)
        cell.alignment = alignment
        if number_format:
            cell.number_format = number_format
        cells.append(cell)
    for row in rows:
        for cell, column in zip(cells, columns, strict=True):
            cell.value = _clean(_value(row.get(column)))
        sheet.append(cells)


def save_workbook(book: Any, path: Path) -> None:
    tmp = path.with_name(path.name + ".tmp")
    book.save(tmp)
    tmp.replace(path)


_ILLEGAL = dict.fromkeys([*range(0, 9), 11, 12, *range(14, 32)], None)
_ILLEGAL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def _clean(value: Any) -> Any:
    # openpyxl refuses control characters; a formula-looking text must stay text. Searching
    # first spares translating every passage character by character (a sixth of the time of
    # writing coded_segments.xlsx).
    if isinstance(value, str):
        if _ILLEGAL_RE.search(value):
            value = value.translate(_ILLEGAL)
        if value.startswith(("=", "+", "-", "@")) and len(value) > 1:
            return "'" + value if value[0] == "=" else value
    return value


def cell_text(value: Any) -> Any:
    """A value as :func:`write_xlsx` puts it in a cell, to compare with what is read back."""
    return _clean(_value(value))


def add_hidden_sheet(
    book: Any,
    title: str,
    rows: Sequence[Sequence[Any]],
    *,
    very_hidden: bool = False,
) -> Any:
    """A sheet of plain rows that Excel does not show: lists for dropdowns, or facts a later
    import checks (``very_hidden`` cannot be shown from Excel's menus)."""
    sheet = book.create_sheet(title=title[:31])
    for row in rows:
        sheet.append([_clean(_value(v)) for v in row])
    sheet.sheet_state = "veryHidden" if very_hidden else "hidden"
    return sheet


def add_dropdown(
    sheet: Any,
    cells: str,
    *,
    choices: Sequence[str] = (),
    source: str | None = None,
    strict: bool = False,
    title: str | None = None,
    prompt: str | None = None,
) -> None:
    """A dropdown on ``cells`` (e.g. ``J2:J500``) listing ``choices`` or the cells in
    ``source`` (e.g. ``codes!$A$1:$A$40``). Not ``strict``: Excel warns about another value
    but lets the user keep it (an import may accept more spellings than the list shows)."""
    from openpyxl.worksheet.datavalidation import DataValidation

    formula = source or '"' + ",".join(choices) + '"'
    validation = DataValidation(
        type="list",
        formula1=formula,
        allow_blank=True,
        errorStyle="stop" if strict else "warning",
        showErrorMessage=True,
        showInputMessage=bool(prompt),
        errorTitle=title,
        error="Kies een waarde uit de lijst." if strict else "Deze waarde staat niet in de lijst.",
        promptTitle=title,
        prompt=prompt,
    )
    validation.add(cells)
    # the list itself, not add_data_validation: write-only sheets have only the list
    sheet.data_validations.append(validation)
