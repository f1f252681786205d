"""Lexical suggester: codebook keywords, phrases and spaCy patterns matched on lemmas.

Matching is on lemmas, so ``schulden`` matches ``schuld`` and ``voelde`` matches ``voelen``;
single-word keywords are also found inside Dutch compounds (see ``compounds.py``). A keyword
preceded by a negation in the same clause (``niet eenzaam``, ``geen schulden``) does not count,
and a pattern with ``effect: exclude`` cancels the code's keyword hits in its sentence.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from qualcode.codebook import Codebook
from qualcode.nlp import Pipeline, Token, lemmatise_phrase, to_doc
from qualcode.suggest.compounds import CompoundMatcher

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

WEIGHTS = {"phrase": 0.7, "lemma": 0.55, "compound": 0.5, "pattern": 0.65}
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
        for code in codebook.walk():
            for raw in code.keywords:
                exact = raw.startswith("=")
                keyword = raw.lstrip("=").strip().lower()
                lemmas = lemmatise_phrase(pipeline, keyword)
                if not lemmas:
                    continue
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
        self.matcher_: Any = None
        self.pattern_effect_: dict[str, tuple[str, str]] = {}
        patterns = [(c, p) for c in codebook.walk() for p in c.patterns]
        if patterns:
            from spacy.matcher import Matcher

            self.vocab_ = pipeline.nlp.vocab
            self.matcher_ = Matcher(self.vocab_)
            for code, pattern in patterns:
                key = f"{code.path}\t{pattern.id}"
                self.matcher_.add(key, [pattern.pattern])
                self.pattern_effect_[key] = (code.path, pattern.effect)
        return self

    # -- matching ----------------------------------------------------------------------------

    def _negated(self, tokens: Sequence[Token], i: int) -> bool:
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

    def hits(self, text: str, tokens: Sequence[Token]) -> list[Hit]:
        sentence_of: list[int] = []
        sentence = -1
        for n, tok in enumerate(tokens):
            if tok.sent_start or n == 0:
                sentence += 1
            sentence_of.append(sentence)
        found: list[Hit] = []

        def add(code: str, evidence: str, kind: str, i: int, j: int) -> None:
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
                for form in dict.fromkeys((tok.lower, tok.lemma)):
                    for part in self.compounds_.parts(form):
                        for code, keyword in self.compoundable_.get(part, ()):
                            if (code, keyword) not in seen:
                                seen.add((code, keyword))
                                add(code, f"{keyword}|{tok.lower}", "compound", i, i + 1)
            for lemmas, code, keyword in self.phrases_.get(tok.lemma, ()):
                j = i + len(lemmas)
                if j <= len(tokens) and all(
                    tokens[i + k].lemma == lemma or tokens[i + k].lower == lemma
                    for k, lemma in enumerate(lemmas)
                ):
                    add(code, keyword, "phrase", i, j)
        if self.matcher_ is not None and tokens:
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
        doc = to_doc(self.vocab_, text, tokens)
        out = []
        excluded: set[tuple[str, int]] = set()
        for match_id, i, j in self.matcher_(doc):
            key = self.vocab_.strings[match_id]
            code, effect = self.pattern_effect_[key]
            if effect == "exclude":
                excluded.add((code, sentence_of[i]))
                continue
            out.append(
                Hit(
                    code,
                    key.split("\t")[1],
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
            else:
                parts.append(f"lemma '{h.evidence}' in \"{snippet}\"")
        more = len(hits) - len(parts)
        return "; ".join(parts) + (f" (+{more} more)" if more > 0 else "")
