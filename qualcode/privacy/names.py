"""Person names in Dutch text: titles, surname particles, and the parts of a full name.

One place for the rules that decide whether two ways of writing a name are the same person
(``Jan de Vries``, ``De Vries``, ``Jan``) and what of a detected span is the name itself
(``mevrouw de Jong`` → ``de Jong``; the title stays in the text).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Surname particles (tussenvoegsels) and the particles of Arabic, Spanish, French names.
PARTICLES = frozenset(
    """van de der den het 't ’t ter ten te von zu el al la le du da di dos das del
    ben bin ibn abu""".split()  # noqa: SIM905
)
# Words before a name that are not part of it: titles, forms of address, family and work
# relations. Lower case; a trailing full stop is ignored.
TITLES = frozenset(
    """mevrouw mevr mw mej mejuffrouw juffrouw juf meneer mijnheer heer dhr
    dokter dr drs ir ing mr prof ds dominee pastoor pater imam rabbijn zuster broeder
    meester collega tante oom opa oma buurman buurvrouw wethouder burgemeester familie
    gezin fam mama papa moeder vader zoon dochter""".split()  # noqa: SIM905
)

WORD_RE = re.compile(r"[^\s]+")
# A pseudonym already written into the text: [PERSOON-3], [R2], [I1].
PSEUDONYM_RE = re.compile(r"\[(?:[A-Z]+-\d+|[RI]\d+)\]")


def _bare(word: str) -> str:
    return word.strip(".,;:!?()[]\"“”‘’'").casefold()


def is_capitalised(word: str) -> bool:
    stripped = word.lstrip("'’\"“‘(")
    return bool(stripped) and stripped[0].isupper()


@dataclass(frozen=True)
class NameParts:
    """A person name split into given name(s) and surname (with its particles)."""

    given: str  # casefolded, may be empty
    surname: str  # casefolded, particles included ('de vries')

    @property
    def is_full(self) -> bool:
        return bool(self.given and self.surname)

    @property
    def first_given(self) -> str:
        return self.given.split()[0] if self.given else ""


def normalise_name(text: str) -> str:
    """The form names are compared in: case-folded, single spaces, straight apostrophes."""
    return " ".join(text.replace("’", "'").split()).casefold()


def split_name(name: str) -> NameParts:
    """``Jan de Vries`` → given ``jan``, surname ``de vries``; ``De Vries`` → surname only;
    ``Jan`` → neither is certain, so it is kept as ``given`` (a single word is a partial name).
    """
    words = normalise_name(name).split()
    if not words:
        return NameParts("", "")
    particle_at = next(
        (i for i, w in enumerate(words) if w in PARTICLES and i < len(words) - 1), None
    )
    if particle_at == 0:
        return NameParts("", " ".join(words))
    if particle_at is not None:
        return NameParts(" ".join(words[:particle_at]), " ".join(words[particle_at:]))
    if len(words) == 1:
        return NameParts(words[0], "")
    return NameParts(" ".join(words[:-1]), words[-1])


def name_variants(name: str) -> list[str]:
    """Shorter ways the same person is written: the first given name and the surname, as they
    are written in ``name`` (capitalisation kept). Empty for a name of one word."""
    words = name.split()
    parts = split_name(name)
    if not parts.is_full:
        return []
    n_given = len(parts.given.split())
    variants = [words[0], " ".join(words[n_given:])]
    if words[n_given].casefold() in PARTICLES:
        # 'de Vries' is also written 'De Vries' (at the start of a sentence, or as a label)
        surname = " ".join(words[n_given:])
        variants.append(surname[0].upper() + surname[1:])
    return [v for v in dict.fromkeys(variants) if len(v) > 1 and v.casefold() not in PARTICLES]


def trim_person_span(
    text: str, start: int, end: int, not_names: set[str], stops: frozenset[str] = frozenset()
) -> tuple[int, int]:
    """Drop leading titles, relations and other non-name words from a detected person span.

    ``not_names`` are capitalised words that are ordinary words rather than names
    (``Goedemiddag``, ``Volgens``, ``Jongerenwerker``); a word in ``stops`` (``stichting``)
    ends the name. A particle stays when a capitalised word follows it (``de Jong``); the span
    is empty when no capitalised word is left.
    """
    words = [(m.start() + start, m.end() + start) for m in WORD_RE.finditer(text[start:end])]
    while words:
        a, b = words[0]
        word = text[a:b]
        bare = _bare(word)
        rest = words[1:]
        if bare in TITLES or bare.rstrip(".") in TITLES:
            words = rest
            continue
        if bare in PARTICLES:
            following = next((text[x:y] for x, y in rest if _bare(text[x:y]) not in PARTICLES), "")
            if following and is_capitalised(following):
                break
            words = rest
            continue
        if not is_capitalised(word) or (rest and bare in not_names):
            words = rest
            continue
        break
    # 'Bram van Dijk van Stichting Buurtpension': the name ends before the organisation
    cut = next((i for i, (x, y) in enumerate(words) if i and _bare(text[x:y]) in stops), None)
    if cut is not None:
        words = words[:cut]
    while words:
        last = text[words[-1][0] : words[-1][1]]
        if _bare(last) not in PARTICLES and is_capitalised(last):
            break
        words = words[:-1]
    if not words:
        return start, start
    a, b = words[0][0], words[-1][1]
    # trailing punctuation and the possessive: "Marieke's" → "Marieke"
    while b > a and text[b - 1] in ".,;:!?)\"”’'":
        b -= 1
    m = re.search(r"['’]s$", text[a:b])
    if m:
        b = a + m.start()
    while a < b and text[a] in "(\"“‘'":
        a += 1
    return a, b
