"""Exchange with ATLAS.ti, NVivo, MAXQDA and QualCoder (REFI-QDA): ``qualcode export qdpx``,
``qualcode import qdpx`` and ``qualcode codebook import``."""

from __future__ import annotations

from pathlib import Path

import click

from qualcode.cli.codebook_cmds import codebook
from qualcode.cli.export_cmds import export
from qualcode.cli.options import project_option, target_file_option


@export.command(name="qdpx")
@project_option
@target_file_option("The project file to write, e.g. study.qdpx.")
@click.option(
    "--status",
    type=click.Choice(["accepted", "any"]),
    default="accepted",
    show_default=True,
    help="accepted: a person's codings (accepted and manual); any: also open suggestions.",
)
def export_qdpx_cmd(project: Path, output: Path, status: str) -> None:
    """Write the project as a REFI-QDA project (.qdpx) for ATLAS.ti, NVivo, MAXQDA or
    QualCoder: transcripts, codebook, codings per coder, memos and attributes."""
    from qualcode.refi import export_qdpx
    from qualcode.store import open_project

    with open_project(project) as proj:
        report = export_qdpx(proj, output, status=status)
    coders = ", ".join(report.coders) or "nobody"
    click.echo(
        f"Wrote {report.path}: {report.documents} documents, {report.codes} codes, "
        f"{report.codings} codings by {coders}, {report.memos} memos"
    )
    if report.skipped_memos:
        click.echo(
            f"Note: {report.skipped_memos} memo(s) on deleted documents or codes were left out",
            err=True,
        )


@click.group(name="import")
def import_group() -> None:
    """Bring in work done in other programs (REFI-QDA .qdpx projects)."""


@import_group.command(name="qdpx")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@project_option
@click.pass_context
def import_qdpx_cmd(ctx: click.Context, file: Path, project: Path) -> None:
    """Import FILE, a REFI-QDA project (.qdpx) from ATLAS.ti, NVivo, MAXQDA, QualCoder or
    qualcode: transcripts, codes, codings (per coder) and memos. Creates the project if
    needed; documents already in the project keep their text and get the new codings."""
    from qualcode.errors import ProjectError
    from qualcode.refi import import_qdpx
    from qualcode.store import DB_NAME

    implicit = ctx.get_parameter_source("project") is not click.core.ParameterSource.COMMANDLINE
    if implicit and not (project / DB_NAME).exists():
        # never turn the current folder into a project by accident
        raise ProjectError(
            f"{project}: no qualcode project here",
            "pass --project FOLDER to import into that project (it is created if needed)",
        )
    report = import_qdpx(project, file)
    made_by = f" (made with {report.made_by})" if report.made_by else ""
    click.echo(f"Imported {file}{made_by} into {project}:")
    click.echo(
        f"  documents  {len(report.documents_added)} added, "
        f"{len(report.documents_matched)} already in the project"
    )
    click.echo(
        f"  codes      {len(report.codes_added)} added, {report.codes_matched} already there"
    )
    per_coder = ", ".join(f"{coder} {n}" for coder, n in sorted(report.codings.items()))
    click.echo(
        f"  codings    {sum(report.codings.values())} added"
        + (f" ({per_coder})" if per_coder else "")
        + (f", {report.codings_present} were already there" if report.codings_present else "")
    )
    click.echo(f"  memos      {report.memos} added")
    for warning in report.warnings:
        click.secho(f"Warning: {warning}", fg="yellow", err=True)


@codebook.command(name="import")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@target_file_option("The codebook YAML to write, e.g. codebook.yaml.")
def import_codebook_cmd(file: Path, output: Path) -> None:
    """Convert FILE, a REFI-QDA codebook (.qdc) from ATLAS.ti, NVivo, MAXQDA or QualCoder,
    into a qualcode codebook (YAML): codes, hierarchy, colours and descriptions."""
    from qualcode.codebook import codebook_stats
    from qualcode.refi import import_qdc

    book = import_qdc(file, output)
    click.echo(f"Wrote {output}: {codebook_stats(book)['codes']} codes from {file}")


COMMANDS = [import_group]
