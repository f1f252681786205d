"""Text normalisation and transcript conventions: annotations, fillers, timestamps, words.

One place for the regular expressions every reader and exporter shares.
"""

from __future__ import annotations

import re
import unicodedata

# `[onverstaanbaar]`, `(lacht)`, `[naam]`, `(stilte)`, `[overlappend]`, `[00:12:31]` excluded.
ANNOTATION_RE = re.compile(
    r"\[(?!\d{1,2}:\d{2})[^\[\]\n]{1,40}\]"
    r"|\((?:lacht|lachen|lachend|gelach|zucht|zuchten|onverstaanbaar|"
    r"overlappend|hoest|kucht|knikt|geroezemoes|onderbreking|onderbroken|telefoon gaat|"
    r"zacht|zachtjes|fluistert|fluisterend|huilt|huilend|snikt|geëmotioneerd|emotioneel|"
    r"glimlacht|grinnikt|slikt|(?:lange |korte )?(?:stilte|pauze)|schudt (?:het|zijn|haar) hoofd|"
    r"verbinding valt weg|verbinding hapert|"
    r"iedereen lacht|[a-zë\s]{1,25} lacht|[a-zë\s]{1,25} knikt)\)",
    re.IGNORECASE,
)

# Timestamps in the styles transcribers use: [00:12:31], 00:12:31, (00:12), #00:12:31-4#.
TIMESTAMP = r"(?:\d{1,2}:)?\d{1,2}:\d{2}(?:[.,]\d{1,3})?"
TIMESTAMP_TOKEN_RE = re.compile(
    rf"#(?P<f4>{TIMESTAMP})(?:-\d+)?#|\[(?P<sq>{TIMESTAMP})\]|\((?P<par>{TIMESTAMP})\)"
    rf"|(?P<bare>\b{TIMESTAMP}\b)"
)

_SPACE_RE = re.compile(r"[ \t\u00a0\u2000-\u200b\u202f\u205f\u3000]+")
_ZERO_WIDTH = dict.fromkeys(map(ord, "\ufeff\u200c\u200d\u2060"), None)


def normalise_paragraph(text: str) -> str:
    """NFC, no BOM or zero-width characters, single spaces, stripped."""
    text = unicodedata.normalize("NFC", text).translate(_ZERO_WIDTH)
    return _SPACE_RE.sub(" ", text).strip()


def normalise_newlines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


def annotation_spans(text: str) -> list[tuple[int, int]]:
    """Character spans of transcriber annotations such as ``(lacht)`` or ``[onverstaanbaar]``."""
    return [m.span() for m in ANNOTATION_RE.finditer(text)]


def strip_annotations(text: str) -> str:
    return _SPACE_RE.sub(" ", ANNOTATION_RE.sub(" ", text)).strip()


# a whitespace-separated token with at least one letter or digit, matched whole
_SPOKEN_WORD_RE = re.compile(r"(?<!\S)\S*?[^\W_]\S*")


def count_words(text: str) -> int:
    """Spoken words: whitespace-separated tokens with a letter or digit, minus annotations."""
    return len(_SPOKEN_WORD_RE.findall(strip_annotations(text)))


def parse_timestamp(value: str) -> float | None:
    """Seconds from ``hh:mm:ss(.fff)`` or ``mm:ss``; None when it is not a timestamp."""
    m = re.fullmatch(r"(?:(\d{1,2}):)?(\d{1,2}):(\d{2})(?:[.,](\d{1,3}))?", value.strip())
    if not m:
        return None
    hours, minutes, seconds, frac = m.groups()
    total = int(hours or 0) * 3600 + int(minutes) * 60 + int(seconds)
    return total + (int(frac.ljust(3, "0")) / 1000 if frac else 0.0)


def format_timestamp(seconds: float | None) -> str | None:
    if seconds is None:
        return None
    whole = int(seconds)
    return f"{whole // 3600:02d}:{whole % 3600 // 60:02d}:{whole % 60:02d}"
