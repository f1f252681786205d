"""The ``qualcode`` command line: argument parsing and printing only.

Each command calls one library function and prints its result. Library errors
(:class:`~qualcode.errors.QualcodeError`) become one line on stderr and a non-zero exit code.
Heavy libraries are imported inside the library functions, so ``qualcode --help`` is instant.
"""

from __future__ import annotations

import os
import sys

import click

from qualcode import __version__
from qualcode.errors import QualcodeError


class QualcodeGroup(click.Group):
    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except QualcodeError as exc:
            click.secho(f"Error: {exc.message}", fg="red", err=True)
            if exc.hint:
                click.echo(f"  → {exc.hint}", err=True)
            ctx.exit(exc.exit_code)
        except (PermissionError, IsADirectoryError, NotADirectoryError, FileExistsError) as exc:
            # typically an export that is open in Excel/Word, or a read-only folder
            click.secho(
                f"Error: cannot write or read {exc.filename}: {exc.strerror}", fg="red", err=True
            )
            click.echo("  → close the file in other programs or choose another place", err=True)
            ctx.exit(1)
        except KeyboardInterrupt:
            click.echo("\nInterrupted: the unfinished step was not saved.", err=True)
            ctx.exit(130)
        return None


@click.group(cls=QualcodeGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="qualcode")
def cli() -> None:
    """Code Dutch interview and focus-group transcripts, fully offline.

    \b
    Quick start:
      qualcode run corpus/ --out outputs/demo     ingest, suggest codes and export in one go
      qualcode documents --project outputs/demo   what was read
      qualcode show fg01 --project outputs/demo   one transcript as parsed
    """
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


def _register() -> None:
    # Modules that add sub-commands to an existing group (export, codebook) do so on import.
    from qualcode.cli import (
        agreement_cmds,
        codebook_cmds,
        coding_cmds,
        exchange_cmds,
        export_cmds,
        privacy_cmds,
        project_cmds,
        report_cmds,
        review_cmds,
        safety_cmds,
        topics_cmds,
    )

    modules = (
        project_cmds,
        codebook_cmds,
        coding_cmds,
        review_cmds,
        topics_cmds,
        agreement_cmds,
        privacy_cmds,
        safety_cmds,
        export_cmds,
        report_cmds,
        exchange_cmds,
    )
    for module in modules:
        for command in module.COMMANDS:
            cli.add_command(command)


_register()


def main() -> None:
    cli(prog_name="qualcode")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
