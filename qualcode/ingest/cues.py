"""From timed caption cues (WebVTT, SRT) to speaker turns.

Teams puts the speaker in a ``<v Name>`` voice tag on every cue, Zoom prefixes every cue with
``Name:``, subtitle files usually prefix only the first cue after a speaker change. Consecutive
cues of one speaker form one turn; inside a turn, cues are joined into paragraphs at sentence
ends so long turns can later be split at paragraph boundaries.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from qualcode.errors import TranscriptError
from qualcode.ingest.labels import match_label
from qualcode.ingest.paragraphs import PROSE_SPEAKER, Paragraph, refuse_unlabelled_dialogue
from qualcode.models import RawTurn
from qualcode.text import format_timestamp, normalise_paragraph

PARAGRAPH_WORDS = 120


@dataclass(frozen=True)
class Cue:
    text: str
    start: float
    end: float
    voice: str | None = None
    line: int | None = None


def _speaker_prefixes(cues: Sequence[Cue]) -> list[tuple[str | None, str, str | None]]:
    """Per cue: (speaker from voice tag or trusted prefix, text without prefix, role)."""
    matches = [None if c.voice else match_label(c.text) for c in cues]
    counts = Counter(m.label for m in matches if m)
    trusted = {label for label, n in counts.items() if n >= 2} | {
        m.label for m in matches if m and m.convention
    }
    unvoiced = [m for cue, m in zip(cues, matches, strict=True) if not cue.voice]
    if unvoiced and sum(1 for m in unvoiced if m) >= 0.8 * len(unvoiced):
        # Zoom style: (nearly) every cue starts with 'Name:', so a name said once is a speaker.
        trusted |= set(counts)
    out: list[tuple[str | None, str, str | None]] = []
    for cue, m in zip(cues, matches, strict=True):
        if cue.voice:
            out.append((normalise_paragraph(cue.voice), cue.text, None))
        elif m and m.label in trusted:
            out.append((m.label, m.rest, m.role))
        else:
            out.append((None, cue.text, None))
    return out


def _paragraphs(texts: Sequence[str]) -> tuple[str, ...]:
    paras: list[str] = []
    current: list[str] = []
    words = 0
    for text in texts:
        current.append(text)
        words += len(text.split())
        if words >= PARAGRAPH_WORDS and text.rstrip().endswith((".", "?", "!", "…")):
            paras.append(" ".join(current))
            current, words = [], 0
    if current:
        paras.append(" ".join(current))
    return tuple(paras)


def cues_to_turns(cues: Sequence[Cue], *, file: str) -> tuple[list[RawTurn], bool]:
    cleaned = [
        Cue(normalise_paragraph(c.text.replace("\n", " ")), c.start, c.end, c.voice, c.line)
        for c in cues
    ]
    cleaned = [c for c in cleaned if c.text]
    if not cleaned:
        raise TranscriptError(file, "no captions with text", hint="is the caption file complete?")
    attributed = _speaker_prefixes(cleaned)
    has_speakers = any(speaker for speaker, _, _ in attributed)
    if not has_speakers:
        refuse_unlabelled_dialogue([Paragraph(c.text, c.line) for c in cleaned], file)

    turns: list[RawTurn] = []
    group: list[tuple[Cue, str]] = []
    speaker: str | None = None if has_speakers else PROSE_SPEAKER
    role: str | None = None

    def flush() -> None:
        if group and speaker is not None:
            first, last = group[0][0], group[-1][0]
            turns.append(
                RawTurn(
                    speaker,
                    _paragraphs([text for _, text in group if text]),
                    format_timestamp(first.start),
                    first.start,
                    last.end,
                    line=first.line,
                    role=role,
                )
            )

    for cue, (cue_speaker, text, cue_role) in zip(cleaned, attributed, strict=True):
        if cue_speaker is not None and cue_speaker != speaker:
            flush()
            speaker, role, group = cue_speaker, cue_role, []
        if speaker is None:
            continue  # captions before anybody is named
        group.append((cue, text))
    flush()
    turns = [t for t in turns if t.paragraphs]
    if not turns:
        raise TranscriptError(file, "captions found but no spoken text")
    return turns, has_speakers
