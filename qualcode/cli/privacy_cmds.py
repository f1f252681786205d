"""``qualcode pseudonymise``: replace names and other identifiers by pseudonyms (AVG/GDPR)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from qualcode.cli.options import emit, output_options, project_option

F = TypeVar("F", bound=Callable[..., Any])


def privacy_options(func: F) -> F:
    """--key, --allow, --deny and what to do with old backups (shared with ``ingest``)."""
    options = [
        click.option(
            "--key",
            "-k",
            type=click.Path(path_type=Path),
            help="CSV file for the key (original ↔ pseudonym), outside the project folder. "
            "Created if it does not exist; reused so that pseudonyms stay the same.",
        ),
        click.option(
            "--allow",
            "allow_file",
            type=click.Path(exists=True, dir_okay=False, path_type=Path),
            help="Words that may stay (one per line), e.g. the places the study is about; "
            "used together with 'privacy: allow:' in settings.yaml.",
        ),
        click.option(
            "--deny",
            "deny_file",
            type=click.Path(exists=True, dir_okay=False, path_type=Path),
            help="Words that are always replaced (one per line, optionally 'locatie: Moerwijk'); "
            "keep this file outside the project folder.",
        ),
        click.option(
            "--delete-backups",
            is_flag=True,
            help="Delete the project's backups (they hold the original text).",
        ),
        click.option(
            "--move-backups",
            "move_backups_to",
            type=click.Path(file_okay=False, path_type=Path),
            help="Move the project's backups (they hold the original text) to this folder.",
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def make_options(
    key: Path | None,
    allow_file: Path | None,
    deny_file: Path | None,
    delete_backups: bool,
    move_backups_to: Path | None,
) -> Any:
    from qualcode.privacy import PrivacyOptions

    return PrivacyOptions(key, allow_file, deny_file, delete_backups, move_backups_to)


def notify(message: str) -> None:
    click.echo(message + "...", err=True)


def print_pseudonymise_report(report: Any) -> None:
    from qualcode.privacy import PseudonymiseReport

    assert isinstance(report, PseudonymiseReport)
    total = sum(report.replaced.values())
    click.echo(
        f"Pseudonymised: {total} identifier(s) replaced in {report.documents_changed} of"
        f" {report.documents} document(s); {report.speakers_renamed} speaker label(s) and"
        f" {report.documents_renamed} document name(s) changed.",
        err=True,
    )
    if report.replaced:
        click.echo(
            "  " + ", ".join(f"{c.lower()} {n}" for c, n in report.replaced.items()), err=True
        )
    if report.memos_changed or report.fields_changed:
        click.echo(
            f"  also {report.memos_changed} memo(s) and {report.fields_changed} other field(s)"
            " (explanations, attributes, run parameters)",
            err=True,
        )
    click.echo(
        f"Key: {report.key} ({report.key_entries} entries, {report.key_added} new). Keep it"
        " safe and never share it: it turns pseudonyms back into names.",
        err=True,
    )
    for path in report.exports_rewritten:
        click.echo(f"Rewritten: {path}", err=True)
    for path in report.backups_deleted:
        click.echo(f"Deleted backup: {path}", err=True)
    for path in report.backups_moved:
        click.echo(f"Moved backup to: {path}", err=True)
    for warning in report.warnings:
        click.secho(f"Warning: {warning}", fg="yellow", err=True)
    click.echo(
        "Check what is left with 'qualcode pseudonymise --check'; exports made before this"
        " still hold the original names.",
        err=True,
    )


@click.command()
@project_option
@privacy_options
@click.option(
    "--check",
    is_flag=True,
    help="Change nothing: list capitalised words left in the text (possible names) per "
    "document, for a manual look.",
)
@output_options
def pseudonymise(
    project: Path,
    key: Path | None,
    allow_file: Path | None,
    deny_file: Path | None,
    delete_backups: bool,
    move_backups_to: Path | None,
    check: bool,
    fmt: str,
    output: Path,
) -> None:
    """Replace names, places, organisations, addresses, phone numbers, e-mail addresses,
    dates of birth, ages and other identifiers by pseudonyms such as [PERSOON-3], the same in
    every transcript. Speaker labels that are names become R1, R2... (I1... for an
    interviewer); roles stay.

    The key (original ↔ pseudonym) is written only to --key, outside the project.
    """
    from qualcode.store import open_project

    with open_project(project) as proj:
        if check:
            from qualcode.privacy import check_project

            suspects = check_project(proj, allow_file=allow_file)
            rows = [
                {"document": s.document, "word": s.word, "count": s.count, "context": s.context}
                for s in suspects
            ]
            emit(rows, ["document", "word", "count", "context"], fmt, output, wrap="context")
            if fmt == "table" and str(output) == "-":
                click.echo(
                    f"\n{len(rows)} word(s) to look at. Replace names with --deny FILE; "
                    "let words stay with --allow FILE or 'privacy: allow:' in settings.yaml.",
                    err=True,
                )
            return
        from qualcode.privacy import pseudonymise as run_pseudonymise

        options = make_options(key, allow_file, deny_file, delete_backups, move_backups_to)
        report = run_pseudonymise(proj, options, notify=notify)
    print_pseudonymise_report(report)


COMMANDS = [pseudonymise]
