"""Ingest transcripts into a project: read every file first, then write all of it at once.

``ingest_files`` is what ``qualcode ingest`` calls. Nothing is written unless every file and the
metadata are valid, and the writing is one transaction, so a bad file never leaves a
half-ingested project behind.
"""

from __future__ import annotations

import difflib
import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from qualcode.errors import ProjectError, QualcodeError, TranscriptError
from qualcode.ingest.document import layout, segment
from qualcode.ingest.labels import is_interviewer_label
from qualcode.ingest.metadata import Metadata, document_key, load_metadata, speaker_key
from qualcode.ingest.readers import READERS, read_transcript
from qualcode.models import MACHINE_CODER, UNITS, ParsedTranscript
from qualcode.store import Project, now
from qualcode.text import count_words

__all__ = ["IngestReport", "collect_files", "ingest_files", "read_transcript"]

_SKIP_NAMES = ("readme", "license", "licence", "changelog")


@dataclass
class IngestReport:
    added: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)
    metadata_updated: list[str] = field(default_factory=list)
    moved_codings: int = 0
    backup: Path | None = None
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Parsed:
    path: Path
    name: str
    sha256: str
    # None when the project already holds this very file (same name and checksum): a re-run
    # over a large study then reads each file's bytes but parses only the new ones
    transcript: ParsedTranscript | None
    known: list[str] = field(default_factory=list)
    encoding: str | None = None

    def parsed(self) -> _Parsed:
        if self.transcript is not None:
            return self
        transcript = read_transcript(self.path, encoding=self.encoding, known_speakers=self.known)
        return replace(self, transcript=transcript)


def collect_files(paths: Iterable[str | Path]) -> list[Path]:
    """Files named directly, plus supported transcripts found in named folders (sorted)."""
    files: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            for child in sorted(path.rglob("*")):
                if (
                    child.is_file()
                    and child.suffix.lower() in READERS
                    and not any(
                        part.startswith((".", "_")) for part in child.parts[len(path.parts) :]
                    )
                    and not child.stem.lower().startswith(_SKIP_NAMES)
                ):
                    files.append(child)
        else:
            files.append(path)
    seen: set[Path] = set()
    unique = []
    for f in files:
        key = f.resolve()
        if key not in seen:
            seen.add(key)
            unique.append(f)
    return unique


def _parse_all(
    files: Sequence[Path],
    meta: Metadata | None,
    encoding: str | None,
    stored: dict[str, str],
) -> list[_Parsed]:
    """Every file checked and parsed, except those ``stored`` (name -> checksum) already."""
    parsed: list[_Parsed] = []
    names: dict[str, Path] = {}
    for path in files:
        name = path.name
        key = document_key(name)
        if key in names:
            raise TranscriptError(
                path,
                f"has the same name as {names[key]}",
                hint="rename one of the two files: documents are identified by file name"
                " (without extension)",
            )
        names[key] = path
        known = [s for s in meta.speakers_of(name)] if meta else []
        try:
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
        except OSError:
            read_transcript(path, encoding=encoding, known_speakers=known)  # the one-line error
            raise
        entry = _Parsed(path, name, digest, None, known, encoding)
        parsed.append(entry if stored.get(name) == digest else entry.parsed())
    return parsed


def _check_metadata(meta: Metadata, parsed: Sequence[_Parsed], project: Project) -> None:
    in_batch = {document_key(p.name): p for p in parsed}
    in_project = {
        document_key(r["name"]): r["id"]
        for r in project.conn.execute("SELECT id, name FROM documents")
    }
    for key, line in sorted(meta.referenced().items(), key=lambda kv: kv[1]):
        if key not in in_batch and key not in in_project:
            raise TranscriptError(
                meta.file,
                f"names a document that is not being ingested: '{meta.names.get(key, key)}'",
                line=line,
                hint="check the file name in the 'document' column or add that transcript",
            )
        if key in in_batch and in_batch[key].transcript is not None:
            doc_name = in_batch[key].name
            written = {t.speaker for t in in_batch[key].transcript.turns}
        else:
            doc_name = next(
                r[0]
                for r in project.conn.execute(
                    "SELECT name FROM documents WHERE id = ?", (in_project[key],)
                )
            )
            written = {
                r[0]
                for r in project.conn.execute(
                    "SELECT label FROM speakers WHERE document_id = ?", (in_project[key],)
                )
            }
        labels = {speaker_key(label) for label in written}
        for skey, smeta in meta.speakers.get(key, {}).items():
            if skey not in labels:
                raise TranscriptError(
                    meta.file,
                    f"speaker '{smeta.label or skey}' does not occur in '{doc_name}'",
                    line=smeta.line,
                    hint="speakers in that file: " + ", ".join(sorted(written)),
                )


# A labelled document whose text all goes to one speaker over this many paragraphs is more
# likely a transcript whose other labels were not understood than a monologue.
ONE_SPEAKER_PARAGRAPHS = 6


def _speaker_warnings(p: _Parsed) -> list[str]:
    """Say so when a document with speaker labels gave all its text to a single speaker: the
    other speakers' labels were probably not recognised, and everyone's words were merged."""
    transcript = p.transcript
    if transcript is None or not transcript.has_speakers:
        return []
    speakers = {t.speaker for t in transcript.turns}
    paragraphs = sum(len(t.paragraphs) for t in transcript.turns)
    if len(speakers) != 1 or paragraphs < ONE_SPEAKER_PARAGRAPHS:
        return []
    return [
        f"{p.path}: all {paragraphs} paragraphs were read as said by one speaker "
        f"('{next(iter(speakers))}'); if others speak in it, their labels were not recognised. "
        "Use labels such as 'Naam:', 'R2:' or 'Deelnemer 2:', or list the speakers in the "
        "metadata file (--metadata)"
    ]


def _speaker_rows(p: _Parsed, meta: Metadata | None) -> list[tuple[str, str | None, bool, dict]]:
    """(label, role, is_interviewer, attributes) in order of first appearance."""
    smeta = meta.speakers_of(p.name) if meta else {}
    rows: dict[str, tuple[str, str | None, bool, dict]] = {}
    for turn in p.transcript.turns:
        if turn.speaker in rows:
            continue
        m = smeta.get(speaker_key(turn.speaker))
        role = (m.role if m and m.role else None) or turn.role
        interviewer = is_interviewer_label(turn.speaker)
        if m and m.interviewer is not None:
            interviewer = m.interviewer
        rows[turn.speaker] = (turn.speaker, role, interviewer, dict(m.attributes) if m else {})
    return list(rows.values())


def _insert_document(
    project: Project, p: _Parsed, meta: Metadata | None, unit: str, max_words: int, name: str
) -> int:
    conn = project.conn
    text, laid = layout(p.transcript.turns)
    spans = segment(text, laid, unit, max_words)
    words = sum(count_words(text[t.start : t.end]) for t in laid)
    attributes = meta.for_document(p.name) if meta else {}
    cur = conn.execute(
        "INSERT INTO documents (name, path, sha256, format, encoding, text, attributes, unit,"
        " words, ingested_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            name,
            str(p.path),
            p.sha256,
            p.transcript.format,
            p.transcript.encoding,
            text,
            json.dumps(attributes, ensure_ascii=False),
            unit,
            words,
            now(),
        ),
    )
    doc_id = cur.lastrowid
    speaker_ids: dict[str, int] = {}
    for label, role, interviewer, attrs in _speaker_rows(p, meta):
        cur = conn.execute(
            "INSERT INTO speakers (document_id, label, role, is_interviewer, attributes)"
            " VALUES (?, ?, ?, ?, ?)",
            (doc_id, label, role, int(interviewer), json.dumps(attrs, ensure_ascii=False)),
        )
        speaker_ids[label] = cur.lastrowid  # type: ignore[assignment]
    turn_ids = []
    for order, lt in enumerate(laid, start=1):
        t = lt.turn
        cur = conn.execute(
            "INSERT INTO turns (document_id, ord, speaker_id, start, end, timestamp, start_time,"
            " end_time) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                doc_id,
                order,
                speaker_ids[t.speaker],
                lt.start,
                lt.end,
                t.timestamp,
                t.start_time,
                t.end_time,
            ),
        )
        turn_ids.append(cur.lastrowid)
    conn.executemany(
        "INSERT INTO segments (document_id, turn_id, ord, unit, start, end, has_words)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        [
            (doc_id, turn_ids[s.turn_index], order, unit, s.start, s.end, int(s.has_words))
            for order, s in enumerate(spans, start=1)
        ],
    )
    assert doc_id is not None
    return doc_id


def _apply_metadata(project: Project, doc_id: int, name: str, meta: Metadata) -> bool:
    conn = project.conn
    changed = False
    attrs = meta.for_document(name)
    if attrs:
        old = json.loads(
            conn.execute("SELECT attributes FROM documents WHERE id = ?", (doc_id,)).fetchone()[0]
        )
        new = {**old, **attrs}
        if new != old:
            conn.execute(
                "UPDATE documents SET attributes = ? WHERE id = ?",
                (json.dumps(new, ensure_ascii=False), doc_id),
            )
            changed = True
    for row in conn.execute(
        "SELECT id, label, role, is_interviewer, attributes FROM speakers WHERE document_id = ?",
        (doc_id,),
    ).fetchall():
        m = meta.speakers_of(name).get(speaker_key(row["label"]))
        if not m:
            continue
        role = m.role or row["role"]
        interviewer = row["is_interviewer"] if m.interviewer is None else int(m.interviewer)
        attrs_json = json.dumps(
            {**json.loads(row["attributes"]), **m.attributes}, ensure_ascii=False
        )
        if (role, interviewer, attrs_json) != (
            row["role"],
            row["is_interviewer"],
            row["attributes"],
        ):
            conn.execute(
                "UPDATE speakers SET role = ?, is_interviewer = ?, attributes = ? WHERE id = ?",
                (role, interviewer, attrs_json, row["id"]),
            )
            changed = True
    return changed


def _segment_texts(project: Project, doc_id: int) -> list[tuple[int, str]]:
    return [
        (r[0], r[1])
        for r in project.conn.execute(
            "SELECT s.id, substr(d.text, s.start + 1, s.end - s.start) FROM segments s"
            " JOIN documents d ON d.id = s.document_id WHERE s.document_id = ? ORDER BY s.ord",
            (doc_id,),
        )
    ]


def _reanchor(project: Project, old_id: int, new_id: int, drop_unmatched: bool) -> int:
    """Move human codings from the old version's segments to the matching new segments."""
    conn = project.conn
    old_text = dict(_segment_texts(project, old_id))
    new_segments = _segment_texts(project, new_id)
    coded = conn.execute(
        "SELECT c.id, c.segment_id FROM codings c JOIN segments s ON s.id = c.segment_id"
        " WHERE s.document_id = ? AND c.coder != ?",
        (old_id, MACHINE_CODER),
    ).fetchall()
    targets: dict[int, int | None] = {}
    for seg_id in sorted({r["segment_id"] for r in coded}):
        text = old_text[seg_id]
        exact = next((sid for sid, t in new_segments if t == text), None)
        if exact is None:
            scored = [
                (difflib.SequenceMatcher(None, text, t).ratio(), sid) for sid, t in new_segments
            ]
            best = max(scored, default=(0.0, None))
            exact = best[1] if best[0] >= 0.75 else None
        targets[seg_id] = exact
    lost = [r for r in coded if targets[r["segment_id"]] is None]
    if lost and not drop_unmatched:
        raise ProjectError(
            f"{len(lost)} coding(s) are on passages that no longer exist in the new version",
            "nothing was changed; restore the passages, or re-run with --drop-unmatched-codings",
        )
    moved = 0
    for r in coded:
        target = targets[r["segment_id"]]
        if target is None:
            continue
        clash = conn.execute(
            "SELECT 1 FROM codings WHERE segment_id = ? AND code_id ="
            " (SELECT code_id FROM codings WHERE id = ?) AND coder ="
            " (SELECT coder FROM codings WHERE id = ?)",
            (target, r["id"], r["id"]),
        ).fetchone()
        if clash is None:
            conn.execute(
                "UPDATE codings SET segment_id = ?, updated_at = ? WHERE id = ?",
                (target, now(), r["id"]),
            )
            moved += 1
    conn.execute(
        "UPDATE memos SET target_id = ? WHERE target_type = 'document' AND target_id = ?",
        (new_id, old_id),
    )
    return moved


def ingest_files(
    project: Project,
    paths: Iterable[str | Path],
    *,
    metadata: str | Path | None = None,
    replace: bool = False,
    unit: str | None = None,
    encoding: str | None = None,
    drop_unmatched_codings: bool = False,
) -> IngestReport:
    """Read transcripts (files or folders) and store them with their turns and segments."""
    settings = project.settings()
    unit = unit or settings.get("unit") or "turn"
    if unit not in UNITS:
        raise QualcodeError(f"unknown unit '{unit}'", "use one of: " + ", ".join(UNITS))
    max_words = int(settings.get("max_segment_words") or 250)
    paths = list(paths)
    files = collect_files(paths)
    if not files and not metadata:
        where = ", ".join(str(p) for p in paths) or "(nothing given)"
        raise QualcodeError(
            f"no transcripts found in {where}", "supported: " + ", ".join(sorted(READERS))
        )
    meta = load_metadata(metadata) if metadata else None
    stored = {r[0]: r[1] for r in project.conn.execute("SELECT name, sha256 FROM documents")}
    parsed = _parse_all(files, meta, encoding, stored)
    if meta:
        _check_metadata(meta, parsed, project)

    report = IngestReport()
    try:
        with project.transaction() as conn:
            # Read what the project holds inside the transaction: another command may have
            # added the same file while these were being read.
            existing = {
                r["name"]: (r["id"], r["sha256"])
                for r in conn.execute("SELECT id, name, sha256 FROM documents")
            }
            by_key = {document_key(name): name for name in existing}
            for p in parsed:
                other = by_key.get(document_key(p.name))
                if other is not None and other != p.name:
                    raise TranscriptError(
                        p.path,
                        f"the project already has a document with the same name: {other}",
                        hint="rename the file: documents are identified by file name"
                        " (without extension)",
                    )
            if replace and any(
                p.name in existing and existing[p.name][1] != p.sha256 for p in parsed
            ):
                report.backup = project.backup("before-replace")
            for p in parsed:
                if existing.get(p.name, (None, None))[1] != p.sha256:
                    p = p.parsed()  # another command changed the project since it was read
                if p.name not in existing:
                    _insert_document(project, p, meta, unit, max_words, p.name)
                    report.added.append(p.name)
                    report.warnings.extend(_speaker_warnings(p))
                    continue
                old_id, old_sha = existing[p.name]
                if old_sha == p.sha256:
                    report.unchanged.append(p.name)
                    if meta and _apply_metadata(project, old_id, p.name, meta):
                        report.metadata_updated.append(p.name)
                elif not replace:
                    report.changed.append(p.name)
                else:
                    new_id = _insert_document(project, p, meta, unit, max_words, f"\0{p.name}")
                    report.moved_codings += _reanchor(
                        project, old_id, new_id, drop_unmatched_codings
                    )
                    conn.execute("DELETE FROM documents WHERE id = ?", (old_id,))
                    conn.execute("UPDATE documents SET name = ? WHERE id = ?", (p.name, new_id))
                    report.replaced.append(p.name)
                    report.warnings.extend(_speaker_warnings(p))
            if meta:
                batch = {p.name for p in parsed}
                for name, (doc_id, _) in existing.items():
                    if name not in batch and _apply_metadata(project, doc_id, name, meta):
                        report.metadata_updated.append(name)
    except BaseException:
        if report.backup is not None:  # nothing was changed: the backup is not needed
            report.backup.unlink(missing_ok=True)
            report.backup = None
        raise
    if report.changed:
        report.warnings.append(
            f"{len(report.changed)} file(s) changed since they were ingested and were left as "
            "they were: " + ", ".join(report.changed) + " (use --replace to update them; "
            "codings move along with their passages)"
        )
    return report
