"""Domain values shared by readers, the store, suggesters and exports."""

from __future__ import annotations

from dataclasses import dataclass

STATUSES = ("suggested", "accepted", "rejected", "manual")
MACHINE_CODER = "qualcode"
UNITS = ("turn", "paragraph", "sentence")


@dataclass(frozen=True)
class RawTurn:
    """One speaker turn as a reader found it, before it is placed in the document text."""

    speaker: str
    paragraphs: tuple[str, ...]
    timestamp: str | None = None
    start_time: float | None = None
    end_time: float | None = None
    line: int | None = None
    role: str | None = None


@dataclass(frozen=True)
class ParsedTranscript:
    """What a reader returns: turns in order plus facts about the file."""

    turns: tuple[RawTurn, ...]
    format: str
    encoding: str | None = None
    has_speakers: bool = True


@dataclass(frozen=True)
class Segment:
    """A unit of coding: a span ``[start, end)`` of its document's normalised text."""

    id: int
    document_id: int
    document: str
    order: int
    turn_order: int
    speaker: str
    role: str | None
    is_interviewer: bool
    start: int
    end: int
    text: str
    timestamp: str | None = None

    @property
    def key(self) -> str:
        """Stable, readable id: ``<document stem>#<order>``."""
        return f"{self.document}#{self.order}"


@dataclass(frozen=True)
class DocumentInfo:
    id: int
    name: str
    format: str
    turns: int
    speakers: int
    words: int
    attributes: dict[str, str]
    sha256: str
