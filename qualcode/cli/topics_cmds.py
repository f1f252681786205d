"""``qualcode topics`` (fit and print), ``qualcode topics show``, ``qualcode topics promote``.

BERTopic and UMAP take seconds to import: the library imports them inside the fit, never when
this module is loaded, so ``qualcode --help`` stays instant.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import click

from qualcode.cli.options import emit, output_options, project_option

UNITS = ("segment", "sentence")  # qualcode.topics.units.TOPIC_UNITS (a test keeps them equal)
SHOWN = 4  # documents and speakers listed per topic before "and N more"
COLUMNS = [
    "topic", "label", "size", "nearest_code", "similarity", "new_theme", "promoted_code",
    "words", "documents", "speakers", "example_1", "example_2", "example_3",
]  # fmt: skip
STEPS = ("prepare", "embedding", "import", "umap", "hdbscan", "representation", "total")


def _project(ctx: click.Context, project: Path) -> Path:
    """A sub-command's --project, or the group's when it was given there ('topics -p P show')."""
    parent = ctx.parent
    if (
        parent is not None
        and ctx.get_parameter_source("project") is click.core.ParameterSource.DEFAULT
        and parent.get_parameter_source("project") is not click.core.ParameterSource.DEFAULT
    ):
        return Path(parent.params["project"])
    return project


def _some(pairs: Sequence[tuple[str, int]]) -> str:
    shown = ", ".join(f"{name} ({n})" for name, n in pairs[:SHOWN])
    more = len(pairs) - SHOWN
    return shown + (f" and {more} more" if more > 0 else "")


def topics_text(result: Any) -> str:
    """The topics as blocks a researcher reads top to bottom."""
    lines = [
        f"Topics run {result.run_id} ({result.finished_at}): {result.passages} passages "
        f"({result.unit}s), {len(result.topics)} topics, {result.outliers} outliers "
        f"(passages that fit no topic), {result.too_short} too short to use.",
    ]
    for topic in result.topics:
        lines += [
            "",
            f"Topic {topic.number}: {topic.label}  ({topic.size} passages)",
            f"  nearest code: {topic.nearest}",
            f"  documents:    {_some([(Path(d).stem, n) for d, n in topic.documents])}",
            f"  speakers:     {_some(topic.speakers)}",
        ]
        if topic.promoted_code:
            lines.append(f"  promoted to:  {topic.promoted_code}")
        lines += [f'  {p.key}  "{p.snippet}"' for p in topic.representatives]
    return "\n".join(lines)


def _rows(result: Any) -> list[dict[str, Any]]:
    rows = []
    for topic in result.topics:
        row = {
            "topic": topic.number,
            "label": topic.label,
            "size": topic.size,
            "nearest_code": topic.nearest_code,
            "similarity": topic.similarity,
            "new_theme": topic.is_new,
            "promoted_code": topic.promoted_code,
            "words": ", ".join(w.word for w in topic.words),
            "documents": "; ".join(f"{d} ({n})" for d, n in topic.documents),
            "speakers": "; ".join(f"{s} ({n})" for s, n in topic.speakers),
        }
        for n, passage in enumerate(topic.representatives, start=1):
            row[f"example_{n}"] = f"{passage.key}: {passage.text}"
        rows.append(row)
    return rows


def print_topics(result: Any, fmt: str, output: Path, verbose: bool) -> None:
    if verbose:
        model = ", ".join(f"{k}={v}" for k, v in result.params.items())
        click.echo(f"Embedding: {result.embedding}", err=True)
        click.echo(f"UMAP/HDBSCAN: {model}", err=True)
        times = ", ".join(
            f"{step} {result.seconds[step]:.1f} s" for step in STEPS if step in result.seconds
        )
        click.echo(f"Time: {times}", err=True)
    for warning in result.warnings:
        click.secho(f"Warning: {warning}", fg="yellow", err=True)
    if fmt == "table":
        text = topics_text(result)
        if str(output) == "-":
            click.echo(text)
        else:
            output.parent.mkdir(parents=True, exist_ok=True)
            output.write_text(text + "\n", encoding="utf-8")
            click.echo(f"Wrote {output}", err=True)
        return
    emit(_rows(result), COLUMNS, fmt, output, json_rows=[asdict(t) for t in result.topics])


@click.group(
    invoke_without_command=True,
    short_help="Find new themes (topics) in the coded passages.",
)
@project_option
@click.option(
    "--min-size",
    type=click.IntRange(min=2),
    help="Smallest topic, in passages (default: about one in forty passages, 5 to 40).",
)
@click.option(
    "--unit",
    type=click.Choice(UNITS),
    default="segment",
    show_default=True,
    help="Look for topics in whole coded passages or in their sentences.",
)
@click.option("--verbose", "-v", is_flag=True, help="Also print the settings and time per step.")
@output_options
@click.pass_context
def topics(
    ctx: click.Context,
    project: Path,
    min_size: int | None,
    unit: str,
    verbose: bool,
    fmt: str,
    output: Path,
) -> None:
    """Find new themes: topics in the coded passages (BERTopic, offline, reproducible).

    Without a sub-command the topics are fitted, stored in the project and printed: per topic
    its words, size, three representative passages, the documents and speakers it occurs in,
    and the nearest code of the codebook, or "nieuw thema" when no code is close.

    \b
    qualcode topics --project P               fit and print
    qualcode topics show --project P          print the stored topics again
    qualcode topics promote 3 --as impact/sociaal/nieuwe_code --label "..." --project P
    """
    if ctx.invoked_subcommand is not None:
        return
    from qualcode.store import open_project
    from qualcode.topics import fit_topics

    click.echo("Fitting topics (the first run in a session takes a while)...", err=True)
    with open_project(project) as proj:
        result = fit_topics(proj, min_size=min_size, unit=unit)
    print_topics(result, fmt, output, verbose)


@topics.command()
@project_option
@click.option("--run", "run_id", type=int, help="An earlier topics run (default: the latest).")
@click.option("--verbose", "-v", is_flag=True, help="Also print the settings and time per step.")
@output_options
@click.pass_context
def show(
    ctx: click.Context, project: Path, run_id: int | None, verbose: bool, fmt: str, output: Path
) -> None:
    """Print the stored topics again, without fitting."""
    from qualcode.store import open_project
    from qualcode.topics import stored_topics

    with open_project(_project(ctx, project)) as proj:
        result = stored_topics(proj, run_id)
    print_topics(result, fmt, output, verbose)


@topics.command()
@click.argument("topic", type=int)
@project_option
@click.option(
    "--as",
    "code_path",
    required=True,
    help="Full path of the new code under an existing one, e.g. impact/sociaal/buurtinitiatief.",
)
@click.option("--label", required=True, help="Label of the new code.")
@click.option(
    "--definition", help='Definition (default: "Nieuw thema uit topic N ...: <its words>").'
)
@click.option(
    "--write-yaml",
    is_flag=True,
    help="Also write the code into the project's codebook file (a .bak copy is made first).",
)
@click.pass_context
def promote(
    ctx: click.Context,
    topic: int,
    project: Path,
    code_path: str,
    label: str,
    definition: str | None,
    write_yaml: bool,
) -> None:
    """Make TOPIC (its number in 'qualcode topics show') a code of the codebook.

    The topic's words become the code's keywords and its representative passages its
    examples. The next 'qualcode suggest' uses the new code, also without --write-yaml.
    """
    from qualcode.store import open_project
    from qualcode.topics import promote_topic

    folder = _project(ctx, project)
    with open_project(folder) as proj:
        report = promote_topic(
            proj, topic, code_path, label=label, definition=definition, write_yaml=write_yaml
        )
    code = report.code
    click.echo(
        f"Code {code.path} ({code.label}) added from topic {report.topic}: "
        f"{len(code.keywords)} keywords, {len(code.examples)} examples."
    )
    click.echo(f"  keywords: {', '.join(code.keywords)}")
    click.echo(f"  definition: {code.definition}")
    if report.codebook_file:
        click.echo(f"Written into {report.codebook_file} (the old file is {report.backup}).")
    else:
        click.echo(
            "Stored in the project only; add --write-yaml to write it into the codebook file."
        )
    click.echo(f"Next: qualcode suggest --project {folder}")


COMMANDS = [topics]
