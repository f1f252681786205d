"""Rewriting the stored project around the pseudonyms: text, offsets, names, every column.

Each function does one part of :func:`qualcode.privacy.pseudonymise.apply` inside its
transaction. Document text is rewritten with an :class:`OffsetMap`, so turn and segment offsets
move with the text and codings (which point at segments) stay on their passages.
"""

from __future__ import annotations

import bisect
import json
import re
import sqlite3
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from qualcode.errors import QualcodeError
from qualcode.privacy.detect import Detector, Finding, TermMatcher, resolve_overlaps
from qualcode.privacy.lists import Wordlists
from qualcode.privacy.registry import Registry
from qualcode.store import Project, now

# Metadata columns whose values are identifiers, with their category.
METADATA_KEYS: dict[str, str] = {
    **dict.fromkeys(
        ("naam", "name", "voornaam", "achternaam", "roepnaam", "contactpersoon", "deelnemer",
         "respondent", "participant", "interviewee", "geinterviewde", "geïnterviewde"),
        "PERSOON",
    ),
    **dict.fromkeys(
        ("place", "plaats", "woonplaats", "stad", "gemeente", "wijk", "buurt", "dorp",
         "locatie", "location", "city", "town", "regio", "werkplaats", "setting"),
        "LOCATIE",
    ),
    **dict.fromkeys(
        ("organisation", "organization", "organisatie", "instelling", "werkgever", "employer",
         "school", "bedrijf", "company", "team"),
        "ORGANISATIE",
    ),
    **dict.fromkeys(("adres", "address", "straat", "street"), "ADRES"),
    **dict.fromkeys(("postcode", "zip", "zipcode"), "POSTCODE"),
    **dict.fromkeys(("email", "e-mail", "mail", "emailadres"), "EMAILADRES"),
    **dict.fromkeys(
        ("telefoon", "tel", "phone", "telefoonnummer", "mobiel", "gsm"), "TELEFOONNUMMER"
    ),
    **dict.fromkeys(("bsn",), "BSN"),
    **dict.fromkeys(("iban", "rekeningnummer"), "IBAN"),
    **dict.fromkeys(
        ("geboortedatum", "geboren", "date_of_birth", "dob", "birthdate", "geboortejaar"),
        "DATUM",
    ),
    **dict.fromkeys(("leeftijd", "age"), "LEEFTIJD"),
}  # fmt: skip
# Name-like metadata values count only when written as a name (capitalised): 'wijkteam' stays.
NAME_LIKE = frozenset({"PERSOON", "LOCATIE", "ORGANISATIE", "ADRES"})
# Tables and columns rewritten by their own step (or dropped) rather than by the general pass.
OWN_STEP = {
    "documents": {"text", "name", "path", "attributes"},
    "speakers": {"label", "attributes"},
    "memos": {"text"},
    "codings": {"explanation"},
    "segment_nlp": {"tokens", "pipeline"},
    "schema_migrations": {"name", "applied_at"},
}


class OffsetMap:
    """Maps offsets in the old text to the new text after non-overlapping replacements."""

    def __init__(self, replacements: Sequence[tuple[int, int, str]]) -> None:
        self.reps = sorted(replacements)
        self.ends = [b for _, b, _ in self.reps]
        self.shift = [0]
        for a, b, new in self.reps:
            self.shift.append(self.shift[-1] + len(new) - (b - a))

    def __call__(self, offset: int) -> int:
        i = bisect.bisect_right(self.ends, offset)
        if i < len(self.reps) and self.reps[i][0] < offset:
            raise ValueError(f"offset {offset} falls inside a replaced identifier")
        return offset + self.shift[i]

    def span(self, start: int, end: int) -> tuple[int, int]:
        """The new span of ``[start, end)``, widened to whole replacements."""
        i = bisect.bisect_right(self.ends, start)
        if i < len(self.reps) and self.reps[i][0] < start:
            start = self.reps[i][0]
        j = bisect.bisect_left([a for a, _, _ in self.reps], end)
        if j > 0 and self.reps[j - 1][1] > end:
            end = self.reps[j - 1][1]
        return self(start), self(end)

    def apply(self, text: str) -> str:
        parts, pos = [], 0
        for a, b, new in self.reps:
            parts += [text[pos:a], new]
            pos = b
        return "".join(parts) + text[pos:]


@dataclass
class Document:
    id: int
    name: str
    path: str | None
    text: str
    turns: list[tuple[int, int, int, int]]  # id, start, end, speaker id
    segments: list[tuple[int, int, int]]  # id, start, end
    pieces: list[tuple[int, int]] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)


def load_documents(conn: sqlite3.Connection) -> list[Document]:
    docs = [
        Document(r["id"], r["name"], r["path"], r["text"], [], [])
        for r in conn.execute("SELECT id, name, path, text FROM documents ORDER BY id")
    ]
    by_id = {d.id: d for d in docs}
    for r in conn.execute("SELECT id, document_id, start, end, speaker_id FROM turns ORDER BY ord"):
        by_id[r["document_id"]].turns.append((r["id"], r["start"], r["end"], r["speaker_id"]))
    for r in conn.execute("SELECT id, document_id, start, end FROM segments ORDER BY ord"):
        by_id[r["document_id"]].segments.append((r["id"], r["start"], r["end"]))
    return docs


def pieces(doc: Document) -> list[tuple[int, int]]:
    """The spoken text in passages: every segment, plus any text of a turn outside them.
    Identifiers are looked for per passage, so a replacement never crosses a segment edge."""
    spans = sorted((s, e) for _, s, e in doc.segments)
    out = set(spans)
    for _, start, end, _ in doc.turns:
        pos = start
        for s, e in spans:
            if e <= start or s >= end:
                continue
            if s > pos:
                out.add((pos, s))
            pos = max(pos, e)
        if pos < end:
            out.add((pos, end))
    return sorted(p for p in out if doc.text[p[0] : p[1]].strip())


def detect_in(detector: Detector, text: str, spans: Iterable[tuple[int, int]]) -> list[Finding]:
    out = []
    for a, b in spans:
        for f in detector.detect(text[a:b]):
            out.append(Finding(f.start + a, f.end + a, f.text, f.category, f.source))
    return out


def metadata_terms(attribute_json: Iterable[str], wordlists: Wordlists) -> list[tuple[str, str]]:
    out = []
    for raw in attribute_json:
        try:
            data = json.loads(raw or "{}")
        except ValueError:
            continue
        if not isinstance(data, dict):
            continue
        for k, v in data.items():
            spec = METADATA_KEYS.get(str(k).strip().casefold())
            value = str(v).strip() if isinstance(v, str | int | float) else ""
            if spec and metadata_value_ok(spec, value) and not wordlists.allows(value):
                out.append((spec, value))
    return out


def metadata_value_ok(category: str, value: str) -> bool:
    if not value:
        return False
    if category in NAME_LIKE:
        return any(w[:1].isupper() for w in value.split())
    return True


_QUOTED_RE = re.compile(r'"([^"]+)"')
_PATHLIKE_RE = re.compile(
    r"[^\s\"'“”‘’]*(?:[/\\][^\s\"'“”‘’]*|\.(?:docx|odt|txt|md|vtt|srt|csv|xlsx|json|qdpx|pdf"
    r"|yaml|yml|db)\b)",
    re.IGNORECASE,
)


def map_quotes(explanation: str, old: str, new: str, omap: OffsetMap) -> str:
    """Quotes of the passage in an explanation ('lemma x in "...tekst..."') become the same
    stretch of the pseudonymised passage, so that an age or a name replaced by context is
    replaced in the quote too."""

    def fix(m: re.Match[str]) -> str:
        inner = m.group(1)
        lead = "..." if inner.startswith("...") else ""
        core = inner[len(lead) :]
        trail = "..." if core.endswith("...") and len(core) > 3 else ""
        core = core[: len(core) - len(trail)]
        words = core.split()
        if not words:
            return m.group(0)
        found = re.search(r"\s+".join(re.escape(w) for w in words), old)
        if not found:
            return m.group(0)
        a, b = omap.span(found.start(), found.end())
        return f'"{lead}{" ".join(new[a:b].split())}{trail}"'

    return _QUOTED_RE.sub(fix, explanation)


class Scrubber:
    """Replaces known terms in any stored value: plain text, paths, JSON."""

    def __init__(self, registry: Registry, matcher: TermMatcher, loose: TermMatcher) -> None:
        self.registry = registry
        self.matcher = matcher
        self.loose = loose

    def text(self, value: str) -> str:
        out = self.matcher.replace(value, lambda t: f"[{self.registry.pseudonym(t)}]")
        # in file names and paths a name may be lower case or joined with '_'
        return _PATHLIKE_RE.sub(lambda m: self.file_name(m.group()), out)

    def value(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, list):
            return [self.value(v) for v in value]
        if isinstance(value, dict):
            return {self.text(str(k)): self.value(v) for k, v in value.items()}
        return value

    def cell(self, value: str) -> str:
        if value[:1] in "{[":
            try:
                data = json.loads(value)
            except ValueError:
                pass
            else:
                new = self.value(data)
                return value if new == data else json.dumps(new, ensure_ascii=False)
        return self.text(value)

    def file_name(self, name: str) -> str:
        return self.loose.replace(name, self.registry.pseudonym)


def text_columns(conn: sqlite3.Connection) -> list[tuple[str, list[str]]]:
    tables = [
        r[0]
        for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            " ORDER BY name"
        )
    ]
    out = []
    for table in tables:
        columns = [
            r["name"]
            for r in conn.execute(f'PRAGMA table_info("{table}")')
            if not r["type"] or any(t in r["type"].upper() for t in ("TEXT", "CHAR", "CLOB"))
        ]
        out.append((table, columns))
    return out


def replacements(
    doc: Document,
    labels: dict[int, str],
    named: set[int],
    registry: Registry,
    matcher: TermMatcher,
    replaced: Counter[str],
) -> list[tuple[int, int, str]]:
    text = doc.text
    reps: list[tuple[int, int, str]] = []
    for _, start, _, speaker_id in doc.turns:
        if speaker_id not in named:
            continue
        label = labels[speaker_id]
        a = start - len(label) - 2
        if a >= 0 and text[a:start] == f"{label}: ":
            reps.append((a, a + len(label), registry.speaker_code(label) or label))
    for a, b in doc.pieces:
        known = [
            Finding(a + s, a + e, term, "", "known") for s, e, term in matcher.finditer(text[a:b])
        ]
        inside = [f for f in doc.findings if a <= f.start and f.end <= b]
        for f in resolve_overlaps(inside + known):
            reps.append((f.start, f.end, f"[{registry.pseudonym(f.text)}]"))
            replaced[registry.category_of(f.text)] += 1
    return sorted(reps)


def rewrite_document(
    conn: sqlite3.Connection, doc: Document, reps: list[tuple[int, int, str]]
) -> dict[int, tuple[str, str, OffsetMap]]:
    """New text, turn and segment offsets; returns the changed segments (old, new, map)."""
    from qualcode.text import count_words

    omap = OffsetMap(reps)
    text = omap.apply(doc.text)
    words = 0
    for turn_id, start, end, _ in doc.turns:
        new_start, new_end = omap(start), omap(end)
        words += count_words(text[new_start:new_end])
        conn.execute(
            "UPDATE turns SET start = ?, end = ? WHERE id = ?", (new_start, new_end, turn_id)
        )
    changed = {}
    for seg_id, start, end in doc.segments:
        new_start, new_end = omap(start), omap(end)
        conn.execute(
            "UPDATE segments SET start = ?, end = ? WHERE id = ?", (new_start, new_end, seg_id)
        )
        old_text, new_text = doc.text[start:end], text[new_start:new_end]
        if old_text != new_text:
            local = [(a - start, b - start, new) for a, b, new in reps if start <= a and b <= end]
            changed[seg_id] = (old_text, new_text, OffsetMap(local))
    conn.execute("UPDATE documents SET text = ?, words = ? WHERE id = ?", (text, words, doc.id))
    return changed


def rename_documents(conn: sqlite3.Connection, docs: list[Document], scrub: Scrubber) -> int:
    """Document names and paths with a name in them ('interview_jan.docx' → 'interview_R2.docx')."""
    from qualcode.ingest.metadata import document_key

    names = {d.id: scrub.file_name(d.name) for d in docs}
    taken: set[str] = set()
    renamed = 0
    for doc in docs:
        new = names[doc.id]
        stem, dot, ext = new.rpartition(".") if "." in new else (new, "", "")
        n = 1
        while document_key(new) in taken:
            n += 1
            new = f"{stem}-{n}{dot}{ext}" if dot else f"{new}-{n}"
        taken.add(document_key(new))
        names[doc.id] = new
    for doc in docs:  # two steps, so that names may be swapped without a clash
        if names[doc.id] != doc.name:
            conn.execute("UPDATE documents SET name = ? WHERE id = ?", (f"\0{doc.id}", doc.id))
    for doc in docs:
        path = scrub.file_name(doc.path) if doc.path else doc.path
        if names[doc.id] != doc.name or path != doc.path:
            conn.execute(
                "UPDATE documents SET name = ?, path = ? WHERE id = ?",
                (names[doc.id], path, doc.id),
            )
            renamed += names[doc.id] != doc.name
    return renamed


def rewrite_attributes(
    conn: sqlite3.Connection, registry: Registry, scrub: Scrubber, wordlists: Wordlists
) -> int:
    def rewrite(raw: str) -> str:
        try:
            data = json.loads(raw or "{}")
        except ValueError:
            return scrub.cell(raw)
        if not isinstance(data, dict):
            return scrub.cell(raw)
        out = {}
        for k, v in data.items():
            spec = METADATA_KEYS.get(str(k).strip().casefold())
            value = str(v).strip() if isinstance(v, str | int | float) else ""
            if spec and metadata_value_ok(spec, value) and not wordlists.allows(value):
                out[k] = f"[{registry.pseudonym(value)}]"
            else:
                out[k] = scrub.value(v)
        return raw if out == data else json.dumps(out, ensure_ascii=False)

    changed = 0
    for table in ("documents", "speakers"):
        for r in conn.execute(f"SELECT id, attributes FROM {table}").fetchall():
            new = rewrite(r["attributes"])
            if new != r["attributes"]:
                conn.execute(f"UPDATE {table} SET attributes = ? WHERE id = ?", (new, r["id"]))
                changed += 1
    return changed


def rewrite_memos(
    conn: sqlite3.Connection,
    memos: list[tuple[int, str, list[Finding]]],
    registry: Registry,
    matcher: TermMatcher,
) -> int:
    changed = 0
    for memo_id, text, findings in memos:
        known = [Finding(s, e, t, "", "known") for s, e, t in matcher.finditer(text)]
        reps = [
            (f.start, f.end, f"[{registry.pseudonym(f.text)}]")
            for f in resolve_overlaps(findings + known)
        ]
        if reps:
            conn.execute(
                "UPDATE memos SET text = ?, updated_at = ? WHERE id = ?",
                (OffsetMap(reps).apply(text), now(), memo_id),
            )
            changed += 1
    return changed


def rewrite_explanations(
    conn: sqlite3.Connection,
    changed_segments: dict[int, tuple[str, str, OffsetMap]],
    scrub: Scrubber,
) -> int:
    changed = 0
    rows = conn.execute(
        "SELECT id, segment_id, explanation FROM codings WHERE explanation IS NOT NULL"
    ).fetchall()
    for r in rows:
        text = r["explanation"]
        if r["segment_id"] in changed_segments:
            old, new, omap = changed_segments[r["segment_id"]]
            text = map_quotes(text, old, new, omap)
        text = scrub.text(text)
        if text != r["explanation"]:
            conn.execute("UPDATE codings SET explanation = ? WHERE id = ?", (text, r["id"]))
            changed += 1
    return changed


def rewrite_other_columns(conn: sqlite3.Connection, scrub: Scrubber) -> int:
    """Every other text column of every table, including tables added by later versions."""
    changed = 0
    for table, columns in text_columns(conn):
        columns = [c for c in columns if c not in OWN_STEP.get(table, set())]
        if not columns or table == "segment_nlp":
            continue
        select = ", ".join(f'"{c}"' for c in columns)
        try:
            rows = conn.execute(f'SELECT rowid AS _rowid, {select} FROM "{table}"').fetchall()
        except sqlite3.OperationalError:  # a table without rowid: none in qualcode's schema
            continue
        for r in rows:
            updates = {
                c: new
                for c in columns
                if isinstance(r[c], str) and (new := scrub.cell(r[c])) != r[c]
            }
            if updates:
                assignments = ", ".join(f'"{c}" = ?' for c in updates)
                conn.execute(
                    f'UPDATE "{table}" SET {assignments} WHERE rowid = ?',
                    (*updates.values(), r["_rowid"]),
                )
                changed += 1
    return changed


def recompute_tokens(project: Project, segment_ids: list[int]) -> int:
    """Stored tokens of changed passages are dropped and computed again from the new text."""
    if not segment_ids:
        return 0
    conn = project.conn
    marks = ",".join("?" * len(segment_ids))
    had = conn.execute(
        f"SELECT count(*) FROM segment_nlp WHERE segment_id IN ({marks})", segment_ids
    ).fetchone()[0]
    conn.executemany("DELETE FROM segment_nlp WHERE segment_id = ?", [(i,) for i in segment_ids])
    if not had:
        return 0
    from qualcode.nlp import annotate_segments, load_pipeline

    return annotate_segments(project, load_pipeline(project.settings().get("spacy_model")))


def verify(conn: sqlite3.Connection, matcher: TermMatcher, loose: TermMatcher) -> None:
    """No known identifier may be left in any text column; a failure here is a bug."""
    if matcher.regex is None:
        return
    for table, columns in text_columns(conn):
        for column in columns:
            for (value,) in conn.execute(f'SELECT "{column}" FROM "{table}"'):
                if not isinstance(value, str):
                    continue
                hit = matcher.regex.search(value)
                if hit is None and table == "documents" and column in ("name", "path"):
                    hit = loose.regex.search(value) if loose.regex else None
                if hit is not None:
                    raise QualcodeError(
                        f"an identifier is still in {table}.{column} after pseudonymising;"
                        " nothing was changed",
                        "please report this; if the word is not an identifier, add it to the"
                        " allow-list",
                    )
