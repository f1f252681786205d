"""The pseudonym key: which original identifier became which pseudonym.

The key is a CSV file (UTF-8 with BOM, so Excel shows it correctly) with the columns
``category``, ``original`` and ``pseudonym``, one row per way an identifier was written
(``Jan de Vries`` and ``De Vries`` are two rows with the same pseudonym). It is written only to
the file the user names, never inside the project folder, and re-read on the next run so that a
person keeps the same pseudonym in transcripts added later.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from qualcode.errors import QualcodeError
from qualcode.ingest.encoding import csv_rows
from qualcode.privacy.detect import NAME_CATEGORIES
from qualcode.privacy.lists import CATEGORIES
from qualcode.privacy.names import normalise_name

COLUMNS = ("category", "original", "pseudonym")
_PSEUDONYM_RE = re.compile(r"^(?:(?P<prefix>[A-Z]+)-(?P<n>\d+)|(?P<speaker>[RI])(?P<sn>\d+))$")


@dataclass(frozen=True)
class KeyEntry:
    category: str
    original: str
    pseudonym: str  # 'PERSOON-3', or 'R2' / 'I1' for a speaker


def identity(category: str, original: str) -> tuple[str, str]:
    """What makes two written forms the same identifier: names compare by their words
    (case-insensitive), numbers by their digits and letters, addresses on the web by their
    lower-case form."""
    if category in NAME_CATEGORIES:
        # one written name is one identifier, whatever category it was first found as
        return "NAAM", normalise_name(original)
    if category in ("TELEFOONNUMMER", "IBAN", "BSN", "POSTCODE", "NUMMER"):
        compact = re.sub(r"[^0-9A-Za-z+]", "", original).upper()
        if category == "TELEFOONNUMMER":
            compact = re.sub(r"^(?:\+|00)31(?:0)?", "0", compact)
        return category, compact
    if category in ("EMAILADRES", "URL"):
        value = original.casefold().rstrip("/")
        return category, re.sub(r"^(?:https?://)?(?:www\.)?", "", value)
    return category, " ".join(original.casefold().split())


def pseudonym_number(pseudonym: str) -> tuple[str, int] | None:
    m = _PSEUDONYM_RE.match(pseudonym)
    if not m:
        return None
    if m["speaker"]:
        return m["speaker"], int(m["sn"])
    return m["prefix"], int(m["n"])


class PseudonymKey:
    """The key file's rows, looked up by identity; new rows are added as they are assigned."""

    def __init__(self, path: Path, entries: list[KeyEntry] | None = None) -> None:
        self.path = path
        self.entries: list[KeyEntry] = []
        self._by_identity: dict[tuple[str, str], KeyEntry] = {}
        self._speakers: dict[str, KeyEntry] = {}
        self.added: list[KeyEntry] = []
        for entry in entries or []:
            self._index(entry)

    def _index(self, entry: KeyEntry) -> None:
        self.entries.append(entry)
        if entry.category == "SPREKER":
            self._speakers.setdefault(normalise_name(entry.original), entry)
        else:
            self._by_identity.setdefault(identity(entry.category, entry.original), entry)

    @classmethod
    def load(cls, path: Path) -> PseudonymKey:
        """Read the key file; a file that does not exist yet is an empty key."""
        if not path.exists():
            return cls(path)
        from qualcode.ingest.encoding import decode_bytes

        hint = "name another file with --key, or restore the key file from your backup"
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise QualcodeError(f"{path}: cannot read the key file ({exc.strerror})", hint) from exc
        if not data.strip():
            return cls(path)
        try:
            text, _ = decode_bytes(data, path)
        except QualcodeError as exc:
            message = f"{path}: not a pseudonym key (not readable as text)"
            raise QualcodeError(message, hint) from exc
        rows = csv_rows(text)
        header = [h.strip().casefold() for h in rows[0]] if rows else []
        if not all(c in header for c in COLUMNS):
            raise QualcodeError(
                f"{path}: not a pseudonym key (the first line must name the columns "
                + ", ".join(COLUMNS)
                + ")",
                hint,
            )
        cols = [header.index(c) for c in COLUMNS]
        entries = []
        for n, row in enumerate(rows[1:], start=2):
            if not any(cell.strip() for cell in row):
                continue
            if len(row) <= max(cols):
                raise QualcodeError(f"{path}, line {n}: a column is missing", hint)
            category, original, pseudonym = (row[c].strip() for c in cols)
            category = category.upper()
            if category not in CATEGORIES or not original or pseudonym_number(pseudonym) is None:
                raise QualcodeError(
                    f"{path}, line {n}: not a key row ({category or '?'}, {pseudonym or '?'})",
                    hint,
                )
            entries.append(KeyEntry(category, original, pseudonym))
        return cls(path, entries)

    # -- lookups ------------------------------------------------------------------------------

    def find(self, category: str, original: str) -> KeyEntry | None:
        """The entry for this identifier (a person also matches a speaker label)."""
        if category in ("PERSOON", "SPREKER"):
            speaker = self._speakers.get(normalise_name(original))
            if speaker is not None:
                return speaker
        return self._by_identity.get(identity(category, original))

    def speaker(self, label: str) -> KeyEntry | None:
        return self._speakers.get(normalise_name(label))

    def highest(self) -> dict[str, int]:
        """The highest number in use per prefix (``PERSOON``, ``R``, ``I``, ...)."""
        out: dict[str, int] = {}
        for e in self.entries:
            num = pseudonym_number(e.pseudonym)
            if num is not None:
                out[num[0]] = max(out.get(num[0], 0), num[1])
        return out

    def add(self, category: str, original: str, pseudonym: str) -> KeyEntry:
        entry = KeyEntry(category, original, pseudonym)
        if entry in self.entries:
            return entry
        self._index(entry)
        self.added.append(entry)
        return entry

    # -- writing ------------------------------------------------------------------------------

    def save(self) -> None:
        """Write the whole key atomically, readable only by the user where the system allows."""
        import csv

        tmp = self.path.with_name(self.path.name + ".tmp")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8-sig", newline="") as handle:
                writer = csv.writer(handle)
                writer.writerow(COLUMNS)
                for e in sorted(self.entries, key=_sort_key):
                    writer.writerow([e.category, e.original, e.pseudonym])
            tmp.replace(self.path)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise QualcodeError(
                f"{self.path}: cannot write the key file ({exc.strerror}); nothing was changed",
                "close the file in Excel or choose another place with --key",
            ) from exc


def _sort_key(e: KeyEntry) -> tuple[str, int, str]:
    num = pseudonym_number(e.pseudonym)
    return (num[0] if num else e.pseudonym, num[1] if num else 0, e.original)


def check_key_path(path: Path | None, project_dir: Path) -> Path:
    """The key file must be named and must lie outside the project folder."""
    if path is None:
        raise QualcodeError(
            "--key is required: the file where the key (original ↔ pseudonym) is kept",
            "name a file outside the project folder, e.g. --key ~/Documenten/sleutel.csv;"
            " keep it safe and never share it",
        )
    target = path.expanduser()
    resolved = target.resolve()
    if resolved == project_dir.resolve() or resolved.is_relative_to(project_dir.resolve()):
        raise QualcodeError(
            f"{path}: the key file may not be inside the project folder {project_dir}",
            "the key holds the original names: keep it elsewhere, e.g. --key ~/Documenten/"
            "sleutel.csv",
        )
    if resolved.is_dir():
        raise QualcodeError(f"{path}: is a folder, not a key file", "name a file, e.g. sleutel.csv")
    if not resolved.parent.is_dir():
        raise QualcodeError(
            f"{path}: the folder {resolved.parent} does not exist", "create it first"
        )
    return target
