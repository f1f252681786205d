"""Commands that keep work safe: backup (make or list backups) and restore."""

from __future__ import annotations

from pathlib import Path

import click

from qualcode.cli.options import emit, output_options, project_option


@click.command()
@project_option
@click.option(
    "--reason",
    "-r",
    default="manual",
    show_default=True,
    help="A word or two for the file name, e.g. 'before coding round 2'.",
)
@click.option("--list", "-l", "list_", is_flag=True, help="List the backups instead, newest first.")
@output_options
def backup(project: Path, reason: str, list_: bool, fmt: str, output: Path) -> None:
    """Back up the project database now (into <project>/backups/), or list the backups.

    qualcode also makes a backup by itself before every step that replaces work (ingest
    --replace, a schema upgrade, a review import, a restore). Undo with 'qualcode restore'.
    """
    if list_:
        _print_backups(project, fmt, output)
        return
    from qualcode.backups import make_backup
    from qualcode.store import open_project

    with open_project(project) as proj:
        info = make_backup(proj, reason)
    click.echo(f"Backup written: {info.path}")
    click.echo(f"  {info.summary()}")


@click.command()
@project_option
@output_options
def backups(project: Path, fmt: str, output: Path) -> None:
    """List the project's backups, newest first (the same as 'backup --list')."""
    _print_backups(project, fmt, output)


def _print_backups(project: Path, fmt: str, output: Path) -> None:
    from qualcode.backups import human_size, list_backups

    found = list_backups(project)
    if not found and fmt == "table":
        click.echo(f"No backups in {project / 'backups'} yet (make one with 'qualcode backup').")
        return
    rows = [
        {
            "nr": b.number,
            "made": b.made_at.strftime("%Y-%m-%d %H:%M:%S"),
            "reason": b.reason,
            "size": human_size(b.size),
            "holds": b.summary(),
            "file": b.name,
        }
        for b in found
    ]
    json_rows = [
        {
            "number": b.number,
            "made": b.made_at.isoformat(timespec="seconds"),
            "reason": b.reason,
            "size": b.size,
            "path": str(b.path),
            "schema": b.schema,
            "documents": b.documents,
            "person_codings": b.person_codings,
            "suggestions": b.suggestions,
            "problem": b.problem,
        }
        for b in found
    ]
    columns = ["nr", "made", "reason", "size", "holds"]
    emit(rows, columns + ([] if fmt == "table" else ["file"]), fmt, output, json_rows=json_rows)
    if fmt == "table" and str(output) == "-":
        click.echo(
            f"\nBackups in {found[0].path.parent}. Restore one with"
            f" 'qualcode restore --project {project} NR' (the current state is backed up first).",
            err=True,
        )


@click.command()
@click.argument("backup_ref", metavar="BACKUP")
@project_option
def restore(backup_ref: str, project: Path) -> None:
    """Replace the project database by BACKUP: its number in 'qualcode backup --list'
    (1 = newest), its file name, or a path to a backup file.

    The backup is checked first, and the project as it is now is backed up before it is
    replaced, so a restore can itself be undone. Refused while another qualcode command is
    writing to the project. Settings (settings.yaml) and exported files are not touched.
    """
    from qualcode.backups import restore_backup
    from qualcode.store import MIGRATIONS

    report = restore_backup(project, backup_ref)
    info = report.restored
    click.echo(f"Restored {info.path} (made {info.made_at:%Y-%m-%d %H:%M:%S}): {info.summary()}.")
    if info.schema != MIGRATIONS[-1][0]:
        click.echo(
            "It was made by an older qualcode: it is brought up to date the next time the project"
            " is opened (after a backup of its own)."
        )
    if report.previous is not None:
        click.echo(
            f"The project as it was before is kept in {report.previous}"
            f" (undo with 'qualcode restore --project {project} {report.previous.name}')."
        )


COMMANDS = [backup, backups, restore]
