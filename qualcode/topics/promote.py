"""Promote a topic to a code: the topic's words become keywords, its representative passages
examples, under a parent code that exists.

Without ``write_yaml`` the code is stored in the project only (origin ``topic``, with its full
spec); :func:`qualcode.codes.resolve_codebook` merges it into the codebook, so the next
``qualcode suggest`` uses it. With ``write_yaml`` it is written into the codebook file too (a
``.bak`` copy first) and from then on the file is in charge of it.
"""

from __future__ import annotations

import json
import textwrap
from dataclasses import dataclass
from pathlib import Path

from qualcode.codebook import ID_RE, Code
from qualcode.errors import QualcodeError
from qualcode.store import Project
from qualcode.topics.results import Topic

# At most this many topic words become keywords: those specific to the topic (at least
# KEYWORD_SHARE of the passages with the word are in it), so that a keyword of the new code
# does not fire on every passage; and an example taken from a passage is at most this long.
KEYWORDS = 8
KEYWORD_SHARE = 0.5
MIN_KEYWORDS = 3
EXAMPLE_CHARS = 300


@dataclass(frozen=True)
class PromoteReport:
    code: Code
    topic: int
    run_id: int
    origin: str
    codebook_file: Path | None = None  # written with write_yaml
    backup: Path | None = None


def topic_keywords(topic: Topic, size: int = KEYWORDS) -> tuple[str, ...]:
    """The topic's specific words (lemmas, two-word phrases too) of at least three letters, in
    the order of their weight; the best few words when none is specific enough."""
    words = [w for w in topic.words if len(w.word.replace(" ", "")) >= 3]
    specific = [w.word for w in words if w.share >= KEYWORD_SHARE]
    chosen = specific or [w.word for w in words[:MIN_KEYWORDS]]
    return tuple(dict.fromkeys(chosen))[:size]


def default_definition(topic: Topic) -> str:
    return (
        f"Nieuw thema uit topic {topic.number} ({topic.size} passages), "
        f"met de woorden: {', '.join(w.word for w in topic.words[:6])}."
    )


def _check_target(project: Project, code_path: str) -> tuple[str, str]:
    from qualcode.codes import code_ids

    path = code_path.strip().strip("/")
    parent, _, code_id = path.rpartition("/")
    if not ID_RE.match(code_id):
        raise QualcodeError(
            f"code id '{code_id}' must be lowercase letters, digits and _",
            "for example --as impact/sociaal/buurtinitiatieven",
        )
    if not parent:
        raise QualcodeError(
            f"'{path}' has no parent code",
            f"give the full path under an existing code, e.g. --as impact/sociaal/{code_id}",
        )
    if path in code_ids(project):
        raise QualcodeError(f"code {path} already exists in this project", "choose a new id")
    return parent, code_id


def promote_topic(
    project: Project,
    number: int,
    code_path: str,
    *,
    label: str,
    definition: str | None = None,
    write_yaml: bool = False,
    run_id: int | None = None,
) -> PromoteReport:
    """Add topic ``number`` of the latest topics run (or ``run_id``) as code ``code_path``."""
    from qualcode.codebook import add_code_to_file
    from qualcode.codes import resolve_codebook, sync_codes
    from qualcode.topics.storage import stored_topics

    result = stored_topics(project, run_id)
    topic = result.topic(number)
    if topic.promoted_code:
        raise QualcodeError(
            f"topic {number} was already promoted to {topic.promoted_code}",
            "edit that code in the codebook, or fit the topics again",
        )
    parent, code_id = _check_target(project, code_path)
    if not label.strip():
        raise QualcodeError("the code needs a label", 'give one with --label "..."')
    book = resolve_codebook(project)
    by_path = book.by_path
    if parent not in by_path:
        tops = ", ".join(c.path for c in book.walk() if c.children)
        raise QualcodeError(
            f"parent code {parent} is not in the codebook {book.file}",
            f"choose an existing code, such as: {tops}",
        )
    used = next((c for c in book.walk() if c.id == code_id), None)
    if used is not None:
        raise QualcodeError(
            f"code id '{code_id}' already exists ({used.path}); ids must be unique",
            "choose a new id",
        )
    code = Code(
        id=code_id,
        label=label.strip(),
        path=f"{parent}/{code_id}",
        parent=parent,
        definition=(definition or "").strip() or default_definition(topic),
        keywords=topic_keywords(topic),
        examples=tuple(
            textwrap.shorten(p.text, EXAMPLE_CHARS, placeholder=" …") for p in topic.representatives
        ),
    )
    origin = "codebook" if write_yaml else "topic"
    backup = None
    with project.transaction() as conn:
        sync_codes(project, book)  # the parent must have its row (a project never suggested)
        parent_id = conn.execute("SELECT id FROM codes WHERE path = ?", (parent,)).fetchone()[0]
        order = conn.execute("SELECT coalesce(max(ord), 0) + 1 FROM codes").fetchone()[0]
        cur = conn.execute(
            "INSERT INTO codes (path, code_key, parent_id, label, definition, color, ord, spec,"
            " origin) VALUES (?, ?, ?, ?, ?, NULL, ?, ?, ?)",
            (
                code.path,
                code.id,
                parent_id,
                code.label,
                code.definition,
                order,
                json.dumps(code.to_dict(), ensure_ascii=False, sort_keys=True),
                origin,
            ),
        )
        conn.execute(
            "UPDATE topics SET promoted_code_id = ? WHERE run_id = ? AND number = ?",
            (cur.lastrowid, result.run_id, number),
        )
        if write_yaml:
            if not book.file:
                raise QualcodeError("the project's codebook has no file to write to")
            # last, so that a file that cannot be written rolls the project back too
            backup = add_code_to_file(book.file, parent, code)
    return PromoteReport(
        code,
        number,
        result.run_id,
        origin,
        Path(book.file) if write_yaml and book.file else None,
        backup,
    )
