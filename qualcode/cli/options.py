"""Options shared by every command, and the one way results are printed."""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import textwrap
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])


def project_option(func: F) -> F:
    return click.option(
        "--project",
        "-p",
        type=click.Path(file_okay=False, path_type=Path),
        default=lambda: os.environ.get("QUALCODE_PROJECT", "."),
        show_default="current folder, or $QUALCODE_PROJECT",
        help="Project folder (made by 'qualcode init' or 'qualcode run').",
    )(func)


def target_file_option(help: str) -> Callable[[F], F]:
    """The required ``--output/-o FILE`` of a command that writes one file."""
    return click.option(
        "--output",
        "-o",
        required=True,
        type=click.Path(dir_okay=False, path_type=Path),
        help=help,
    )


def format_option(help: str = "Output format.") -> Callable[[F], F]:
    """``--format/-f`` table, csv or json (the ``fmt`` argument)."""
    return click.option(
        "--format",
        "-f",
        "fmt",
        type=click.Choice(["table", "csv", "json"]),
        default="table",
        show_default=True,
        help=help,
    )


def output_options(func: F) -> F:
    func = format_option()(func)
    return click.option(
        "--output",
        "-o",
        type=click.Path(dir_okay=False, allow_dash=True, path_type=Path),
        default=Path("-"),
        help="Write to this file instead of the screen ('-').",
    )(func)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else ""
    if isinstance(value, float):
        return f"{value:.2f}"
    if isinstance(value, dict):
        return "; ".join(f"{k}={v}" for k, v in value.items())
    return str(value)


def render_table(
    rows: Sequence[dict[str, Any]], columns: Sequence[str], wrap: str | None = None
) -> str:
    """A plain text table; the ``wrap`` column is wrapped to the terminal width."""
    cells = [[_cell(r.get(c)) for c in columns] for r in rows]
    widths = [max([len(c), *(len(row[i]) for row in cells)]) for i, c in enumerate(columns)]
    if wrap in columns:
        w = columns.index(wrap)
        other = sum(widths) - widths[w] + 2 * (len(columns) - 1)
        term = shutil.get_terminal_size((120, 24)).columns
        widths[w] = max(30, min(widths[w], term - other))
    lines = ["  ".join(c.ljust(widths[i]) for i, c in enumerate(columns)).rstrip()]
    lines.append("  ".join("-" * widths[i] for i in range(len(columns))))
    for row in cells:
        parts = [
            textwrap.wrap(cell, widths[i]) or [""] if columns[i] == wrap else [cell]
            for i, cell in enumerate(row)
        ]
        height = max(len(p) for p in parts)
        for k in range(height):
            lines.append(
                "  ".join(
                    (p[k] if k < len(p) else "").ljust(widths[i]) for i, p in enumerate(parts)
                ).rstrip()
            )
    return "\n".join(lines)


def emit(
    rows: Sequence[dict[str, Any]],
    columns: Sequence[str],
    fmt: str,
    output: Path,
    *,
    wrap: str | None = None,
    json_rows: Sequence[Any] | None = None,
) -> None:
    """Print rows as a table, CSV or JSON to stdout or a file."""
    if fmt == "json":
        payload = json.dumps(
            list(json_rows if json_rows is not None else rows),
            ensure_ascii=False,
            indent=2,
            default=str,
        )
    elif fmt == "csv":
        buffer = io.StringIO()
        writer = csv.DictWriter(
            buffer, fieldnames=list(columns), extrasaction="ignore", lineterminator="\n"
        )
        writer.writeheader()
        for r in rows:
            writer.writerow({c: _cell(r.get(c)) for c in columns})
        payload = buffer.getvalue().rstrip("\n")
    else:
        payload = render_table(rows, columns, wrap)
    if str(output) == "-":
        click.echo(payload)
    else:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(payload + "\n", encoding="utf-8")
        click.echo(f"Wrote {output}", err=True)


def codebook_option(default_help: str) -> Callable[[F], F]:
    return click.option(
        "--codebook",
        "-c",
        type=click.Path(dir_okay=False, path_type=Path),
        help=f"Codebook YAML (default: {default_help}).",
    )


def metadata_option(help_text: str) -> Callable[[F], F]:
    return click.option(
        "--metadata", "-m", type=click.Path(dir_okay=False, path_type=Path), help=help_text
    )


def threshold_option(func: F) -> F:
    return click.option(
        "--threshold",
        "-t",
        type=click.FloatRange(0, 1),
        help="Minimum score for a suggestion (default 0.5, or the project's setting).",
    )(func)


def code_removal_options(func: F) -> F:
    """--merge-into OLD=NEW and --delete-codings OLD: what happens to a person's codings of a
    code that left the codebook (without them such a code stops the command)."""
    func = click.option(
        "--delete-codings",
        "delete_codings",
        multiple=True,
        metavar="CODE",
        help="A code that left the codebook: delete it with its codings (a backup is made).",
    )(func)
    return click.option(
        "--merge-into",
        "merge_into",
        multiple=True,
        metavar="OLD=NEW",
        help="A code that left the codebook: move its codings to NEW (e.g. after a rename).",
    )(func)


def code_removals(merge_into: Sequence[str], delete_codings: Sequence[str]) -> list[Any]:
    from qualcode.codes import CodeRemoval

    removals = [CodeRemoval(path.strip()) for path in delete_codings]
    for pair in merge_into:
        old, sep, new = pair.partition("=")
        if not sep or not old.strip() or not new.strip():
            raise click.BadParameter(f"'{pair}': write OLD=NEW", param_hint="--merge-into")
        removals.append(CodeRemoval(old.strip(), new.strip()))
    return removals
