"""Material for report writers: ``qualcode export quotes``, ``qualcode export matrix`` and
``qualcode report``.

The two exports are sub-commands of the existing ``export`` group (registered on import);
``report`` is a top-level command.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from qualcode.cli.export_cmds import export
from qualcode.cli.options import project_option, target_file_option

F = TypeVar("F", bound=Callable[..., Any])

_STATUS_HELP = (
    "accepted: a person's accepted and manual codings (default); suggested: the machine's open "
    "suggestions; any: both."
)


def _status_option(func: F) -> F:
    return click.option(
        "--status",
        type=click.Choice(["accepted", "suggested", "any"]),
        default="accepted",
        show_default=True,
        help=_STATUS_HELP,
    )(func)


def _coder_option(func: F) -> F:
    return click.option(
        "--coder", help="Only this person's codings (and suggestions they have not decided on)."
    )(func)


@export.command(name="quotes")
@project_option
@target_file_option("quotes.docx, quotes.md or quotes.xlsx")
@click.option(
    "--codes",
    multiple=True,
    metavar="CODE",
    help="Only these codes and their sub-codes (repeatable or comma-separated; default all).",
)
@click.option(
    "--per-code",
    type=click.IntRange(1, 50),
    default=3,
    show_default=True,
    help="Quotes per code.",
)
@_status_option
@_coder_option
@click.option("--no-fillers", is_flag=True, help="Leave out eh, ehm, uhm, nou ja (shown as …).")
def export_quotes_cmd(
    project: Path,
    output: Path,
    codes: tuple[str, ...],
    per_code: int,
    status: str,
    coder: str | None,
    no_fillers: bool,
) -> None:
    """The most telling quotes per code, attributed by role and setting, never by name.

    Per code (in codebook order, sub-codes included) the passages that are most central to
    what was coded with it, clearly about it, readable (whole sentences, 15-80 words) and
    varied (never two from one speaker). Word files use the Heading and Quote styles.

    \b
    Example:
      qualcode export quotes --project outputs/demo -o citaten.docx --status any
    """
    from qualcode.export.quotes import export_quotes
    from qualcode.store import open_project

    with open_project(project) as proj:
        selection, target = export_quotes(
            proj,
            output,
            codes=codes,
            per_code=per_code,
            status=status,
            coder=coder,
            no_fillers=no_fillers,
        )
    with_quotes = [c for c in selection.codes if c.quotes]
    click.echo(
        f"Wrote {target}: {len(selection.quotes)} quotes for {len(with_quotes)} codes "
        f"(status {status}{', coder ' + coder if coder else ''})."
    )
    empty = [c.code for c in selection.codes if not c.quotes]
    if empty:
        click.echo(
            f"No passage of {selection.min_words}-{selection.max_words} words for: "
            + ", ".join(empty),
            err=True,
        )
    if selection.skipped:
        click.echo(f"{len(selection.skipped)} codes have no codings with this status.", err=True)


@export.command(name="matrix")
@project_option
@target_file_option("matrix.xlsx or matrix.csv")
@click.option(
    "--rows",
    metavar="AXIS",
    help="A code (its sub-codes are the rows), codes separated by commas, or an attribute.",
)
@click.option(
    "--cols",
    metavar="AXIS",
    help="A code, document, doc:ATTRIBUTE (doc:type, doc:place) or speaker:role.",
)
@click.option(
    "--kind",
    type=click.Choice(["crosstab", "cooccurrence", "frequencies"]),
    default="crosstab",
    show_default=True,
    help="crosstab: rows by columns; cooccurrence: codes by codes; frequencies: every code "
    "(parents included) by document.",
)
@click.option(
    "--depth",
    type=click.IntRange(1, 10),
    help="How many levels below the given code (default 1: its sub-codes; frequencies: all).",
)
@_status_option
@_coder_option
def export_matrix_cmd(
    project: Path,
    output: Path,
    rows: str | None,
    cols: str | None,
    kind: str,
    depth: int | None,
    status: str,
    coder: str | None,
) -> None:
    """Count coded passages: themes by target group, by document or speaker role, codes by
    codes, or code frequencies per document.

    A cell counts passages (segments) that carry a code of the row and belong to the column;
    a sub-code counts for its parent and each passage counts once per cell. The rule is
    written in the file (xlsx: below the table and on the sheet 'telregel'; csv: below the
    table).

    \b
    Examples:
      qualcode export matrix -p outputs/demo --rows impact --cols doelgroep -o matrix.xlsx
      qualcode export matrix -p outputs/demo --rows impact --cols doc:type -o per_type.csv
      qualcode export matrix -p outputs/demo --kind cooccurrence --rows impact -o samen.xlsx
      qualcode export matrix -p outputs/demo --kind frequencies -o frequenties.xlsx
    """
    from qualcode.export.matrix import export_matrix
    from qualcode.store import open_project

    with open_project(project) as proj:
        matrix, target = export_matrix(
            proj,
            output,
            rows=rows,
            cols=cols,
            kind=kind,
            status=status,
            coder=coder,
            depth=depth,
        )
    n_rows, n_cols = (n - 1 for n in matrix.frame.shape)
    click.echo(
        f"Wrote {target}: {kind} of {n_rows} rows by {n_cols} columns, "
        f"{matrix.frame.iloc[-1, -1]} passages in the table "
        f"(status {status}{', coder ' + coder if coder else ''})."
    )
    if int(matrix.frame.iloc[:-1, :-1].to_numpy().sum()) == 0:
        click.echo("Every cell is 0: no passage carries both a row and a column.", err=True)


@click.command(name="report")
@project_option
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    help="report.html (default: report.html in the project folder).",
)
@click.option(
    "--status",
    type=click.Choice(["accepted", "suggested", "any"]),
    default=None,
    show_default="accepted once anyone has accepted or coded a passage, else any",
    help="Which codings the figures and quotes use. " + _STATUS_HELP.replace(" (default)", ""),
)
@click.option(
    "--per-code",
    type=click.IntRange(1, 10),
    default=3,
    show_default=True,
    help="Quotes per code.",
)
def report_cmd(project: Path, output: Path | None, status: str | None, per_code: int) -> None:
    """One HTML file to read, print or share: the study in figures, quotes and new themes.

    A study overview (documents, speakers, words), a chart of passages per code for every
    level of the codebook, the doelgroepenmatrix as a heat map with its counting rule, per
    code its definition, counts and most telling quotes (by role and setting, never by name),
    the new themes of 'qualcode topics' if you ran it, and how many suggestions nobody has
    reviewed yet. The file needs no internet: charts and styles are inside it. Text in Dutch.

    \b
    Example:
      qualcode report --project outputs/demo -o rapport.html
    """
    from qualcode.export.report import REPORT_NAME, write_report
    from qualcode.store import open_project

    with open_project(project) as proj:
        report, target = write_report(
            proj, output or proj.path / REPORT_NAME, status=status, per_code=per_code
        )
        if target.resolve() == (proj.path / REPORT_NAME).resolve():
            from qualcode.pipeline import mark_current

            mark_current(proj, [REPORT_NAME])  # 'run --no-report' no longer calls it outdated
    coded = sum(1 for c in report.codes if c.passages)
    themes = f", {len(report.topics)} topics" if report.topics else ""
    how = "chosen automatically" if report.status_auto else "chosen with --status"
    click.echo(
        f"Wrote {target}: {report.totals.documents} documents, {coded} codes with passages, "
        f"{len(report.quotes)} quotes{themes} (status {report.status}, {how})."
    )
    if report.status_auto and report.status == "any":
        click.echo(
            "Nobody has reviewed the suggestions yet: the figures and quotes are the machine's "
            "suggestions (the report says so at the top).",
            err=True,
        )
    if report.open_suggestions:
        click.echo(
            f"{report.open_suggestions} suggestions on {report.open_passages} passages are not "
            "reviewed yet.",
            err=True,
        )


# 'export quotes' and 'export matrix' belong to the existing 'export' group; 'report' is new.
COMMANDS: list = [report_cmd]
