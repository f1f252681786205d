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
from dataclasses import dataclass, field, replace
from typing import Any

from qualcode.codebook import Codebook
from qualcode.nlp import (
    FLAG_ANNOTATION,
    FLAG_PUNCT,
    FLAG_SENT_START,
    Pipeline,
    Token,
    lemmatise_phrases,
    to_doc,
)
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
# The stored tokens' lower forms and lemmas are what spaCy's Matcher compares LOWER and LEMMA
# values with, so for these a token that satisfies the value satisfies its anchor too.
# TEXT/ORTH/NORM values only say that some word of the sentence must be there.
_TOKEN_ATTRS = frozenset({"LOWER", "LEMMA"})


@dataclass(frozen=True)
class Anchor:
    """Words of which a sentence must contain at least one: one of ``words``, a word that
    begins with one of ``prefixes``, or a word in which the regular expression ``regex`` finds
    a match (``re.search``, as spaCy's ``REGEX``)."""

    words: frozenset[str] = frozenset()
    prefixes: frozenset[str] = frozenset()
    regex: str | None = None


@dataclass(frozen=True)
class RequiredToken:
    """A token a match cannot do without. ``positional``: the token the match uses is itself
    one of the anchor's words (so required tokens also occur in pattern order)."""

    anchor: Anchor
    positional: bool


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


def _regex_anchor(regex: str) -> tuple[Anchor, bool] | None:
    """A simple alternation as words (``^(a|b)$``) or prefixes (``^(a|b)``), and whether
    the words are exactly what the regex accepts: ``^a|b$`` is "starts with a or ends with b",
    which the anchor only approximates (it has always been read as words)."""
    m = _ALTERNATION_RE.match(regex)
    if not m or "??" in m.group(1) or m.group(1).startswith("?") or "|?" in m.group(1):
        return None
    words = {w.lower() for alt in m.group(1).split("|") for w in _expand(alt)}
    exact = "|" not in m.group(1) or regex.startswith("^(")
    anchor = Anchor(frozenset(words)) if m.group(2) else Anchor(prefixes=frozenset(words))
    return anchor, exact


def _compiles(regex: str) -> bool:
    try:
        re.compile(regex)
    except re.error:
        return False
    return True


def required_words(pattern: Sequence[dict[str, Any]]) -> list[Anchor]:
    """For each token a match cannot do without, the words it may be (lower case).

    A segment that lacks any of them cannot match the pattern. Optional (``?``, ``*``,
    ``{0,n}``) and negated (``!``) tokens give no anchor, nor do regular expressions on other
    attributes than LOWER and LEMMA that are not simple alternations.
    """
    return [required.anchor for required in required_tokens(pattern)]


def required_tokens(pattern: Sequence[dict[str, Any]]) -> list[RequiredToken]:
    """:func:`required_words`, in pattern order, with whether each anchor is positional."""
    out = []
    for spec in pattern:
        op = str(spec.get("OP", "1"))
        if op in {"?", "*", "!"} or op.startswith(("{0", "{,")):
            continue
        for attr in _LITERAL_ATTRS:
            value = spec.get(attr, spec.get(attr.lower()))
            token_attr = attr in _TOKEN_ATTRS
            if isinstance(value, str):
                out.append(RequiredToken(Anchor(frozenset({value.lower()})), token_attr))
                break
            if isinstance(value, dict) and isinstance(value.get("IN"), list):
                words = frozenset(str(v).lower() for v in value["IN"])
                out.append(RequiredToken(Anchor(words), token_attr))
                break
            if isinstance(value, dict) and isinstance(value.get("REGEX"), str):
                regex = value["REGEX"]
                simple = _regex_anchor(regex)
                if simple is not None:
                    out.append(RequiredToken(simple[0], token_attr and simple[1]))
                elif token_attr and _compiles(regex):
                    # ``^(7[0-9]|\w+entachtig)$``: tested on each distinct word once
                    out.append(RequiredToken(Anchor(regex=regex), True))
                break
    return out


@dataclass(frozen=True)
class _IndexedPattern:
    code: str
    pattern_id: str
    effect: str
    anchors: tuple[int, ...]  # ids into _PatternIndex.anchors, one per required token, in order
    ordered: bool  # every anchor is positional: the anchors must occur in this order
    matcher: Any


class _PatternIndex:
    """Which patterns a sentence could match, from the words it contains.

    The test is the one the anchors always made (every required token's words occur in the
    sentence), looked up per distinct word instead of per pattern: a word maps once to the
    anchors it satisfies, a sentence's anchors are the union over its words, and a pattern is
    a candidate when all its anchors are there. Patterns whose anchors are all positional also
    need them in pattern order (a match takes its required tokens left to right), which rules
    out most sentences that hold common anchor words such as ``geen`` or ``zijn`` somewhere.
    """

    def __init__(self) -> None:
        self.patterns: list[_IndexedPattern] = []
        self.anchors: list[Anchor] = []
        self._anchor_ids: dict[Anchor, int] = {}
        self._by_word: dict[str, list[int]] = defaultdict(list)
        self._by_prefix: dict[str, list[int]] = defaultdict(list)
        self._prefix_lengths: list[int] = []
        self._regexes: list[tuple[int, re.Pattern[str]]] = []
        # anchor id -> patterns keyed on it; a pattern is keyed on one of its anchors only
        self._keyed: dict[int, list[int]] = defaultdict(list)
        self.unanchored: list[int] = []
        self._word_anchors: dict[str, frozenset[int]] = {}

    def add(self, code: str, pattern: Any, matcher: Any) -> None:
        required = required_tokens(pattern.pattern)
        ids = tuple(self._anchor_id(r.anchor) for r in required)
        ordered = all(r.positional for r in required)
        n = len(self.patterns)
        self.patterns.append(
            _IndexedPattern(code, pattern.id, pattern.effect, ids, ordered, matcher)
        )
        if not ids:
            self.unanchored.append(n)
        else:
            # key on the anchor with the fewest words: the likeliest to be rare
            key = min(ids, key=self._breadth)
            self._keyed[key].append(n)

    def _breadth(self, anchor_id: int) -> int:
        anchor = self.anchors[anchor_id]
        return len(anchor.words) + len(anchor.prefixes) + (100 if anchor.regex else 0)

    def _anchor_id(self, anchor: Anchor) -> int:
        if anchor not in self._anchor_ids:
            self._anchor_ids[anchor] = n = len(self.anchors)
            self.anchors.append(anchor)
            for word in anchor.words:
                self._by_word[word].append(n)
            for prefix in anchor.prefixes:
                self._by_prefix[prefix].append(n)
            self._prefix_lengths = sorted({len(p) for p in self._by_prefix})
            if anchor.regex is not None:
                self._regexes.append((n, re.compile(anchor.regex)))
        return self._anchor_ids[anchor]

    def anchors_of(self, word: str) -> frozenset[int]:
        """The anchors ``word`` satisfies (memoised per distinct word)."""
        found = self._word_anchors.get(word)
        if found is None:
            ids = set(self._by_word.get(word, ()))
            # Prefixes were searched at every line start of the sentence's words joined by
            # line breaks: a word holding a line break offers each of its lines as a beginning.
            for line in word.split("\n"):
                for n in self._prefix_lengths:
                    if n > len(line):
                        break
                    ids.update(self._by_prefix.get(line[:n], ()))
            ids.update(n for n, regex in self._regexes if regex.search(word))
            found = self._word_anchors[word] = frozenset(ids)
        return found

    def candidates(
        self, present: set[int], per_token: Sequence[frozenset[int]]
    ) -> list[_IndexedPattern]:
        """The patterns to run on a sentence, in codebook order. ``per_token``: the anchors
        each of its tokens satisfies (:meth:`anchors_of` its lower form and its lemma);
        ``present``: their union."""
        chosen = list(self.unanchored)
        for anchor in present:
            chosen.extend(self._keyed.get(anchor, ()))
        out = []
        for n in sorted(chosen):
            pattern = self.patterns[n]
            if not present.issuperset(pattern.anchors):
                continue
            if pattern.ordered and not _in_order(pattern.anchors, per_token):
                continue
            out.append(pattern)
        return out


def _in_order(anchors: Sequence[int], per_token: Sequence[frozenset[int]]) -> bool:
    """Whether the anchors occur at increasing token positions (earliest position first)."""
    pos = 0
    for anchor in anchors:
        while pos < len(per_token) and anchor not in per_token[pos]:
            pos += 1
        if pos == len(per_token):
            return False
        pos += 1
    return True


@dataclass(frozen=True)
class _FormPlan:
    """What a token gives by its word form (lower, lemma) alone, computed once per form.

    Negation, phrases (their further words) and patterns (the order and company of anchors)
    need the neighbours too and are checked per occurrence.
    """

    hits: tuple[tuple[str, str, str], ...]  # (code, evidence, kind), each one token long
    # Phrases that may start here, by their second lemma (the first one is this token):
    # (order among the phrases checked at this token, lemmas, code, keyword, kind).
    phrases: dict[str, list[tuple[int, tuple[str, ...], str, str, str]]]
    anchors: frozenset[int]  # the pattern anchors the token satisfies (_PatternIndex)


_NOTHING = _FormPlan((), {}, frozenset())  # the plan of ~90 % of word forms
_SKIP = FLAG_PUNCT | FLAG_ANNOTATION  # tokens that are never evidence


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
        entries = [
            (code, raw, is_context)
            for code in codebook.walk()
            for raw, is_context in [
                *((raw, False) for raw in code.keywords),
                *((raw, True) for raw in code.context),
            ]
        ]
        keywords = [raw.lstrip("=").strip().lower() for _, raw, _ in entries]
        lemmatised = lemmatise_phrases(pipeline, keywords)
        for (code, raw, is_context), keyword, lemmas in zip(
            entries, keywords, lemmatised, strict=True
        ):
            if not lemmas:
                continue
            if is_context:
                self.context_.add((code.path, keyword))
            if len(lemmas) == 1:
                for form in {lemmas[0], keyword}:
                    self.single_[form].append((code.path, keyword))
                    if not raw.startswith("="):  # exact: no compounds
                        compoundable[form].append((code.path, keyword))
            else:
                self.phrases_[lemmas[0]].append((lemmas, code.path, keyword))
        self.compoundable_ = dict(compoundable)
        self.compounds_ = CompoundMatcher(compoundable, known_words)
        # Most of what a token gives depends on its form alone: planned once per (lower, lemma),
        # so the ~90 % of tokens that give nothing cost one dict lookup each.
        self._forms: dict[tuple[str, str], _FormPlan] = {}
        # One Matcher per pattern, run only on sentences that contain the pattern's required
        # words in order: spaCy's Matcher costs time per call, token and pattern, and most
        # patterns are rare. The index finds them per word, not per pattern (hot spot 1).
        self.patterns_ = _PatternIndex()
        patterns = [(c, p) for c in codebook.walk() for p in c.patterns]
        if patterns:
            from spacy.matcher import Matcher

            self.vocab_ = pipeline.nlp.vocab
            for code, pattern in patterns:
                matcher = Matcher(self.vocab_)
                matcher.add(pattern.id, [pattern.pattern])
                self.patterns_.add(code.path, pattern, matcher)
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

    def _kind(self, code: str, evidence: str, kind: str) -> str:
        return "context" if (code, evidence.split("|")[0]) in self.context_ else kind

    def _plan(self, lower: str, lemma: str) -> _FormPlan:
        """Keyword, base-form and compound hits, the phrases that may start at a token with
        these forms, and the pattern anchors it satisfies."""
        seen: dict[tuple[str, str], str] = {}  # (code, keyword) -> evidence, in order found
        for form in (lemma, lower):
            for entry in self.single_.get(form, ()):
                seen.setdefault(entry, entry[1])
        kind = "lemma"
        if not seen:
            # ouderen → oudere, sociale → sociaal: the first base form that is a keyword
            for form in base_forms(lower):
                for entry in self.single_.get(form, ()):
                    seen.setdefault(entry, entry[1])
                if seen:
                    break
        if not seen:
            kind = "compound"
            for form in dict.fromkeys((lower, lemma)):
                for part in self.compounds_.parts(form):
                    for entry in self.compoundable_.get(part, ()):
                        seen.setdefault(entry, f"{entry[1]}|{lower}")
        hits = tuple(
            (code, evidence, self._kind(code, evidence, kind))
            for (code, _), evidence in seen.items()
        )
        starts = [lemma, *(f for f in base_forms(lower) if f in self.phrases_)]
        entries = [
            entry for first in dict.fromkeys(starts) for entry in self.phrases_.get(first, ())
        ]
        phrases: dict[str, list[tuple[int, tuple[str, ...], str, str, str]]] = defaultdict(list)
        for n, (lemmas, code, keyword) in enumerate(entries):
            phrases[lemmas[1]].append(
                (n, lemmas, code, keyword, self._kind(code, keyword, "phrase"))
            )
        anchors = self.patterns_.anchors_of(lower) | self.patterns_.anchors_of(lemma)
        if hits or phrases or anchors:
            return _FormPlan(hits, dict(phrases), anchors)
        return _NOTHING

    def _phrases_at(
        self, plan: _FormPlan, tokens: Sequence[Token], i: int
    ) -> list[tuple[str, str, str, int]]:
        """The phrases of ``plan`` that match from token ``i``: (code, keyword, kind, end)."""
        if not plan.phrases or i + 1 >= len(tokens):
            return []
        # The first word is token i by construction; the second picks the few phrases to check
        # (_same_word: the lemma, the lower form or one of its base forms).
        nxt = tokens[i + 1]
        groups = plan.phrases
        # each phrase is under one second lemma: distinct forms give distinct phrases
        entries = [
            entry
            for form in {nxt.lemma, nxt.lower, *base_forms(nxt.lower)}
            if form in groups
            for entry in groups[form]
        ]
        out = []
        for _, lemmas, code, keyword, kind in sorted(entries) if len(entries) > 1 else entries:
            j = i + len(lemmas)
            if j <= len(tokens) and all(
                _same_word(tokens[i + k], lemmas[k]) for k in range(2, len(lemmas))
            ):
                out.append((code, keyword, kind, j))
        return out

    def hits(self, text: str, tokens: Sequence[Token]) -> list[Hit]:
        found: list[Hit] = []
        starts: list[int] = []  # the first token of each sentence
        anchors: list[frozenset[int]] = []  # per token, for the patterns
        present: list[set[int]] = []  # per sentence, the anchors of all its tokens
        in_sentence: set[int] = set()
        forms = self._forms
        for i, tok in enumerate(tokens):
            if tok.flags & FLAG_SENT_START or i == 0:
                starts.append(i)
                in_sentence = set()
                present.append(in_sentence)
            key = (tok.lower, tok.lemma)
            plan = forms.get(key)
            if plan is None:
                plan = forms[key] = self._plan(*key)
            anchors.append(plan.anchors)
            if plan.anchors:
                in_sentence.update(plan.anchors)
            if tok.flags & _SKIP or not (plan.hits or plan.phrases):
                continue
            spans = [(code, evidence, kind, i + 1) for code, evidence, kind in plan.hits]
            spans += self._phrases_at(plan, tokens, i)
            if spans:
                negated = self._negated(tokens, i)
                for code, evidence, kind, j in spans:
                    found.append(
                        Hit(
                            code,
                            evidence,
                            kind,
                            i,
                            j,
                            tok.start,
                            tokens[j - 1].end,
                            len(starts) - 1,
                            negated=negated,
                        )
                    )
        if self.patterns_.patterns and tokens:
            pattern_hits, excluded = self._pattern_hits(text, tokens, starts, anchors, present)
            found.extend(pattern_hits)
            if excluded:
                found = [
                    replace(h, excluded=True) if (h.code, h.sentence) in excluded else h
                    for h in found
                ]
        return found

    def _pattern_hits(
        self,
        text: str,
        tokens: Sequence[Token],
        starts: Sequence[int],
        anchors: Sequence[frozenset[int]],
        present: Sequence[set[int]],
    ) -> tuple[list[Hit], set[tuple[str, int]]]:
        """Include hits and the (code, sentence) pairs an exclude pattern cancels."""
        out: list[Hit] = []
        excluded: set[tuple[str, int]] = set()
        ends = [*starts[1:], len(tokens)]
        unanchored = bool(self.patterns_.unanchored)
        for sentence, (a, b) in enumerate(zip(starts, ends, strict=True)):
            if not present[sentence] and not unanchored:
                continue
            candidates = self.patterns_.candidates(present[sentence], anchors[a:b])
            if not candidates:
                continue
            # Patterns match within a sentence and only look at token attributes, so a Doc of
            # the sentence alone gives the same matches as a span of the segment's Doc.
            doc = to_doc(self.vocab_, text, tokens[a:b])
            for pattern in candidates:
                for _, i, j in pattern.matcher(doc):
                    if pattern.effect == "exclude":
                        excluded.add((pattern.code, sentence))
                        continue
                    i, j = i + a, j + a
                    out.append(
                        Hit(
                            pattern.code,
                            pattern.pattern_id,
                            "pattern",
                            i,
                            j,
                            tokens[i].start,
                            tokens[j - 1].end,
                            sentence,
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
            for h in self._one_per_span(valid):
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

    def _one_per_span(self, hits: list[Hit]) -> list[Hit]:
        """The strongest hit of each group of overlapping hits: 'computer' and 'computers',
        or 'alleen voor staan' inside 'er alleen voor staan', found on the same words are one
        piece of evidence, not two (two context words on one word must not make a suggestion)."""
        out: list[Hit] = []
        end = -1
        for h in sorted(hits, key=lambda h: (h.token, -h.token_end)):
            if out and h.token < end:
                end = max(end, h.token_end)
                if self.weights[h.kind] > self.weights[out[-1].kind]:
                    out[-1] = h
            else:
                out.append(h)
                end = h.token_end
        return out

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
