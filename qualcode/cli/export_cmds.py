"""``qualcode export ...``: files for reports and other tools."""

from __future__ import annotations

from pathlib import Path

import click

from qualcode.cli.options import project_option, target_file_option
from qualcode.models import STATUSES


@click.group()
def export() -> None:
    """Export coded segments and other tables."""


@export.command(name="segments")
@project_option
@target_file_option("coded_segments.csv or .xlsx")
@click.option(
    "--status",
    multiple=True,
    type=click.Choice(STATUSES),
    help="Only these statuses (repeatable; default all).",
)
@click.option("--coder", help="Only this coder's codings (and open suggestions).")
def export_segments_cmd(
    project: Path, output: Path, status: tuple[str, ...], coder: str | None
) -> None:
    """One row per (segment, code); segments without codes appear once with an empty code."""
    from qualcode.export.segments import export_segments
    from qualcode.store import open_project

    with open_project(project) as proj:
        target = export_segments(proj, output, statuses=status or None, coder=coder)
    click.echo(f"Wrote {target}")


COMMANDS = [export]
