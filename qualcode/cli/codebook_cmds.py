"""``qualcode codebook validate|show|export``."""

from __future__ import annotations

from pathlib import Path

import click

from qualcode.cli.options import target_file_option
from qualcode.errors import CodebookError

codebook_file = click.argument("file", type=click.Path(dir_okay=False, path_type=Path))


@click.group()
def codebook() -> None:
    """Check, show and export codebooks (YAML)."""


@codebook.command()
@codebook_file
def validate(file: Path) -> None:
    """Check FILE: unknown keys, duplicate ids, empty labels, patterns spaCy rejects."""
    from qualcode.codebook import codebook_stats, load_codebook

    try:
        book = load_codebook(file)
    except CodebookError as exc:
        for line, message in exc.problems:
            where = f"{file}, line {line}" if line else str(file)
            click.secho(f"{where}: {message}", fg="red", err=True)
        raise CodebookError(
            file, exc.problems, hint=f"{len(exc.problems)} problem(s) listed above"
        ) from None
    for warning in book.warnings:
        click.secho(f"{file}: warning: {warning}", fg="yellow", err=True)
    stats = codebook_stats(book)
    click.echo(
        f"{file}: valid ({stats['codes']} codes, {stats['leaves']} leaves, "
        f"{stats['keywords']} keywords, {stats['context']} context words, "
        f"{stats['patterns']} patterns, "
        f"{stats['examples']} examples)"
    )


@codebook.command()
@codebook_file
def show(file: Path) -> None:
    """Print FILE as an indented tree with counts of keywords and examples."""
    from qualcode.codebook import load_codebook

    book = load_codebook(file)
    click.echo(f"{book.name}" + (f" (version {book.version})" if book.version else ""))
    for code in book.walk():
        counts = f"{len(code.keywords)} kw, {len(code.examples)} ex"
        if code.context:
            counts += f", {len(code.context)} ctx"
        if code.patterns:
            counts += f", {len(code.patterns)} pat"
        click.echo(
            f"{'  ' * code.depth}{code.id:<{max(1, 34 - 2 * code.depth)}} {code.label}  [{counts}]"
        )


@codebook.command(name="export")
@codebook_file
@target_file_option(
    "Target file: .md, .xlsx, .docx, or .qdc (REFI-QDA, for ATLAS.ti, NVivo, MAXQDA)."
)
def export_codebook_cmd(file: Path, output: Path) -> None:
    """Write FILE as a document (Markdown, Excel or Word) with definitions and examples, or as
    a REFI-QDA codebook (.qdc) for other QDA programs."""
    from qualcode.codebook import load_codebook
    from qualcode.export.codebook_doc import export_codebook

    target = export_codebook(load_codebook(file), output)
    click.echo(f"Wrote {target}")


COMMANDS = [codebook]
