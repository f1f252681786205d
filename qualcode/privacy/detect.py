"""Finding identifiers in Dutch text: deduce, patterns for what deduce misses, known terms.

Three sources, combined per passage:

- ``deduce`` (Dutch de-identification, offline): person names, places, streets and house
  numbers, postcodes, health-care institutions, dates, ages, BSN, phone numbers, e-mail
  addresses, URLs. Its lookup tables take a minute or two to build the first time and about
  fifteen seconds to load after that, so one instance is loaded per process, lazily.
- patterns for what deduce misses: IBAN, international and spaced phone numbers, ages
  (``16-jarige``, ``zoon van 12``), birth years, dotted BSNs, bare web addresses, and
  organisation names after a word such as ``stichting``, ``buurthuis`` or ``basisschool``.
- known terms (:class:`TermMatcher`): every name already known from the key, the speaker
  labels, the metadata, the deny-list and the other passages, found wherever it occurs.

A detected span is trimmed to the identifier itself (``mevrouw de Jong`` → ``de Jong``).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from qualcode.privacy.lists import Wordlists
from qualcode.privacy.names import (
    PARTICLES,
    PSEUDONYM_RE,
    WORD_RE,
    is_capitalised,
    normalise_name,
    trim_person_span,
)

# Categories whose values are names of things (compared by their written form); the others
# are numbers and addresses compared by their characters only.
NAME_CATEGORIES = frozenset({"PERSOON", "SPREKER", "LOCATIE", "ORGANISATIE", "OVERIG", "ADRES"})

_DEDUCE_TAGS = {
    "persoon": "PERSOON",
    "locatie": "LOCATIE",
    "ziekenhuis": "ORGANISATIE",
    "zorginstelling": "ORGANISATIE",
    "telefoonnummer": "TELEFOONNUMMER",
    "emailadres": "EMAILADRES",
    "url": "URL",
    "datum": "DATUM",
    "leeftijd": "LEEFTIJD",
    "bsn": "BSN",
    "id": "NUMMER",
}
# Rank when two findings cover the same span: a known term beats a pattern beats deduce.
RANK = {"known": 0, "pattern": 1, "deduce": 2}


@dataclass(frozen=True)
class Finding:
    start: int
    end: int
    text: str
    category: str
    source: str  # 'deduce', 'pattern' or 'known'


# -- known Dutch words ---------------------------------------------------------------------

_WORDS: frozenset[str] | None = None
# Spoken words the written-language tables lack.
_SPOKEN_WORDS = {"niks", "nou", "oké", "oke", "tja", "joh", "hè", "hoor", "ehm", "uhm", "jawel"}


def dutch_words() -> frozenset[str]:
    """Known Dutch words in lower case: every lemma and inflected form in spaCy's Dutch lookup
    tables (lookup, exceptions and index of spacy-lookups-data) and the stop words, so that a
    capitalised ordinary word ('Jongens', 'Volgens', 'Mooi') is not taken for a name."""
    global _WORDS
    if _WORDS is None:
        import gzip
        import json
        from importlib.resources import files

        from qualcode.nlp import import_spacy

        import_spacy()
        from spacy.lang.nl.stop_words import STOP_WORDS

        from qualcode.nlp import dutch_vocabulary

        data = files("spacy_lookups_data") / "data"
        words: set[str] = set(STOP_WORDS) | _SPOKEN_WORDS
        lookup = json.loads(gzip.decompress((data / "nl_lemma_lookup.json.gz").read_bytes()))
        words.update(lookup)
        words.update(v for v in lookup.values() if isinstance(v, str))
        exceptions = json.loads(gzip.decompress((data / "nl_lemma_exc.json.gz").read_bytes()))
        for table in exceptions.values():
            for form, lemmas in table.items():
                words.add(form)
                words.update(lemmas)
        index = json.loads(gzip.decompress((data / "nl_lemma_index.json.gz").read_bytes()))
        for forms in index.values():
            words.update(forms)
        _WORDS = dutch_vocabulary() | frozenset(w.casefold() for w in words if w.isalpha())
    return _WORDS


# -- deduce, loaded once per process -------------------------------------------------------

_DEDUCE: Any = None


def deduce_cache_exists() -> bool:
    from importlib.util import find_spec
    from pathlib import Path

    spec = find_spec("deduce")
    if spec is None or spec.origin is None:
        return False
    return (Path(spec.origin).parent / "data/lookup/cache/lookup_structs.pickle").exists()


def load_deduce(notify: Callable[[str], None] | None = None) -> Any:
    """The shared ``deduce.Deduce`` instance (built on first use)."""
    global _DEDUCE
    if _DEDUCE is not None:
        return _DEDUCE
    if notify:
        notify(
            "Loading the Dutch de-identification tables (deduce): about 15 seconds"
            if deduce_cache_exists()
            else "Building the Dutch de-identification tables (deduce): the first time this "
            "takes one or two minutes"
        )
    # deduce configures the root logger (DEBUG, to stdout) when imported; undo that so its
    # messages do not end up in a CSV written to stdout.
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        import deduce

        _DEDUCE = deduce.Deduce()
    finally:
        for handler in root.handlers[:]:
            if handler not in handlers:
                root.removeHandler(handler)
        root.setLevel(level)
    return _DEDUCE


# -- patterns for what deduce misses ------------------------------------------------------

_SEP = r"(?:\s?-\s?|\s|\.)?"
_NAME_WORD = r"[A-ZÀ-Þ][\w'’&\-]*"
_CONNECT = r"(?:van|de|der|den|het|voor|en|op|aan|in|'t|’t)"
_ORG_NAME = rf"(?:(?:De|Het|Den|'t|’t)\s+)?{_NAME_WORD}(?:\s+(?:{_CONNECT}\s+)*{_NAME_WORD})*"
_ORG_TYPES = (
    "stichting|vereniging|woningcorporatie|corporatie|woningbouwvereniging|basisschool|"
    "school|scholengemeenschap|college|lyceum|buurthuis|wijkcentrum|wijkgebouw|buurtcentrum|"
    "dorpshuis|gemeenschapshuis|jongerencentrum|inloophuis|speeltuin|sportclub|voetbalclub|"
    "sportvereniging|kerk|moskee|synagoge|parochie|zorgcentrum|verpleeghuis|verzorgingshuis|"
    "woonzorgcentrum|zorgboerderij|huisartsenpraktijk|gezondheidscentrum|kinderdagverblijf|"
    "daklozenopvang|voedselbank|kledingbank|bibliotheek|theater|café|restaurant|supermarkt|"
    "bedrijf|firma|winkel|wooncomplex|flat|camping"
)
# Streets and neighbourhoods deduce does not know: a capitalised compound with a street or
# neighbourhood ending, with an optional house number ('Pretorialaan 12', 'Schilderswijk').
_PLACE_NAME = (
    r"[A-ZÀ-Þ][a-zà-ÿ'’]+(?:straat|laan|weg|plein|pleintje|gracht|kade|singel|dijk|dreef|steeg|"
    r"hof|markt|wijk|buurt|kwartier|polder|park)(?:\s+\d{1,4}(?:\s?[a-zA-Z])?(?![\w]))?"
)
ORG_WORDS = frozenset(_ORG_TYPES.split("|"))
_AGE_SUBJECT = (
    r"ik ben|hij is|zij is|ze is|ik was|hij was|zij was|ze was|ik word|hij wordt|zij wordt|"
    r"ze wordt|ik werd|hij werd|zij werd|ze werd"
)
_AGE_PERSON = (
    r"zoon|zoontje|dochter|dochtertje|kind|kindje|jongen|jongetje|meisje|meid|broer|zus|"
    r"broertje|zusje|kleinzoon|kleindochter|neef|nicht|man|vrouw|moeder|vader|oma|opa|tiener"
)

PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(p, flags), category)
    for p, flags, category in (
        (r"\b[A-Z]{2}\d{2}(?:\s?[A-Z0-9]{4}){2,7}(?:\s?[A-Z0-9]{1,3})?\b", 0, "IBAN"),
        (
            rf"(?<![\w+])(?:(?:\+|00)31{_SEP}(?:\(0\){_SEP})?[1-9](?:{_SEP}\d){{8}}"
            rf"|0[1-9](?:{_SEP}\d){{8}}|\+(?!31)\d{{2,3}}(?:{_SEP}\d){{7,11}})(?!\d)",
            0,
            "TELEFOONNUMMER",
        ),
        (r"(?<![\w.+\-])[\w.+\-]+@[\w\-]+(?:\.[\w\-]+)+", 0, "EMAILADRES"),
        (r"(?:https?://|www\.)[^\s<>\"”’)\]]+", re.IGNORECASE, "URL"),
        (
            r"(?<![@\w.\-/])(?:[a-z0-9][a-z0-9\-]+\.)+(?:nl|com|org|net|eu|be|info|nu)"
            r"(?:/[^\s<>\"”’)\]]*)?(?![\w])",
            0,
            "URL",
        ),
        (r"(?<![\w])[1-9]\d{3}\s?(?!SA|SD|SS)[A-Z]{2}(?![\w])", 0, "POSTCODE"),
        (r"(?<![\d.])\d{4}\.\d{2}\.\d{3}(?!\.?\d)", 0, "BSN"),
        (r"\b(\d{1,3})[\s-]?jarigen?\b", re.IGNORECASE, "LEEFTIJD"),
        (r"\b(\d{1,3})\s+jaar\s+oud\b", re.IGNORECASE, "LEEFTIJD"),
        (
            rf"\b(?:{_AGE_SUBJECT})\s+(?:nu\s+|net\s+|pas\s+|al\s+|bijna\s+|ruim\s+|ongeveer\s+)?"
            r"(\d{1,3})(?=\s*(?:jaar\b|[.,;!?)](?:\s|$)|$)|\s+(?:en|maar|toen|geworden)\b)",
            re.IGNORECASE,
            "LEEFTIJD",
        ),
        (
            rf"\b(?:{_AGE_PERSON})\s+van\s+(\d{{1,2}})\b"
            r"(?!\s*(?:procent|%|euro|uur|minuten|kilo|keer|jaar geleden))",
            re.IGNORECASE,
            "LEEFTIJD",
        ),
        (r"\btoen\s+(?:ik|hij|zij|ze|je|jij)\s+(\d{1,2})\s+(?:was|werd)\b", re.I, "LEEFTIJD"),
        (r"\bop\s+(?:mijn|zijn|haar|je|jouw)\s+(\d{1,2})(?:e|de|ste)\b", re.I, "LEEFTIJD"),
        (r"\bgeboren\s+(?:in|rond|begin|eind|medio)\s+(\d{4})\b", re.IGNORECASE, "DATUM"),
        (r"\bgeboortejaar\s*:?\s*(\d{4})\b", re.IGNORECASE, "DATUM"),
        (rf"\b(?i:{_ORG_TYPES})\s+({_ORG_NAME})", 0, "ORGANISATIE"),
        (rf"(?<![\w\-])({_PLACE_NAME})(?![\w\-])", 0, "LOCATIE"),
        (rf"\b({_ORG_NAME}\s+(?:B\.V\.|BV|N\.V\.|NV|V\.O\.F\.|VOF))(?![\w])", 0, "ORGANISATIE"),
    )
)


def _iban_ok(candidate: str) -> bool:
    compact = candidate.replace(" ", "")
    if not 15 <= len(compact) <= 34:
        return False
    digits = "".join(str(int(c, 36)) for c in compact[4:] + compact[:4])
    return int(digits) % 97 == 1


def _elfproef(digits: str) -> bool:
    if len(digits) != 9:
        return False
    total = sum(int(d) * w for d, w in zip(digits, (9, 8, 7, 6, 5, 4, 3, 2, -1), strict=True))
    return total % 11 == 0


def pattern_findings(text: str) -> list[Finding]:
    out = []
    for pattern, category in PATTERNS:
        for m in pattern.finditer(text):
            group = 1 if pattern.groups else 0
            start, end = m.span(group)
            value = text[start:end]
            if category == "IBAN":
                # the longest prefix (in whole groups) that passes the IBAN check
                while value and not _iban_ok(value):
                    value = value[: value.rfind(" ")] if " " in value else value[:-1]
                if not value:
                    continue
                end = start + len(value)
            elif category == "BSN" and not _elfproef(value.replace(".", "")):
                continue
            elif category in ("URL", "EMAILADRES"):
                while end > start and text[end - 1] in ".,;:!?'’":
                    end -= 1
            out.append(Finding(start, end, text[start:end], category, "pattern"))
    return out


# -- the detector ---------------------------------------------------------------------------


def _boundary(text: str, start: int, end: int) -> bool:
    """A finding must not cut a word: 'Pool' inside 'Pools' is not a name."""
    before = text[start - 1] if start > 0 else " "
    after = text[end] if end < len(text) else " "
    return not before.isalnum() and not after.isalnum()


_TRAILING_ANNOTATION_RE = re.compile(r"(?:\([^()\n]{1,40}\)|\[[^\[\]\n]{1,40}\])\s*$")


def at_sentence_start(text: str, start: int) -> bool:
    """Whether a word at ``start`` opens a sentence (an annotation such as '(lacht)' between
    two sentences does not count)."""
    before = text[:start].rstrip(" \t\"“‘'(")
    while (m := _TRAILING_ANNOTATION_RE.search(before)) is not None:
        before = before[: m.start()].rstrip(" \t\"“‘'(")
    return not before or before[-1] in ".!?…:\n-–"


def _after_article(text: str, start: int) -> bool:
    return bool(re.search(r"(?:^|\s)(?:het|een|de)\s+$", text[max(0, start - 5) : start]))


class Detector:
    """Finds identifiers in a passage. Holds the word lists and the loaded deduce instance.

    ``vocabulary`` holds known Dutch words (lower case): a capitalised word that is also an
    ordinary word (``Mooi``, ``Buren``) at the start of a sentence is only taken for a name when
    it is a known first name.
    """

    def __init__(
        self,
        wordlists: Wordlists,
        deduce: Any,
        vocabulary: frozenset[str],
    ) -> None:
        self.wordlists = wordlists
        self.deduce = deduce
        self.vocabulary = vocabulary
        structs = deduce.lookup_structs
        self._first_names = structs["first_name"]
        self._surnames = structs["surname"]

    def is_first_name(self, word: str) -> bool:
        return [word] in self._first_names

    def is_name_word(self, word: str) -> bool:
        return [word] in self._first_names or [word] in self._surnames

    def is_word(self, word: str) -> bool:
        return word.casefold() in self.vocabulary

    def is_name_label(self, label: str) -> bool:
        """``Marieke``, ``Jan de Vries``, ``Joke`` are names; ``R3``, ``Deelnemer 2``,
        ``Interviewer``, ``Moderator``, ``Jongerenwerker`` are not."""
        from qualcode.ingest.labels import is_convention, looks_like_name

        label = label.strip()
        if len(label) < 2 or is_convention(label) or not looks_like_name(label):
            return False
        words = [w for w in label.split() if w.casefold() not in PARTICLES]
        return any(
            self.is_name_word(w)
            or (len(w) > 1 and not w.isdigit() and not self.is_word(w.strip(".")))
            for w in words
        )

    def detect(self, text: str) -> list[Finding]:
        """Identifiers in ``text`` (deduce and patterns; may overlap: see
        :func:`resolve_overlaps`). Allow-listed words are left out."""
        if not text.strip():
            return []
        raw = self._deduce(text) + pattern_findings(text)
        protected = [m.span() for m in PSEUDONYM_RE.finditer(text)]
        out = []
        for finding in raw:
            cleaned = self._clean(text, finding)
            if cleaned is None:
                continue
            if any(cleaned.start < b and a < cleaned.end for a, b in protected):
                continue
            if self.wordlists.allows(cleaned.text):
                continue
            out.append(cleaned)
        return out

    def _deduce(self, text: str) -> list[Finding]:
        doc = self.deduce.deidentify(text, disabled={"merge_adjacent_annotations", "redactor"})
        out = []
        for a in doc.annotations:
            category = _DEDUCE_TAGS.get(a.tag)
            if category is not None:
                out.append(Finding(a.start_char, a.end_char, a.text, category, "deduce"))
        return out

    def _clean(self, text: str, f: Finding) -> Finding | None:
        start, end, category = f.start, f.end, f.category
        if category == "PERSOON":
            not_names = {
                w.casefold()
                for w in WORD_RE.findall(text[start:end])
                if self.is_word(w.strip(".,")) and not self.is_name_word(w.strip(".,"))
            }
            start, end = trim_person_span(text, start, end, not_names, ORG_WORDS)
        elif category in ("LOCATIE", "ORGANISATIE"):
            # 'naar de Berg' → 'Berg': the article stays in the text
            while True:
                m = re.match(r"\s*([^\s]+)\s+", text[start:end])
                if not m or is_capitalised(m.group(1)):
                    break
                start += m.end()
            while end > start and text[end - 1] in " .,;:!?)\"”’'":
                end -= 1
            while start < end and text[start] in " (\"“‘'":
                start += 1
        if end - start < (1 if category == "LEEFTIJD" else 2) or not _boundary(text, start, end):
            return None
        value = text[start:end]
        if category == "LOCATIE":
            if re.fullmatch(r"[1-9]\d{3}\s?[A-Z]{2}", value):
                category = "POSTCODE"
            elif any(c.isdigit() for c in value):
                category = "ADRES"
        if category in ("PERSOON", "LOCATIE", "ORGANISATIE"):
            if not any(is_capitalised(w) for w in value.split()):
                return None
            single = len(value.split()) == 1
            # 'Mooi initiatief.', 'vanuit het Rijk': an ordinary word, not a name
            if (
                single
                and self.is_word(value)
                and (
                    (at_sentence_start(text, start) and not self.is_first_name(value))
                    or _after_article(text, start)
                )
            ):
                return None
        return Finding(start, end, value, category, f.source)


def resolve_overlaps(findings: Iterable[Finding]) -> list[Finding]:
    """Non-overlapping findings: the longest span wins, then the better source."""
    chosen: list[Finding] = []
    for f in sorted(findings, key=lambda f: (f.start - f.end, RANK[f.source], f.start)):
        if all(f.end <= c.start or f.start >= c.end for c in chosen):
            chosen.append(f)
    return sorted(chosen, key=lambda f: f.start)


# -- known terms ------------------------------------------------------------------------------

_LOOSE_SEP = r"[\s_.\-]*"


def squash(text: str) -> str:
    """The form a term is recognised by in file names: no spaces or separators, case-folded."""
    return re.sub(r"[\s_.\-'’]+", "", text).casefold()


class TermMatcher:
    """Finds every occurrence of known terms (names, numbers) in any text.

    In text a term is matched as written, with a capital first letter, or in capitals
    (``Bakker``, ``BAKKER``; particles in any case: ``de Vries``, ``De Vries``), never in lower
    case: ``de bakker op de hoek`` stays, and a word wrongly taken for a name cannot spread
    through every transcript. With ``loose`` (file names and paths) every term is matched in
    any case and its words may be joined by ``_``, ``-``, ``.`` or nothing.
    """

    def __init__(self, terms: Iterable[str], *, loose: bool = False) -> None:
        self.by_key: dict[str, str] = {}
        alternatives = []
        for term in sorted(set(terms), key=lambda t: (-len(t), t)):
            key = squash(term) if loose else normalise_name(term)
            if not key or key in self.by_key:
                continue
            self.by_key[key] = term
            alternatives.append(self._pattern(term, loose))
        self.loose = loose
        # in text a possessive may follow: 'Daans moeder', 'Marieke's fiets' (the 's' stays)
        end = r"(?![^\W_])" if loose else r"(?=(?:['’]?s)?(?![^\W_]))"
        self.regex = (
            re.compile(r"(?<![^\W_])(?:" + "|".join(alternatives) + ")" + end)
            if alternatives
            else None
        )

    @staticmethod
    def _pattern(term: str, loose: bool) -> str:
        parts = []
        for word in term.replace("’", "'").split():
            if loose or word.casefold() in PARTICLES:
                parts.append("(?i:" + re.escape(word).replace("'", "['’]") + ")")
                continue
            forms = dict.fromkeys((word, word[:1].upper() + word[1:], word.upper()))
            parts.append("(?:" + "|".join(re.escape(f).replace("'", "['’]") for f in forms) + ")")
        return (_LOOSE_SEP if loose else r"\s+").join(parts)

    def finditer(self, text: str) -> Iterator[tuple[int, int, str]]:
        """(start, end, term) for every occurrence; the longest term wins at a position."""
        if self.regex is None:
            return
        for m in self.regex.finditer(text):
            key = squash(m.group()) if self.loose else normalise_name(m.group())
            term = self.by_key.get(key)
            if term is None:  # case variant of a loose match: fall back on squashed keys
                term = next((t for k, t in self.by_key.items() if squash(k) == squash(key)), None)
            if term is not None:
                yield m.start(), m.end(), term

    def replace(self, text: str, replacement: Callable[[str], str]) -> str:
        if self.regex is None:
            return text
        parts, pos = [], 0
        for start, end, term in self.finditer(text):
            parts += [text[pos:start], replacement(term)]
            pos = end
        return "".join(parts) + text[pos:] if parts else text
