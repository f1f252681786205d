"""Commands being built in this session (filled in by its owner)."""

from __future__ import annotations

COMMANDS: list = []
