"""``qualcode pseudonymise --check``: capitalised words left in the text, for a manual look.

A capitalised word in the middle of a Dutch sentence is a name, a place, an organisation or an
abbreviation, unless it is an ordinary Dutch word (spaCy's Dutch lookup tables: lemmas and
inflected forms, see ``detect.dutch_words``). Words at the
start of a sentence, pseudonyms, transcriber annotations and allow-listed words are skipped, as
are speaker labels that follow the conventions (R3, Deelnemer 2, Interviewer).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from qualcode.privacy.detect import at_sentence_start, dutch_words
from qualcode.privacy.lists import BUILTIN_ALLOW, load_wordlists
from qualcode.privacy.names import PSEUDONYM_RE, normalise_name
from qualcode.store import Project
from qualcode.text import annotation_spans

_CAPITALISED_RE = re.compile(r"(?<![\w'’\-])[A-ZÀ-Þ][\w'’\-]*")
_CONTEXT = 40


@dataclass(frozen=True)
class Suspect:
    document: str
    word: str
    count: int
    context: str  # the first occurrence with some text around it


def _context(text: str, start: int, end: int) -> str:
    a, b = max(0, start - _CONTEXT), min(len(text), end + _CONTEXT)
    snippet = " ".join(text[a:b].split())
    return ("..." if a else "") + snippet + ("..." if b < len(text) else "")


def check_project(project: Project, *, allow_file: Path | None = None) -> list[Suspect]:
    """Suspicious capitalised words per document, in document order."""
    from qualcode.ingest.labels import is_convention, looks_like_name

    vocabulary = dutch_words()
    lists = load_wordlists(project.settings(), project.settings_path, allow_file)
    allowed = {w for entry in lists.allow | BUILTIN_ALLOW for w in entry.split()}

    def suspicious(word: str) -> bool:
        bare = normalise_name(word.strip("'’-"))
        return (
            len(bare) > 1
            and bare not in vocabulary
            and bare not in allowed
            and not (bare.endswith("'s") and bare[:-2] in vocabulary)
        )

    out: list[Suspect] = []
    conn = project.conn
    for doc in conn.execute("SELECT id, name, text FROM documents ORDER BY name").fetchall():
        found: dict[str, tuple[int, str]] = {}
        for r in conn.execute(
            "SELECT label FROM speakers WHERE document_id = ? ORDER BY id", (doc["id"],)
        ):
            label = r["label"]
            if not is_convention(label) and looks_like_name(label):
                for word in label.split():
                    if word[:1].isupper() and suspicious(word):
                        count, context = found.get(word, (0, f"speaker label '{label}'"))
                        found[word] = (count + 1, context)
        text = doc["text"]
        for t in conn.execute(
            "SELECT start, end FROM turns WHERE document_id = ? ORDER BY ord", (doc["id"],)
        ):
            turn = text[t["start"] : t["end"]]
            skip = annotation_spans(turn) + [m.span() for m in PSEUDONYM_RE.finditer(turn)]
            for m in _CAPITALISED_RE.finditer(turn):
                if any(a <= m.start() < b for a, b in skip) or at_sentence_start(turn, m.start()):
                    continue
                word = m.group().rstrip("'’-")
                if not suspicious(word):
                    continue
                count, context = found.get(word, (0, ""))
                start = t["start"] + m.start()
                found[word] = (count + 1, context or _context(text, start, start + len(word)))
        out += [Suspect(doc["name"], w, n, c) for w, (n, c) in found.items()]
    return out
