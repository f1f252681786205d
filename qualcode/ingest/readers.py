"""One reader per file format. Each returns a :class:`ParsedTranscript`; none writes anything."""

from __future__ import annotations

import re
import zipfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from qualcode.errors import TranscriptError
from qualcode.ingest.cues import Cue, cues_to_turns
from qualcode.ingest.encoding import read_text
from qualcode.ingest.labels import match_label
from qualcode.ingest.paragraphs import Paragraph, paragraphs_to_turns
from qualcode.models import ParsedTranscript
from qualcode.text import normalise_newlines, parse_timestamp

Reader = Callable[..., ParsedTranscript]
_DASH_LINE_RE = re.compile(r"^\s*(?:-|–|>>)\s+\S")


def _line_paragraphs(text: str, *, markdown: bool = False) -> list[Paragraph]:
    """Paragraphs of a plain-text file: blank-line separated blocks, or one per line.

    Transcribers do both; a block whose lines each start with a label is split per line, and a
    label alone on a line (``Spreker 1 [00:00:05]``) is a paragraph of its own, so the text on
    the following lines continues that speaker's turn. In plain text, a block whose lines all
    start with a dash (``- Hoe gaat het?``) is dialogue without names: one paragraph per line, so
    that it is recognised and refused (in markdown such a block is a list).
    """
    lines = normalise_newlines(text).split("\n")
    paragraphs: list[Paragraph] = []
    block: list[tuple[int, str]] = []

    def flush() -> None:
        if not block:
            return
        starts = {0}
        if not markdown and len(block) > 1 and all(_DASH_LINE_RE.match(x) for _, x in block):
            starts.update(range(len(block)))
        for n, (_, line) in enumerate(block):
            match = match_label(line)
            if match is not None:
                starts.add(n)
                if not match.rest and n + 1 < len(block):
                    starts.add(n + 1)
        cuts = sorted(starts)
        for a, b in zip(cuts, [*cuts[1:], len(block)], strict=True):
            part = block[a:b]
            paragraphs.append(Paragraph(" ".join(line.strip() for _, line in part), part[0][0]))
        block.clear()

    for number, line in enumerate(lines, start=1):
        if line.strip():
            block.append((number, line))
        else:
            flush()
    flush()
    return paragraphs


def read_plain(
    path: Path, *, encoding: str | None = None, known: Iterable[str] = ()
) -> ParsedTranscript:
    text, used = read_text(path, encoding)
    markdown = path.suffix.lower() in {".md", ".markdown"}
    turns, has_speakers = paragraphs_to_turns(
        _line_paragraphs(text, markdown=markdown),
        file=str(path),
        markdown=markdown,
        known_speakers=known,
    )
    return ParsedTranscript(tuple(turns), "md" if markdown else "txt", used, has_speakers)


# -- Word ------------------------------------------------------------------------------------

_TABLE_SPEAKER_HEADERS = {"spreker", "speaker", "naam", "wie", "deelnemer", "persoon", "name"}
_TABLE_TEXT_HEADERS = {"tekst", "text", "transcript", "inhoud", "uitspraak", "wat"}
_TABLE_TIME_HEADERS = {"tijd", "tijdcode", "time", "timestamp", "tijdstip", "start"}


def _docx_blocks(document: object) -> Iterator[object]:
    from docx.table import Table
    from docx.text.paragraph import Paragraph as DocxParagraph

    body = document.element.body  # type: ignore[attr-defined]
    for child in body.iterchildren():
        tag = child.tag.rsplit("}", 1)[-1]
        if tag == "p":
            yield DocxParagraph(child, document)
        elif tag == "tbl":
            yield Table(child, document)


def _table_columns(header: list[str]) -> tuple[int, int, int | None] | None:
    names = [h.strip().lower() for h in header]
    speaker = next((i for i, h in enumerate(names) if h in _TABLE_SPEAKER_HEADERS), None)
    text = next((i for i, h in enumerate(names) if h in _TABLE_TEXT_HEADERS), None)
    time = next((i for i, h in enumerate(names) if h in _TABLE_TIME_HEADERS), None)
    if speaker is None or text is None:
        return None
    return speaker, text, time


def _table_paragraphs(table: object) -> list[Paragraph]:
    rows = [[cell.text for cell in row.cells] for row in table.rows]  # type: ignore[attr-defined]
    if not rows:
        return []
    columns = _table_columns(rows[0])
    if columns is None:
        # Not a speaker table: read its cells as ordinary paragraphs.
        return [Paragraph(line) for row in rows for cell in row for line in cell.split("\n")]
    speaker_col, text_col, time_col = columns
    out: list[Paragraph] = []
    for row in rows[1:]:
        cell = row[speaker_col] if speaker_col < len(row) else ""
        speaker, role = _speaker_cell(cell)
        stamp = row[time_col].strip() if time_col is not None and time_col < len(row) else None
        lines = [line for line in row[text_col].split("\n") if line.strip()]
        for n, line in enumerate(lines):
            # An empty speaker cell continues the previous speaker ("" is not a label).
            label = speaker if (speaker and n == 0) else None
            out.append(
                Paragraph(
                    line,
                    speaker=label,
                    timestamp=stamp if n == 0 else None,
                    role=role if label else None,
                )
            )
    return _resolve_table_continuations(out)


_SPEAKER_CELL_RE = re.compile(r"^(?P<label>.*?)\s*(?:\((?P<role>[^()\n]{1,40})\))?\s*:?$")


def _speaker_cell(cell: str) -> tuple[str, str | None]:
    """A table's speaker cell: ``'Els Hoekstra (huisarts):'`` → ``('Els Hoekstra', 'huisarts')``."""
    text = " ".join(cell.split()).strip("*_ ")
    m = _SPEAKER_CELL_RE.match(text)
    if m is None or not m["label"].strip(" :"):
        return text.rstrip(" :"), None
    return m["label"].strip(" :"), (m["role"] or "").strip() or None


def _resolve_table_continuations(paras: list[Paragraph]) -> list[Paragraph]:
    current: str | None = None
    out = []
    for p in paras:
        if p.speaker:
            current = p.speaker
        out.append(Paragraph(p.text, p.line, p.speaker or current, p.timestamp, p.role))
    return out


def read_docx(path: Path, *, known: Iterable[str] = (), **_: object) -> ParsedTranscript:
    import docx
    from docx.opc.exceptions import PackageNotFoundError
    from docx.table import Table

    if not zipfile.is_zipfile(path):
        raise TranscriptError(
            path,
            "not a valid Word .docx file (damaged, or an old .doc / another format renamed)",
            hint="open it in Word or LibreOffice and save it again as .docx",
        )
    try:
        document = docx.Document(str(path))
    except (PackageNotFoundError, KeyError, ValueError, zipfile.BadZipFile) as exc:
        raise TranscriptError(
            path,
            f"the Word file is damaged ({exc.__class__.__name__})",
            hint="open it in Word or LibreOffice and save it again as .docx",
        ) from exc
    except Exception as exc:  # lxml errors from broken XML parts
        raise TranscriptError(
            path,
            "the Word file is damaged (unreadable XML inside)",
            hint="open it in Word or LibreOffice and save it again as .docx",
        ) from exc
    paragraphs: list[Paragraph] = []
    # style name per style id: python-docx looks a paragraph's style up among all styles on
    # every access, which was most of the time of reading a long transcript
    style_names: dict[str | None, str] = {}
    for number, block in enumerate(_docx_blocks(document), start=1):
        if isinstance(block, Table):
            paragraphs.extend(_table_paragraphs(block))
            continue
        style_id = block._p.style  # type: ignore[attr-defined]
        if style_id not in style_names:
            found = block.style  # type: ignore[attr-defined]
            style_names[style_id] = (found.name if found is not None else "") or ""
        style = style_names[style_id]
        if style.lower().startswith(("title", "heading", "kop", "titel")):
            continue
        for line in block.text.split("\n"):  # type: ignore[attr-defined]
            paragraphs.append(Paragraph(line, number))
    turns, has_speakers = paragraphs_to_turns(paragraphs, file=str(path), known_speakers=known)
    return ParsedTranscript(tuple(turns), "docx", None, has_speakers)


def read_odt(path: Path, *, known: Iterable[str] = (), **_: object) -> ParsedTranscript:
    from odf import teletype
    from odf import text as odftext
    from odf.opendocument import load

    if not zipfile.is_zipfile(path):
        raise TranscriptError(
            path,
            "not a valid OpenDocument .odt file",
            hint="open it in LibreOffice and save it again as .odt or .docx",
        )
    try:
        document = load(str(path))
    except Exception as exc:
        raise TranscriptError(path, f"the .odt file is damaged ({exc.__class__.__name__})") from exc
    paragraphs = [
        Paragraph(line, n)
        for n, p in enumerate(document.getElementsByType(odftext.P), start=1)
        for line in teletype.extractText(p).split("\n")
    ]
    turns, has_speakers = paragraphs_to_turns(paragraphs, file=str(path), known_speakers=known)
    return ParsedTranscript(tuple(turns), "odt", None, has_speakers)


# -- captions --------------------------------------------------------------------------------


def _vtt_seconds(value: str) -> float:
    seconds = parse_timestamp(value.replace(",", "."))
    return seconds if seconds is not None else 0.0


def read_vtt(path: Path, *, encoding: str | None = None, **_: object) -> ParsedTranscript:
    import webvtt
    from webvtt.errors import MalformedFileError

    text, used = read_text(path, encoding)
    text = normalise_newlines(text).lstrip("\ufeff")
    if not text.lstrip().startswith("WEBVTT"):
        raise TranscriptError(
            path,
            "not a WebVTT file: the first line must be 'WEBVTT'",
            line=1,
            hint="export the captions again from Teams or Zoom",
        )
    try:
        captions = webvtt.from_string(text).captions
    except MalformedFileError as exc:
        raise TranscriptError(
            path, f"damaged WebVTT captions ({exc})", line=_first_bad_vtt_line(text)
        ) from exc
    bad_line = _first_bad_vtt_line(text)
    if bad_line is not None:
        # webvtt-py silently skips a cue with a damaged timing line: refuse rather than lose it.
        raise TranscriptError(
            path,
            "damaged WebVTT cue: the timing line is not like '00:01:02.340 --> 00:01:06.120'",
            line=bad_line,
            hint="correct that line or export the captions again",
        )
    if not captions:
        raise TranscriptError(path, "the WebVTT file has no cues", hint="is the export complete?")
    lines = _cue_lines(text)
    cues = [
        Cue(c.text, _vtt_seconds(c.start), _vtt_seconds(c.end), c.voice, lines.get(n))
        for n, c in enumerate(captions)
    ]
    voiced = any(c.voice for c in cues)
    turns, has_speakers = cues_to_turns(cues, file=str(path))
    fmt = "vtt-teams" if voiced else "vtt-zoom" if has_speakers else "vtt"
    return ParsedTranscript(tuple(turns), fmt, used, has_speakers)


def _cue_lines(text: str) -> dict[int, int]:
    """Line number (1-based) of the n-th cue's timing line."""
    numbers = [n for n, line in enumerate(text.split("\n"), start=1) if "-->" in line]
    return dict(enumerate(numbers))


def _first_bad_vtt_line(text: str) -> int | None:
    pattern = re.compile(r"^\s*(?:\d+:)?\d{2}:\d{2}\.\d{3}\s+-->\s+(?:\d+:)?\d{2}:\d{2}\.\d{3}")
    for n, line in enumerate(text.split("\n"), start=1):
        if "-->" in line and not pattern.match(line):
            return n
    return None


def read_srt(path: Path, *, encoding: str | None = None, **_: object) -> ParsedTranscript:
    import srt

    text, used = read_text(path, encoding)
    text = normalise_newlines(text).lstrip("\ufeff")
    try:
        subtitles = list(srt.parse(text))
    except srt.SRTParseError as exc:
        # The damage starts where the parser expected the next cue (not where it resumed).
        start = getattr(exc, "expected_start", None)
        line = None
        if start is not None:
            skipped = len(text[start:]) - len(text[start:].lstrip("\n"))
            line = text.count("\n", 0, start) + skipped + 1
        raise TranscriptError(
            path,
            "damaged SRT subtitles: a cue is not in the form "
            "'number / 00:00:01,000 --> 00:00:04,000 / text'",
            line=line,
        ) from exc
    if not subtitles:
        raise TranscriptError(path, "the SRT file has no subtitles", hint="is the export complete?")
    lines = _cue_lines(text)
    cues = [
        Cue(s.content, s.start.total_seconds(), s.end.total_seconds(), None, lines.get(n))
        for n, s in enumerate(subtitles)
    ]
    turns, has_speakers = cues_to_turns(cues, file=str(path))
    return ParsedTranscript(tuple(turns), "srt", used, has_speakers)


READERS: dict[str, Reader] = {
    ".txt": read_plain,
    ".md": read_plain,
    ".markdown": read_plain,
    ".docx": read_docx,
    ".odt": read_odt,
    ".vtt": read_vtt,
    ".srt": read_srt,
}

UNSUPPORTED_HINTS = {
    ".doc": "save it in Word as .docx",
    ".rtf": "save it in Word as .docx",
    ".pdf": "export the transcript as .docx or .txt",
    ".pages": "export it as .docx",
}


def read_transcript(
    path: str | Path, *, encoding: str | None = None, known_speakers: Iterable[str] = ()
) -> ParsedTranscript:
    """Read one transcript file in any supported format."""
    file = Path(path)
    if not file.exists():
        raise TranscriptError(file, "file not found")
    if file.is_dir():
        raise TranscriptError(file, "is a folder, not a transcript file")
    suffix = file.suffix.lower()
    reader = READERS.get(suffix)
    if reader is None:
        hint = UNSUPPORTED_HINTS.get(suffix, "supported: " + ", ".join(sorted(READERS)))
        raise TranscriptError(file, f"unsupported file type '{suffix or file.name}'", hint=hint)
    if file.stat().st_size == 0:
        raise TranscriptError(file, "the file is empty", hint="check that it is the right file")
    return reader(file, encoding=encoding, known=tuple(known_speakers))
