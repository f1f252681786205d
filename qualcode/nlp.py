"""The Dutch spaCy pipeline and the token/lemma cache of every segment.

``nl_core_news_sm`` (or the model the project settings name) is used when it is installed;
otherwise an offline pipeline is built from spaCy's own Dutch language data: tokenizer,
sentencizer and the lookup lemmatizer of ``spacy-lookups-data``, its table completed with the
forms of spaCy's Dutch exception lists and the regular forms of its verbs (``add_inflections``).
Either pipeline's tokenizer lets a full stop after an everyday word end the sentence
(``split_word_abbreviations``). Nothing is downloaded.

Tokens are computed once per segment and stored in ``segment_nlp`` (offsets relative to the
segment, lower-case form, lemma, flags), so re-scoring after a codebook change never re-runs
spaCy. A stored token list can be turned back into a ``Doc`` without running the pipeline.
"""

from __future__ import annotations

import bisect
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from qualcode.errors import QualcodeError
from qualcode.text import annotation_spans

if TYPE_CHECKING:
    from spacy.language import Language
    from spacy.tokens import Doc

    from qualcode.store import Project

FLAG_SENT_START = 1
FLAG_PUNCT = 2
FLAG_ANNOTATION = 4
FLAG_SPACE_AFTER = 8
FLAG_STOP = 16


@dataclass(frozen=True)
class Pipeline:
    nlp: Language
    name: str
    description: str
    fallback: bool


class Token(NamedTuple):
    """One stored token. A named tuple, not a dataclass: a large study decodes millions of
    them on every ``suggest``, and a tuple is built in a third of the time and memory."""

    start: int  # offset in the segment text
    end: int
    lower: str
    lemma: str
    flags: int

    @property
    def sent_start(self) -> bool:
        return bool(self.flags & FLAG_SENT_START)

    @property
    def is_punct(self) -> bool:
        return bool(self.flags & FLAG_PUNCT)

    @property
    def is_annotation(self) -> bool:
        return bool(self.flags & FLAG_ANNOTATION)

    @property
    def is_stop(self) -> bool:
        return bool(self.flags & FLAG_STOP)


def import_spacy() -> Any:
    """``import spacy``, without letting it import torch.

    spaCy's thinc imports torch whenever it is installed (it is, for BERTopic), which costs
    about 2.5 s and 185 MB on every command that loads spaCy, although the Dutch pipelines
    qualcode uses never run a torch layer. Torch stays importable afterwards: topics and
    sentence-transformers import it themselves. Set ``QUALCODE_SPACY_TORCH=1`` for a custom
    pipeline that does need torch.
    """
    import os
    import sys

    if "spacy" in sys.modules or "torch" in sys.modules or os.environ.get("QUALCODE_SPACY_TORCH"):
        import spacy

        return spacy
    sys.modules["torch"] = None  # type: ignore[assignment]  # makes 'import torch' fail fast
    try:
        import spacy
    finally:
        del sys.modules["torch"]
    return spacy


@dataclass(frozen=True)
class PipelineInfo:
    """Which pipeline a model setting gives, known without loading spaCy (a re-run that finds
    everything stored needs the name only, to know its stored tokens are still right)."""

    name: str
    description: str
    fallback: bool


def _model_meta(model: str) -> dict[str, Any] | None:
    """``meta.json`` of an installed spaCy package or a model folder; None when absent."""
    import importlib.util

    folder = Path(model)
    if not folder.is_dir():
        try:
            spec = importlib.util.find_spec(model)
        except (ImportError, ValueError):
            spec = None
        if spec is None or not spec.submodule_search_locations:
            return None
        folder = Path(next(iter(spec.submodule_search_locations)))
    try:
        return json.loads((folder / "meta.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


@lru_cache(maxsize=4)
def pipeline_info(model: str | None = "nl_core_news_sm") -> PipelineInfo:
    from importlib.metadata import version as installed

    meta = _model_meta(model) if model else None
    if meta is None and model and Path(model).is_dir():
        raise QualcodeError(
            f"spacy_model '{model}' is a folder without a readable meta.json, not a spaCy model",
            "give the folder a spaCy model was saved to (nlp.to_disk), or remove spacy_model "
            "from settings.yaml to use the offline Dutch pipeline",
        )
    if meta is not None:
        version = meta.get("version", "?")
        name = f"{meta.get('lang', 'nl')}_{meta.get('name', model)}-{version}+tok{TOKENIZER_RULES}"
        return PipelineInfo(name, f"spaCy model {model} {version}", fallback=False)
    spacy_version = installed("spacy")
    missing = f"{model} is not installed; " if model else ""
    return PipelineInfo(
        f"blank-nl+lookup+exc{LEMMA_RULES}-{spacy_version}",
        f"offline Dutch pipeline ({missing}spaCy {spacy_version} tokenizer, sentencizer "
        "and lookup lemmatizer)",
        fallback=True,
    )


@lru_cache(maxsize=4)
def load_pipeline(model: str | None = "nl_core_news_sm") -> Pipeline:
    """The configured Dutch model if installed, else the offline fallback (cached)."""
    spacy = import_spacy()
    info = pipeline_info(model)
    if model and not info.fallback:
        try:
            nlp = spacy.load(
                model, exclude=["ner", "parser"] if model.startswith("nl_core") else []
            )
        except (OSError, ValueError, KeyError) as exc:  # spaCy's errors for a broken model
            message = " ".join(str(exc).split())[:200]
            raise QualcodeError(
                f"cannot load the spaCy model '{model}': {message}",
                "reinstall the model, or remove spacy_model from settings.yaml to use the "
                "offline Dutch pipeline",
            ) from exc
        if "senter" in nlp.component_names and "senter" in nlp.disabled:
            nlp.enable_pipe("senter")
        if not any(nlp.has_pipe(name) for name in ("parser", "senter", "sentencizer")):
            nlp.add_pipe("sentencizer")
    else:
        nlp = spacy.blank("nl")
        nlp.add_pipe("sentencizer")
        nlp.add_pipe("lemmatizer", config={"mode": "lookup"})
        nlp.initialize()
        add_inflections(nlp.get_pipe("lemmatizer").lookups.get_table("lemma_lookup"), nlp)
    pipeline = Pipeline(nlp, info.name, info.description, info.fallback)
    split_word_abbreviations(nlp, dutch_vocabulary(pipeline))
    return pipeline


# Stored tokens are kept per pipeline name. An installed model's name holds this number, the
# offline pipeline's holds LEMMA_RULES (below): when split_word_abbreviations changes, raise both.
TOKENIZER_RULES = 1
# Abbreviations that are written before a name or in the middle of a sentence far more often
# than their word ends one: they keep their full stop.
_TITLES = frozenset({"mevr", "mr", "ms", "prof", "ing", "bv", "cf", "no", "pr", "dr", "drs", "ir"})


def split_word_abbreviations(nlp: Language, words: frozenset[str]) -> int:
    """Let the full stop after an everyday word be a full stop. spaCy's Dutch tokenizer keeps
    abbreviations such as 'vol.', 'dat.', 'me.' and 'u.' in one piece, so at the end of a
    spoken sentence ('de agenda zat vol.', 'hij belde me.') the word was not found and the
    sentence ran on into the next. Initials ('J.') and titles keep their exception. Returns
    the number of exceptions dropped. ``words``: the Dutch words (:func:`dutch_vocabulary`)."""
    rules = nlp.tokenizer.rules
    drop = {
        key
        for key in rules
        if key.endswith(".")
        and key[:-1].isalpha()
        and (key[:-1].islower() or key[:-1].istitle())
        and (len(key) > 2 or key[:-1].lower() == "u")
        and key[:-1].lower() in words
        and key[:-1].lower() not in _TITLES
    }
    if drop:
        nlp.tokenizer.rules = {k: v for k, v in rules.items() if k not in drop}
    return len(drop)


# In the offline pipeline's name: raise it when add_inflections, _FORMS, weak_verb_forms or
# split_word_abbreviations change, so that projects tokenise again.
LEMMA_RULES = 3

# Forms the guesses below get wrong, found by reading the guessed lemmas of the sample corpus
# ('wist' is no form of the adjective 'wis') and of the codebook's keywords: participles that are
# adjectives in their own right keep their form, so that 'gespannen' does not meet 'spannen' and
# 'geïsoleerd' not 'het huis isoleren', and groups of people are no verbs ('verzorgenden').
_PEOPLE = (
    "verslaafde",
    "verzorgende",
    "gepensioneerde",
    "leidinggevende",
    "gedupeerde",
    "gehandicapte",
    "betrokkene",
    "gedetineerde",
)
_FORMS = {
    "wist": "weten",
    "wisten": "weten",
    "genoeg": "genoeg",
    "genomen": "nemen",  # not the plural of 'genoom'
    "gedachten": "gedachte",  # not a form of 'gedenken'
    "'s": "'s",  # 's morgens, 's avonds: not 'zijn'
    # past forms of verbs that are stop words, in expressions such as 'zat thuis', 'stond er
    # alleen voor' and 'werd ontslagen'
    "zat": "zitten",
    "stond": "staan",
    "werd": "worden",
    "werden": "worden",
    "was": "zijn",
    "moest": "moeten",
    "wilde": "willen",
    **{form: form for form in ("gespannen", "overvallen", "verslagen", "betrokken")},
    **{
        form + ending: form
        for form in ("geïsoleerd", "gedeprimeerd", "gedesoriënteerd", "gepensioneerd")
        for ending in ("", "e")
    },
    **{form + "n": form for form in _PEOPLE},
}


def add_inflections(table: Any, nlp: Language) -> int:
    """Add the irregular and inflected forms of spaCy's Dutch exception lists to the lookup
    table: the lookup table alone leaves most forms as they are ('gedaan', 'kwam', 'mensen',
    'afspraken'), so a keyword 'boodschappen doen voor' never met 'boodschappen gedaan voor'.

    Without part-of-speech tags a form can only be guessed, so the guesses are careful:

    - a stop word keeps its form, and so does a word that is a noun or a verb in its own right
      ('week' is no form of 'wijken', 'bellen' no plural of 'bel');
    - an adjective in its own right ('echt', 'genoeg') is read as a form of another word only
      when it is a participle ('gedaan' → 'doen');
    - a form of both a noun and a verb is read as the noun ('afspraken' → 'afspraak'), unless
      the noun would be the form minus its plural -n ('zaten' → 'zitten', not 'zate');
    - an adjective plus -s ('langs', 'straks') keeps its form.

    Returns the number of forms added."""
    exceptions, index = _dutch_table("lemma_exc"), _dutch_table("lemma_index")
    strings = nlp.vocab.strings
    words = {pos: set(index.get(strings.add(pos), ())) for pos in ("noun", "verb", "adj")}
    readings = {pos: dict(exceptions.get(strings.add(pos), {})) for pos in ("noun", "adj", "verb")}
    stop = nlp.Defaults.stop_words
    own = words["noun"] | words["verb"]
    added = 0
    for form in sorted(set().union(*readings.values())):
        if form in stop or form in own or form in table:
            continue
        if form in words["adj"] and not form.startswith("ge"):
            continue
        lemma = _guess(form, {pos: r[form][0] for pos, r in readings.items() if r.get(form)})
        if lemma:
            table.set(form, lemma)
            added += 1
    for form, lemma in weak_verb_forms(words["verb"]).items():
        if form in stop or form in own or form in table:
            continue
        if form in words["adj"] and not _PAST.match(form):
            continue  # 'overbelast', 'verlicht', 'gebruikt' are adjectives in their own right
        table.set(form, lemma)
        added += 1
    for form, lemma in _FORMS.items():
        table.set(form, lemma)
    return added + len(_FORMS)


_VOWELS = "aeiouy"
# A weak past form without the prefixes of participles: the lemma index lists a few such forms
# as adjectives ('maakte', 'werkte', 'zorgde'), wrongly.
_PAST = re.compile(r"^(?!be|ge|ver|ont|her|er|on)\w+(?:te|de)n?$")


def verb_stem(infinitive: str) -> str | None:
    """The stem of a regular Dutch verb ('maken' → 'maak', 'bellen' → 'bel', 'leven' → 'leef',
    'wandelen' → 'wandel'); None for infinitives that do not end in -en. Not the vowel rule of
    ``inflection.base_forms``: in verbs an ``i`` stays short ('beschadigen' → 'beschadig')."""
    if not infinitive.endswith("en") or len(infinitive) < 4 or infinitive[-3] in _VOWELS:
        return None  # also 'zien', 'doen': monosyllables whose forms are irregular
    stem = infinitive[:-2]
    if len(stem) >= 2 and stem[-1] == stem[-2] and stem[-1] not in _VOWELS:
        stem = stem[:-1]  # bellen → bel
    elif (
        len(stem) >= 3
        and stem[-1] not in _VOWELS
        and stem[-2] in "aeou"
        and stem[-3] not in _VOWELS
        and not (stem[-2] == "e" and stem[-1] in "lmnr" and _vowel_groups(stem) > 1)
    ):
        stem = stem[:-1] + stem[-2] + stem[-1]  # maken → maak, but wandelen → wandel
    return stem[:-1] + {"v": "f", "z": "s"}.get(stem[-1], stem[-1])


def _vowel_groups(word: str) -> int:
    return sum(c in _VOWELS and (i == 0 or word[i - 1] not in _VOWELS) for i, c in enumerate(word))


def weak_verb_forms(verbs: Iterable[str]) -> dict[str, str]:
    """The present third person and the weak past forms of ``verbs``: 'werkt', 'werkte' and
    'werkten' → 'werken' ('t kofschip: -te after a voiceless consonant of the infinitive, else
    -de). Strong verbs get a wrong past this way ('lopen' → 'loopte'), which is harmless: such a
    form does not occur, and their real forms come from spaCy's exception list."""
    out: dict[str, str] = {}
    # shortest first, so that a form two verbs share goes to the current spelling ('speelde':
    # 'spelen', not the old 'speelen'); sorted, so that the lemmas never depend on set order
    for verb in sorted(verbs, key=lambda v: (len(v), v)):
        if not verb.isalpha() or not verb.islower():
            continue
        stem = verb_stem(verb)
        if stem is None or len(stem) < 2:
            continue
        past = "te" if verb[-3] in "tkfsxp" or verb[:-2].endswith("ch") else "de"
        forms = [stem if stem.endswith("t") else stem + "t", stem + past, stem + past + "n"]
        for form in forms:
            out.setdefault(form, verb)
    return out


@lru_cache(maxsize=4)
def _dutch_table(name: str) -> Any:
    """One of spacy-lookups-data's Dutch tables, read once per process (the lemma index is used
    both to complete the lemmas and to know the words compounds are made of)."""
    from spacy.lookups import load_lookups

    return load_lookups("nl", [name]).get_table(name)


def _guess(form: str, lemmas: dict[str, str]) -> str | None:
    if "noun" in lemmas and "verb" in lemmas and lemmas["noun"] == form[:-1]:
        return lemmas["verb"]
    if lemmas.get("adj") == form[:-1] and form.endswith("s"):
        del lemmas["adj"]  # 'iets moois' is rare; 'langs' and 'straks' are adverbs
    return lemmas.get("noun") or lemmas.get("adj") or lemmas.get("verb")


_TOKEN_ATTRS = ["IDX", "LENGTH", "IS_SPACE", "IS_PUNCT", "IS_STOP", "SENT_START", "SPACY", "LEMMA"]


def tokens_of(doc: Doc) -> list[Token]:
    # doc.to_array reads every attribute in one call: iterating spaCy Token objects costs more
    # than the tokenizer itself
    text = doc.text
    spans = annotation_spans(text)
    span_starts = [a for a, _ in spans]
    strings = doc.vocab.strings
    out = []
    for idx, length, space, punct, stop, sent, after, lemma_id in doc.to_array(
        _TOKEN_ATTRS
    ).tolist():
        if space:
            continue
        flags = FLAG_SENT_START if sent == 1 else 0
        if punct:
            flags |= FLAG_PUNCT
        if after:
            flags |= FLAG_SPACE_AFTER
        if stop:
            flags |= FLAG_STOP
        if spans:
            k = bisect.bisect_right(span_starts, idx) - 1
            if k >= 0 and idx < spans[k][1]:
                flags |= FLAG_ANNOTATION
        lower = text[idx : idx + length].lower()
        lemma = strings[lemma_id].lower() if lemma_id else ""
        out.append(Token(idx, idx + length, lower, lemma or lower, flags))
    return out


def encode_tokens(tokens: Sequence[Token]) -> str:
    # lemma is omitted when it equals the lower-case form, which keeps the cache small
    return json.dumps(
        [[t.start, t.end, t.flags] + ([t.lemma] if t.lemma != t.lower else []) for t in tokens],
        ensure_ascii=False,
        separators=(",", ":"),
    )


# what decoding a damaged ``segment_nlp.tokens`` value raises (bad JSON, wrong shapes)
DAMAGED_TOKENS = (ValueError, TypeError, IndexError, KeyError)


def token_items(data: str) -> list[Any]:
    """The stored form that :func:`encode_tokens` wrote: per token ``[start, end, flags]``,
    and its lemma as a fourth item when it is not the lower-case form. Raises one of
    ``DAMAGED_TOKENS`` when the value is not such a list."""
    items = json.loads(data)
    if not isinstance(items, list):
        raise TypeError("stored tokens are not a list")
    return items


def decoded_or_none(data: str, text: str) -> list[Token] | None:
    """:func:`decode_tokens`, or None when the stored value is damaged: tokens are derived
    data, so callers compute them again (or do without) instead of failing."""
    try:
        return decode_tokens(data, text)
    except DAMAGED_TOKENS:
        return None


def decode_tokens(data: str, text: str) -> list[Token]:
    items = token_items(data)
    out = []
    append = out.append
    for item in items:
        start, end, flags = item[0], item[1], item[2]
        lower = text[start:end].lower()
        append(Token(start, end, lower, item[3] if len(item) > 3 else lower, flags))
    return out


def lemmatise_phrase(pipeline: Pipeline, phrase: str) -> tuple[str, ...]:
    """Lemmas of a keyword phrase, the same way segment text is lemmatised."""
    return lemmatise_phrases(pipeline, [phrase])[0]


def lemmatise_phrases(pipeline: Pipeline, phrases: Sequence[str]) -> list[tuple[str, ...]]:
    """:func:`lemmatise_phrase` for many phrases in one ``nlp.pipe`` (a codebook has thousands
    of keywords; one pipeline call each cost most of the time of reading them)."""
    return [
        tuple(t.lemma for t in tokens_of(doc) if not t.is_punct)
        for doc in pipeline.nlp.pipe(phrases)
    ]


def to_doc(vocab: Any, text: str, tokens: Sequence[Token]) -> Doc:
    """Rebuild a spaCy Doc (with lemmas and sentence starts) from stored tokens."""
    from spacy.tokens import Doc

    words = [text[t.start : t.end] for t in tokens]
    spaces = [bool(t.flags & FLAG_SPACE_AFTER) for t in tokens]
    starts = [bool(t.flags & FLAG_SENT_START) or i == 0 for i, t in enumerate(tokens)]
    return Doc(
        vocab, words=words, spaces=spaces, lemmas=[t.lemma for t in tokens], sent_starts=starts
    )


def annotate_segments(
    project: Project,
    pipeline: Pipeline,
    *,
    batch_size: int = 256,
    n_process: int = 1,
    progress: Any = None,
) -> int:
    """Tokenise and lemmatise every coded unit that has no tokens from this pipeline yet.

    Interviewer turns and annotation-only passages are never scored, so they are skipped;
    a speaker later marked as not an interviewer gets tokens on the next run.

    Returns the number of segments processed. Written in batches, one transaction each, so an
    interrupted run keeps what it finished and never leaves a half-written batch.
    """
    conn = project.conn
    todo = conn.execute(
        """
        SELECT s.id, substr(d.text, s.start + 1, s.end - s.start) AS text
        FROM segments s JOIN documents d ON d.id = s.document_id
        JOIN turns t ON t.id = s.turn_id JOIN speakers sp ON sp.id = t.speaker_id
        LEFT JOIN segment_nlp n ON n.segment_id = s.id AND n.pipeline = ?
        WHERE n.segment_id IS NULL AND s.has_words = 1 AND sp.is_interviewer = 0
        ORDER BY s.id
        """,
        (pipeline.name,),
    ).fetchall()
    if not todo:
        return 0
    ids = [r["id"] for r in todo]
    texts = [r["text"] for r in todo]
    rows: list[tuple[int, str, str]] = []
    done = 0
    for seg_id, doc in zip(
        ids, pipeline.nlp.pipe(texts, batch_size=batch_size, n_process=n_process), strict=True
    ):
        rows.append((seg_id, pipeline.name, encode_tokens(tokens_of(doc))))
        if len(rows) >= 2000:
            done += _write(project, rows)
            if progress:
                progress(done, len(ids))
            rows = []
    done += _write(project, rows)
    if progress:
        progress(done, len(ids))
    return done


def _write(project: Project, rows: Iterable[tuple[int, str, str]]) -> int:
    rows = list(rows)
    with project.transaction() as conn:
        store_tokens(conn, rows)
    return len(rows)


def store_tokens(conn: Any, rows: Sequence[tuple[int, str, str]]) -> None:
    """(segment id, pipeline name, encoded tokens) into ``segment_nlp``, inside the caller's
    transaction."""
    conn.executemany(
        "INSERT OR REPLACE INTO segment_nlp (segment_id, pipeline, tokens) VALUES (?, ?, ?)", rows
    )


_VOCABULARY: frozenset[str] | None = None


def dutch_vocabulary(pipeline: Pipeline | None = None) -> frozenset[str]:
    """Known Dutch words (spacy-lookups-data: lemma index and lookup lemmas), used to check
    that both parts of a compound are words. Computed once per process; the lookup table of
    the offline pipeline is reused when it is given, so it is not read from disk twice."""
    global _VOCABULARY
    if _VOCABULARY is not None:
        return _VOCABULARY
    import_spacy()

    table = None
    if pipeline is not None and pipeline.nlp.has_pipe("lemmatizer"):
        lookups = pipeline.nlp.get_pipe("lemmatizer").lookups
        if lookups.has_table("lemma_lookup"):
            table = lookups.get_table("lemma_lookup")
    if table is None:
        table = _dutch_table("lemma_lookup")
    words = {v for v in table.values() if isinstance(v, str)}
    index = _dutch_table("lemma_index")
    for pos in ("noun", "verb", "adj", "adv"):
        if pos in index:
            words.update(index[pos])
    _VOCABULARY = frozenset(w.lower() for w in words if w.isalpha())
    return _VOCABULARY
