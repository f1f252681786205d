"""Dutch inflection fallbacks for matching keywords written in their base form.

The offline lemmatizer leaves the plurals and inflected adjectives that spaCy's Dutch tables do
not list as they are (``coronaregels``, ``jongeren``), and a model's lemmatizer can miss some
too. ``base_forms`` proposes the base forms a
keyword may have been written in: plural ``-en``/``-n``/``-s``/``'s`` removed, adjective ``-e``
removed with the vowel doubling of Dutch spelling restored (``sociale`` → ``sociaal``,
``grote`` → ``groot``). Only forms of at least four letters are proposed.
"""

from __future__ import annotations

from functools import lru_cache

VOWELS = "aeiou"
DIGRAPHS = ("aa", "ee", "oo", "uu", "ie", "eu", "ou", "ui", "ei", "ij", "au", "oe")
MIN_BASE = 4


def _undouble(stem: str) -> str:
    """``social`` → ``sociaal``: a single vowel before a final consonant becomes long."""
    if (
        len(stem) >= 3
        and stem[-1] not in VOWELS
        and stem[-2] in VOWELS
        and stem[-3:-1] not in DIGRAPHS
        and stem[-3] != stem[-2]
    ):
        return stem[:-1] + stem[-2] + stem[-1]
    return stem


@lru_cache(maxsize=65536)
def base_forms(word: str) -> tuple[str, ...]:
    forms: list[str] = []
    if word.endswith("'s"):
        forms.append(word[:-2])
    elif word.endswith("en") and len(word) > 4:
        forms += [word[:-1], word[:-2]]  # ouderen → oudere, schulden → schuld
        if word[-3:-2] == word[-4:-3] and word[-3] not in VOWELS:
            forms.append(word[:-3])  # bussen → bus
    elif word.endswith("s") and not word.endswith("ss"):
        forms.append(word[:-1])  # mantelzorgers → mantelzorger
    if word.endswith("e") and len(word) > 4:
        stem = word[:-1]
        forms += [stem, _undouble(stem)]  # sociale → sociaal, eenzame → eenzaam
        if stem[-1:] == stem[-2:-1] and stem[-1] not in VOWELS:
            forms.append(stem[:-1])  # dikke → dik
    return tuple(dict.fromkeys(f for f in forms if len(f) >= MIN_BASE and f != word))
