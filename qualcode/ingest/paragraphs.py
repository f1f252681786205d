"""From a stream of paragraphs (docx, txt, md, odt) to speaker turns.

Decides per document whether it is a dialogue (speaker labels) or prose, then walks the
paragraphs: a label starts a turn, an unlabelled paragraph continues the current one, and
consecutive labels of the same speaker merge. Paragraphs before the first label (title,
session info) are a preamble and not part of the transcript.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from qualcode.errors import TranscriptError
from qualcode.ingest.labels import (
    LabelMatch,
    match_label,
    split_trailing_timestamp,
    timestamp_seconds,
)
from qualcode.models import RawTurn
from qualcode.text import normalise_paragraph

PROSE_SPEAKER = "-"
_MD_HEADING_RE = re.compile(r"^\s{0,3}#{1,6}\s")
_MD_RULE_RE = re.compile(r"^\s*(?:-{3,}|\*{3,}|_{3,})\s*$")
_DASH_DIALOGUE_RE = re.compile(r"^\s*(?:-|–|>>)\s+\S")


@dataclass(frozen=True)
class Paragraph:
    text: str
    line: int | None = None
    # Set by structured sources (a docx table's speaker column): no label parsing needed.
    speaker: str | None = None
    timestamp: str | None = None
    role: str | None = None


def _strip_markdown(text: str) -> str:
    text = re.sub(r"^\s*(?:[*+]|\d+\.)\s+", "", text)  # list bullets (not '-': dialogue dash)
    return re.sub(r"(?<![\w*])[*_]{1,2}(?=\S)(.+?)(?<=\S)[*_]{1,2}(?![\w*])", r"\1", text)


def _labels(paragraphs: Sequence[Paragraph]) -> list[LabelMatch | None]:
    return [match_label(p.text) if p.speaker is None else None for p in paragraphs]


def _trusted(matches: Sequence[LabelMatch | None], known: set[str]) -> set[str]:
    """Labels we believe: conventions, names seen twice or more, names from the metadata, and
    names with a timestamp (``[00:12:31] Karel Jansen: ...``: a sentence never starts so)."""
    counts = Counter(m.label for m in matches if m)
    return {
        label
        for label, n in counts.items()
        if n >= 2
        or label.casefold() in known
        or any(m and m.label == label and (m.convention or m.timestamp) for m in matches)
    }


def paragraphs_to_turns(
    paragraphs: Iterable[Paragraph],
    *,
    file: str,
    markdown: bool = False,
    known_speakers: Iterable[str] = (),
) -> tuple[list[RawTurn], bool]:
    """Turns of a document and whether it has speakers (False: prose, one speaker ``-``)."""
    paras = []
    for p in paragraphs:
        text = p.text
        if markdown:
            if _MD_HEADING_RE.match(text) or _MD_RULE_RE.match(text):
                continue
            text = _strip_markdown(text)
        text = normalise_paragraph(text)
        if text:
            paras.append(Paragraph(text, p.line, p.speaker, p.timestamp, p.role))
    if not paras:
        raise TranscriptError(file, "the file has no text", hint="check that it is the right file")

    matches = _labels(paras)
    known = {k.casefold() for k in known_speakers}
    trusted = _trusted(matches, known)
    structured = any(p.speaker is not None for p in paras)
    if not trusted and not structured:
        refuse_unlabelled_dialogue(paras, file)
        return [RawTurn(PROSE_SPEAKER, (p.text,), line=p.line) for p in paras], False

    turns: list[RawTurn] = []
    speaker: str | None = None
    role: str | None = None
    body: list[str] = []
    stamp: str | None = None
    line: int | None = None

    def flush() -> None:
        if speaker is not None and body:
            turns.append(
                RawTurn(speaker, tuple(body), stamp, timestamp_seconds(stamp), line=line, role=role)
            )

    for para, match in zip(paras, matches, strict=True):
        if para.speaker is not None:
            label, text, ts, new_role = para.speaker, para.text, para.timestamp, para.role
        elif match is not None and match.label in trusted:
            label, text, ts, new_role = match.label, match.rest, match.timestamp, match.role
        else:
            label, text, ts, new_role = None, para.text, None, None
        text, trailing = split_trailing_timestamp(text)
        ts = ts or trailing
        if label is None or label == speaker:
            if speaker is None:
                continue  # preamble before the first speaker
            if text:
                body.append(text)
            if stamp is None and ts:
                stamp = ts
            role = role or new_role
            continue
        flush()
        speaker, role, stamp, line = label, new_role, ts, para.line
        body = [text] if text else []
    flush()
    if not turns:
        raise TranscriptError(file, "speaker labels found but no spoken text after them")
    return turns, True


def refuse_unlabelled_dialogue(paras: Sequence[Paragraph], file: str) -> None:
    """Dialogue marked only with dashes or '>>' cannot be attributed to speakers."""
    dashed = [p for p in paras if _DASH_DIALOGUE_RE.match(p.text)]
    if len(paras) >= 4 and len(dashed) >= 0.5 * len(paras):
        raise TranscriptError(
            file,
            "unknown speaker format: speaker changes are marked with '-' or '>>' but have no names",
            line=dashed[0].line,
            hint="put a label such as 'R1:' or 'Interviewer:' before each turn",
        )
