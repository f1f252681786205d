"""Read-side queries about documents, speakers and turns (what ``documents``/``show`` print)."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from qualcode.errors import QualcodeError
from qualcode.ingest.metadata import document_key
from qualcode.models import DocumentInfo
from qualcode.store import Project


def list_documents(project: Project) -> list[DocumentInfo]:
    rows = project.conn.execute(
        """
        SELECT d.id, d.name, d.format, d.words, d.attributes, d.sha256,
               (SELECT count(*) FROM turns t WHERE t.document_id = d.id) AS turns,
               (SELECT count(*) FROM speakers s WHERE s.document_id = d.id) AS speakers
        FROM documents d ORDER BY d.name
        """
    ).fetchall()
    return [
        DocumentInfo(
            r["id"],
            r["name"],
            r["format"],
            r["turns"],
            r["speakers"],
            r["words"],
            json.loads(r["attributes"]),
            r["sha256"],
        )
        for r in rows
    ]


def find_document(project: Project, ref: str | int) -> sqlite3.Row:
    """A document by numeric id, file name, or file name without extension."""
    conn = project.conn
    text = str(ref).strip()
    row = None
    if text.isdigit():
        row = conn.execute("SELECT * FROM documents WHERE id = ?", (int(text),)).fetchone()
    if row is None:
        # The exact file name first, then the name without extension.
        candidates = conn.execute("SELECT * FROM documents ORDER BY id").fetchall()
        row = next((c for c in candidates if c["name"].casefold() == text.casefold()), None)
        if row is None:
            key = document_key(text)
            row = next((c for c in candidates if document_key(c["name"]) == key), None)
    if row is None:
        # A unique prefix is enough: 'fg05' for 'fg05_mantelzorg_groningen.srt'.
        matches = [
            c
            for c in conn.execute("SELECT * FROM documents ORDER BY id")
            if c["name"].casefold().startswith(text.casefold())
        ]
        if len(matches) == 1:
            row = matches[0]
        elif len(matches) > 1:
            raise QualcodeError(
                f"'{ref}' matches {len(matches)} documents",
                "be more specific: " + ", ".join(m["name"] for m in matches[:5]),
            )
    if row is None:
        raise QualcodeError(
            f"no document '{ref}' in {project.path}",
            f"see the list with 'qualcode documents --project {project.path}'",
        )
    return row


def document_turns(project: Project, ref: str | int) -> list[dict[str, Any]]:
    """The document as parsed: one dict per turn, in order."""
    doc = find_document(project, ref)
    rows = project.conn.execute(
        """
        SELECT t.ord, t.start, t.end, t.timestamp, t.start_time, t.end_time,
               s.label, s.role, s.is_interviewer
        FROM turns t JOIN speakers s ON s.id = t.speaker_id
        WHERE t.document_id = ? ORDER BY t.ord
        """,
        (doc["id"],),
    ).fetchall()
    text = doc["text"]
    return [
        {
            "order": r["ord"],
            "speaker": r["label"],
            "role": r["role"],
            "timestamp": r["timestamp"],
            "start": r["start"],
            "end": r["end"],
            "text": text[r["start"] : r["end"]],
            "is_interviewer": bool(r["is_interviewer"]),
        }
        for r in rows
    ]


def document_speakers(project: Project, ref: str | int) -> list[dict[str, Any]]:
    doc = find_document(project, ref)
    return [
        {
            "speaker": r["label"],
            "role": r["role"],
            "is_interviewer": bool(r["is_interviewer"]),
            "turns": r["turns"],
        }
        for r in project.conn.execute(
            "SELECT s.label, s.role, s.is_interviewer, count(t.id) AS turns FROM speakers s"
            " LEFT JOIN turns t ON t.speaker_id = s.id WHERE s.document_id = ?"
            " GROUP BY s.id ORDER BY min(t.ord)",
            (doc["id"],),
        )
    ]
