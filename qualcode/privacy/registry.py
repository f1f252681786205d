"""Assigning pseudonyms: one per identifier, the same everywhere in the project and across runs.

The rule for names written in different ways (conservative: never merge two people):

- the same written name (ignoring case and spacing) is always the same pseudonym;
- a full name (given name and surname, ``Jan de Vries``) gets its own pseudonym;
- a partial name (``Jan``, ``De Vries``, ``Bakker``) gets the pseudonym of the full name it
  belongs to only when exactly one known full name (in the key or in this run) has that given
  name or that surname; otherwise it gets a pseudonym of its own;
- a pseudonym, once in the key, is never changed: a name first seen alone keeps its own
  pseudonym even when the full name turns up later.

A person who is a speaker somewhere (a label such as ``Marieke Verhoeven``) is ``R1``, ``R2``...
(``I1``... for an interviewer or moderator), in the label and wherever the name is mentioned
(``[R2]``); other people are ``[PERSOON-1]``, ``[PERSOON-2]``...
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from qualcode.errors import QualcodeError
from qualcode.privacy.key import PseudonymKey, identity, pseudonym_number
from qualcode.privacy.names import NameParts, name_variants, normalise_name, split_name

SPEAKER_PREFIXES = ("R", "I")


def _links(parts: NameParts, partial: str) -> bool:
    """Whether the partial name (normalised) is the given name or surname of a full name."""
    return partial in (parts.first_given, parts.given, parts.surname)


@dataclass
class Registry:
    key: PseudonymKey
    taken_labels: set[str] = field(default_factory=set)  # casefolded labels that stay

    def __post_init__(self) -> None:
        self.counters = self.key.highest()
        self.by_identity: dict[tuple[str, str], str] = {}
        self.surfaces: dict[str, tuple[str, str]] = {}  # as written → (category, pseudonym)
        self.speakers: dict[str, str] = {}  # normalised label → R2 / I1
        self.used: set[str] = set()
        for entry in self.key.entries:
            self.surfaces.setdefault(entry.original, (entry.category, entry.pseudonym))

    # -- numbering --------------------------------------------------------------------------

    def _new(self, prefix: str) -> str:
        n = self.counters.get(prefix, 0)
        while True:
            n += 1
            candidate = f"{prefix}{n}" if prefix in SPEAKER_PREFIXES else f"{prefix}-{n}"
            if prefix not in SPEAKER_PREFIXES or candidate.casefold() not in self.taken_labels:
                break
        self.counters[prefix] = n
        return candidate

    def _full_names(self) -> list[tuple[NameParts, str]]:
        """Every known full person name with its pseudonym (key and this run)."""
        out = [
            (split_name(s), p)
            for s, (category, p) in self.surfaces.items()
            if category in ("PERSOON", "SPREKER") and split_name(s).is_full
        ]
        return out

    def _linked(self, partial: str, exclude: set[str] = frozenset()) -> str | None:  # type: ignore[assignment]
        norm = normalise_name(partial)
        found = {p for parts, p in self._full_names() if _links(parts, norm) and p not in exclude}
        return found.pop() if len(found) == 1 else None

    # -- speakers ---------------------------------------------------------------------------

    def assign_speakers(self, labels: Iterable[tuple[str, bool, int]]) -> None:
        """(label, is_interviewer, document id) of every speaker label that is a name."""
        order: dict[str, tuple[str, bool]] = {}
        documents: dict[str, set[int]] = {}
        for label, interviewer, doc_id in labels:
            norm = normalise_name(label)
            order.setdefault(norm, (label, interviewer))
            documents.setdefault(norm, set()).add(doc_id)
        fulls = [n for n in order if split_name(order[n][0]).is_full]
        for norm in fulls + [n for n in order if n not in fulls]:
            label, interviewer = order[norm]
            entry = self.key.speaker(label)
            code = entry.pseudonym if entry else None
            if code is None and norm not in fulls:
                # 'Marieke' is 'Marieke Verhoeven' when that is the only such speaker and the
                # two never speak in the same transcript
                candidates = {
                    self.speakers[f]
                    for f in fulls
                    if _links(split_name(order[f][0]), norm)
                    and documents[f].isdisjoint(documents[norm])
                }
                candidates |= {
                    e.pseudonym
                    for e in self.key.entries
                    if e.category == "SPREKER"
                    and split_name(e.original).is_full
                    and _links(split_name(e.original), norm)
                    and normalise_name(e.original) not in documents
                }
                code = candidates.pop() if len(candidates) == 1 else None
            if code is None:
                code = self._new("I" if interviewer else "R")
            self.speakers[norm] = code
            self.surfaces[label] = ("SPREKER", code)
            self.used.add(label)

    def speaker_code(self, label: str) -> str | None:
        return self.speakers.get(normalise_name(label))

    # -- everything else --------------------------------------------------------------------

    def assign_names(self, surfaces: Iterable[tuple[str, str]]) -> None:
        """(category, surface) of names, places and organisations; full person names first."""
        items = list(dict.fromkeys(surfaces))
        persons = [s for c, s in items if c == "PERSOON"]
        fulls = [s for s in persons if split_name(s).is_full]
        for surface in fulls:
            self._assign("PERSOON", surface)
        # the short forms of every full name are known identifiers too
        variants = [v for s, (c, _) in list(self.surfaces.items()) if c in ("PERSOON", "SPREKER")
                    for v in name_variants(s)]  # fmt: skip
        for surface in [s for s in persons if s not in fulls] + variants:
            self._assign("PERSOON", surface, partial=True)
        for category, surface in items:
            if category != "PERSOON":
                self._assign(category, surface)

    def _assign(self, category: str, surface: str, *, partial: bool = False) -> str:
        if surface in self.surfaces:
            return self.surfaces[surface][1]
        ident = identity(category, surface)
        pseudonym = None
        entry = self.key.find(category, surface)
        if entry is not None:
            pseudonym = entry.pseudonym
        elif category in ("PERSOON", "SPREKER") and normalise_name(surface) in self.speakers:
            pseudonym = self.speakers[normalise_name(surface)]
        elif ident in self.by_identity:
            pseudonym = self.by_identity[ident]
        elif partial:
            pseudonym = self._linked(surface)
        if pseudonym is None:
            pseudonym = self._new(category)
        self.by_identity.setdefault(ident, pseudonym)
        self.surfaces[surface] = (category, pseudonym)
        return pseudonym

    def assign(self, category: str, surface: str) -> str:
        return self._assign(category, surface)

    # -- reading ----------------------------------------------------------------------------

    def pseudonym(self, surface: str) -> str:
        self.used.add(surface)
        return self.surfaces[surface][1]

    def category_of(self, surface: str) -> str:
        pseudonym = self.surfaces[surface][1]
        num = pseudonym_number(pseudonym)
        return "SPREKER" if num and num[0] in SPEAKER_PREFIXES else num[0] if num else "OVERIG"

    def record(self) -> int:
        """Add every identifier replaced in this run to the key; returns how many are new."""
        before = len(self.key.added)
        for surface in sorted(self.used):
            category, pseudonym = self.surfaces[surface]
            self.key.add(category, surface, pseudonym)
        return len(self.key.added) - before

    def check_labels(self, labels_by_document: dict[int, list[str]], names: dict[int, str]) -> None:
        """A speaker code must not clash with a label that stays in the same transcript."""
        for doc_id, labels in labels_by_document.items():
            staying = {lab.casefold() for lab in labels if self.speaker_code(lab) is None}
            codes = [self.speaker_code(lab) for lab in labels if self.speaker_code(lab)]
            clash = next((c for c in codes if c and c.casefold() in staying), None)
            if clash is None and len(codes) != len(set(codes)):
                clash = next(c for c in codes if codes.count(c) > 1)
            if clash:
                raise QualcodeError(
                    f"{names[doc_id]}: the speaker pseudonym {clash} is already a label in this"
                    " transcript; nothing was changed",
                    "rename that speaker label in the transcript (e.g. 'Deelnemer 3') and"
                    " ingest it again with --replace",
                )
