"""The metadata sidecar (CSV or XLSX): document attributes and speaker roles.

One table. A row with an empty ``speaker`` describes a document (every column besides
``document`` becomes a document attribute: type, date, place, organisation, group, ...). A row
with a ``speaker`` describes that speaker in that document: ``role`` (used for quote
attribution), ``interviewer`` (ja/nee: overrides the label convention) and any extra column as
speaker attribute. Column names are case-insensitive; Dutch and English names are accepted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from qualcode.errors import TranscriptError
from qualcode.ingest.encoding import read_csv_rows

_ALIASES = {
    "document": {"document", "doc", "file", "bestand", "bestandsnaam", "filename", "transcript"},
    "speaker": {"speaker", "spreker", "label", "sprekerlabel"},
    "role": {"role", "rol", "functie"},
    "interviewer": {"interviewer", "is_interviewer", "moderator", "gespreksleider"},
}
_TRUE = {"ja", "j", "yes", "y", "true", "waar", "1", "x"}
_FALSE = {"nee", "n", "no", "false", "onwaar", "0", ""}


@dataclass(frozen=True)
class SpeakerMeta:
    role: str | None
    interviewer: bool | None
    attributes: dict[str, str]
    line: int
    label: str = ""  # as written in the metadata file


@dataclass
class Metadata:
    file: str
    documents: dict[str, dict[str, str]] = field(default_factory=dict)
    document_lines: dict[str, int] = field(default_factory=dict)
    speakers: dict[str, dict[str, SpeakerMeta]] = field(default_factory=dict)
    # document key -> the name as written in the metadata file (for messages)
    names: dict[str, str] = field(default_factory=dict)

    def for_document(self, name: str) -> dict[str, str]:
        return self.documents.get(document_key(name), {})

    def speakers_of(self, name: str) -> dict[str, SpeakerMeta]:
        return self.speakers.get(document_key(name), {})

    def referenced(self) -> dict[str, int]:
        """Every document key the file names, with the first line naming it."""
        lines = dict(self.document_lines)
        for key, speakers in self.speakers.items():
            lines.setdefault(key, min(s.line for s in speakers.values()))
        return lines


def document_key(name: str) -> str:
    """Documents are matched by file name with or without extension, case-insensitively."""
    path = Path(name.strip())
    return path.stem.casefold() if path.suffix else path.name.casefold()


def speaker_key(label: str) -> str:
    return " ".join(label.split()).casefold()


def _rows_from_xlsx(path: Path) -> list[list[str]]:
    import openpyxl

    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:
        raise TranscriptError(
            path,
            f"cannot open the Excel file ({exc.__class__.__name__})",
            hint="save it again as .xlsx or as .csv",
        ) from exc
    sheet = book.worksheets[0]
    rows = []
    for row in sheet.iter_rows(values_only=True):
        rows.append(
            [
                ""
                if v is None
                else (v.date().isoformat() if hasattr(v, "date") and hasattr(v, "hour") else str(v))
                for v in row
            ]
        )
    book.close()
    return rows


def _column_names(header: list[str], path: Path) -> list[str]:
    names = []
    for raw in header:
        name = raw.strip().lstrip("\ufeff").lower()
        canonical = next((key for key, alias in _ALIASES.items() if name in alias), name)
        names.append(canonical)
    if "document" not in names:
        raise TranscriptError(
            path,
            "no 'document' column in the header",
            line=1,
            hint="the first row must name the columns, e.g. document,speaker,role,interviewer,type",
        )
    return names


def _flag(value: str, path: Path, line: int) -> bool | None:
    v = value.strip().lower()
    if v in _TRUE:
        return True
    if v in _FALSE:
        return None if v == "" else False
    raise TranscriptError(path, f"'interviewer' must be ja or nee, not '{value}'", line=line)


def load_metadata(path: str | Path) -> Metadata:
    file = Path(path)
    if not file.exists():
        raise TranscriptError(file, "metadata file not found")
    suffix = file.suffix.lower()
    if suffix in {".xlsx", ".xlsm"}:
        rows = _rows_from_xlsx(file)
    elif suffix in {".csv", ".tsv", ".txt"}:
        rows = read_csv_rows(file)
    else:
        raise TranscriptError(file, "metadata must be a .csv or .xlsx file")
    rows = [r for r in rows if any(cell.strip() for cell in r)]
    if not rows:
        raise TranscriptError(file, "the metadata file is empty")
    names = _column_names(rows[0], file)
    meta = Metadata(str(file))
    for line, row in enumerate(rows[1:], start=2):
        values = {n: (row[i].strip() if i < len(row) else "") for i, n in enumerate(names) if n}
        doc = values.pop("document", "")
        if not doc:
            raise TranscriptError(file, "row without a document name", line=line)
        key = document_key(doc)
        meta.names.setdefault(key, doc)
        speaker = values.pop("speaker", "")
        role = values.pop("role", "")
        interviewer = _flag(values.pop("interviewer", ""), file, line)
        extra = {k: v for k, v in values.items() if v}
        if speaker:
            meta.speakers.setdefault(key, {})[speaker_key(speaker)] = SpeakerMeta(
                role or None, interviewer, extra, line, speaker
            )
        else:
            meta.documents.setdefault(key, {}).update(extra)
            meta.document_lines.setdefault(key, line)
    return meta
