"""Commands that create a project and read transcripts into it: init, ingest, documents, show."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

import click

from qualcode.cli.options import emit, metadata_option, output_options, project_option
from qualcode.cli.privacy_cmds import privacy_options
from qualcode.errors import QualcodeError
from qualcode.models import UNITS


@click.command()
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--codebook",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Codebook YAML to use for this project.",
)
def init(folder: Path, codebook: Path | None) -> None:
    """Create a project in FOLDER (a database and a settings file)."""
    from qualcode.store import init_project

    with init_project(folder, codebook=codebook) as project:
        click.echo(f"Project ready in {project.path} (settings: {project.settings_path.name})")


@click.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@project_option
@metadata_option("CSV/XLSX with document attributes and speaker roles.")
@click.option(
    "--replace",
    is_flag=True,
    help="Replace documents whose file changed (codings move with their passages; "
    "a backup is made first).",
)
@click.option(
    "--drop-unmatched-codings",
    is_flag=True,
    help="With --replace: allow dropping codings whose passage is gone.",
)
@click.option("--unit", type=click.Choice(UNITS), help="Coding unit (default: turn).")
@click.option(
    "--encoding", help="Force a text encoding, e.g. latin-1 (default: detect UTF-8 / Windows-1252)."
)
@click.option(
    "--pseudonymise",
    "pseudonymise_",
    is_flag=True,
    help="Replace names and other identifiers by pseudonyms before anything is saved "
    "(needs --key; see 'qualcode pseudonymise --help').",
)
@privacy_options
def ingest(
    paths: tuple[Path, ...],
    project: Path,
    metadata: Path | None,
    replace: bool,
    drop_unmatched_codings: bool,
    unit: str | None,
    encoding: str | None,
    pseudonymise_: bool,
    **privacy: Any,
) -> None:
    """Read transcripts (files or folders) into the project.

    Supported: .docx, .odt, .txt, .md, .vtt (Teams, Zoom), .srt. Re-ingesting an unchanged
    file does nothing; a changed file is only replaced with --replace.
    """
    from qualcode.ingest import ingest_files
    from qualcode.store import open_project

    options = dict(
        metadata=metadata,
        replace=replace,
        unit=unit,
        encoding=encoding,
        drop_unmatched_codings=drop_unmatched_codings,
    )
    used = [name for name, value in privacy.items() if value]
    if used and not pseudonymise_:
        raise QualcodeError(
            f"--{used[0].replace('_file', '').replace('_to', '').replace('_', '-')} only works"
            " together with --pseudonymise",
            "add --pseudonymise, or use 'qualcode pseudonymise' after the ingest",
        )
    with open_project(project) as proj:
        if not pseudonymise_ and proj.meta("pseudonymised_at"):
            raise QualcodeError(
                f"{proj.path} is pseudonymised: new transcripts must be too; nothing was read",
                "add --pseudonymise --key KEYFILE (the same key file as before)",
            )
        if pseudonymise_:
            from qualcode.cli.privacy_cmds import make_options, notify, print_pseudonymise_report
            from qualcode.privacy import ingest_pseudonymised

            report, privacy_report = ingest_pseudonymised(
                proj, paths, make_options(**privacy), notify=notify, **options
            )
            print_ingest_report(report)
            print_pseudonymise_report(privacy_report)
            return
        report = ingest_files(proj, paths, **options)
    print_ingest_report(report)


def print_ingest_report(report: object) -> None:
    from qualcode.ingest import IngestReport

    assert isinstance(report, IngestReport)
    parts = [f"{len(report.added)} added", f"{len(report.unchanged)} unchanged"]
    if report.replaced:
        parts.append(f"{len(report.replaced)} replaced ({report.moved_codings} codings moved)")
    if report.changed:
        parts.append(f"{len(report.changed)} changed but not replaced")
    if report.metadata_updated:
        parts.append(f"metadata updated for {len(report.metadata_updated)}")
    click.echo("Ingest: " + ", ".join(parts) + ".", err=True)
    if report.backup:
        click.echo(f"Backup of the project before replacing: {report.backup}", err=True)
    for warning in report.warnings:
        click.secho(f"Warning: {warning}", fg="yellow", err=True)


@click.command()
@project_option
@output_options
def documents(project: Path, fmt: str, output: Path) -> None:
    """List the documents: type, speakers, turns, words and attributes."""
    from qualcode.documents import list_documents
    from qualcode.store import open_project

    with open_project(project) as proj:
        docs = list_documents(proj)
    keys = sorted({k for d in docs for k in d.attributes})
    rows = [
        {
            "id": d.id,
            "document": d.name,
            "format": d.format,
            "type": d.attributes.get("type"),
            "speakers": d.speakers,
            "turns": d.turns,
            "words": d.words,
            **{k: d.attributes.get(k) for k in keys},
        }
        for d in docs
    ]
    json_rows = [{k: v for k, v in asdict(d).items() if k != "sha256"} for d in docs]
    columns = [
        "id",
        "document",
        "format",
        "type",
        "speakers",
        "turns",
        "words",
        *[k for k in keys if k != "type"],
    ]
    emit(rows, columns, fmt, output, json_rows=json_rows)


@click.command()
@click.argument("document")
@project_option
@output_options
def show(document: str, project: Path, fmt: str, output: Path) -> None:
    """Show DOCUMENT as parsed (id, file name or name without extension): speaker, role,
    timestamp and text per turn."""
    from qualcode.documents import document_turns
    from qualcode.store import open_project

    with open_project(project) as proj:
        turns = document_turns(proj, document)
    rows = [{**t, "speaker": t["speaker"] + (" *" if t["is_interviewer"] else "")} for t in turns]
    json_rows = [
        {
            k: t[k]
            for k in ("speaker", "role", "timestamp", "start", "end", "text", "is_interviewer")
        }
        for t in turns
    ]
    emit(
        rows,
        ["order", "timestamp", "speaker", "role", "text"],
        fmt,
        output,
        wrap="text",
        json_rows=json_rows,
    )
    if fmt == "table" and str(output) == "-":
        click.echo("\n* interviewer/moderator: context, not coded", err=True)


COMMANDS = [init, ingest, documents, show]
