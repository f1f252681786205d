"""``qualcode review`` (terminal, export, import), ``qualcode code add/remove``, ``qualcode memo``.

A suggestion only becomes a coding when a person accepts it. Every command that writes needs
the coder's name (``--coder`` or ``$QUALCODE_CODER``).
"""

from __future__ import annotations

from pathlib import Path

import click

from qualcode.cli.options import F, emit, output_options, project_option, target_file_option
from qualcode.errors import QualcodeError
from qualcode.review import ORDERS


def coder_option(func: F) -> F:
    return click.option(
        "--coder",
        envvar="QUALCODE_CODER",
        show_envvar=True,
        help="Your name or initials; decisions are saved under it ('qualcode' is the machine's).",
    )(func)


def code_filter_option(func: F) -> F:
    return click.option(
        "--code", help="Only suggestions of this code and its sub-codes (path or id)."
    )(func)


def order_option(func: F) -> F:
    return click.option(
        "--order",
        type=click.Choice(ORDERS),
        default="document",
        show_default=True,
        help="document: reading order; score: most certain first; uncertain: closest to the "
        "threshold first (where the model is least sure).",
    )(func)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


@click.group(invoke_without_command=True)
@project_option
@coder_option
@code_filter_option
@order_option
@click.pass_context
def review(
    ctx: click.Context, project: Path, coder: str | None, code: str | None, order: str
) -> None:
    """Review the machine's suggestions: accept, reject or give another code.

    \b
    Without a sub-command: one suggestion at a time in the terminal, one key per decision
      a accept  r reject  s skip  o other code  m memo  u undo  q quit  ? help
    Every decision is saved at once. In Excel instead:
      qualcode review export --project P --coder NAME -o review.xlsx
      qualcode review import review.xlsx --project P --coder NAME
    """
    if ctx.invoked_subcommand is not None:
        return
    from qualcode.coding import check_coder
    from qualcode.review.terminal import run_review
    from qualcode.store import open_project

    name = check_coder(coder)
    with open_project(project) as proj:
        summary = run_review(proj, name, code=code, order=order)
    words = {"other": "other code", "memo": "memo"}
    done = (
        ", ".join(
            _plural(n, words[kind]) if kind in words else f"{n} {kind}"
            for kind, n in summary.counts.items()
        )
        or "no decisions"
    )
    click.echo(
        f"Saved for {summary.coder}: {done}; {summary.skipped} skipped. "
        f"{summary.remaining} suggestions still open."
    )


@review.command("export")
@project_option
@coder_option
@code_filter_option
@order_option
@click.option(
    "--include-decided",
    is_flag=True,
    help="Also list suggestions the coder already decided on, with the decision filled in.",
)
@target_file_option("The .xlsx file to write.")
def review_export(
    project: Path,
    coder: str | None,
    code: str | None,
    order: str,
    include_decided: bool,
    output: Path,
) -> None:
    """Write the suggestions still open for a coder to an Excel file to fill in.

    One row per suggestion with the passage, the question before it, the code, score and
    reason; choose accepteren or afwijzen under 'besluit', optionally another code and a memo.
    """
    from qualcode.review.spreadsheet import export_review
    from qualcode.store import open_project

    with open_project(project) as proj:
        report = export_review(
            proj, output, coder=coder or "", code=code, order=order, include_decided=include_decided
        )
    decided = f" ({report.decided} with an earlier decision)" if report.decided else ""
    click.echo(f"Wrote {report.path}: {report.rows} suggestions for {report.coder}{decided}.")
    if report.rows:
        click.echo(
            f"Fill in 'besluit', then: qualcode review import {report.path} "
            f"--project {project} --coder {report.coder}"
        )


@review.command("import")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@project_option
@coder_option
@click.option("--dry-run", is_flag=True, help="Only report what would change.")
def review_import(file: Path, project: Path, coder: str | None, dry_run: bool) -> None:
    """Apply the decisions in a filled-in review FILE (.xlsx) in one go.

    A backup of the project is made first. Importing the same file again changes nothing.
    """
    from qualcode.review.spreadsheet import import_review
    from qualcode.store import open_project

    with open_project(project) as proj:
        report = import_review(proj, file, coder=coder or "", dry_run=dry_run)
    if report.backup:
        click.echo(f"Backup of the project before the import: {report.backup}")
    counts = (
        f"{report.accepted} accepted, {report.rejected} rejected, "
        f"{_plural(report.other_codes, 'other code')} added, {_plural(report.memos, 'memo')}, "
        f"{report.unchanged} unchanged, {report.empty} left empty"
    )
    if dry_run:
        click.echo(f"Dry run, nothing saved. {file} would give: {counts}.")
    elif report.changes:
        click.echo(f"Imported {file} as {report.coder}: {counts}.")
    else:
        click.echo(
            f"Nothing changed: every decision in {file} is already in the project ({counts})."
        )


@click.group("code")
def code_group() -> None:
    """Code a passage by hand, or remove your own coding.

    \b
    SEGMENT is the segment id or document#order as 'qualcode segments' shows it (fg01#12);
    CODE is a full path (impact/sociaal/eenzaamheid), an id (eenzaamheid) or its beginning.
    """


@code_group.command("add")
@click.argument("segment")
@click.argument("code")
@project_option
@coder_option
def code_add(segment: str, code: str, project: Path, coder: str | None) -> None:
    """Give SEGMENT the code CODE (a manual coding by the coder)."""
    from qualcode.coding import add_code, check_coder, find_code, find_segment
    from qualcode.store import open_project

    name = check_coder(coder)
    with open_project(project) as proj:
        seg, ref = find_segment(proj, segment), find_code(proj, code)
        change = add_code(proj, seg, ref, name)
    if change is None:
        click.echo(f"{seg.key} already has {ref.path} from {name}: nothing changed.")
    else:
        click.echo(f"Coded {seg.key} ({seg.speaker}) as {ref.path} for {name}.")


@code_group.command("remove")
@click.argument("segment")
@click.argument("code")
@project_option
@coder_option
def code_remove(segment: str, code: str, project: Path, coder: str | None) -> None:
    """Remove the coder's own coding CODE from SEGMENT (other coders' codings stay)."""
    from qualcode.coding import check_coder, find_code, find_segment, remove_code
    from qualcode.store import open_project

    name = check_coder(coder)
    with open_project(project) as proj:
        seg, ref = find_segment(proj, segment), find_code(proj, code)
        change = remove_code(proj, seg, ref, name)
    assert change.before is not None
    click.echo(f"Removed {name}'s {change.before['status']} coding {ref.path} from {seg.key}.")


@code_group.command("list")
@project_option
@click.option("--coder", help="Only this coder's codings (default: everyone's).")
@click.option(
    "--status",
    type=click.Choice(["accepted", "rejected", "manual"]),
    multiple=True,
    help="Only codings with this status (repeat for more).",
)
@output_options
def code_list(
    project: Path, coder: str | None, status: tuple[str, ...], fmt: str, output: Path
) -> None:
    """List the codings and decisions people made (not the machine's suggestions)."""
    from dataclasses import asdict

    from qualcode.coding import person_codings
    from qualcode.store import open_project

    with open_project(project) as proj:
        found = person_codings(proj, coder=coder, statuses=status)
    rows = [asdict(c) for c in found]
    columns = ["segment", "speaker", "code", "status", "source", "coder", "updated_at"]
    emit(rows, columns, fmt, output)


@click.command()
@click.argument("text", required=False)
@project_option
@click.option("--code", "code_ref", help="A memo on this code (path or id).")
@click.option("--document", "-d", help="A memo on this document.")
@click.option("--segment", help="A memo on this segment (id or document#order).")
@click.option("--project-memo", is_flag=True, help="A memo on the whole project.")
@coder_option
@click.option("--list", "list_memos", is_flag=True, help="List memos instead of writing one.")
@output_options
@click.pass_context
def memo(
    ctx: click.Context,
    text: str | None,
    project: Path,
    code_ref: str | None,
    document: str | None,
    segment: str | None,
    project_memo: bool,
    coder: str | None,
    list_memos: bool,
    fmt: str,
    output: Path,
) -> None:
    """Write a memo (TEXT) on a code, document, segment or the project, or --list memos.

    \b
    qualcode memo --code eenzaamheid --coder anna "Ook gemis van de kleinkinderen telt mee."
    qualcode memo --list                          every memo
    qualcode memo --list --code eenzaamheid       the memos on one code
    """
    from dataclasses import asdict

    from qualcode.coding import add_memo, check_coder
    from qualcode.coding import list_memos as find_memos
    from qualcode.store import open_project

    targets = [
        (kind, ref)
        for kind, ref in (
            ("code", code_ref),
            ("document", document),
            ("segment", segment),
            ("project", "" if project_memo else None),
        )
        if ref is not None
    ]
    if len(targets) > 1:
        raise QualcodeError(
            "a memo has one target",
            "give only one of --code, --document, --segment, --project-memo",
        )
    if list_memos:
        kind, ref = targets[0] if targets else (None, None)
        with open_project(project) as proj:
            # $QUALCODE_CODER names the writer; only an explicit --coder filters the list
            explicit = ctx.get_parameter_source("coder") == click.core.ParameterSource.COMMANDLINE
            memos = find_memos(proj, target_type=kind, ref=ref, coder=coder if explicit else None)
        rows = [asdict(m) for m in memos]
        emit(rows, ["id", "target_type", "target", "coder", "created_at", "text"], fmt, output,
             wrap="text")  # fmt: skip
        return
    if not targets:
        raise QualcodeError(
            "no target for the memo",
            "say what it is about: --code PATH, --document DOC, --segment SEG or --project-memo",
        )
    if not text:
        raise QualcodeError("no memo text given", 'put the text in quotes: "..."')
    kind, ref = targets[0]
    name = check_coder(coder)
    with open_project(project) as proj:
        note, _ = add_memo(proj, kind, ref, name, text)
    where = f"{kind} {note.target}" if note.target else "the project"
    click.echo(f"Memo {note.id} by {name} saved on {where}.")


COMMANDS = [review, code_group, memo]
