"""Import a REFI-QDA project (``.qdpx``) from ATLAS.ti, NVivo, MAXQDA, QualCoder or qualcode.

What comes in: text sources (ingested through :func:`qualcode.ingest.ingest_files`, so speaker
turns are recognised), codes with hierarchy, colours and descriptions (origin ``qdpx``),
codings with their coders' names, notes as memos, document attributes and speakers' roles.
Everything is written in one transaction: a file that fails anywhere changes nothing.

Selections are mapped onto segments by :mod:`qualcode.refi.positions`. A source whose name
matches a document already in the project, with (nearly) the same text, is not ingested again:
its codings are added to that document, so a team can code the same transcripts in several
programs.
"""

from __future__ import annotations

import json
import re
import tempfile
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any

from qualcode.ingest.paragraphs import PROSE_SPEAKER
from qualcode.models import MACHINE_CODER
from qualcode.refi.codebook import RefiCode, child_text, normalise_color, read_codes
from qualcode.refi.errors import RefiError
from qualcode.refi.ids import Guids, normalise_guid, slug, unique
from qualcode.refi.positions import (
    CODE_POINTS,
    Alignment,
    PositionScheme,
    SegmentIndex,
    SegmentSpan,
    SourceText,
    default_scheme,
)
from qualcode.refi.project import CODE_ID_HEADER, CODE_ID_RE, SPEAKER_VARIABLES, STATUS_NOTES
from qualcode.refi.schema import parse_xml, tag
from qualcode.store import Project, now

UNKNOWN_CODER = "imported"
MIN_SHARED_WORDS = 0.9  # a source matches a project document when 90% of the words align
MAX_ENTRY_BYTES = 512 * 1024 * 1024  # refuse zip entries that would unpack beyond this


def _t(name: str) -> str:
    return tag("project", name)


# -- the archive -----------------------------------------------------------------------------


class _Archive:
    """The zip: ``project.qde`` and the source files, looked up case-insensitively (NVivo
    writes ``Sources/``, the standard and QualCoder ``sources/``)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        if not path.exists():
            raise RefiError(f"{path}: file not found")
        try:
            self.zip = zipfile.ZipFile(path)
        except (zipfile.BadZipFile, OSError) as exc:
            raise RefiError(
                f"{path}: not a REFI-QDA project file (a .qdpx is a zip archive; this is not)",
                "export the project again as REFI-QDA / .qdpx from the program",
            ) from exc
        self.entries = {
            info.filename.replace("\\", "/").casefold(): info
            for info in self.zip.infolist()
            if not info.is_dir()
        }

    def close(self) -> None:
        self.zip.close()

    def _read(self, info: zipfile.ZipInfo) -> bytes:
        if info.file_size > MAX_ENTRY_BYTES:
            raise RefiError(f"{self.path}: {info.filename} is too large to import")
        try:
            return self.zip.read(info)
        except (zipfile.BadZipFile, OSError, EOFError) as exc:
            raise RefiError(f"{self.path}: {info.filename} is damaged in the archive") from exc

    def project_xml(self) -> tuple[bytes, str]:
        info = self.entries.get("project.qde")
        if info is None:
            top = [i for n, i in self.entries.items() if n.endswith(".qde") and "/" not in n]
            info = top[0] if len(top) == 1 else None
        if info is None:
            raise RefiError(
                f"{self.path}: no project.qde in the archive, so this is not a REFI-QDA project",
                "export the project again as REFI-QDA / .qdpx from the program",
            )
        return self._read(info), info.filename

    def internal(self, url: str, what: str) -> bytes:
        """The bytes of ``internal://name`` (in ``sources/``, any case, or anywhere)."""
        name = url.split("://", 1)[1].lstrip("/").replace("\\", "/")
        wanted = name.casefold()
        info = self.entries.get(f"sources/{wanted}") or self.entries.get(wanted)
        if info is None:
            base = PurePosixPath(wanted).name
            found = [i for n, i in self.entries.items() if PurePosixPath(n).name == base]
            info = found[0] if len(found) == 1 else None
        if info is None:
            raise RefiError(
                f"{self.path}: {what} is stored as sources/{name}, which is missing from the"
                " archive",
                "the file is incomplete; export the project again from the program",
            )
        return self._read(info)


# -- the XML, read into plain values ---------------------------------------------------------


@dataclass(frozen=True)
class _Coding:
    code: str  # GUID the CodeRef points at
    user: str | None
    created: str | None
    notes: tuple[str, ...]


@dataclass(frozen=True)
class _Selection:
    guid: str
    start: int
    end: int
    name: str
    user: str | None
    created: str | None
    description: str
    codings: tuple[_Coding, ...]
    notes: tuple[str, ...]


@dataclass
class _Source:
    guid: str
    name: str
    element: Any
    selections: list[_Selection]
    notes: list[str]
    values: dict[str, str]  # variable name → value (document attributes)
    user: str | None


@dataclass(frozen=True)
class _Note:
    guid: str
    name: str
    user: str | None
    created: str | None
    element: Any


@dataclass(frozen=True)
class _Case:
    guid: str
    name: str
    values: dict[str, str]
    sources: tuple[str, ...]


def _guid(value: str | None) -> str | None:
    return normalise_guid(value) if value else None


def _note_refs(el: Any) -> tuple[str, ...]:
    return tuple(normalise_guid(n.get("targetGUID")) for n in el.findall(_t("NoteRef")))


def _values(el: Any, variables: dict[str, str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for value_el in el.findall(_t("VariableValue")):
        ref = value_el.find(_t("VariableRef"))
        name = variables.get(normalise_guid(ref.get("targetGUID"))) if ref is not None else None
        if name is None:
            continue
        for child in value_el:
            if child is not ref and child.text is not None and child.text.strip():
                out[name] = child.text.strip()
    return out


def _selection(el: Any) -> _Selection:
    codings = []
    for coding_el in el.findall(_t("Coding")):
        ref = coding_el.find(_t("CodeRef"))
        codings.append(
            _Coding(
                normalise_guid(ref.get("targetGUID")),
                _guid(coding_el.get("creatingUser")),
                coding_el.get("creationDateTime"),
                _note_refs(coding_el),
            )
        )
    return _Selection(
        guid=normalise_guid(el.get("guid")),
        start=int(el.get("startPosition")),
        end=int(el.get("endPosition")),
        name=el.get("name") or "",
        user=_guid(el.get("creatingUser") or el.get("modifyingUser")),
        created=el.get("creationDateTime") or el.get("modifiedDateTime"),
        description=child_text(el, "project", "Description"),
        codings=tuple(codings),
        notes=_note_refs(el),
    )


@dataclass
class _Model:
    origin: str | None
    users: dict[str, str]
    codes: list[RefiCode]
    code_ids: dict[str, str]  # GUID → qualcode id, from a qualcode export's description
    cases: list[_Case]
    sources: list[_Source]
    skipped_sources: Counter[str]
    notes: dict[str, _Note]
    links: list[tuple[str, str]]
    project_notes: tuple[str, ...]
    description: str


def _read_model(root: Any) -> _Model:
    users = {
        normalise_guid(u.get("guid")): (u.get("name") or u.get("id") or "").strip()
        for u in root.iterfind(f"{_t('Users')}/{_t('User')}")
    }
    variables = {
        normalise_guid(v.get("guid")): v.get("name").strip()
        for v in root.iterfind(f"{_t('Variables')}/{_t('Variable')}")
    }
    cases = [
        _Case(
            normalise_guid(c.get("guid")),
            (c.get("name") or "").strip(),
            _values(c, variables),
            tuple(normalise_guid(r.get("targetGUID")) for r in c.findall(_t("SourceRef"))),
        )
        for c in root.iterfind(f"{_t('Cases')}/{_t('Case')}")
    ]
    sources: list[_Source] = []
    skipped: Counter[str] = Counter()
    sources_el = root.find(_t("Sources"))
    for el in sources_el if sources_el is not None else []:
        kind = el.tag.rsplit("}", 1)[-1]
        if kind != "TextSource":
            skipped[kind] += 1
            continue
        sources.append(
            _Source(
                guid=normalise_guid(el.get("guid")),
                name=" ".join((el.get("name") or "").split()),
                element=el,
                selections=[_selection(s) for s in el.findall(_t("PlainTextSelection"))],
                notes=list(_note_refs(el)),
                values=_values(el, variables),
                user=_guid(el.get("creatingUser")),
            )
        )
    notes = {
        normalise_guid(n.get("guid")): _Note(
            normalise_guid(n.get("guid")),
            (n.get("name") or "").strip(),
            _guid(n.get("creatingUser") or n.get("modifyingUser")),
            n.get("creationDateTime") or n.get("modifiedDateTime"),
            n,
        )
        for n in root.iterfind(f"{_t('Notes')}/{_t('Note')}")
    }
    links = [
        (normalise_guid(link.get("originGUID")), normalise_guid(link.get("targetGUID")))
        for link in root.iterfind(f"{_t('Links')}/{_t('Link')}")
        if link.get("originGUID") and link.get("targetGUID")
    ]
    description = child_text(root, "project", "Description")
    return _Model(
        origin=root.get("origin"),
        users=users,
        codes=read_codes(root.find(f"{_t('CodeBook')}/{_t('Codes')}"), "project"),
        code_ids={normalise_guid(g): i for g, i in CODE_ID_RE.findall(description)},
        cases=cases,
        sources=sources,
        skipped_sources=skipped,
        notes=notes,
        links=links,
        project_notes=_note_refs(root),
        description=description,
    )


# -- the import ------------------------------------------------------------------------------


@dataclass
class QdpxImportReport:
    path: Path
    made_by: str | None = None
    documents_added: list[str] = field(default_factory=list)
    documents_matched: list[str] = field(default_factory=list)
    codes_added: list[str] = field(default_factory=list)
    codes_matched: int = 0
    codings: Counter[str] = field(default_factory=Counter)  # coder → codings added
    codings_present: int = 0  # already in the project (same segment, code and coder)
    selections: int = 0
    selections_unplaced: int = 0  # only on interviewer turns, labels or annotations
    memos: int = 0
    warnings: list[str] = field(default_factory=list)


def _iso(value: str | None) -> str:
    """A stored timestamp (ISO, UTC) from an ``xsd:dateTime``; now when absent or odd."""
    if value:
        try:
            moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            return now()
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return moment.astimezone(UTC).isoformat(timespec="seconds")
    return now()


def _flag(value: str | None) -> int | None:
    """1/0 from a Boolean (or yes/no text) variable value; ``None`` when absent or unclear."""
    flag = (value or "").strip().casefold()
    if flag in ("true", "1", "ja", "yes"):
        return 1
    if flag in ("false", "0", "nee", "no"):
        return 0
    return None


def _with_paragraph_breaks(text: str) -> str:
    """Each line of a source is a paragraph: a blank line after every single line break lets
    the plain-text reader keep them apart (an unlabelled paragraph continues its speaker)."""
    return re.sub(r"(?<!\n)\n(?!\n)", "\n\n", text)


@dataclass
class _Placed:
    """A source placed in the project: its document and how source words map onto it."""

    source: _Source
    text: SourceText
    scheme: PositionScheme
    document_id: int = 0
    alignment: Alignment | None = None
    index: SegmentIndex | None = None
    any_index: SegmentIndex | None = None  # every segment counts (for memos)


class _Importer:
    def __init__(self, project: Project, archive: _Archive, model: _Model) -> None:
        self.project = project
        self.conn = project.conn
        self.archive = archive
        self.file = archive.path
        self.model = model
        self.report = QdpxImportReport(archive.path, made_by=model.origin)
        self.code_ids: dict[str, int] = {}  # code GUID → codes.id
        self.case_guids = {case.guid for case in model.cases}
        self.status_notes = {
            n.guid: status
            for n in model.notes.values()
            for status, (name, _) in STATUS_NOTES.items()
            if n.name == name
        }
        self.used_notes: set[str] = set()
        self.run_id = 0

    def user(self, guid: str | None) -> str:
        name = self.model.users.get(guid or "", "") or UNKNOWN_CODER
        # the machine's name is reserved: its codings come back as suggestions
        return MACHINE_CODER if name.casefold() == MACHINE_CODER else name

    # codes ----------------------------------------------------------------------------------

    def import_codes(self) -> None:
        existing = {r["path"]: r for r in self.conn.execute("SELECT * FROM codes")}
        ours = Guids.for_project(self.project.uid)
        by_guid = {ours("code", path): path for path in existing}
        order = 1 + (self.conn.execute("SELECT max(ord) FROM codes").fetchone()[0] or 0)

        def children_of(parent_id: int | None) -> list[Any]:
            return [r for r in existing.values() if r["parent_id"] == parent_id]

        def place(code: RefiCode, parent: Any) -> None:
            nonlocal order
            parent_id = parent["id"] if parent is not None else None
            parent_path = parent["path"] + "/" if parent is not None else ""
            siblings = children_of(parent_id)
            wanted = self.model.code_ids.get(code.guid) or slug(code.name)
            row = existing.get(by_guid.get(code.guid, "")) or existing.get(parent_path + wanted)
            if row is None:
                row = next(
                    (s for s in siblings if s["label"].casefold() == code.name.casefold()), None
                )
            if row is not None:
                self.report.codes_matched += 1
            else:
                code_id = unique(wanted, {s["code_key"] for s in siblings})
                path = parent_path + code_id
                spec = {"id": code_id, "label": code.name}
                if code.description:
                    spec["definition"] = code.description
                if code.color:
                    spec["color"] = code.color
                self.conn.execute(
                    "INSERT INTO codes (path, code_key, parent_id, label, definition, color, ord,"
                    " spec, origin) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'qdpx')",
                    (
                        path,
                        code_id,
                        parent_id,
                        code.name,
                        code.description,
                        normalise_color(code.color),
                        order,
                        json.dumps(spec, ensure_ascii=False, sort_keys=True),
                    ),
                )
                order += 1
                row = self.conn.execute("SELECT * FROM codes WHERE path = ?", (path,)).fetchone()
                existing[path] = row
                self.report.codes_added.append(path)
            self.code_ids[code.guid] = row["id"]
            for child in code.children:
                place(child, row)

        for code in self.model.codes:
            place(code, None)

    # sources --------------------------------------------------------------------------------

    def _decode(self, data: bytes, what: str) -> str:
        from qualcode.errors import TranscriptError
        from qualcode.ingest.encoding import decode_bytes

        try:
            return decode_bytes(data, what)[0]
        except TranscriptError as exc:
            raise RefiError(f"{self.file}: {exc.message}", exc.hint) from exc

    def _docx_text(self, data: bytes, what: str) -> str:
        import io

        import docx

        try:
            document = docx.Document(io.BytesIO(data))
        except Exception as exc:  # python-docx raises several kinds for a damaged file
            raise RefiError(f"{self.file}: {what} is not a readable Word file") from exc
        return "\n".join(p.text for p in document.paragraphs)

    def source_text(self, source: _Source) -> SourceText:
        """The plain text a source's positions refer to: ``PlainTextContent``, else the
        ``plainTextPath`` file, else (a fallback) the paragraphs of the ``richTextPath``."""
        el = source.element
        what = f"source '{source.name}'"
        content = el.find(_t("PlainTextContent"))
        if content is not None and content.text:
            return SourceText(content.text)
        for attribute, reader in (("plainTextPath", self._decode), ("richTextPath", None)):
            url = el.get(attribute)
            if not url:
                continue
            if not url.lower().startswith("internal://"):
                raise RefiError(
                    f"{self.file}: {what} is stored outside the archive ({url})",
                    "export the project with its documents included in the .qdpx",
                )
            if reader is None and not url.lower().endswith(".docx"):
                raise RefiError(
                    f"{self.file}: {what} has only a rich-text file ({url}) and no plain text",
                    "export the project again with plain text, or save the document as .docx",
                )
            data = self.archive.internal(url, what)
            if reader is not None:
                return SourceText(reader(data, what))
            self.report.warnings.append(
                f"{what}: read from the Word file, as the plain text is missing; check its codings"
            )
            return SourceText(self._docx_text(data, what))
        raise RefiError(f"{self.file}: {what} has no text (no plainTextPath or PlainTextContent)")

    def place(self, source: _Source) -> _Placed:
        text = self.source_text(source)
        scheme = text.choose_scheme(
            default_scheme(self.model.origin), [(s.start, s.end, s.name) for s in source.selections]
        )
        if scheme != CODE_POINTS:
            self.report.warnings.append(
                f"source '{source.name}': positions counted as {scheme.describe()}"
            )
        for selection in source.selections:
            if text.span(selection.start, selection.end, scheme) is None:
                raise RefiError(
                    f"{self.file}: selection {selection.guid} in source '{source.name}' "
                    f"(positions {selection.start}-{selection.end}) lies outside the source text"
                    f" ({text.length(scheme)} characters)",
                    "the file is damaged or its text was changed after coding; export it again",
                )
        return _Placed(source, text, scheme)

    # documents ------------------------------------------------------------------------------

    def _known_speakers(self, source: _Source, text: str) -> dict[str, dict[str, str]]:
        """Speaker cases (as qualcode writes them) for this source whose label occurs at the
        start of a line: label → variable values."""
        out = {}
        for case in self.model.cases:
            label = case.values.get("speaker")
            if not label or case.values.get("document") != source.name:
                continue
            if label == PROSE_SPEAKER or re.search(rf"(?m)^{re.escape(label)}\s*:", text):
                out[label] = case.values
        return out

    def _document_values(self, source: _Source) -> dict[str, str]:
        values = dict(source.values)
        for case in self.model.cases:
            if case.sources == (source.guid,) and "speaker" not in case.values:
                for name, value in case.values.items():
                    values.setdefault(name, value)
        return values

    def place_documents(self, placed: list[_Placed]) -> None:
        from qualcode.ingest.metadata import document_key

        existing = {
            document_key(r["name"]): r
            for r in self.conn.execute("SELECT id, name, text FROM documents")
        }
        planned: dict[str, tuple[_Placed, str]] = {}
        for p in placed:
            name = p.source.name or f"source {p.source.guid[:8]}"
            key = document_key(name)
            if key in existing:
                row = existing[key]
                alignment = Alignment(p.text.text, row["text"])
                if alignment.matched_share < MIN_SHARED_WORDS:
                    raise RefiError(
                        f"{self.file}: the project already has a document '{row['name']}' with "
                        f"other text than source '{p.source.name}'",
                        "import into a new project (--project), or rename one of the two",
                    )
                p.document_id, p.alignment = row["id"], alignment
                self.report.documents_matched.append(row["name"])
                continue
            if key in planned:  # two sources with one name (MAXQDA allows it)
                stem, dot, suffix = name.rpartition(".") if "." in name else (name, "", "")
                n = 2
                while document_key(f"{stem} ({n}){dot}{suffix}") in planned:
                    n += 1
                name = f"{stem} ({n}){dot}{suffix}"
                key = document_key(name)
            planned[key] = (p, name)
        if planned:
            self._ingest(list(planned.values()))

    def _ingest(self, new: list[tuple[_Placed, str]]) -> None:
        import csv

        from qualcode.errors import TranscriptError
        from qualcode.ingest import ingest_files

        with tempfile.TemporaryDirectory(prefix="qualcode-qdpx-") as tmp:
            files: dict[Path, tuple[_Placed, str]] = {}
            speakers: list[tuple[str, str]] = []
            for p, name in new:
                file = Path(tmp) / f"{p.source.guid}.txt"
                file.write_text(_with_paragraph_breaks(p.text.text), encoding="utf-8")
                files[file] = (p, name)
                known = self._known_speakers(p.source, p.text.text)
                speakers += [(file.name, label) for label in known if label != PROSE_SPEAKER]
            metadata = None
            if speakers:
                # known speaker names let the reader trust labels that occur only once
                metadata = Path(tmp) / "speakers.csv"
                with metadata.open("w", encoding="utf-8", newline="") as handle:
                    writer = csv.writer(handle)
                    writer.writerow(["document", "speaker"])
                    writer.writerows(speakers)
            try:
                ingest_files(self.project, list(files), metadata=metadata)
            except TranscriptError as exc:
                p, name = files.get(Path(exc.file), (None, exc.file))
                problem = exc.message.split(": ", 1)[-1]
                raise RefiError(
                    f"{self.file}: source '{name}' cannot be read as a transcript: {problem}",
                    exc.hint,
                ) from exc
        for file, (p, name) in files.items():
            row = self.conn.execute(
                "SELECT id FROM documents WHERE name = ?", (file.name,)
            ).fetchone()
            p.document_id = row["id"]
            attributes = self._document_values(p.source)
            self.conn.execute(
                "UPDATE documents SET name = ?, path = ?, attributes = ? WHERE id = ?",
                (name, str(self.file), json.dumps(attributes, ensure_ascii=False), row["id"]),
            )
            for label, values in self._known_speakers(p.source, p.text.text).items():
                extra = {k: v for k, v in values.items() if k not in SPEAKER_VARIABLES}
                self.conn.execute(
                    "UPDATE speakers SET role = coalesce(?, role), is_interviewer ="
                    " coalesce(?, is_interviewer), attributes = ? WHERE document_id = ?"
                    " AND label = ?",
                    (
                        values.get("role"),
                        _flag(values.get("interviewer")),
                        json.dumps(extra, ensure_ascii=False),
                        row["id"],
                        label,
                    ),
                )
            self.report.documents_added.append(name)

    def index(self, p: _Placed) -> None:
        """Align the source's words with its document's and index the document's segments."""
        text = self.conn.execute(
            "SELECT text FROM documents WHERE id = ?", (p.document_id,)
        ).fetchone()[0]
        if p.alignment is None:
            p.alignment = Alignment(p.text.text, text)
            if p.alignment.matched_share < MIN_SHARED_WORDS:
                self.report.warnings.append(
                    f"source '{p.source.name}': only {p.alignment.matched_share:.0%} of its "
                    "words were found in the ingested document; check its codings"
                )
        rows = self.conn.execute(
            "SELECT s.id, s.start, s.end, s.has_words, sp.is_interviewer FROM segments s"
            " JOIN turns t ON t.id = s.turn_id JOIN speakers sp ON sp.id = t.speaker_id"
            " WHERE s.document_id = ?",
            (p.document_id,),
        ).fetchall()
        tokens = p.alignment.target_tokens
        p.index = SegmentIndex(
            tokens,
            [SegmentSpan(r[0], r[1], r[2], bool(r[3]) and not r[4]) for r in rows],
        )
        p.any_index = SegmentIndex(tokens, [SegmentSpan(r[0], r[1], r[2], True) for r in rows])

    # codings and memos ----------------------------------------------------------------------

    def note_text(self, note: _Note) -> str:
        el = note.element
        content = el.find(_t("PlainTextContent"))
        if content is not None and content.text and content.text.strip():
            return content.text.strip()
        url = el.get("plainTextPath")
        if url and url.lower().startswith("internal://"):
            what = f"note '{note.name}'"
            return SourceText(self._decode(self.archive.internal(url, what), what)).text.strip()
        return child_text(el, "project", "Description")

    def add_memo(
        self,
        target_type: str,
        target_id: int | None,
        user: str | None,
        note: _Note | None,
        text: str | None = None,
        created: str | None = None,
    ) -> None:
        if note is not None:
            self.used_notes.add(note.guid)
            text = self.note_text(note)
            user, created = note.user or user, note.created or created
        text = (text or "").strip()
        if not text:
            return
        coder = self.user(user)
        clash = self.conn.execute(
            "SELECT 1 FROM memos WHERE target_type = ? AND target_id IS ? AND coder = ?"
            " AND text = ?",
            (target_type, target_id, coder, text),
        ).fetchone()
        if clash is None:
            stamp = _iso(created)
            self.conn.execute(
                "INSERT INTO memos (target_type, target_id, coder, text, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (target_type, target_id, coder, text, stamp, stamp),
            )
            self.report.memos += 1

    def _status(self, coder: str, coding: _Coding) -> str:
        if coder == MACHINE_CODER:
            return "suggested"
        if any(self.status_notes.get(n) == "accepted" for n in coding.notes):
            return "accepted"
        return "manual"

    def import_selections(self, p: _Placed, links: dict[str, list[str]]) -> Counter[str]:
        """Codings and memos of one source's selections; returns skipped codings by reason."""
        assert p.index is not None and p.any_index is not None and p.alignment is not None
        skipped: Counter[str] = Counter()
        label = f"imported from {self.file.name}" + (
            f" ({self.model.origin})" if self.model.origin else ""
        )
        for selection in p.source.selections:
            span = p.text.span(selection.start, selection.end, p.scheme)
            assert span is not None  # checked in place()
            tokens = p.alignment.target_tokens_in(*span)
            segments = p.index.coded_segments(tokens)
            self.report.selections += 1
            if selection.codings and not segments:
                self.report.selections_unplaced += 1
            for coding in selection.codings:
                code_id = self.code_ids.get(coding.code)
                if code_id is None:
                    skipped["case" if coding.code in self.case_guids else "unknown code"] += 1
                    continue
                coder = self.user(coding.user or selection.user)
                status = self._status(coder, coding)
                stamp = _iso(coding.created or selection.created)
                for segment_id in segments:
                    cur = self.conn.execute(
                        "INSERT INTO codings (segment_id, code_id, coder, status, source,"
                        " explanation, run_id, created_at, updated_at)"
                        " VALUES (?, ?, ?, ?, 'qdpx', ?, ?, ?, ?)"
                        " ON CONFLICT (segment_id, code_id, coder) DO NOTHING",
                        (segment_id, code_id, coder, status, label, self.run_id, stamp, stamp),
                    )
                    if cur.rowcount:
                        self.report.codings[coder] += 1
                    else:
                        self.report.codings_present += 1
            notes = [
                *selection.notes,
                *links.get(selection.guid, []),
                *(n for c in selection.codings for n in c.notes if n not in self.status_notes),
            ]
            memo_targets = segments or p.any_index.coded_segments(tokens)
            if not memo_targets:
                continue
            for guid in dict.fromkeys(notes):
                if guid in self.model.notes:
                    self.add_memo(
                        "segment", memo_targets[0], selection.user, self.model.notes[guid]
                    )
            if selection.description:
                self.add_memo(
                    "segment",
                    memo_targets[0],
                    selection.user,
                    None,
                    selection.description,
                    selection.created,
                )
        return skipped

    def import_source_notes(self, p: _Placed) -> None:
        """Notes on a source: document memos, or (QualCoder's annotations) memos on the
        passage the note's own selection points at."""
        assert p.any_index is not None and p.alignment is not None
        for guid in p.source.notes:
            note = self.model.notes.get(guid)
            if note is None:
                continue
            inner = note.element.findall(_t("PlainTextSelection"))
            targets: list[int] = []
            for selection_el in inner:
                span = p.text.span(
                    int(selection_el.get("startPosition")),
                    int(selection_el.get("endPosition")),
                    p.scheme,
                )
                if span:
                    targets += p.any_index.coded_segments(p.alignment.target_tokens_in(*span))
            if targets:
                self.add_memo("segment", targets[0], None, note)
            else:
                self.add_memo("document", p.document_id, p.source.user, note)

    def import_other_notes(self) -> None:
        for code in (c for top in self.model.codes for c in top.walk()):
            for guid in code.note_refs:
                if guid in self.model.notes and code.guid in self.code_ids:
                    self.add_memo("code", self.code_ids[code.guid], None, self.model.notes[guid])
        if self.model.description and CODE_ID_HEADER not in self.model.description:
            # QualCoder, for one, writes the project memo here
            self.add_memo("project", None, None, None, self.model.description)
        for guid in self.model.project_notes:
            if guid in self.model.notes:
                self.add_memo("project", None, None, self.model.notes[guid])
        for guid, note in self.model.notes.items():
            # journals and other free-standing notes belong to the project
            if guid not in self.used_notes and guid not in self.status_notes:
                self.add_memo("project", None, None, note)

    # all of it ------------------------------------------------------------------------------

    def run(self) -> QdpxImportReport:
        placed = [self.place(source) for source in self.model.sources]  # checks before writing
        with self.project.transaction():
            self.run_id = self.project.start_run("import qdpx", {"file": str(self.file)})
            self.import_codes()
            self.place_documents(placed)
            links: dict[str, list[str]] = {}
            for origin_guid, target_guid in self.model.links:
                for selection, note in ((origin_guid, target_guid), (target_guid, origin_guid)):
                    if note in self.model.notes:
                        links.setdefault(selection, []).append(note)
            skipped: Counter[str] = Counter()
            for p in placed:
                self.index(p)
                skipped += self.import_selections(p, links)
                self.import_source_notes(p)
            self.import_other_notes()
            self._warn(skipped)
            self.project.finish_run(
                self.run_id,
                {
                    "documents_added": len(self.report.documents_added),
                    "codes_added": len(self.report.codes_added),
                    "codings": dict(self.report.codings),
                    "memos": self.report.memos,
                },
            )
        return self.report

    def _warn(self, skipped: Counter[str]) -> None:
        warnings = self.report.warnings
        for kind, n in sorted(self.model.skipped_sources.items()):
            warnings.append(f"{n} {kind} source(s) skipped: qualcode imports text sources only")
        if skipped["case"]:
            warnings.append(
                f"{skipped['case']} coding(s) put passages in cases rather than codes: skipped"
            )
        if skipped["unknown code"]:
            warnings.append(
                f"{skipped['unknown code']} coding(s) refer to a code that is not in the"
                " codebook: skipped"
            )
        if self.report.selections_unplaced:
            warnings.append(
                f"{self.report.selections_unplaced} coded selection(s) lie only on interviewer"
                " or moderator turns, speaker labels or annotations, which qualcode does not"
                " code: skipped"
            )


def read_qdpx(path: str | Path) -> tuple[_Archive, _Model]:
    """Open and validate a ``.qdpx`` (zip, ``project.qde``, schema) without importing it."""
    archive = _Archive(Path(path))
    try:
        data, name = archive.project_xml()
        root = parse_xml(data, "project", f"{archive.path} ({name})")
        return archive, _read_model(root)
    except BaseException:
        archive.close()
        raise


def import_qdpx(project: Project | str | Path, path: str | Path) -> QdpxImportReport:
    """Import a REFI-QDA project file into ``project`` (a :class:`Project`, or a folder that is
    created as a project when it is not one yet). One transaction: on any error nothing
    changes, and a project folder made for this import is removed again."""
    from qualcode.store import DB_NAME, SETTINGS_NAME, init_project, open_project

    archive, model = read_qdpx(path)
    try:
        if isinstance(project, Project):
            return _Importer(project, archive, model).run()
        folder = Path(project)
        fresh_folder = not folder.exists()
        fresh = not (folder / DB_NAME).exists()
        opened = init_project(folder) if fresh else open_project(folder)
        try:
            with opened:
                return _Importer(opened, archive, model).run()
        except BaseException:
            if fresh:  # leave no half-made project behind
                for name in (DB_NAME, SETTINGS_NAME):
                    (folder / name).unlink(missing_ok=True)
                if fresh_folder and not any(folder.iterdir()):
                    folder.rmdir()
            raise
    finally:
        archive.close()
