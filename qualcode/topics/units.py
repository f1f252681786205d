"""The passages a topic model is fitted on: whole coded units or their sentences.

A unit keeps the segment it comes from (for the ``document#order`` key, the document and the
speaker) and its span inside the segment text, so what a topic holds can always be traced back
to the transcript. Its ``lemmas`` are the stored lemmas of the segment (``segment_nlp``) without
stop words, punctuation and annotations: the text the topic words are counted on.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from qualcode.models import Segment
from qualcode.nlp import Token

TOPIC_UNITS = ("segment", "sentence")
# A passage with fewer content lemmas than this ("Ja, klopt.", "Precies (lacht).") carries no
# theme; it is left out of the fit and counted as too short.
MIN_CONTENT_LEMMAS = 3


@dataclass(frozen=True)
class TopicUnit:
    segment: Segment
    sentence: int  # 0: the whole segment; n >= 1: its n-th sentence
    start: int  # span in the segment text
    end: int
    lemmas: str

    @property
    def key(self) -> str:
        return self.segment.key

    @property
    def text(self) -> str:
        return self.segment.text[self.start : self.end].strip()

    @property
    def content_words(self) -> int:
        return len(self.lemmas.split())


def _sentences(tokens: Sequence[Token]) -> list[list[Token]]:
    out: list[list[Token]] = []
    for token in tokens:
        if token.sent_start or not out:
            out.append([])
        out[-1].append(token)
    return out


def topic_units(
    segments: Sequence[Segment], tokens: Sequence[Sequence[Token]], unit: str = "segment"
) -> list[TopicUnit]:
    """Every passage of ``segments`` as a unit (``unit``: segment or sentence), short ones too."""
    from qualcode.suggest.similarity import lemma_text

    out: list[TopicUnit] = []
    for segment, toks in zip(segments, tokens, strict=True):
        if unit == "segment":
            out.append(TopicUnit(segment, 0, 0, len(segment.text), lemma_text(toks)))
            continue
        for n, sentence in enumerate(_sentences(toks), start=1):
            out.append(
                TopicUnit(segment, n, sentence[0].start, sentence[-1].end, lemma_text(sentence))
            )
    return out
