"""The error a REFI-QDA file can cause: one line naming the file and what is wrong with it."""

from __future__ import annotations

from qualcode.errors import QualcodeError


class RefiError(QualcodeError):
    """A ``.qdpx`` or ``.qdc`` file cannot be read or written (not a zip, no project.qde, XML
    that fails the schema, a selection outside its source text, a missing source file)."""

    exit_code = 5
