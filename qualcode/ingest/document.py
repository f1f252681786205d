"""Lay turns out as one normalised document text and cut it into coding segments.

The text is readable on its own: each turn is ``Label: text`` (prose documents have no label),
paragraphs inside a turn are separated by a newline, turns by a blank line. Turn and segment
offsets point at the spoken text after the label, so ``text[start:end]`` is exactly what was
said.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from qualcode.ingest.paragraphs import PROSE_SPEAKER
from qualcode.models import RawTurn
from qualcode.text import count_words, strip_annotations

TURN_SEPARATOR = "\n\n"
PARAGRAPH_SEPARATOR = "\n"


@dataclass(frozen=True)
class LaidTurn:
    turn: RawTurn
    start: int
    end: int
    paragraphs: tuple[tuple[int, int], ...]


@dataclass(frozen=True)
class SegmentSpan:
    turn_index: int
    start: int
    end: int
    has_words: bool


def layout(turns: Sequence[RawTurn]) -> tuple[str, list[LaidTurn]]:
    parts: list[str] = []
    laid: list[LaidTurn] = []
    pos = 0
    for n, turn in enumerate(turns):
        if n:
            parts.append(TURN_SEPARATOR)
            pos += len(TURN_SEPARATOR)
        prefix = "" if turn.speaker == PROSE_SPEAKER else f"{turn.speaker}: "
        parts.append(prefix)
        pos += len(prefix)
        start = pos
        spans = []
        for k, para in enumerate(turn.paragraphs):
            if k:
                parts.append(PARAGRAPH_SEPARATOR)
                pos += len(PARAGRAPH_SEPARATOR)
            parts.append(para)
            spans.append((pos, pos + len(para)))
            pos += len(para)
        laid.append(LaidTurn(turn, start, pos, tuple(spans)))
    return "".join(parts), laid


# Closing quotes and brackets after the full stop belong to the sentence they close.
_SENTENCE_END_RE = re.compile(r"(?<=[.!?…])(?P<close>[\"”’')\]]*)\s+(?=[\"“‘(\[]?[A-ZÀ-Ý0-9])")


def sentence_spans(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Sentence boundaries inside ``text[start:end]`` (punctuation followed by a capital)."""
    spans = []
    cursor = start
    for m in _SENTENCE_END_RE.finditer(text, start, end):
        spans.append((cursor, m.end("close")))
        cursor = m.end()
    spans.append((cursor, end))
    return [(a, b) for a, b in spans if text[a:b].strip()]


def _chunks(text: str, paras: Sequence[tuple[int, int]], max_words: int) -> list[tuple[int, int]]:
    """Group paragraphs into chunks of at most ``max_words`` (a longer paragraph stays whole)."""
    chunks: list[tuple[int, int]] = []
    start, end, words = paras[0][0], paras[0][1], count_words(text[paras[0][0] : paras[0][1]])
    for a, b in paras[1:]:
        n = count_words(text[a:b])
        if words + n > max_words:
            chunks.append((start, end))
            start, end, words = a, b, n
        else:
            end, words = b, words + n
    chunks.append((start, end))
    return chunks


def segment(
    text: str, laid: Sequence[LaidTurn], unit: str = "turn", max_words: int = 250
) -> list[SegmentSpan]:
    """Coding units: whole turns (long ones split at paragraphs), paragraphs or sentences."""
    out: list[SegmentSpan] = []
    for index, turn in enumerate(laid):
        if unit == "turn":
            spans = _chunks(text, turn.paragraphs, max_words)
        elif unit == "paragraph":
            spans = list(turn.paragraphs)
        elif unit == "sentence":
            spans = [s for a, b in turn.paragraphs for s in sentence_spans(text, a, b)]
        else:
            raise ValueError(f"unknown unit {unit!r}")
        for a, b in spans:
            out.append(SegmentSpan(index, a, b, bool(strip_annotations(text[a:b]))))
    return out
