"""The most telling quotes per code, for report writers: Word, Markdown or Excel.

``select_quotes`` picks, per code in codebook order, up to N passages that are

- central: closest to the centroid of everything coded with the code, in a TF-IDF space of the
  stored lemmas (``segment_nlp``; the plain words when a passage has no stored tokens);
- clearly about it: a person's accepted or manual coding counts as fully sure, a suggestion
  with its score;
- readable: whole sentences around the part that is about the code, ``MIN_WORDS`` to
  ``MAX_WORDS`` words, ``[…]`` where sentences were left out and, on request, fillers (``eh``,
  ``uhm``, ``nou ja``) dropped with ``…`` in their place;
- varied: never two quotes of one speaker (document + label) for a code, and spread over
  documents and groups by maximal marginal relevance.

A code's quotes come from itself and its sub-codes. Quotes are attributed by role and setting
from the metadata (``jongerenwerker, focusgroep 3 (Den Haag)``), never by name.
``write_quotes`` writes the selection; the selection itself is plain dataclasses, so an HTML
report can reuse it.
"""

from __future__ import annotations

import gc
import re
from bisect import bisect_left
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import pairwise
from pathlib import Path
from typing import Any

from qualcode.errors import QualcodeError
from qualcode.export.matrix import (
    Loaded,
    ProjectCode,
    Selected,
    Unit,
    check_status,
    find_code,
    nothing_selected,
    output_path,
    project_codes,
    status_description,
    subtree,
    unwritable,
)
from qualcode.store import Project
from qualcode.text import ANNOTATION_RE, annotation_spans, count_words

PER_CODE = 3
MIN_WORDS = 15
MAX_WORDS = 80
# A quote grows to about this many words when the sentences around its core allow it.
TARGET_WORDS = 35
# Relevance = CENTRALITY_WEIGHT * centrality + (1 - CENTRALITY_WEIGHT) * certainty.
CENTRALITY_WEIGHT = 0.6
# Maximal marginal relevance: LAMBDA * relevance - (1 - LAMBDA) * redundancy with the quotes
# already chosen; redundancy is the cosine plus these penalties.
MMR_LAMBDA = 0.6
SAME_DOCUMENT_PENALTY = 0.6
SAME_GROUP_PENALTY = 0.3
# Once a quote is long enough, a neighbouring sentence is only added when it is at least this
# share as relevant to the code as the best sentence.
EXTEND_SHARE = 0.5
KEYWORD_BONUS = 0.5
NEUTRAL_ROLE = "deelnemer"
CUT = "[…]"
DROPPED = "…"
QUOTE_SUFFIXES = (".docx", ".md", ".xlsx")

# Labels that describe a position in the transcript, not a person: R3, P1, Deelnemer 2,
# Respondent, Bewoner 2, Spreker B. Anything else (Marieke, [PERSOON-3]) may be a name.
GENERIC_LABEL_RE = re.compile(
    r"^(?:[a-z]\d{0,3}|[a-z]{2}\d{1,3}"
    r"|(?:respondent|resp|deelnemer|deelneemster|participant|spreker|speaker|bewoner|"
    r"geïnterviewde|geinterviewde|interviewee|informant|cliënt|client)"
    r"(?:[\s_-]*(?:\d{1,3}|[a-z]))?)$",
    re.IGNORECASE,
)
_FILLER = r"e+h+m*|e+u+h+|u+h+m*|u+m+|h+m+|m+h+m+|nou\s+ja"
FILLER_RE = re.compile(rf"(?<![\w'’-])(?:{_FILLER})(?![\w'’-])[,.]?", re.IGNORECASE)
_ELLIPSES_RE = re.compile(r"(?:\.\.\.|…)(?:\s*(?:\.\.\.|…|,))*(?:\s*(?:\.\.\.|…))")
_SENTENCE_END_RE = re.compile(r"[.!?…]+[\"'”’)\]]*\s+(?=[\"'“‘(\[]?[A-ZÀ-Ý0-9])")
_WORD_RE = re.compile(r"\w[\w'’-]*")
_PSEUDONYM_RE = re.compile(r"\[[^\]]*\]|\bpersoon[-_ ]?\d+", re.IGNORECASE)
_PARTICLES = {"van", "de", "der", "den", "het", "ter", "ten", "el", "al", "bin", "von"}


@dataclass(frozen=True)
class Quote:
    """One quote as it goes into the report, with what is needed to find it back."""

    code: str
    label: str
    text: str
    attribution: str
    document: str
    segment_key: str
    segment_id: int
    score: float  # how sure the coding is: 1.0 for a person's decision
    status: str
    centrality: float
    words: int


@dataclass(frozen=True)
class CodeQuotes:
    """The quotes of one code (its sub-codes included), with its label and definition."""

    code: str
    label: str
    definition: str
    depth: int
    quotes: tuple[Quote, ...]
    coded: int  # passages coded with the code or a sub-code
    too_short: int = 0  # of those, passages without a readable stretch of text


@dataclass
class QuoteSelection:
    """What ``select_quotes`` returns: the codes in codebook order and the settings used."""

    codes: list[CodeQuotes]
    status: str
    coder: str | None = None
    per_code: int = PER_CODE
    no_fillers: bool = False
    min_words: int = MIN_WORDS
    max_words: int = MAX_WORDS
    skipped: list[str] = field(default_factory=list)  # codes in scope without any coding

    @property
    def quotes(self) -> list[Quote]:
        return [q for c in self.codes for q in c.quotes]

    def method_note(self) -> str:
        """'How these quotes were chosen', in the language of the report (Dutch)."""
        fillers = (
            f"; {DROPPED} staat waar stopwoorden (eh, uhm, nou ja) zijn weggelaten"
            if self.no_fillers
            else ""
        )
        return (
            f"Per code staan hier ten hoogste {self.per_code} citaten, gekozen uit "
            f"{status_description(self.status, self.coder)}. Een passage met een subcode telt "
            "ook voor de bovenliggende code. Voorrang krijgen passages die centraal staan in "
            "alles wat met de code is gecodeerd (TF-IDF over de lemma's, dichtst bij het "
            "gemiddelde) en die zeker over de code gaan (een beslissing van een onderzoeker "
            "telt als volledig zeker, een suggestie met haar score). De citaten zijn gevarieerd: "
            "nooit twee van dezelfde spreker bij één code en zo veel mogelijk uit verschillende "
            "documenten en groepen. Elk citaat bestaat uit hele zinnen rond het deel dat over de "
            f"code gaat, {self.min_words} tot {self.max_words} woorden; {CUT} staat waar zinnen "
            f"zijn weggelaten{fillers}. Sprekers worden aangeduid met hun rol en de setting uit "
            "de metadata, nooit met hun naam. Lees elk citaat na in zijn context en controleer "
            "of het zelf geen namen bevat voordat u het gebruikt."
        )


@contextmanager
def gc_paused() -> Iterator[None]:
    """No rounds of cyclic garbage collection inside; reference counting still frees what is
    no longer used. Choosing quotes (and drawing a report's charts) makes millions of short
    lists, and every few of them set off a round that went through every object of the
    process: half a second at 384k words, a second at a million, more in 'qualcode run' with
    spaCy loaded. Little of what is made here has cycles (matplotlib's figures); it is
    collected in the first round after."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


# -- attribution -----------------------------------------------------------------------------


def is_generic_label(label: str) -> bool:
    return bool(GENERIC_LABEL_RE.match(label.strip()))


def setting_of(attributes: Mapping[str, Any]) -> str:
    """``focusgroep 3 (Den Haag)`` from the document attributes group/type and place."""

    def get(*names: str) -> str:
        for key, value in attributes.items():
            if key.casefold() in names and value is not None and str(value).strip():
                return str(value).strip()
        return ""

    base = get("group", "groep") or get("type", "soort")
    place = get("place", "plaats", "locatie", "stad")
    if base and place and place.casefold() not in base.casefold():
        return f"{base} ({place})"
    return base or place


def _split_words(text: str) -> list[str]:
    # 'interview_marieke', "D'Souza", 'van-Dam': a name hides between any separators
    return [w for w in re.split(r"[\W_]+", text) if w]


def name_words_of(names: Iterable[str]) -> set[str]:
    """The words of every non-generic label, plus each label written as one word."""
    out: set[str] = set()
    for name in names:
        if is_generic_label(name):
            continue
        parts = [w.casefold() for w in _split_words(name)]
        out.update(w for w in parts if len(w) >= 3 and w not in _PARTICLES)
        if len(parts) > 1:
            out.add("".join(parts))
    return out


def mentions_name(text: str, name_words: set[str], *, inside_words: bool = False) -> bool:
    if _PSEUDONYM_RE.search(text):
        return True
    words = [w.casefold() for w in _split_words(text)]
    if not inside_words:
        return bool(name_words.intersection(words))
    # a file name such as 'interviewmarieke' hides a name inside a word; short names count
    # only as whole words ('jan' is not in 'januari')
    return any(n == w or (len(n) >= 4 and n in w) for n in name_words for w in words)


def attribution(
    *,
    role: str | None,
    label: str,
    document: str,
    doc_attributes: Mapping[str, Any],
    names: Iterable[str] = (),
) -> str:
    """Who said it, by role and setting, never by name.

    The role comes from the metadata; without one, a generic label (``R3``, ``Deelnemer 2``)
    is shown as it is and any other label (it may be a name) becomes ``deelnemer``. The setting
    comes from the document attributes; without them the file name is used, unless it contains
    a speaker's name (``names``: the speaker labels of the project that may be names) or a
    pseudonym tag.
    """
    who = (role or "").strip()
    label = label.strip()
    # 'Huisarts: ...' with the role huisarts: the label is a role, not a name
    own = set() if who and label.casefold() == who.casefold() else name_words_of([label])
    if not who or mentions_name(who, own):
        who = label if is_generic_label(label) else NEUTRAL_ROLE
    where = setting_of(doc_attributes)
    if not where or mentions_name(where, own):
        where = Path(document).stem
        if mentions_name(where, own | name_words_of(names), inside_words=True):
            where = ""
    return f"{who}, {where}" if where else who


# -- readable text ---------------------------------------------------------------------------


_DROPPED_BEFORE_WORD_RE = re.compile(rf"{DROPPED}(?=\w)")


def _tidy(text: str) -> str:
    # str.split() splits on exactly what \s matches, so this is re.sub(r"\s+", " ").strip();
    # the expressions run only on text with an ellipsis (a quote is tidied many times).
    text = " ".join(text.split())
    if "..." in text or DROPPED in text:
        text = _ELLIPSES_RE.sub(DROPPED, text)
        text = _DROPPED_BEFORE_WORD_RE.sub(f"{DROPPED} ", text)
    return text


_EDGE_ANNOTATION_RE = re.compile(
    rf"^\s*(?:{ANNOTATION_RE.pattern})\s*|\s*(?:{ANNOTATION_RE.pattern})\s*$", re.IGNORECASE
)


def _strip_edge_annotations(text: str) -> str:
    """'(stilte) Zwaar.' → 'Zwaar.': a quote neither opens nor ends with an annotation."""
    while True:
        edges = text.strip()
        # an annotation opens with ( or [ and closes with ) or ]: else nothing to look for
        if not edges or (edges[0] not in "([" and edges[-1] not in ")]"):
            return text
        stripped = _EDGE_ANNOTATION_RE.sub("", text, count=1)
        if stripped == text:
            return text
        text = stripped


def remove_fillers(text: str) -> str:
    """Drop fillers (``eh``, ``ehm``, ``uhm``, ``nou ja``), leaving ``…`` where they were."""
    return _tidy(FILLER_RE.sub(DROPPED, text))


def sentence_spans(text: str, tokens: Sequence[Any] | None = None) -> list[tuple[int, int]]:
    """Sentences as ``(start, end)`` offsets that together cover ``text``.

    The stored tokens carry the pipeline's sentence starts; without them a sentence ends at
    ``. ! ? …`` followed by a capital.
    """
    if tokens:
        return _spans(text, [t.start for n, t in enumerate(tokens) if n == 0 or t.sent_start])
    return _spans(text, [0, *(m.end() for m in _SENTENCE_END_RE.finditer(text))])


def _spans(text: str, sentence_starts: Sequence[int]) -> list[tuple[int, int]]:
    starts = sorted(set(sentence_starts))
    starts[0] = 0  # text before the first token belongs to the first sentence
    # A sentence never starts inside an annotation: '(' ends one, 'lacht)' starts the next.
    # The annotations do not overlap, so only the last one opening before a start can hold it.
    annotations = annotation_spans(text)
    if annotations:
        opens = [a for a, _ in annotations]

        def outside(start: int) -> int:
            k = bisect_left(opens, start) - 1
            return opens[k] if k >= 0 and start < annotations[k][1] else start

        starts = sorted({outside(start) for start in starts})
    ends = [*starts[1:], len(text)]
    return [(a, b) for a, b in zip(starts, ends, strict=True) if text[a:b].strip()]


@dataclass(frozen=True)
class Trimmed:
    text: str
    words: int


def _cut_sentence(text: str, min_words: int, max_words: int) -> str:
    """The start of an over-long sentence, ended at a comma when that keeps it long enough."""
    kept: list[str] = []
    count = 0
    at_comma = 0
    for token in text.split():
        n = count_words(token)
        if count + n > max_words:
            break
        kept.append(token)
        count += n
        if count >= min_words and token.endswith((",", ";", ":")):
            at_comma = len(kept)
    return " ".join(kept[: at_comma or len(kept)]).rstrip(",;:")


@lru_cache(maxsize=32768)
def _prepared(sentences: tuple[str, ...], no_fillers: bool) -> tuple[list[str], list[int]]:
    # A passage is trimmed once per code it carries: clean and count its sentences once.
    cleaned = [_tidy(remove_fillers(s) if no_fillers else s) for s in sentences]
    return cleaned, [count_words(c) for c in cleaned]


@lru_cache(maxsize=32768)
def _stretch(sentences: tuple[str, ...], first: int, end: int, no_fillers: bool) -> tuple[str, int]:
    # A passage carries several codes and often gives each the same stretch of sentences:
    # its text and word count are made once (they were most of the time of trimming).
    _, words = _prepared(sentences, no_fillers)
    return _finished(
        _joined(sentences, first, end, no_fillers),
        any(words[:first]),
        cut_after=any(words[end + 1 :]),
    )


def _joined(sentences: tuple[str, ...], first: int, end: int, no_fillers: bool) -> str:
    joined = "".join(sentences[first : end + 1])
    return _tidy(remove_fillers(joined) if no_fillers else joined)


@lru_cache(maxsize=32768)
def _stretch_words(sentences: tuple[str, ...], first: int, end: int, no_fillers: bool) -> int:
    """The word count of ``_stretch``, without making its text: ``_finished`` only strips
    annotations from the ends and adds ``[…]``, and neither counts as a word (a test holds
    the two counts equal). Every coded passage is measured for every code it has; only the
    few chosen ones need their text."""
    return count_words(_joined(sentences, first, end, no_fillers))


def _finished(body: str, cut_before: bool, *, cut_after: bool) -> tuple[str, int]:
    """The quote's text with ``[…]`` where sentences were left out, and its word count."""
    body = _strip_edge_annotations(body)
    text = _tidy((f"{CUT} " if cut_before else "") + body + (f" {CUT}" if cut_after else ""))
    return text, count_words(text)


@dataclass(frozen=True)
class _Stretch:
    """The sentences ``first`` to ``end`` of a passage that make its quote, and its length;
    the text is made when asked for (see ``_stretch_words``)."""

    sentences: tuple[str, ...]
    first: int
    end: int
    words: int
    no_fillers: bool
    cut: Trimmed | None = None  # an over-long sentence cut short: made at once (rare)

    def trimmed(self) -> Trimmed:
        if self.cut is not None:
            return self.cut
        text, count = _stretch(self.sentences, self.first, self.end, self.no_fillers)
        return Trimmed(text, count)


def trim_quote(
    sentences: Sequence[str],
    relevance: Sequence[float],
    *,
    min_words: int = MIN_WORDS,
    max_words: int = MAX_WORDS,
    no_fillers: bool = False,
) -> Trimmed | None:
    """Whole sentences around the most relevant one, ``min_words``..``max_words`` long.

    ``sentences`` are contiguous pieces of the passage (joined they give it back verbatim).
    The quote starts at the sentence most about the code and takes in neighbours, the more
    relevant side first, until it has ``TARGET_WORDS``; after that only neighbours that are
    about the code too, while it fits. ``[…]`` marks sentences left out. None when no stretch
    of the passage is long enough.
    """
    stretch = _choose_stretch(
        tuple(sentences), relevance, min_words=min_words, max_words=max_words, no_fillers=no_fillers
    )
    return stretch.trimmed() if stretch is not None else None


def _choose_stretch(
    key: tuple[str, ...],
    relevance: Sequence[float],
    *,
    min_words: int,
    max_words: int,
    no_fillers: bool,
) -> _Stretch | None:
    """What ``trim_quote`` does, up to making the text."""
    cleaned, words = _prepared(key, no_fillers)
    if not any(words):
        return None
    last = len(cleaned) - 1
    anchor = max(range(len(cleaned)), key=lambda k: (words[k] > 0, relevance[k], -k))
    first = end = anchor
    cut = None
    if words[anchor] > max_words:
        body = _cut_sentence(cleaned[anchor], min_words, max_words)
        cut = Trimmed(*_finished(body, any(words[:first]), cut_after=True))
        count = cut.words
    else:
        total = words[anchor]
        target = max(min_words, min(TARGET_WORDS, max_words))
        floor = EXTEND_SHARE * relevance[anchor]
        while True:
            options = []
            if first > 0 and total + words[first - 1] <= max_words:
                options.append((relevance[first - 1], 0, first - 1))
            if end < last and total + words[end + 1] <= max_words:
                options.append((relevance[end + 1], 1, end + 1))
            if total >= target:
                options = [o for o in options if o[0] > 0 and o[0] >= floor]
            if not options:
                break
            _, _, k = max(options)
            first, end = min(first, k), max(end, k)
            total += words[k]
        count = _stretch_words(key, first, end, no_fillers)
    if not min_words <= count <= max_words:
        return None
    return _Stretch(key, first, end, count, no_fillers, cut)


# -- the space in which 'central' is measured ------------------------------------------------


@dataclass
class _Space:
    """TF-IDF vectors (l2-normalised) of every passage and of every sentence of the passages
    that may be quoted, in one matrix each so that a code needs one product per matrix."""

    vectors: Any  # sparse, one row per unit
    row: dict[int, int]  # segment id -> row in vectors
    sentence_vectors: Any  # sparse, one row per sentence
    sentence_rows: dict[int, tuple[int, int]]  # segment id -> its rows in sentence_vectors
    sentences: dict[int, tuple[str, ...]]  # segment id -> sentence texts (verbatim, contiguous)

    def centroid(self, ids: Sequence[int]) -> Any:
        import numpy as np

        mean = np.asarray(self.vectors[[self.row[i] for i in ids]].mean(axis=0)).ravel()
        norm = float(np.linalg.norm(mean))
        return mean / norm if norm else mean

    def similarities(self, ids: Sequence[int]) -> _Similarities:
        """Cosines among the given passages, computed one column at a time when asked for."""
        return _Similarities(self.vectors[[self.row[i] for i in ids]])


@dataclass
class _Similarities:
    """Cosines of the candidates of one code with the few quotes chosen so far.

    Maximal marginal relevance only reads the columns of the chosen quotes, so computing the
    whole square matrix cost memory with the square of the candidates (6,965 passages for a
    large code at a million words: a 370 MB dense array) for three columns. A column is the
    same sparse product restricted to one quote, so its values are exactly those of the square.
    """

    rows: Any  # sparse, one l2-normalised row per candidate
    columns: dict[int, Any] = field(default_factory=dict)

    def column(self, j: int) -> Any:
        """The cosine of every candidate with candidate ``j`` (a dense 1-d array)."""
        if j not in self.columns:
            self.columns[j] = (self.rows @ self.rows[j].T).toarray().ravel()
        return self.columns[j]


@dataclass(frozen=True)
class _Tokens:
    """What the quotes use of a passage's stored tokens: where each token starts, where its
    sentences start, and each token's content lemma (as ``lemma_text`` takes it; '' for the
    others). Read straight from the stored JSON: decoding every ``nlp.Token`` only to read
    these was two thirds of the time of choosing the quotes at a million words."""

    starts: list[int]
    sentence_starts: list[int]  # of the tokens that start a sentence, the first token's too
    lemmas: list[str]

    @classmethod
    def decode(cls, data: str, text: str) -> _Tokens | None:
        """From ``segment_nlp.tokens`` (see ``nlp.encode_tokens``); None without tokens."""
        from qualcode.nlp import DAMAGED_TOKENS, FLAG_SENT_START, token_items
        from qualcode.suggest.similarity import NOT_CONTENT, is_content_lemma

        try:
            items = token_items(data)
            if not items:
                return None
            # [start, end, flags] and the lemma when it is not the lower-case form
            lemmas = [
                "" if i[2] & NOT_CONTENT else i[3] if len(i) > 3 else text[i[0] : i[1]].lower()
                for i in items
            ]
            return cls(
                [i[0] for i in items],
                [items[0][0], *(i[0] for i in items if i[2] & FLAG_SENT_START)],
                [lemma if lemma and is_content_lemma(lemma) else "" for lemma in lemmas],
            )
        except DAMAGED_TOKENS:  # derived data: the passage is quoted from its plain words
            return None

    def lemma_text(self, first: int = 0, end: int | None = None) -> str:
        """The content lemmas of the tokens ``first`` to ``end``, space-separated."""
        return " ".join(filter(None, self.lemmas[first:end]))


def _stored_tokens(project: Project, units: Sequence[Unit]) -> dict[int, _Tokens]:
    """Tokens from ``segment_nlp`` of the pipeline that annotated the most passages."""
    names = project.conn.execute(
        "SELECT pipeline, count(*) AS n FROM segment_nlp GROUP BY pipeline ORDER BY n DESC,"
        " pipeline LIMIT 1"
    ).fetchone()
    if names is None:
        return {}
    text = {u.segment.id: u.segment.text for u in units}
    rows = project.conn.execute(
        "SELECT segment_id, tokens FROM segment_nlp WHERE pipeline = ?", (names["pipeline"],)
    )
    out = {}
    for seg_id, data in rows:
        if seg_id in text and (tokens := _Tokens.decode(data, text[seg_id])) is not None:
            out[seg_id] = tokens
    return out


def _plain_words(text: str) -> str:
    from qualcode.text import strip_annotations

    return " ".join(w for w in _WORD_RE.findall(strip_annotations(text).casefold()) if len(w) > 1)


def _build_space(units: Sequence[Unit], tokens: Mapping[int, _Tokens], wanted: set[int]) -> _Space:
    from scipy.sparse import csr_matrix
    from sklearn.feature_extraction.text import TfidfVectorizer

    def lemmas(seg_id: int, text: str) -> str:
        toks = tokens.get(seg_id)
        return toks.lemma_text() if toks else _plain_words(text)

    docs = [lemmas(u.segment.id, u.segment.text) for u in units]
    quotable = [u for u in units if u.segment.id in wanted]
    spans = {}
    for u in quotable:
        toks = tokens.get(u.segment.id)
        spans[u.segment.id] = (
            _spans(u.segment.text, toks.sentence_starts) if toks else sentence_spans(u.segment.text)
        )
    sentence_docs: list[str] = []
    sentence_rows: dict[int, tuple[int, int]] = {}
    for u in quotable:
        first = len(sentence_docs)
        sentence_docs += _sentence_lemmas(
            u.segment.text, tokens.get(u.segment.id), spans[u.segment.id]
        )
        sentence_rows[u.segment.id] = (first, len(sentence_docs))
    # str.split finds the same words as token_pattern=r"\S+", without a regular expression
    vectorizer = TfidfVectorizer(sublinear_tf=True, analyzer=str.split)
    try:
        vectors = vectorizer.fit_transform(docs).tocsr()
        sentence_vectors = vectorizer.transform(sentence_docs).tocsr()
    except ValueError:  # no content words at all: 'central' cannot be measured
        vectors = csr_matrix((len(units), 1))
        sentence_vectors = csr_matrix((len(sentence_docs), 1))
    return _Space(
        vectors,
        {u.segment.id: n for n, u in enumerate(units)},
        sentence_vectors,
        sentence_rows,
        {
            u.segment.id: tuple(u.segment.text[a:b] for a, b in spans[u.segment.id])
            for u in quotable
        },
    )


def _sentence_lemmas(
    text: str, tokens: _Tokens | None, spans: Sequence[tuple[int, int]]
) -> list[str]:
    """The content lemmas of each sentence (``spans``) of one passage."""
    if not tokens:
        return [_plain_words(text[a:b]) for a, b in spans]
    starts = tokens.starts
    if any(a > b for a, b in pairwise(starts)):  # not in text order: filter each time
        return [
            " ".join(w for s, w in zip(starts, tokens.lemmas, strict=True) if w and a <= s < b)
            for a, b in spans
        ]
    # The tokens are in text order, so a sentence's tokens are one slice: found by bisection
    # instead of testing every token of the passage for every sentence.
    return [tokens.lemma_text(bisect_left(starts, a), bisect_left(starts, b)) for a, b in spans]


def _keywords_of(codes: Sequence[ProjectCode]) -> set[str]:
    return {k.casefold() for c in codes for k in c.keywords if k.strip()}


class _KeywordIndex:
    r"""Which keywords of the codebook occur in a sentence, found once per sentence.

    A keyword counts where it starts a word (``(?<!\w)keyword`` in the casefolded sentence);
    a sentence is about a code when its keywords meet those of the code's family. Searching
    one expression per family in each of its passages' sentences was a fifth of the report's
    time: a sentence was searched again for every code above its own.
    """

    def __init__(self, codes: Sequence[ProjectCode]) -> None:
        self._words = _keywords_of(codes)
        # At each word start the lookahead finds the longest keyword there; every other
        # keyword found at that spot is a prefix of it (both are prefixes of the text).
        self._pattern = (
            re.compile(r"(?<!\w)(?=(" + _trie_pattern(self._words) + "))") if self._words else None
        )
        self._prefixes: dict[str, frozenset[str]] = {}
        self._found: dict[str, frozenset[str]] = {}

    def keywords_in(self, sentence: str) -> frozenset[str]:
        found = self._found.get(sentence)
        if found is None:
            found = frozenset()
            if self._pattern is not None:
                longest = {m.group(1) for m in self._pattern.finditer(sentence.casefold())}
                found = found.union(*(self._prefixes_of(w) for w in longest))
            self._found[sentence] = found
        return found

    def _prefixes_of(self, word: str) -> frozenset[str]:
        if word not in self._prefixes:
            heads = (word[:n] for n in range(1, len(word) + 1))
            self._prefixes[word] = frozenset(h for h in heads if h in self._words)
        return self._prefixes[word]


def _trie_pattern(words: Iterable[str]) -> str:
    """An expression matching the longest of ``words`` that the text starts with.

    Shared beginnings are written once ('aanb(?:elactie|ellen|eveling)'), so that a place in
    the text is tested character by character rather than against each of the 2,000 keywords.
    A longer word is tried before the end of a shorter one, hence the longest match.
    """
    trie: dict[str, Any] = {}
    for word in words:
        node = trie
        for char in word:
            node = node.setdefault(char, {})
        node[""] = {}  # a word ends here

    def pattern(node: dict[str, Any]) -> str:
        branches = [re.escape(char) + pattern(child) for char, child in node.items() if char]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        return f"(?:{body})?" if "" in node else body

    return pattern(trie)


# -- selection -------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Candidate:
    unit: Unit
    coding: Selected
    centrality: float
    stretch: _Stretch
    group: str  # the setting (group, type, place) or else the document

    @property
    def relevance(self) -> float:
        return CENTRALITY_WEIGHT * self.centrality + (1 - CENTRALITY_WEIGHT) * self.coding.certainty

    @property
    def speaker(self) -> tuple[str, str]:
        return (self.unit.segment.document, self.unit.segment.speaker)


def most_representative(
    candidates: Sequence[_Candidate], similarity: _Similarities, n: int
) -> list[_Candidate]:
    """Maximal marginal relevance, with at most one quote per speaker.

    ``similarity.column(j)[i]`` is the cosine of candidates i and j; a second quote from the
    same document, or from another document of the same group, counts as more redundant.
    """
    import numpy as np

    chosen: list[int] = []
    speakers: set[tuple[str, str]] = set()
    # The redundancy of every candidate with one chosen quote is one column of numbers, each
    # summed in the order a single one was (cosine, then the document or group penalty), so
    # the values and hence the choices are those of candidate-by-candidate arithmetic.
    relevance = np.array([c.relevance for c in candidates], dtype=float)
    document = _numbered([c.unit.segment.document for c in candidates])
    group = _numbered([c.group for c in candidates])
    speaker = [c.speaker for c in candidates]
    worst = np.zeros(len(candidates))  # the highest redundancy with a chosen quote
    while len(chosen) < n:
        values = (MMR_LAMBDA * relevance - (1 - MMR_LAMBDA) * worst).tolist()
        best, best_value = None, 0.0
        for i, value in enumerate(values):
            if speaker[i] in speakers:
                continue
            if best is None or value > best_value + 1e-12:
                best, best_value = i, value
        if best is None:
            break
        chosen.append(best)
        speakers.add(speaker[best])
        same_doc = document == document[best]
        redundancy = (
            similarity.column(best)
            + np.where(same_doc, SAME_DOCUMENT_PENALTY, 0.0)
            + np.where(~same_doc & (group == group[best]), SAME_GROUP_PENALTY, 0.0)
        )
        worst = redundancy if len(chosen) == 1 else np.maximum(worst, redundancy)
    return [candidates[i] for i in chosen]


def _numbered(values: Sequence[str]) -> Any:
    """The values as an array of numbers, equal where the values are equal."""
    import numpy as np

    numbers: dict[str, int] = {}
    return np.array([numbers.setdefault(v, len(numbers)) for v in values], dtype=np.int64)


def possible_names(project: Project) -> list[str]:
    """Speaker labels that may be names: not a convention (R3, Interviewer) nor the role."""
    from qualcode.ingest.labels import is_convention

    return sorted(
        {
            r["label"]
            for r in project.conn.execute("SELECT label, role FROM speakers")
            if not is_convention(r["label"])
            and (r["role"] or "").strip().casefold() != r["label"].strip().casefold()
        }
    )


def _scope(
    project: Project, codes: Sequence[ProjectCode], refs: Sequence[str]
) -> list[ProjectCode]:
    if not refs:
        return list(codes)
    wanted = {c.path for ref in refs for c in subtree(codes, find_code(project, codes, ref).path)}
    return [c for c in codes if c.path in wanted]


@gc_paused()
def select_quotes(
    project: Project,
    *,
    codes: Sequence[str] = (),
    per_code: int = PER_CODE,
    status: str = "accepted",
    coder: str | None = None,
    no_fillers: bool = False,
    min_words: int = MIN_WORDS,
    max_words: int = MAX_WORDS,
    loaded: Loaded | None = None,
) -> QuoteSelection:
    """Up to ``per_code`` quotes per code (and sub-codes) in codebook order; see the module.

    ``loaded``: the passages and codings of ``status`` and ``coder`` when already read."""
    check_status(status)
    if per_code < 1:
        raise QualcodeError(f"--per-code {per_code}: must be 1 or more")
    if not 1 <= min_words <= max_words:
        raise QualcodeError(f"word bounds {min_words}-{max_words}: the minimum must be 1 to max")
    all_codes = project_codes(project)
    refs = [r for ref in codes for r in ref.split(",") if r.strip()]
    scope = _scope(project, all_codes, refs)
    if loaded is None or not loaded.fits(status, coder):
        loaded = Loaded.of(project, status, coder)
    units = {u.segment.id: u for u in loaded.units}
    selected = {sid: found for sid, found in loaded.selected.items() if sid in units}
    if not selected:
        raise nothing_selected(project, status, coder)
    per_code_coded = _coded_per_code(scope, selected)
    if not per_code_coded:
        raise nothing_selected(project, status, coder, ", ".join(refs))
    wanted = {sid for found in per_code_coded.values() for sid in found}
    passages = _Passages.of(project, units, wanted, _KeywordIndex(all_codes))
    names = possible_names(project)
    result = QuoteSelection([], status, coder, per_code, no_fillers, min_words, max_words)
    for code in scope:
        coded = per_code_coded.get(code.path)
        if not coded:
            result.skipped.append(code.path)
            continue
        chosen, too_short = _quotes_for(
            code, subtree(all_codes, code.path), coded, passages, result
        )
        quotes = tuple(_quote(code, c, names) for c in chosen)
        result.codes.append(
            CodeQuotes(
                code.path, code.label, code.definition, code.depth, quotes, len(coded), too_short
            )
        )
    if not result.quotes:
        raise QualcodeError(
            f"no passage of {min_words} to {max_words} words among the coded passages",
            "the coded passages are very short; check them with 'qualcode segments'",
        )
    return result


def _coded_per_code(
    scope: Sequence[ProjectCode], selected: Mapping[int, Mapping[str, Selected]]
) -> dict[str, dict[int, Selected]]:
    """Code path → {segment id: the surest coding with the code or one of its sub-codes}.

    Each coding is handed to its own code and the codes above it, instead of testing every
    code of the scope against every coded passage.
    """
    wanted = {c.path for c in scope}
    out: dict[str, dict[int, Selected]] = {}
    for sid, found in selected.items():
        hits: dict[str, list[Selected]] = {}
        for path, coding in found.items():
            parts = path.split("/")
            for n in range(len(parts), 0, -1):
                if (above := "/".join(parts[:n])) in wanted:
                    hits.setdefault(above, []).append(coding)
        for path, codings in hits.items():
            # the first of equally sure codings, in the order they were found, as before
            best = max(codings, key=lambda s: (s.certainty, s.status))
            out.setdefault(path, {})[sid] = best
    return out


@dataclass(frozen=True)
class _Passages:
    """The coded passages as every code of one selection uses them, made once."""

    units: Mapping[int, Unit]
    space: _Space
    keyword_rows: dict[str, Any]  # keyword -> rows of space.sentence_vectors containing it
    groups: dict[int, str]  # segment id -> setting (group, type, place) or else the document

    @classmethod
    def of(
        cls, project: Project, units: Mapping[int, Unit], wanted: set[int], index: _KeywordIndex
    ) -> _Passages:
        import numpy as np

        listed = list(units.values())
        space = _build_space(listed, _stored_tokens(project, listed), wanted)
        rows: dict[str, list[int]] = {}
        for sid, (first, _) in space.sentence_rows.items():
            for row, sentence in enumerate(space.sentences[sid], start=first):
                for keyword in index.keywords_in(sentence):
                    rows.setdefault(keyword, []).append(row)
        groups = {
            sid: setting_of(units[sid].doc_attributes) or units[sid].segment.document
            for sid in wanted
        }
        return cls(units, space, {k: np.array(r) for k, r in rows.items()}, groups)

    def sentence_relevance(self, centroid: Any, keywords: set[str]) -> Any:
        """Every sentence's cosine with ``centroid``, plus ``KEYWORD_BONUS`` where it contains
        one of ``keywords``."""
        import numpy as np

        relevance = self.space.sentence_vectors @ centroid
        found = [self.keyword_rows[k] for k in keywords if k in self.keyword_rows]
        if found:
            hit = np.zeros(len(relevance), dtype=bool)
            hit[np.concatenate(found)] = True
            relevance[hit] += KEYWORD_BONUS
        return relevance


def _quotes_for(
    code: ProjectCode,
    family: Sequence[ProjectCode],
    coded: Mapping[int, Selected],
    passages: _Passages,
    settings: QuoteSelection,
) -> tuple[list[_Candidate], int]:
    units, space = passages.units, passages.space
    ids = sorted(coded, key=lambda i: (units[i].segment.document, units[i].segment.order))
    centroid = space.centroid(ids)
    centrality = space.vectors @ centroid
    sentence_relevance = passages.sentence_relevance(centroid, _keywords_of(family))
    candidates = []
    for sid in ids:
        first, end = space.sentence_rows[sid]
        stretch = _choose_stretch(
            space.sentences[sid],
            sentence_relevance[first:end].tolist(),
            min_words=settings.min_words,
            max_words=settings.max_words,
            no_fillers=settings.no_fillers,
        )
        if stretch is not None:
            score = float(centrality[space.row[sid]])
            candidates.append(
                _Candidate(units[sid], coded[sid], score, stretch, passages.groups[sid])
            )
    similarity = space.similarities([c.unit.segment.id for c in candidates])
    chosen = most_representative(candidates, similarity, settings.per_code)
    return chosen, len(ids) - len(candidates)


def _quote(code: ProjectCode, cand: _Candidate, names: Sequence[str]) -> Quote:
    seg = cand.unit.segment
    trimmed = cand.stretch.trimmed()
    return Quote(
        code=code.path,
        label=code.label,
        text=trimmed.text,
        attribution=attribution(
            role=seg.role,
            label=seg.speaker,
            document=seg.document,
            doc_attributes=cand.unit.doc_attributes,
            names=names,
        ),
        document=seg.document,
        segment_key=seg.key,
        segment_id=seg.id,
        score=round(cand.coding.certainty, 3),
        status=cand.coding.status,
        centrality=round(cand.centrality, 3),
        words=trimmed.words,
    )


# -- writing ---------------------------------------------------------------------------------

TITLE = "Citaten per code"
NOTE_TITLE = "Hoe deze citaten zijn gekozen."
XLSX_COLUMNS = [
    "code", "label", "quote", "attribution", "document", "segment", "score", "status",
    "centrality",
]  # fmt: skip


def _level(selection: QuoteSelection, code: CodeQuotes) -> int:
    """Heading level of a code: 1 for the top-most code of its branch in the selection."""
    present = {c.code for c in selection.codes}
    parts = code.code.split("/")
    root = next(n for n in range(1, len(parts) + 1) if "/".join(parts[:n]) in present)
    return len(parts) - root + 1


def _without_quotes(code: CodeQuotes, selection: QuoteSelection) -> str:
    return (
        f"Geen citaat: de {code.coded} gecodeerde passage(s) hebben geen stuk van "
        f"{selection.min_words} tot {selection.max_words} woorden."
    )


def quotes_markdown(selection: QuoteSelection) -> str:
    lines = [f"# {TITLE}", "", f"*{NOTE_TITLE}* {selection.method_note()}", ""]
    for code in selection.codes:
        lines += [f"{'#' * min(_level(selection, code) + 1, 6)} {code.label}", ""]
        if code.definition:
            lines += [code.definition, ""]
        if not code.quotes:
            lines += [f"*{_without_quotes(code, selection)}*", ""]
        for quote in code.quotes:
            lines += [f"> {quote.text}", "", f"— {quote.attribution}", ""]
    return "\n".join(lines).rstrip() + "\n"


def _write_docx(selection: QuoteSelection, target: Path) -> None:
    import docx
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Pt

    document = docx.Document()
    document.core_properties.title = TITLE
    document.add_heading(TITLE, level=0)
    note = document.add_paragraph()
    note.add_run(NOTE_TITLE + " ").bold = True
    note.add_run(selection.method_note())
    for code in selection.codes:
        document.add_heading(code.label, level=min(_level(selection, code), 9))
        if code.definition:
            document.add_paragraph(code.definition)
        if not code.quotes:
            document.add_paragraph().add_run(_without_quotes(code, selection)).italic = True
        for quote in code.quotes:
            document.add_paragraph(quote.text, style="Quote")
            credit = document.add_paragraph(f"— {quote.attribution}")
            credit.alignment = WD_ALIGN_PARAGRAPH.RIGHT
            credit.paragraph_format.space_after = Pt(12)
    tmp = target.with_name(target.name + ".tmp")
    document.save(str(tmp))
    tmp.replace(target)


def _write_xlsx(selection: QuoteSelection, target: Path) -> None:
    from qualcode.export.tables import save_workbook, write_xlsx

    rows = [
        {
            "code": q.code,
            "label": q.label,
            "quote": q.text,
            "attribution": q.attribution,
            "document": q.document,
            "segment": q.segment_key,
            "score": q.score,
            "status": q.status,
            "centrality": q.centrality,
        }
        for q in selection.quotes
    ]
    book = write_xlsx(
        target,
        [
            ("quotes", XLSX_COLUMNS, rows),
            ("toelichting", ["toelichting"], [{"toelichting": selection.method_note()}]),
        ],
        widths={
            "code": 34,
            "label": 28,
            "quote": 90,
            "attribution": 36,
            "document": 30,
            "segment": 30,
            "toelichting": 110,
        },
        wrap=("quote", "attribution", "label", "toelichting"),
        streaming=True,
    )
    save_workbook(book, target)


def write_quotes(selection: QuoteSelection, path: str | Path) -> Path:
    """Write the selection as ``.docx`` (Word styles), ``.md`` or ``.xlsx``."""
    target = output_path(path, QUOTE_SUFFIXES)
    suffix = target.suffix.lower()
    try:
        if suffix == ".docx":
            _write_docx(selection, target)
        elif suffix == ".md":
            tmp = target.with_name(target.name + ".tmp")
            tmp.write_text(quotes_markdown(selection), encoding="utf-8")
            tmp.replace(target)
        else:
            _write_xlsx(selection, target)
    except OSError as exc:
        raise unwritable(target, exc) from exc
    return target


def export_quotes(
    project: Project,
    path: str | Path,
    *,
    codes: Sequence[str] = (),
    per_code: int = PER_CODE,
    status: str = "accepted",
    coder: str | None = None,
    no_fillers: bool = False,
) -> tuple[QuoteSelection, Path]:
    """Select and write in one call (what ``qualcode export quotes`` does)."""
    output_path(path, QUOTE_SUFFIXES)
    selection = select_quotes(
        project, codes=codes, per_code=per_code, status=status, coder=coder, no_fillers=no_fillers
    )
    return selection, write_quotes(selection, path)
