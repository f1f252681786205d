"""Speaker-label conventions of Dutch transcripts.

Recognised at the start of a paragraph (after an optional timestamp and markdown bold):

- role conventions: ``Interviewer:``, ``I:``, ``R:``, ``R3:``, ``Moderator:``, ``Deelnemer 4:``,
  ``Spreker 1``, ``Respondent:``, ``Vraag:``/``Antwoord:``, ``SPEAKER_01:``;
- names: ``Els Hoekstra:``, ``Fatima El Amrani:``, ``Joke:``, ``Naam (rol):``, ``Naam (00:04:12):``
  and numbered roles such as ``Huisarts 1:`` or ``Ouder 2:``;
- timestamps before or after the label: ``[00:12:31] R:``, ``00:12:31 R:``, ``R: ... #00:12:31-4#``,
  ``Spreker 1 [00:00:05]`` on a line of its own (the text follows on the next line).

A name label (numbered roles included) is only trusted when it recurs in the document or is
known from the metadata, so that a sentence like ``Kijk: zo zit dat`` is not mistaken for a
speaker.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from qualcode.text import TIMESTAMP, parse_timestamp

_TS = rf"(?:\[{TIMESTAMP}\]|\({TIMESTAMP}\)|#{TIMESTAMP}(?:-\d+)?#|{TIMESTAMP})"
_LEAD = rf"^\s*(?P<ts1>{_TS})?\s*[-–]?\s*"
_NAME_WORD = r"[A-Za-zÀ-ÖØ-öø-ÿ][\w'’.\-]*"
# Later words may be a number: ``Spreker 1``, ``Deelnemer 4``.
_LABEL = rf"(?P<label>{_NAME_WORD}(?:\s+(?:{_NAME_WORD}|\d{{1,3}})){{0,4}}?)"
_ROLE = r"(?:\s*\((?P<role>[^()\n]{1,40})\))?"
_BOLD = r"(?:\*\*|__)?"

LABEL_RE = re.compile(
    rf"{_LEAD}{_BOLD}{_LABEL}{_ROLE}\s*(?P<ts2>{_TS})?\s*{_BOLD}\s*:\s*{_BOLD}\s*(?P<ts3>{_TS})?\s*"
)
LABEL_LINE_RE = re.compile(
    rf"{_LEAD}{_BOLD}{_LABEL}{_ROLE}\s*(?P<ts2>{_TS})?\s*{_BOLD}\s*:?\s*{_BOLD}\s*$"
)
_TIME_ONLY = re.compile(TIMESTAMP)
TRAILING_TS_RE = re.compile(rf"\s*(?P<ts>#{TIMESTAMP}(?:-\d+)?#|\[{TIMESTAMP}\])\s*$")

INTERVIEWER_RE = re.compile(
    r"^(?:interviewer(?:\s*\d+)?|interviewster|int|i\d*|moderator(?:\s*\d+)?|moderatrice|mod|m|"
    r"gespreksleider|gespreksleidster|facilitator|onderzoeker|onderzoekster|vraag|v|vraagsteller)$",
    re.IGNORECASE,
)
RESPONDENT_RE = re.compile(
    r"^(?:respondent|resp|r\d*|geïnterviewde|geinterviewde|antwoord|a|"
    r"deelnemer\s*\d+|deelnemer\s+[a-z]|deelnemer|participant\s*\d+|p\d+|d\d+|"
    r"spreker\s*\d+|speaker[\s_]*\d+|b\d+|b)$",
    re.IGNORECASE,
)
_PARTICLES = {
    "van", "de", "der", "den", "het", "'t", "’t", "ter", "ten", "te", "in", "op", "el", "al",
    "ben", "bin", "da", "di", "du", "le", "la", "von", "zu", "y", "ibn", "abu", "dos", "das",
}  # fmt: skip
# Capitalised words that open ordinary sentences or preamble lines, never speaker names.
_NOT_NAMES = {
    "kijk", "nou", "ja", "nee", "dus", "maar", "want", "en", "ook", "toen", "dat", "wat", "hoe",
    "waarom", "let", "let op", "conclusie", "opmerking", "noot", "nb", "ps", "tip", "voorbeeld",
    "datum", "locatie", "plaats", "tijd", "duur", "aanwezig", "aanwezigen", "onderwerp", "thema",
    "transcript", "titel", "bron", "sessie", "opname", "project", "deelnemers", "notulist",
    "zie", "stelling", "vraag 1", "vraag 2", "vraag 3", "samenvatting", "toelichting", "doel",
    "casus", "citaat", "context", "lengte", "opnamedatum", "organisatie", "setting", "taal",
    "dag", "week", "maandag", "dinsdag", "woensdag", "donderdag", "vrijdag", "zaterdag",
    "zondag", "eerst", "tot slot", "daarnaast", "kortom", "stel", "zeg", "weet je", "oké",
    "oke", "goed", "prima", "precies", "inderdaad", "nogmaals", "tja", "welnu", "alleen",
    "soms", "eigenlijk", "ten eerste", "ten tweede", "bijvoorbeeld", "daarom", "toch", "mijn",
}  # fmt: skip


@dataclass(frozen=True)
class LabelMatch:
    label: str
    role: str | None
    timestamp: str | None
    rest: str
    convention: bool  # a role convention (R3, Interviewer) rather than a name


def _clean_label(label: str) -> str:
    return re.sub(r"\s+", " ", label.strip(" *_\t"))


def is_convention(label: str) -> bool:
    return bool(INTERVIEWER_RE.match(label) or RESPONDENT_RE.match(label))


def looks_like_name(label: str) -> bool:
    """Capitalised words (with Dutch surname particles), not a sentence opener."""
    if label.lower() in _NOT_NAMES or len(label) > 40:
        return False
    words = label.split()
    if len(words) > 1 and words[-1].isdigit():
        words = words[:-1]  # a numbered role: ``Huisarts 1``, ``Ouder 2``
    if not words or not words[0][0].isupper():
        return False
    for word in words:
        if word.lower() in _PARTICLES:
            continue
        if not word[0].isupper() or sum(c.isdigit() for c in word) > 0:
            return False
    return True


def is_interviewer_label(label: str) -> bool:
    return bool(INTERVIEWER_RE.match(label.strip()))


def _first_ts(match: re.Match[str]) -> str | None:
    groups = match.groupdict()  # LABEL_LINE_RE has no ts3
    for group in ("ts1", "ts2", "ts3"):
        value = groups.get(group)
        if value:
            return value.strip("[]()#").split("-")[0]
    return None


def match_label(paragraph: str) -> LabelMatch | None:
    """The speaker label at the start of ``paragraph``, if it has a plausible one."""
    m = LABEL_RE.match(paragraph)
    rest_start = m.end() if m else 0
    if m is None or not paragraph[rest_start:].strip():
        m = LABEL_LINE_RE.match(paragraph)
        if m is None:
            return None
        rest_start = len(paragraph)
        # A bare word on a line is only a label when it is a convention, has a time or a colon.
        bare = not (is_convention(_clean_label(m.group("label"))) or m["ts2"] or m["ts1"])
        if bare and not m.group(0).rstrip().endswith(":"):
            return None
    label = _clean_label(m.group("label"))
    convention = is_convention(label)
    if not convention and not looks_like_name(label):
        return None
    role, timestamp = m.group("role"), _first_ts(m)
    if role and _TIME_ONLY.fullmatch(role.strip()):
        # ``Anna (00:04:12):`` is a time, not a role
        role, timestamp = None, timestamp or role.strip()
    return LabelMatch(
        label=label,
        role=role.strip() if role else None,
        timestamp=timestamp,
        rest=paragraph[rest_start:].strip(),
        convention=convention,
    )


def split_trailing_timestamp(paragraph: str) -> tuple[str, str | None]:
    """``'tekst #00:12:31-4#'`` → ``('tekst', '00:12:31')`` (f4/f5 transcription style)."""
    m = TRAILING_TS_RE.search(paragraph)
    if not m:
        return paragraph, None
    return paragraph[: m.start()].rstrip(), m.group("ts").strip("[]#").split("-")[0]


def timestamp_seconds(value: str | None) -> float | None:
    return parse_timestamp(value) if value else None
