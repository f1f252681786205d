"""``qualcode agreement``: intercoder agreement per code, and the disagreements to discuss."""

from __future__ import annotations

from pathlib import Path

import click

from qualcode.cli.options import emit, format_option, project_option, threshold_option


@click.command()
@project_option
@click.option(
    "--coder",
    "coders",
    multiple=True,
    help="A coder in the project (repeatable); qualcode = the machine's suggestions.",
)
@click.option(
    "--file",
    "files",
    multiple=True,
    metavar="NAME=FILE",
    help="A coder's coding done outside qualcode: CSV with document,order,codes (repeatable).",
)
@click.option(
    "--level",
    help="Compare the sub-codes of this code (e.g. impact; 'top' for the top-level codes), "
    "each counting the codes below it. Default: every code and parent.",
)
@click.option(
    "--unit",
    type=click.Choice(["segment", "document"]),
    default="segment",
    show_default=True,
    help="What counts as one decision: a segment, or a document (code given anywhere in it).",
)
@threshold_option
# Not output_options: here -o is the disagreement list, as the issue asks; the figures go to
# the screen in --format.
@format_option("Format of the figures on the screen.")
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the disagreements (segment, speaker, text, what each coder gave) to this "
    ".csv or .xlsx file.",
)
def agreement(
    project: Path,
    coders: tuple[str, ...],
    files: tuple[str, ...],
    level: str | None,
    unit: str,
    threshold: float | None,
    fmt: str,
    output: Path | None,
) -> None:
    """Agreement between coders per code: percent agreement, Cohen's kappa, Krippendorff's alpha.

    Per code every segment is a yes/no decision (code given or not); only the segments that
    every coder coded count.

    \b
    Examples:
      qualcode agreement --coder anna --coder ben -o verschillen.xlsx
      qualcode agreement --file A=coder_a.csv --file B=coder_b.csv --level impact
      qualcode agreement --coder anna --coder qualcode
    """
    from qualcode.agreement import (
        agreement as run_agreement,
    )
    from qualcode.agreement import (
        parse_coder_file,
        table_columns,
        table_rows,
        write_disagreements,
    )
    from qualcode.store import open_project

    named = [parse_coder_file(spec) for spec in files]
    with open_project(project) as proj:
        report = run_agreement(proj, coders, named, level=level, unit=unit, threshold=threshold)
    if output is not None:
        target = write_disagreements(report, output)
    for line in report.summary_lines():
        click.echo(line, err=True)
    if fmt == "json":
        emit([], table_columns(report), fmt, Path("-"), json_rows=table_rows(report, na=None))
    else:
        rows = table_rows(report, used_only=fmt == "table")
        emit(rows, table_columns(report), fmt, Path("-"))
    for line in report.note_lines():
        click.echo(line, err=True)
    if output is not None:
        click.echo(f"Wrote {len(report.disagreements)} disagreements to {target}", err=True)


COMMANDS = [agreement]
