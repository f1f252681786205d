"""Tabular files a researcher opens in Excel: CSV (UTF-8 with BOM) and formatted XLSX."""

from __future__ import annotations

import csv
from collections.abc import Mapping, Sequence
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


def write_xlsx(
    path: Path,
    sheets: Sequence[tuple[str, Sequence[str], Sequence[Mapping[str, Any]]]],
    *,
    widths: Mapping[str, int] | None = None,
    wrap: Sequence[str] = (),
    notes: Mapping[str, str] | None = None,
) -> Any:
    """One sheet per (title, columns, rows): bold frozen header, filters, wrapped long text.

    Returns the workbook (callers may add data validation) to be saved with ``save_workbook``.
    """
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    book = Workbook()
    book.remove(book.active)
    widths = dict(widths or {})
    for title, columns, rows in sheets:
        sheet = book.create_sheet(title=title[:31])
        sheet.append(list(columns))
        for row in rows:
            sheet.append([_clean(_value(row.get(c))) for c in columns])
        header_fill = PatternFill("solid", fgColor="DDEBF7")
        for cell in sheet[1]:
            cell.font = Font(bold=True)
            cell.fill = header_fill
        for n, column in enumerate(columns, start=1):
            letter = get_column_letter(n)
            width = widths.get(column) or min(40, max(8, len(column) + 2))
            sheet.column_dimensions[letter].width = width
            if column in wrap:
                for cell in sheet[letter][1:]:
                    cell.alignment = Alignment(wrap_text=True, vertical="top")
            else:
                for cell in sheet[letter][1:]:
                    cell.alignment = Alignment(vertical="top")
        sheet.freeze_panes = "A2"
        if rows:
            sheet.auto_filter.ref = f"A1:{get_column_letter(len(columns))}{len(rows) + 1}"
        if notes and title in notes:
            sheet.oddFooter.left.text = notes[title]
    return book


def save_workbook(book: Any, path: Path) -> None:
    tmp = path.with_name(path.name + ".tmp")
    book.save(tmp)
    tmp.replace(path)


_ILLEGAL = dict.fromkeys([*range(0, 9), 11, 12, *range(14, 32)], None)


def _clean(value: Any) -> Any:
    # openpyxl refuses control characters; a formula-looking text must stay text.
    if isinstance(value, str):
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
    sheet.add_data_validation(validation)
    validation.add(cells)
