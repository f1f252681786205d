"""Character positions in REFI-QDA files, and how a selection lands on qualcode's segments.

Positions (``startPosition``/``endPosition``) index the plain text of a source. qualcode
writes them as Unicode code points into a UTF-8 file with ``\\n`` line endings, which is what
the standard describes. Files from other programs differ in two ways, handled here:

- line endings: a Windows ``\\r\\n`` counts as two characters for most programs, as one for
  ATLAS.ti (which counts positions as if the text had ``\\n`` only);
- characters outside the Basic Multilingual Plane (emoji): NVivo, a .NET program, counts them
  as two (UTF-16 code units), the others as one.

A source's text is ingested as a qualcode document; the document text can differ slightly from
the source text (line endings, a preamble before the first speaker, spacing), so words are
aligned between the two (longest common subsequence) and a selection is mapped through the
aligned words.

The mapping rule (documented in docs/interoperability.md): a selection codes every codable
segment of which it covers at least half of the words; when it covers no segment that far (a
short quote inside a long turn), it codes the one segment holding most of its words. Interviewer
and annotation-only segments are never coded.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property

_TOKEN_RE = re.compile(r"\S+")
_WS_RE = re.compile(r"\s+")


@dataclass(frozen=True)
class PositionScheme:
    """How a program counts characters."""

    utf16: bool = False  # characters outside the BMP count as two
    crlf_as_one: bool = False  # a \r\n line ending counts as one character

    def describe(self) -> str:
        units = "UTF-16 code units" if self.utf16 else "characters"
        endings = "\\r\\n as one" if self.crlf_as_one else "\\r\\n as two"
        return f"{units}, {endings}"


CODE_POINTS = PositionScheme()
SCHEMES = (
    CODE_POINTS,
    PositionScheme(crlf_as_one=True),
    PositionScheme(utf16=True),
    PositionScheme(utf16=True, crlf_as_one=True),
)


def default_scheme(origin: str | None) -> PositionScheme:
    """What the program named in the file's ``origin`` is known (or reported) to do."""
    made_by = (origin or "").casefold()
    if "atlas" in made_by:
        return PositionScheme(crlf_as_one=True)
    if "nvivo" in made_by:
        return PositionScheme(utf16=True)
    return CODE_POINTS


class SourceText:
    """A source's plain text as stored in the file (``raw``) and with ``\\n`` endings
    (``text``, what qualcode ingests), with position maps from any scheme into ``text``."""

    def __init__(self, raw: str) -> None:
        self.raw = raw.removeprefix("\ufeff")
        self.text = self.raw.replace("\r\n", "\n").replace("\r", "\n")
        self._maps: dict[PositionScheme, list[int]] = {}

    @cached_property
    def ambiguous(self) -> bool:
        """Whether schemes disagree for this text (it has \\r\\n or characters beyond the BMP)."""
        return "\r\n" in self.raw or any(ord(c) > 0xFFFF for c in self.raw)

    def _map(self, scheme: PositionScheme) -> list[int]:
        """``map[p]`` is the index in ``text`` of position ``p`` counted the scheme's way."""
        if scheme in self._maps:
            return self._maps[scheme]
        out: list[int] = []
        index = 0
        raw = self.raw
        for i, char in enumerate(raw):
            if char == "\r" and raw.startswith("\n", i + 1):
                # dropped from ``text``: a position here means the '\n' that follows
                if not scheme.crlf_as_one:
                    out.append(index)
                continue
            width = 2 if scheme.utf16 and ord(char) > 0xFFFF else 1
            out.extend([index] * width)
            index += 1
        out.append(index)
        self._maps[scheme] = out
        return out

    def length(self, scheme: PositionScheme) -> int:
        return len(self._map(scheme)) - 1

    def span(self, start: int, end: int, scheme: PositionScheme) -> tuple[int, int] | None:
        """``(a, b)`` in ``text`` for positions ``start``..``end``; ``None`` if outside."""
        mapping = self._map(scheme)
        if start < 0 or end < start or end >= len(mapping):
            return None
        return mapping[start], mapping[end]

    def choose_scheme(
        self, default: PositionScheme, selections: Sequence[tuple[int, int, str]]
    ) -> PositionScheme:
        """The scheme under which most selections' names (the quoted text some programs put
        in ``name``) match the text they point at; ``default`` when that does not decide."""
        if not self.ambiguous:
            return CODE_POINTS
        named = [(s, e, _squash(n).rstrip(".…")) for s, e, n in selections if _squash(n)]
        named = [(s, e, n[:40]) for s, e, n in named if len(n) >= 3]
        if not named:
            return default

        def score(scheme: PositionScheme) -> int:
            hits = 0
            for start, end, name in named:
                span = self.span(start, end, scheme)
                if span and _squash(self.text[span[0] : span[1]]).startswith(name):
                    hits += 1
            return hits

        scores = {scheme: score(scheme) for scheme in SCHEMES}
        best = max(scores.values())
        if best == 0 or scores[default] == best:
            return default
        return next(s for s in SCHEMES if scores[s] == best)


def _squash(text: str) -> str:
    return _WS_RE.sub(" ", text or "").strip()


def token_spans(text: str) -> list[tuple[int, int]]:
    """Whitespace-separated words of ``text`` as ``(start, end)``."""
    return [m.span() for m in _TOKEN_RE.finditer(text)]


class Alignment:
    """Words of a source text matched to the words of a document text."""

    def __init__(self, source: str, target: str) -> None:
        self.source_tokens = token_spans(source)
        self.target_tokens = token_spans(target)
        self._source_mid = [(a + b) // 2 for a, b in self.source_tokens]
        if source == target:
            self.pairs = {i: i for i in range(len(self.source_tokens))}
            return
        # A longest common subsequence of the words (RapidFuzz's bit-parallel Indel, which
        # stays fast on long, repetitive transcripts where difflib takes minutes).
        from rapidfuzz.distance import Indel

        words_a = [source[a:b] for a, b in self.source_tokens]
        words_b = [target[a:b] for a, b in self.target_tokens]
        self.pairs = {
            op.src_start + k: op.dest_start + k
            for op in Indel.opcodes(words_a, words_b)
            if op.tag == "equal"
            for k in range(op.src_end - op.src_start)
        }

    @property
    def matched_share(self) -> float:
        """Share of the words on the longer side that found a partner."""
        longest = max(len(self.source_tokens), len(self.target_tokens))
        return len(self.pairs) / longest if longest else 1.0

    def target_tokens_in(self, start: int, end: int) -> list[int]:
        """Document words aligned to the source words whose middle lies in ``[start, end)``."""
        first = bisect.bisect_left(self._source_mid, start)
        last = bisect.bisect_left(self._source_mid, end)
        return [self.pairs[i] for i in range(first, last) if i in self.pairs]


@dataclass(frozen=True)
class SegmentSpan:
    id: int
    start: int
    end: int
    codable: bool


class SegmentIndex:
    """Which segment each document word belongs to, to apply the mapping rule."""

    def __init__(self, token_spans_: Sequence[tuple[int, int]], segments: Iterable[SegmentSpan]):
        self.segments = sorted(segments, key=lambda s: s.start)
        starts = [s.start for s in self.segments]
        self.segment_of: list[int | None] = []
        self.size = [0] * len(self.segments)
        for a, b in token_spans_:
            middle = (a + b) // 2
            k = bisect.bisect_right(starts, middle) - 1
            if k >= 0 and self.segments[k].start <= middle < self.segments[k].end:
                self.segment_of.append(k)
                self.size[k] += 1
            else:
                self.segment_of.append(None)  # a speaker label or blank between turns

    def coded_segments(self, tokens: Iterable[int]) -> list[int]:
        """Segment ids a selection covering these document words codes (see module doc)."""
        covered: dict[int, int] = {}
        for token in tokens:
            k = self.segment_of[token]
            if k is not None and self.segments[k].codable:
                covered[k] = covered.get(k, 0) + 1
        if not covered:
            return []
        chosen = [k for k, n in covered.items() if 2 * n >= self.size[k]]
        if not chosen:
            chosen = [max(covered, key=lambda k: (covered[k], -k))]
        return [self.segments[k].id for k in sorted(chosen)]
