"""The few exceptions the library raises for user mistakes.

The CLI turns each into one line on stderr and a non-zero exit code; anything else is a bug.
"""

from __future__ import annotations

from pathlib import Path


class QualcodeError(Exception):
    """Base class: a problem the user can fix. ``hint`` says how."""

    exit_code = 1

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message


class TranscriptError(QualcodeError):
    """A transcript or metadata file cannot be read."""

    exit_code = 2

    def __init__(
        self, file: str | Path, message: str, line: int | None = None, hint: str | None = None
    ) -> None:
        self.file = str(file)
        self.line = line
        where = f"{self.file}, line {line}" if line else self.file
        super().__init__(f"{where}: {message}", hint)


class CodebookError(QualcodeError):
    """A codebook file is invalid. ``problems`` lists every problem found (line, message)."""

    exit_code = 3

    def __init__(
        self, file: str | Path, problems: list[tuple[int | None, str]], hint: str | None = None
    ) -> None:
        self.file = str(file)
        self.problems = problems
        first_line, first = problems[0]
        where = f"{self.file}, line {first_line}" if first_line else self.file
        more = f" (and {len(problems) - 1} more problem(s))" if len(problems) > 1 else ""
        super().__init__(f"{where}: {first}{more}", hint)


class ProjectError(QualcodeError):
    """The project directory or database is missing, locked, too new or inconsistent."""

    exit_code = 4
