"""Dutch compound matching: does a word contain a keyword as one of its parts?

Dutch writes compounds as one word (``schuldhulpverlening``, ``huurschuld``,
``eenzaamheidsgevoelens``), so a keyword must also be found inside longer words. A word
matches keyword ``k`` when

- it *ends* with ``k`` (``k`` is the head: ``huurschuld``, ``studieschulden``) and the part
  before it, minus a linking ``s``/``e``/``en``/``-``, is a known word of at least 3 letters
  (so ``vertrouwen`` does not contain ``rouwen``: ``vert`` is no word); or
- it *starts* with ``k`` (``k`` is the modifier: ``schuldenproblematiek``,
  ``eenzaamheidsgevoelens``) and the rest, after a linking ``s``/``e``/``en``/``-``, is a known
  word of at least 3 letters, or two such words (``schuldhulpverlening``: hulp + verlening).
  Derivations such as ``schuldig`` or ``zorgeloos`` do not match: ``ig`` is no word, and
  suffixes that happen to be words too (``loos``, ``lijk``, ``baar``, ``ing``: ``gelding`` is
  no kind of ``geld``) do not count as parts.

Prefixes that happen to be words work the same way: ``ver``, ``her``, ``mis`` and ``wan`` make
new words, not compounds (``verschillen`` holds no ``chillen``, ``wantrouwen`` no ``rouwen``,
``verpleger`` no ``pleger``). These lists came from running every keyword over spaCy's whole
Dutch vocabulary and reading which words it was found in.

Known words are spaCy's Dutch lookup vocabulary (not the corpus's words: a segment's matches must
not depend on the other transcripts, see ``suggest/features.py``). Keywords shorter
than 4 letters, and keywords written with ``=``, match whole words only.
"""

from __future__ import annotations

from collections.abc import Iterable

LINKS = ("", "s", "e", "en", "-", "s-", "en-", "e-")
INFLECTIONS = ("en", "s", "'s", "e", "n")
MIN_KEYWORD = 4
MIN_PART = 3
# Derivational suffixes that are also words: ``zorgeloos``, ``werkelijk`` and ``schuldloos`` are
# derivations, not compounds of zorg/werk/schuld with loos/lijk.
SUFFIX_WORDS = frozenset(
    {"loos", "lozen", "lijk", "baar", "achtig", "schap", "dom", "matig"}
    | {"ing", "ingen", "ting", "tie", "end", "ende", "enden", "eren", "aal", "aar", "nis"}
    | {"rum"}  # centrum is no kind of cent
)
# Prefixes that are also words (``vers``, ``want``: ver and wan plus a letter): what follows is
# a derivation (verschillen, hertrouwen, misschatten, wantrouwen), not the head of a compound.
PREFIX_WORDS = frozenset({"ver", "vers", "her", "mis", "wan", "want", "ger", "gem", "ins", "pro"})
# Prefixes of derivations, also the short ones (in + schatten, be + ...): see ``_longer_head``.
PREFIXES = PREFIX_WORDS | {"be", "ge", "er", "in", "on", "ont", "te"}


class CompoundMatcher:
    """Finds which keywords a word contains as a compound part (memoised per word)."""

    def __init__(self, keywords: Iterable[str], known_words: frozenset[str] | set[str]) -> None:
        self.keywords = {k for k in keywords if len(k) >= MIN_KEYWORD and k.isalpha()}
        self.known = known_words
        self._cache: dict[str, tuple[str, ...]] = {}
        self._lengths = sorted({len(k) for k in self.keywords})

    def _is_word(self, part: str) -> bool:
        return len(part) >= MIN_PART and part in self.known

    def _head_ok(self, prefix: str) -> bool:
        for link in LINKS:
            if link and not prefix.endswith(link):
                continue
            stem = prefix[: len(prefix) - len(link)] if link else prefix
            if stem not in PREFIX_WORDS and self._is_word(stem):
                return True
        return False

    def _longer_head(self, form: str, n: int) -> bool:
        """Does ``form`` end in a longer word that holds the keyword (its last ``n`` letters)?
        Then that word is the head: ``hertrouwen`` is her + trouwen, not hert + rouwen, and
        ``verschillen`` is ver + schillen, not vers + chillen."""
        for m in range(n + 1, len(form) - 1):
            prefix = form[:-m]
            if form[-m:] in self.known and (prefix in PREFIXES or self._head_ok(prefix)):
                return True
        return False

    def _is_part(self, part: str) -> bool:
        return part not in SUFFIX_WORDS and self._is_word(part)

    def _is_compound(self, part: str) -> bool:
        """Two known words with an optional link: ``hulpverlening`` (hulp + verlening)."""
        for i in range(MIN_PART, len(part) - MIN_PART + 1):
            if not self._is_word(part[:i]):
                continue
            for link in LINKS:
                if part.startswith(link, i) and self._is_part(part[i + len(link) :]):
                    return True
        return False

    def _modifier_ok(self, rest: str) -> bool:
        for link in LINKS:
            if link and not rest.startswith(link):
                continue
            tail = rest[len(link) :]
            if self._is_part(tail) or self._is_compound(tail):
                return True
        return False

    def parts(self, word: str) -> tuple[str, ...]:
        """Keywords contained in ``word`` as a compound part (not the whole word itself)."""
        cached = self._cache.get(word)
        if cached is not None:
            return cached
        found: list[str] = []
        if len(word) > MIN_KEYWORD:
            # plural and inflected heads: huurschulden, mantelzorgers
            forms = [word] + [word[: -len(e)] for e in INFLECTIONS if word.endswith(e)]
            for n in self._lengths:
                if n >= len(word):
                    break
                for form in forms:
                    head = form[-n:]
                    if (
                        len(form) > n
                        and head in self.keywords
                        and self._head_ok(form[:-n])
                        and not self._longer_head(form, n)
                    ):
                        found.append(head)
                        break
                modifier = word[:n]
                if modifier in self.keywords and self._modifier_ok(word[n:]):
                    found.append(modifier)
        result = tuple(dict.fromkeys(found))
        self._cache[word] = result
        return result
