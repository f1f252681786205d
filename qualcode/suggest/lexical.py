"""Lexical suggester: codebook keywords, phrases and spaCy patterns matched on lemmas.

Matching is on lemmas, so ``schulden`` matches ``schuld`` and ``voelde`` matches ``voelen``;
single-word keywords are also found inside Dutch compounds (see ``compounds.py``). A keyword
preceded by a negation in the same clause (``niet eenzaam``, ``geen schulden``) does not count,
and a pattern with ``effect: exclude`` cancels the code's keyword hits in its sentence.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from qualcode.codebook import Codebook
from qualcode.nlp import Pipeline, Token, lemmatise_phrase, to_doc
from qualcode.suggest.compounds import CompoundMatcher
from qualcode.suggest.inflection import base_forms

NEGATIONS = frozenset(
    {"niet", "geen", "nooit", "nergens", "niemand", "niets", "noch", "allerminst", "zonder"}
)
# After these a negation is about something else: "niet alleen X maar ook", "niet zonder X".
NOT_NEGATING_NEXT = frozenset({"alleen", "enkel", "slechts", "zonder", "minder"})
# A negation does not reach past a clause boundary: "ik weet niet of ze eenzaam is".
CLAUSE_BREAKS = frozenset(
    {
        "of",
        "dat",
        "omdat",
        "want",
        "maar",
        "als",
        "wanneer",
        "die",
        "wat",
        "terwijl",
        "toen",
        "doordat",
        "zodat",
        "en",
    }
)

WEIGHTS = {"phrase": 0.7, "lemma": 0.55, "compound": 0.5, "pattern": 0.65, "context": 0.45}
# "Schulden heb ik niet": a fronted keyword negated at the end of its clause (verb second).
POST_NEGATIONS = frozenset({"niet", "nooit"})
POST_NEGATION_WINDOW = 5
CLAUSE_END_PARTICLES = frozenset({"meer", "hoor", "hè", "he"})
REPEAT_BONUS = 0.05


@dataclass(frozen=True)
class Hit:
    code: str
    evidence: str
    kind: str
    token: int
    token_end: int
    start: int
    end: int
    sentence: int
    negated: bool = False
    excluded: bool = False


@dataclass
class LexicalResult:
    score: float
    hits: list[Hit] = field(default_factory=list)
    explanation: str = ""


def _snippet(text: str, tokens: Sequence[Token], i: int, j: int, width: int = 4) -> str:
    a = max(0, i - width)
    b = min(len(tokens), j + width)
    start, end = tokens[a].start, tokens[b - 1].end
    core = " ".join(text[start:end].split())
    return ("..." if a > 0 else "") + core + ("..." if b < len(tokens) else "")


_LITERAL_ATTRS = ("LOWER", "LEMMA", "TEXT", "ORTH", "NORM")
_ALTERNATION_RE = re.compile(r"^\^\(?([\w'’\-?|]+)\)?(\$?)$")


@dataclass(frozen=True)
class Anchor:
    """Words (or word beginnings) of which a segment must contain at least one."""

    words: frozenset[str] = frozenset()
    prefixes: frozenset[str] = frozenset()

    @property
    def prefix_re(self) -> re.Pattern[str] | None:
        if not self.prefixes:
            return None
        alternatives = "|".join(re.escape(p) for p in sorted(self.prefixes))
        return re.compile(rf"^(?:{alternatives})", re.MULTILINE)

    def found_in(self, words: set[str], joined: str, prefix_re: re.Pattern[str] | None) -> bool:
        """``joined`` is the same words, one per line (for the prefix regex)."""
        if self.words & words:
            return True
        return prefix_re is not None and prefix_re.search(joined) is not None


def _expand(alternative: str) -> list[str]:
    """``irritaties?`` → ``irritatie``, ``irritaties`` (only single optional characters)."""
    forms = [""]
    i = 0
    while i < len(alternative):
        char = alternative[i]
        optional = i + 1 < len(alternative) and alternative[i + 1] == "?"
        forms = [f + char for f in forms] + (forms if optional else [])
        i += 2 if optional else 1
    return forms


def _regex_anchor(regex: str) -> Anchor | None:
    m = _ALTERNATION_RE.match(regex)
    if not m or "??" in m.group(1) or m.group(1).startswith("?") or "|?" in m.group(1):
        return None
    words = {w.lower() for alt in m.group(1).split("|") for w in _expand(alt)}
    return Anchor(frozenset(words)) if m.group(2) else Anchor(prefixes=frozenset(words))


def required_words(pattern: Sequence[dict[str, Any]]) -> list[Anchor]:
    """For each token a match cannot do without, the words it may be (lower case).

    A segment that lacks any of them cannot match the pattern. Optional (``?``, ``*``,
    ``{0,n}``) and negated (``!``) tokens give no anchor, nor do complex regular expressions.
    """
    out = []
    for spec in pattern:
        op = str(spec.get("OP", "1"))
        if op in {"?", "*", "!"} or op.startswith(("{0", "{,")):
            continue
        for attr in _LITERAL_ATTRS:
            value = spec.get(attr, spec.get(attr.lower()))
            if isinstance(value, str):
                out.append(Anchor(frozenset({value.lower()})))
                break
            if isinstance(value, dict) and isinstance(value.get("IN"), list):
                out.append(Anchor(frozenset(str(v).lower() for v in value["IN"])))
                break
            if isinstance(value, dict) and isinstance(value.get("REGEX"), str):
                anchor = _regex_anchor(value["REGEX"])
                if anchor is not None:
                    out.append(anchor)
                break
    return out


def _same_word(token: Token, lemma: str) -> bool:
    return token.lemma == lemma or token.lower == lemma or lemma in base_forms(token.lower)


class LexicalSuggester:
    """Keyword/phrase/pattern matcher. ``fit`` reads a codebook; ``match`` scores a segment."""

    def __init__(self, negation_window: int = 3, weights: dict[str, float] | None = None) -> None:
        self.negation_window = negation_window
        self.weights = dict(WEIGHTS, **(weights or {}))

    def fit(
        self,
        codebook: Codebook,
        pipeline: Pipeline,
        known_words: frozenset[str] | set[str] = frozenset(),
    ) -> LexicalSuggester:
        self.single_: dict[str, list[tuple[str, str]]] = defaultdict(list)
        self.phrases_: dict[str, list[tuple[tuple[str, ...], str, str]]] = defaultdict(list)
        compoundable: dict[str, list[tuple[str, str]]] = defaultdict(list)
        self.context_: set[tuple[str, str]] = set()
        for code in codebook.walk():
            entries = [(raw, False) for raw in code.keywords]
            entries += [(raw, True) for raw in code.context]
            for raw, is_context in entries:
                exact = raw.startswith("=")
                keyword = raw.lstrip("=").strip().lower()
                lemmas = lemmatise_phrase(pipeline, keyword)
                if not lemmas:
                    continue
                if is_context:
                    self.context_.add((code.path, keyword))
                if len(lemmas) == 1:
                    forms = {lemmas[0], keyword}
                    for form in forms:
                        self.single_[form].append((code.path, keyword))
                        if not exact:
                            compoundable[form].append((code.path, keyword))
                else:
                    self.phrases_[lemmas[0]].append((lemmas, code.path, keyword))
        self.compoundable_ = dict(compoundable)
        self.compounds_ = CompoundMatcher(compoundable, known_words)
        # One Matcher per pattern, run only on segments that contain the pattern's required
        # words: spaCy's Matcher costs time per token and pattern, most patterns are rare.
        self.patterns_: list[tuple[str, str, str, list[tuple[Anchor, Any]], Any]] = []
        patterns = [(c, p) for c in codebook.walk() for p in c.patterns]
        if patterns:
            from spacy.matcher import Matcher

            self.vocab_ = pipeline.nlp.vocab
            for code, pattern in patterns:
                matcher = Matcher(self.vocab_)
                matcher.add(pattern.id, [pattern.pattern])
                anchors = [(a, a.prefix_re) for a in required_words(pattern.pattern)]
                self.patterns_.append((code.path, pattern.id, pattern.effect, anchors, matcher))
        return self

    # -- matching ----------------------------------------------------------------------------

    def _negated(self, tokens: Sequence[Token], i: int) -> bool:
        return self._negated_before(tokens, i) or self._negated_after(tokens, i)

    def _negated_before(self, tokens: Sequence[Token], i: int) -> bool:
        for k in range(i - 1, max(-1, i - 1 - self.negation_window), -1):
            tok = tokens[k]
            if tok.is_punct or tok.lower in CLAUSE_BREAKS:
                return False
            if tok.lower in NEGATIONS:
                nxt = tokens[k + 1].lower if k + 1 < len(tokens) else ""
                return nxt not in NOT_NEGATING_NEXT
            if tok.sent_start:
                return False
        return False

    def _negated_after(self, tokens: Sequence[Token], i: int) -> bool:
        """A keyword that opens its clause and a 'niet' that closes it: "Schulden heb ik ook
        niet", "Eenzaam voel ik me niet". Not "Schulden maken mensen niet gelukkig"."""
        opens_clause = (
            i == 0
            or tokens[i].sent_start
            or tokens[i - 1].is_punct
            or tokens[i - 1].lower in CLAUSE_BREAKS
        )
        if not opens_clause:
            return False
        for k in range(i + 1, min(len(tokens), i + 2 + POST_NEGATION_WINDOW)):
            tok = tokens[k]
            if tok.is_punct or tok.lower in CLAUSE_BREAKS or tok.sent_start:
                return False
            if tok.lower in POST_NEGATIONS and k >= i + 2:
                after = tokens[k + 1] if k + 1 < len(tokens) else None
                return (
                    after is None
                    or after.is_punct
                    or after.sent_start
                    or after.lower in CLAUSE_BREAKS
                    or after.lower in CLAUSE_END_PARTICLES
                )
        return False

    def hits(self, text: str, tokens: Sequence[Token]) -> list[Hit]:
        sentence_of: list[int] = []
        sentence = -1
        for n, tok in enumerate(tokens):
            if tok.sent_start or n == 0:
                sentence += 1
            sentence_of.append(sentence)
        found: list[Hit] = []

        def add(code: str, evidence: str, kind: str, i: int, j: int) -> None:
            if kind != "pattern" and (code, evidence.split("|")[0]) in self.context_:
                kind = "context"
            found.append(
                Hit(
                    code,
                    evidence,
                    kind,
                    i,
                    j,
                    tokens[i].start,
                    tokens[j - 1].end,
                    sentence_of[i],
                    negated=self._negated(tokens, i),
                )
            )

        for i, tok in enumerate(tokens):
            if tok.is_punct or tok.is_annotation:
                continue
            seen: set[tuple[str, str]] = set()
            for form in (tok.lemma, tok.lower):
                for code, keyword in self.single_.get(form, ()):
                    if (code, keyword) not in seen:
                        seen.add((code, keyword))
                        add(code, keyword, "lemma", i, i + 1)
            if not seen:
                # ouderen → oudere, sociale → sociaal: the first base form that is a keyword
                for form in base_forms(tok.lower):
                    for code, keyword in self.single_.get(form, ()):
                        if (code, keyword) not in seen:
                            seen.add((code, keyword))
                            add(code, keyword, "lemma", i, i + 1)
                    if seen:
                        break
            if not seen:
                for form in dict.fromkeys((tok.lower, tok.lemma)):
                    for part in self.compounds_.parts(form):
                        for code, keyword in self.compoundable_.get(part, ()):
                            if (code, keyword) not in seen:
                                seen.add((code, keyword))
                                add(code, f"{keyword}|{tok.lower}", "compound", i, i + 1)
            starts = [tok.lemma, *(f for f in base_forms(tok.lower) if f in self.phrases_)]
            for first in dict.fromkeys(starts):
                for lemmas, code, keyword in self.phrases_.get(first, ()):
                    j = i + len(lemmas)
                    if j <= len(tokens) and all(
                        _same_word(tokens[i + k], lemma) for k, lemma in enumerate(lemmas)
                    ):
                        add(code, keyword, "phrase", i, j)
        if self.patterns_ and tokens:
            pattern_hits, excluded = self._pattern_hits(text, tokens, sentence_of)
            found.extend(pattern_hits)
            found = [
                Hit(**{**h.__dict__, "excluded": True}) if (h.code, h.sentence) in excluded else h
                for h in found
            ]
        return found

    def _pattern_hits(
        self, text: str, tokens: Sequence[Token], sentence_of: list[int]
    ) -> tuple[list[Hit], set[tuple[str, int]]]:
        # Patterns match within a sentence: run each only on sentences holding its anchors.
        bounds: list[tuple[int, int]] = []
        for n, sent in enumerate(sentence_of):
            if n == 0 or sent != sentence_of[n - 1]:
                bounds.append((n, n + 1))
            else:
                bounds[-1] = (bounds[-1][0], n + 1)
        out: list[Hit] = []
        excluded: set[tuple[str, int]] = set()
        doc = None
        for a, b in bounds:
            words = {t.lower for t in tokens[a:b]} | {t.lemma for t in tokens[a:b]}
            joined = "\n".join(words)
            for code, pattern_id, effect, required, matcher in self.patterns_:
                if not all(anchor.found_in(words, joined, rx) for anchor, rx in required):
                    continue
                if doc is None:
                    doc = to_doc(self.vocab_, text, tokens)
                for _, i, j in matcher(doc[a:b]):
                    i, j = i + a, j + a
                    if effect == "exclude":
                        excluded.add((code, sentence_of[i]))
                    else:
                        out.append(
                            Hit(
                                code,
                                pattern_id,
                                "pattern",
                                i,
                                j,
                                tokens[i].start,
                                tokens[j - 1].end,
                                sentence_of[i],
                            )
                        )
        return out, excluded

    def match(self, text: str, tokens: Sequence[Token]) -> dict[str, LexicalResult]:
        """Score per code for one segment (only codes with at least one valid hit)."""
        by_code: dict[str, list[Hit]] = defaultdict(list)
        for hit in self.hits(text, tokens):
            by_code[hit.code].append(hit)
        results = {}
        for code, code_hits in by_code.items():
            valid = [h for h in code_hits if not h.negated and not h.excluded]
            if not valid:
                continue
            best: dict[str, Hit] = {}
            repeats = 0
            for h in valid:
                key = h.evidence.split("|")[0]
                if key in best:
                    repeats += 1
                    if self.weights[h.kind] > self.weights[best[key].kind]:
                        best[key] = h
                else:
                    best[key] = h
            miss = math.prod(1 - self.weights[h.kind] for h in best.values())
            score = min(1.0, 1 - miss + REPEAT_BONUS * min(repeats, 4))
            results[code] = LexicalResult(
                round(score, 4), valid, self._explain(text, tokens, list(best.values()))
            )
        return results

    def _explain(self, text: str, tokens: Sequence[Token], hits: list[Hit]) -> str:
        parts = []
        for h in sorted(hits, key=lambda h: -self.weights[h.kind])[:3]:
            snippet = _snippet(text, tokens, h.token, h.token_end)
            if h.kind == "compound":
                keyword, word = h.evidence.split("|")
                parts.append(f"compound '{word}' contains '{keyword}' in \"{snippet}\"")
            elif h.kind == "phrase":
                parts.append(f"phrase '{h.evidence}' in \"{snippet}\"")
            elif h.kind == "pattern":
                parts.append(f"pattern '{h.evidence}' in \"{snippet}\"")
            elif h.kind == "context":
                word = h.evidence.split("|")[-1]
                parts.append(f"context word '{word}' in \"{snippet}\"")
            else:
                parts.append(f"lemma '{h.evidence}' in \"{snippet}\"")
        more = len(hits) - len(parts)
        return "; ".join(parts) + (f" (+{more} more)" if more > 0 else "")
