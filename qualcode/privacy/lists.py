"""Allow-list (words that look like identifiers but may stay) and deny-list (always replace).

The allow-list comes from the project settings (``privacy: {allow: [...]}`` in
``settings.yaml``), from ``--allow FILE`` and from a short built-in list of words that are not
about a person (countries, provinces, languages). The deny-list comes only from ``--deny FILE``:
it holds identifiers, so it may not live in the project folder.

A list file has one entry per line; ``#`` starts a comment. A deny entry may start with its
category, e.g. ``locatie: Moerwijk`` or ``organisatie: Leger des Heils`` (default: overig).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from qualcode.errors import QualcodeError
from qualcode.privacy.names import normalise_name

# Pseudonym prefix per category. SPREKER is the key's category for speaker labels (R1, I1).
CATEGORIES = (
    "PERSOON", "SPREKER", "LOCATIE", "ADRES", "POSTCODE", "ORGANISATIE", "TELEFOONNUMMER",
    "EMAILADRES", "URL", "DATUM", "LEEFTIJD", "BSN", "IBAN", "NUMMER", "OVERIG",
)  # fmt: skip
_CATEGORY_ALIASES = {
    "persoon": "PERSOON", "person": "PERSOON", "naam": "PERSOON", "name": "PERSOON",
    "spreker": "SPREKER", "speaker": "SPREKER",
    "locatie": "LOCATIE", "plaats": "LOCATIE", "place": "LOCATIE", "location": "LOCATIE",
    "wijk": "LOCATIE", "adres": "ADRES", "address": "ADRES", "postcode": "POSTCODE",
    "organisatie": "ORGANISATIE", "organisation": "ORGANISATIE",
    "organization": "ORGANISATIE", "instelling": "ORGANISATIE",
    "telefoon": "TELEFOONNUMMER", "telefoonnummer": "TELEFOONNUMMER", "phone": "TELEFOONNUMMER",
    "email": "EMAILADRES", "e-mail": "EMAILADRES", "emailadres": "EMAILADRES",
    "url": "URL", "website": "URL", "datum": "DATUM", "date": "DATUM",
    "geboortedatum": "DATUM", "leeftijd": "LEEFTIJD", "age": "LEEFTIJD", "bsn": "BSN",
    "iban": "IBAN", "nummer": "NUMMER", "id": "NUMMER", "overig": "OVERIG", "other": "OVERIG",
}  # fmt: skip

# Capitalised words deduce may take for a name or place that say nothing about a person:
# countries and regions, provinces, languages and nationalities. A deny entry overrides them.
BUILTIN_ALLOW = frozenset(
    normalise_name(w)
    for w in """Nederland Holland België Duitsland Frankrijk Engeland Polen Roemenië Bulgarije
    Turkije Marokko Suriname Curaçao Aruba Syrië Eritrea Afghanistan Oekraïne Rusland Irak
    Iran Somalië China India Indonesië Spanje Italië Portugal Griekenland Europa Afrika Azië
    Amerika Randstad Groningen Friesland Drenthe Overijssel Flevoland Gelderland Utrecht
    Noord-Holland Zuid-Holland Zeeland Noord-Brabant Brabant Limburg Veluwe Twente
    Nederlands Engels Duits Frans Pools Turks Arabisch Marokkaans Surinaams Papiaments
    Berbers Tamazight Tigrinya Oekraïens Russisch Spaans Bulgaars Roemeens Somalisch""".split()  # noqa: SIM905
    if w not in {"Groningen", "Utrecht"}  # also cities: only the user can allow them
)


@dataclass(frozen=True)
class Wordlists:
    allow: frozenset[str] = frozenset()  # normalised entries
    deny: tuple[tuple[str, str], ...] = ()  # (category, term as written)

    def allows(self, text: str) -> bool:
        key = normalise_name(text)
        if key in self.denied:
            return False
        return key in self.allow or key in BUILTIN_ALLOW

    @cached_property
    def denied(self) -> frozenset[str]:
        return frozenset(normalise_name(term) for _, term in self.deny)


def _read_lines(path: Path) -> list[tuple[int, str]]:
    from qualcode.ingest.encoding import decode_bytes

    try:
        data = path.read_bytes()
    except OSError as exc:
        raise QualcodeError(
            f"{path}: cannot read the list ({exc.strerror})", "check the file name"
        ) from exc
    if not data.strip():
        return []
    text, _ = decode_bytes(data, path)
    out = []
    for n, line in enumerate(text.lstrip("\ufeff").splitlines(), start=1):
        entry = line.split("#", 1)[0].strip()
        if entry:
            out.append((n, entry))
    return out


def read_allow_file(path: Path) -> list[str]:
    return [entry for _, entry in _read_lines(path)]


def read_deny_file(path: Path) -> list[tuple[str, str]]:
    out = []
    for _, entry in _read_lines(path):
        category = "OVERIG"
        head, sep, tail = entry.partition(":")
        if sep and head.strip().casefold() in _CATEGORY_ALIASES and tail.strip():
            category, entry = _CATEGORY_ALIASES[head.strip().casefold()], tail.strip()
        out.append((category, entry))
    return out


def settings_allow(settings: dict[str, Any], settings_file: Path) -> list[str]:
    """The ``privacy: {allow: [...]}`` entries of the project settings."""
    privacy = settings.get("privacy") or {}
    allow = privacy.get("allow", []) if isinstance(privacy, dict) else None
    if not isinstance(allow, list) or not all(isinstance(a, str | int) for a in allow):
        raise QualcodeError(
            f"{settings_file}: 'privacy: allow:' must be a list of words",
            "write it as 'privacy: {allow: [Rotterdam, Humanitas]}'",
        )
    return [str(a) for a in allow]


def load_wordlists(
    settings: dict[str, Any],
    settings_file: Path,
    allow_file: Path | None = None,
    deny_file: Path | None = None,
) -> Wordlists:
    allow = settings_allow(settings, settings_file)
    if allow_file is not None:
        allow += read_allow_file(allow_file)
    deny = read_deny_file(deny_file) if deny_file is not None else []
    return Wordlists(frozenset(normalise_name(a) for a in allow), tuple(deny))
