"""Export a project as a REFI-QDA 1.0 project file (``.qdpx``) for ATLAS.ti, NVivo, MAXQDA
and QualCoder.

A ``.qdpx`` is a zip with ``project.qde`` (XML, validated against Project.xsd before anything is
written) and a ``sources/`` folder holding each document's text as UTF-8 without BOM, with
``\\n`` line endings: exactly ``documents.text``, so every ``startPosition``/``endPosition`` is
a code-point offset into that file. One ``PlainTextSelection`` per (segment, coder) carries that
coder's codings; accepted suggestions are marked with a shared note so they come back as
``accepted``. GUIDs are uuid5 values from the project's uid: a re-export is byte for byte the
same when nothing changed.
"""

from __future__ import annotations

import json
import re
import zipfile
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from qualcode.errors import QualcodeError
from qualcode.models import MACHINE_CODER
from qualcode.refi.codebook import CodeNode, origin, write_codes
from qualcode.refi.ids import Guids
from qualcode.refi.schema import SCHEMA_LOCATIONS, XSI, element, serialise, text_child
from qualcode.segments import effective_codings
from qualcode.store import Project

EXPORT_STATUSES = {"accepted": ("accepted", "manual"), "any": ("accepted", "manual", "suggested")}
# Shared notes that mark a coding's qualcode status (a coding without one is 'manual').
STATUS_NOTES = {
    "accepted": (
        "qualcode: accepted suggestion",
        "Suggested by qualcode and accepted by the coder (qualcode status 'accepted'). "
        "Codings without this note were made by the coder (status 'manual').",
    ),
    "suggested": (
        "qualcode: open suggestion",
        "Suggested by qualcode and not yet reviewed by a person (qualcode status 'suggested').",
    ),
}
# The project description lists each code's qualcode id, so an import restores the same paths.
CODE_ID_HEADER = "qualcode code ids (used when this file is imported into qualcode again):"
CODE_ID_RE = re.compile(r"^code ([0-9a-fA-F-]{36}) ([a-z0-9][a-z0-9_]*)$", re.MULTILINE)
SPEAKER_VARIABLES = ("speaker", "document", "role", "interviewer")
SOURCES_FOLDER = "sources"
# Fixed zip timestamps keep re-exports byte-identical.
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)


@dataclass
class QdpxExportReport:
    path: Path
    documents: int = 0
    codes: int = 0
    selections: int = 0
    codings: int = 0
    coders: list[str] = field(default_factory=list)
    memos: int = 0
    cases: int = 0
    skipped_memos: int = 0


@dataclass(frozen=True)
class _Selection:
    segment_id: int
    coder: str
    codings: tuple[tuple[str, str, str | None], ...]  # (code path, status, created_at)


@dataclass(frozen=True)
class _NoteOut:
    guid: str
    name: str
    author: str | None
    created: str | None
    text: str


def _timestamp(value: str | None) -> str | None:
    """``xsd:dateTime`` in UTC (``2024-05-01T10:00:00Z``), or ``None``."""
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _variable_type(values: list[str]) -> str:
    """The narrowest REFI type that holds every value (Text when in doubt)."""

    def is_date(v: str) -> bool:
        try:
            return bool(re.fullmatch(r"\d{4}-\d{2}-\d{2}", v)) and bool(date.fromisoformat(v))
        except ValueError:
            return False

    if values and all(v in ("true", "false") for v in values):
        return "Boolean"
    if values and all(is_date(v) for v in values):
        return "Date"
    if values and all(re.fullmatch(r"-?(?:0|[1-9]\d{0,17})", v) for v in values):
        return "Integer"
    return "Text"


_VALUE_ELEMENTS = {
    "Text": "TextValue",
    "Boolean": "BooleanValue",
    "Date": "DateValue",
    "Integer": "IntegerValue",
}


class _Variables:
    """Variables used by documents and speakers, each with one type over all its values."""

    def __init__(self, guids: Guids) -> None:
        self.guids = guids
        self.values: dict[str, list[str]] = {}
        self.order: list[str] = []
        self._types: dict[str, str] = {}

    def collect(self, name: str, value: str) -> None:
        if name not in self.values:
            self.values[name] = []
            self.order.append(name)
        self.values[name].append(value)

    def write_declarations(self, root: Any) -> None:
        """``<Variables>``; call after every value was collected."""
        self._types = {name: _variable_type(values) for name, values in self.values.items()}
        if not self.order:
            return
        variables_el = element("Variables", "project", root)
        for name in self.order:
            element(
                "Variable",
                "project",
                variables_el,
                guid=self.guids("variable", name),
                name=name,
                typeOfVariable=self._types[name],
            )

    def write_value(self, parent: Any, name: str, value: str) -> None:
        value_el = element("VariableValue", "project", parent)
        element("VariableRef", "project", value_el, targetGUID=self.guids("variable", name))
        text_child(value_el, _VALUE_ELEMENTS[self._types[name]], "project", value)


# -- reading the project ---------------------------------------------------------------------


@dataclass
class _Data:
    documents: list[Any]
    speakers: dict[int, Any]  # speaker id → row
    segments: dict[int, Any]  # segment id → row (with document_id, ord, start, end, speaker_id)
    codes: list[CodeNode]
    selections: dict[int, list[_Selection]]  # document id → selections in text order
    memos: list[Any]


def _code_nodes(project: Project) -> list[CodeNode]:
    rows = project.conn.execute(
        "SELECT id, path, parent_id, label, definition, color FROM codes ORDER BY ord, id"
    ).fetchall()
    children: dict[int | None, list[Any]] = defaultdict(list)
    for row in rows:
        children[row["parent_id"]].append(row)

    def node(row: Any) -> CodeNode:
        return CodeNode(
            row["path"],
            row["label"],
            row["definition"] or "",
            row["color"],
            tuple(node(c) for c in children[row["id"]]),
        )

    return [node(r) for r in children[None]]


def _selections(
    project: Project, statuses: tuple[str, ...], segments: dict[int, Any], memos: list[Any]
) -> dict[int, list[_Selection]]:
    created = {
        (r["segment_id"], r["path"], r["coder"]): r["created_at"]
        for r in project.conn.execute(
            "SELECT c.segment_id, k.path, c.coder, c.created_at FROM codings c"
            " JOIN codes k ON k.id = c.code_id"
        )
    }
    grouped: dict[tuple[int, str], list[tuple[str, str, str | None]]] = defaultdict(list)
    for segment_id, rows in effective_codings(project, statuses=statuses).items():
        for row in rows:
            key = (segment_id, row.code, row.coder)
            grouped[(segment_id, row.coder)].append((row.code, row.status, created.get(key)))
    for memo in memos:
        # a memo on a segment needs a selection to hang on: its author's
        if memo["target_type"] == "segment" and memo["target_id"] in segments:
            grouped.setdefault((memo["target_id"], memo["coder"]), [])
    out: dict[int, list[_Selection]] = defaultdict(list)
    for (segment_id, coder), codings in grouped.items():
        out[segments[segment_id]["document_id"]].append(
            _Selection(segment_id, coder, tuple(codings))
        )
    for selections in out.values():
        selections.sort(key=lambda s: (segments[s.segment_id]["ord"], s.coder))
    return out


def _load(project: Project, statuses: tuple[str, ...]) -> _Data:
    conn = project.conn
    segments = {
        r["id"]: r
        for r in conn.execute(
            "SELECT s.id, s.document_id, s.ord, s.start, s.end, t.speaker_id FROM segments s"
            " JOIN turns t ON t.id = s.turn_id"
        )
    }
    memos = conn.execute("SELECT * FROM memos ORDER BY id").fetchall()
    return _Data(
        documents=conn.execute(
            "SELECT id, name, text, attributes, ingested_at FROM documents ORDER BY name"
        ).fetchall(),
        speakers={r["id"]: r for r in conn.execute("SELECT * FROM speakers ORDER BY id")},
        segments=segments,
        codes=_code_nodes(project),
        selections=_selections(project, statuses, segments, memos),
        memos=memos,
    )


# -- building project.qde --------------------------------------------------------------------


class _Builder:
    """Builds the ``<Project>`` element and the source files for one export."""

    def __init__(self, project: Project, data: _Data, path: Path) -> None:
        self.project = project
        self.data = data
        self.guids = Guids.for_project(project.uid)
        self.report = QdpxExportReport(path)
        self.files: dict[str, str] = {}  # archive name → text
        self.notes: list[_NoteOut] = []
        self.note_refs: dict[tuple[str, Any], list[str]] = defaultdict(list)
        self.used_status_notes: set[str] = set()
        self.variables = _Variables(self.guids)
        self.document_names = {d["id"]: d["name"] for d in data.documents}
        self.speaker_selections: dict[int, list[str]] = defaultdict(list)

    def segment_key(self, segment_id: int) -> str:
        segment = self.data.segments[segment_id]
        return f"{self.document_names[segment['document_id']]}#{segment['ord']}"

    def guid_of_selection(self, selection: _Selection) -> str:
        return self.guids(
            "selection", f"{self.segment_key(selection.segment_id)}:{selection.coder}"
        )

    def user(self, name: str) -> str:
        return self.guids("user", name)

    # notes ----------------------------------------------------------------------------------

    def collect_memos(self) -> None:
        documents = {d["id"]: d for d in self.data.documents}
        codes = {n.path: n for top in self.data.codes for n in top.walk()}
        code_paths = {
            r["id"]: r["path"] for r in self.project.conn.execute("SELECT id, path FROM codes")
        }
        for memo in self.data.memos:
            kind, target = memo["target_type"], memo["target_id"]
            if kind == "project":
                key, about = ("project", None), "project"
            elif kind == "document" and target in documents:
                key, about = ("document", target), documents[target]["name"]
            elif kind == "code" and code_paths.get(target) in codes:
                path = code_paths[target]
                key, about = ("code", path), codes[path].label
            elif kind == "segment" and target in self.data.segments:
                key = ("segment", (target, memo["coder"]))
                about = self.segment_key(target)
            else:
                self.report.skipped_memos += 1  # its document or code is gone
                continue
            guid = self.guids("memo", str(memo["id"]))
            name = f"memo {about} ({memo['coder']})"
            self.notes.append(_NoteOut(guid, name, memo["coder"], memo["created_at"], memo["text"]))
            self.note_refs[key].append(guid)
            self.report.memos += 1

    def status_note(self, status: str) -> str | None:
        if status not in STATUS_NOTES:
            return None
        self.used_status_notes.add(status)
        return self.guids("note", f"status:{status}")

    def write_notes(self, root: Any) -> None:
        notes = []
        for status in sorted(self.used_status_notes):
            name, text = STATUS_NOTES[status]
            notes.append(_NoteOut(self.guids("note", f"status:{status}"), name, None, None, text))
        notes += self.notes
        if not notes:
            return
        notes_el = element("Notes", "project", root)
        for note in notes:
            note_el = element(
                "Note",
                "project",
                notes_el,
                guid=note.guid,
                name=note.name,
                creatingUser=self.user(note.author) if note.author else None,
                creationDateTime=_timestamp(note.created),
            )
            text_child(note_el, "PlainTextContent", "project", note.text)

    # sources --------------------------------------------------------------------------------

    def write_sources(self, root: Any) -> None:
        sources_el = element("Sources", "project", root)
        for document in self.data.documents:
            guid = self.guids("source", document["name"])
            file_name = f"{guid}.txt"
            self.files[f"{SOURCES_FOLDER}/{file_name}"] = document["text"]
            source_el = element(
                "TextSource",
                "project",
                sources_el,
                guid=guid,
                name=document["name"],
                plainTextPath=f"internal://{file_name}",
                creationDateTime=_timestamp(document["ingested_at"]),
            )
            for selection in self.data.selections.get(document["id"], []):
                self.write_selection(source_el, document["text"], selection)
            for note in self.note_refs.get(("document", document["id"]), []):
                element("NoteRef", "project", source_el, targetGUID=note)
            for name, value in json.loads(document["attributes"] or "{}").items():
                self.variables.write_value(source_el, name, str(value))
            self.report.documents += 1

    def write_selection(self, source_el: Any, text: str, selection: _Selection) -> None:
        segment = self.data.segments[selection.segment_id]
        start, end = segment["start"], segment["end"]
        quoted = " ".join(text[start:end].split())
        user = self.user(selection.coder)
        created = min((c for _, _, c in selection.codings if c), default=None)
        guid = self.guid_of_selection(selection)
        selection_el = element(
            "PlainTextSelection",
            "project",
            source_el,
            guid=guid,
            name=quoted if len(quoted) <= 60 else quoted[:59] + "…",
            startPosition=str(start),
            endPosition=str(end),
            creatingUser=user,
            creationDateTime=_timestamp(created),
        )
        for path, status, coded_at in selection.codings:
            coding_el = element(
                "Coding",
                "project",
                selection_el,
                guid=self.guids(
                    "coding", f"{self.segment_key(selection.segment_id)}:{path}:{selection.coder}"
                ),
                creatingUser=user,
                creationDateTime=_timestamp(coded_at),
            )
            element("CodeRef", "project", coding_el, targetGUID=self.guids("code", path))
            note = self.status_note(status)
            if note:
                element("NoteRef", "project", coding_el, targetGUID=note)
            self.report.codings += 1
        for note in self.note_refs.get(("segment", (selection.segment_id, selection.coder)), []):
            element("NoteRef", "project", selection_el, targetGUID=note)
        self.speaker_selections[segment["speaker_id"]].append(guid)
        self.report.selections += 1

    # cases ----------------------------------------------------------------------------------

    def collect_variables(self) -> None:
        for document in self.data.documents:
            for name, value in json.loads(document["attributes"] or "{}").items():
                self.variables.collect(name, str(value))
        for speaker in self._case_speakers():
            for name, value in self._speaker_values(speaker):
                self.variables.collect(name, value)

    def _case_speakers(self) -> list[Any]:
        """Every speaker; the one author of a prose document only when a role is known."""
        from qualcode.ingest.paragraphs import PROSE_SPEAKER

        return [
            s
            for s in self.data.speakers.values()
            if s["label"] != PROSE_SPEAKER or s["role"] or json.loads(s["attributes"] or "{}")
        ]

    def _speaker_values(self, speaker: Any) -> list[tuple[str, str]]:
        values = [
            ("speaker", speaker["label"]),
            ("document", self.document_names[speaker["document_id"]]),
        ]
        if speaker["role"]:
            values.append(("role", speaker["role"]))
        values.append(("interviewer", "true" if speaker["is_interviewer"] else "false"))
        attributes = json.loads(speaker["attributes"] or "{}")
        values += [(k, str(v)) for k, v in attributes.items() if k not in SPEAKER_VARIABLES]
        return values

    def has_cases(self) -> bool:
        return bool(self._case_speakers()) or any(
            json.loads(d["attributes"] or "{}") for d in self.data.documents
        )

    def fill_cases(self, cases_el: Any) -> None:
        """A case per document with attributes (NVivo keeps attributes on cases) and one per
        speaker, holding their coded passages and their role. Called after the sources, whose
        selections the speaker cases refer to."""
        cases: list[tuple[str, str, list[tuple[str, str]], list[str], list[str]]] = []
        for document in self.data.documents:
            attributes = json.loads(document["attributes"] or "{}")
            if attributes:
                cases.append(
                    (
                        self.guids("case", document["name"]),
                        document["name"],
                        [(k, str(v)) for k, v in attributes.items()],
                        [self.guids("source", document["name"])],
                        [],
                    )
                )
        for speaker in self._case_speakers():
            document = self.document_names[speaker["document_id"]]
            cases.append(
                (
                    self.guids("case", f"{document}:{speaker['label']}"),
                    f"{speaker['role'] if speaker['label'] == '-' else speaker['label']}"
                    f" ({document})",
                    self._speaker_values(speaker),
                    [],
                    self.speaker_selections.get(speaker["id"], []),
                )
            )
        for guid, name, values, sources, selections in cases:
            case_el = element("Case", "project", cases_el, guid=guid, name=name)
            for variable, value in values:
                self.variables.write_value(case_el, variable, value)
            for source in sources:
                element("SourceRef", "project", case_el, targetGUID=source)
            for selection in selections:
                element("SelectionRef", "project", case_el, targetGUID=selection)
            self.report.cases += 1

    # the whole project ----------------------------------------------------------------------

    def build(self, status: str) -> Any:
        root = element(
            "Project",
            "project",
            name=self.project.path.resolve().name or "qualcode",
            origin=origin(),
            creationDateTime=_timestamp(self.project.meta("created_at")),
        )
        root.set(
            f"{{{XSI}}}schemaLocation", f"urn:QDA-XML:project:1.0 {SCHEMA_LOCATIONS['project']}"
        )
        self.collect_memos()
        self.collect_variables()
        coders = sorted(
            {s.coder for sel in self.data.selections.values() for s in sel}
            | {note.author for note in self.notes if note.author}
        )
        self.report.coders = [c for c in coders if c != MACHINE_CODER] + (
            [MACHINE_CODER] if MACHINE_CODER in coders else []
        )
        if coders:
            users_el = element("Users", "project", root)
            for coder in coders:
                element("User", "project", users_el, guid=self.user(coder), name=coder)
        if self.data.codes:
            codebook_el = element("CodeBook", "project", root)
            code_notes = {
                path: refs for (kind, path), refs in self.note_refs.items() if kind == "code"
            }
            write_codes(codebook_el, "project", self.data.codes, self.guids, code_notes)
            self.report.codes = sum(1 for top in self.data.codes for _ in top.walk())
        self.variables.write_declarations(root)
        cases_el = element("Cases", "project", root) if self.has_cases() else None
        if self.data.documents:
            self.write_sources(root)
        if cases_el is not None:
            self.fill_cases(cases_el)
        self.write_notes(root)
        text_child(root, "Description", "project", self.description(status))
        for note in self.note_refs.get(("project", None), []):
            element("NoteRef", "project", root, targetGUID=note)
        return root

    def description(self, status: str) -> str:
        statuses = ", ".join(EXPORT_STATUSES[status])
        lines = [
            f"Exported by {origin()} from the project '{self.project.path.resolve().name}'"
            f" (codings with status {statuses}).",
            "",
            CODE_ID_HEADER,
        ]
        for top in self.data.codes:
            for node in top.walk():
                lines.append(f"code {self.guids('code', node.path)} {node.path.rsplit('/', 1)[-1]}")
        return "\n".join(lines)


def export_qdpx(
    project: Project, path: str | Path, *, status: str = "accepted"
) -> QdpxExportReport:
    """Write the project as a REFI-QDA ``.qdpx`` (validated before anything is written).

    ``status='accepted'``: a person's codings (accepted suggestions and manual codings);
    ``status='any'``: also the open suggestions, as codings of the user ``qualcode``.
    Rejected codings are never exported.
    """
    if status not in EXPORT_STATUSES:
        raise QualcodeError(
            f"unknown status '{status}' for a .qdpx export", "use 'accepted' or 'any'"
        )
    target = Path(path)
    if target.suffix.lower() != ".qdpx":
        raise QualcodeError(
            f"{target}: a REFI-QDA project file must end in .qdpx",
            f"use for example -o {target.with_suffix('.qdpx').name}",
        )
    builder = _Builder(project, _load(project, EXPORT_STATUSES[status]), target)
    root = builder.build(status)
    data = serialise(root, "project", f"{target} (project.qde)")
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".tmp")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as archive:
        _add(archive, "project.qde", data)
        folder = zipfile.ZipInfo(f"{SOURCES_FOLDER}/", _ZIP_TIME)
        folder.external_attr = 0o40755 << 16
        archive.writestr(folder, b"")
        for name, text in sorted(builder.files.items()):
            _add(archive, name, text.encode("utf-8"))
    tmp.replace(target)
    return builder.report


def _add(archive: zipfile.ZipFile, name: str, data: bytes) -> None:
    info = zipfile.ZipInfo(name, _ZIP_TIME)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    archive.writestr(info, data)
