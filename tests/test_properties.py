"""Property tests: any bytes are either read or refused with a TranscriptError, and any
label-ish text keeps offsets exact."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qualcode.errors import TranscriptError
from qualcode.ingest import read_transcript
from qualcode.ingest.document import layout, segment
from qualcode.ingest.encoding import decode_bytes
from qualcode.ingest.paragraphs import PROSE_SPEAKER, Paragraph, paragraphs_to_turns
from qualcode.models import UNITS
from qualcode.text import normalise_paragraph

FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# fmt: off
PIECES = [
    "Interviewer:", "I:", "R:", "R3:", "Moderator:", "Deelnemer 4:", "Spreker 1", "Spreker 2:",
    "Els Hoekstra:", "Naam (rol):", "**Interviewer:**", "**Els (huisarts):**", "[00:12:31]",
    "00:12:31", "#00:12:31-4#", "(lacht)", "[onverstaanbaar]", "(stilte)", "- ", ">> ", "# ",
    "Kijk:", "ja", "nee", "eh", "nou", "Ideeën", "privé", "“zo”", "zzp'er", ".", "?", "!", "…",
    ":", " ", "  ", "\t", "\u00a0", "\ufeff", "é", "e\u0301", "👍", "WEBVTT", "-->", "1",
]
# fmt: on
piece = st.one_of(st.sampled_from(PIECES), st.text(max_size=6))
line = st.lists(piece, max_size=8).map("".join)
document = st.lists(line, min_size=0, max_size=14).map("\n".join)


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("random")


@FAST
@given(data=st.binary(max_size=400))
def test_decoder_accepts_or_refuses_random_bytes(data: bytes) -> None:
    try:
        text, encoding = decode_bytes(data, "x.txt")
    except TranscriptError as error:
        assert error.file == "x.txt"
        return
    assert isinstance(text, str) and encoding in {"utf-8", "utf-8-sig", "utf-16", "cp1252"}


def _bytes_strategy() -> st.SearchStrategy[bytes]:
    encodings = st.sampled_from(["utf-8", "utf-8-sig", "cp1252", "utf-16", "latin-1"])
    encoded = st.tuples(document, encodings, st.booleans()).map(
        lambda t: (t[0].replace("\n", "\r\n") if t[2] else t[0]).encode(t[1], errors="replace")
    )
    return st.one_of(st.binary(max_size=300), encoded)


@FAST
@given(data=_bytes_strategy(), suffix=st.sampled_from([".txt", ".md", ".vtt", ".srt"]))
def test_read_transcript_accepts_or_refuses_random_files(
    data: bytes, suffix: str, folder: Path
) -> None:
    path = folder / f"willekeurig{suffix}"
    path.write_bytes(data)
    try:
        parsed = read_transcript(path)
    except TranscriptError as error:
        assert error.file == str(path)
        assert "\n" not in error.message
        return
    assert parsed.turns
    _check_offsets(list(parsed.turns))


def _check_offsets(turns: list) -> None:
    text, laid = layout(turns)
    for lt in laid:
        assert text[lt.start : lt.end] == "\n".join(lt.turn.paragraphs)
        if lt.turn.speaker != PROSE_SPEAKER:
            label = f"{lt.turn.speaker}: "
            assert text[lt.start - len(label) : lt.start] == label
        for a, b in lt.paragraphs:
            assert lt.start <= a <= b <= lt.end
    for unit in UNITS:
        previous = 0
        for span in segment(text, laid, unit, max_words=12):
            turn = laid[span.turn_index]
            piece = text[span.start : span.end]
            assert turn.start <= span.start < span.end <= turn.end
            assert span.start >= previous
            assert piece == piece.strip()
            previous = span.end


@FAST
@given(lines=st.lists(line, min_size=1, max_size=14), markdown=st.booleans())
def test_paragraphs_to_turns_keeps_offsets_exact(lines: list[str], markdown: bool) -> None:
    paragraphs = [Paragraph(text, n) for n, text in enumerate(lines, start=1)]
    try:
        turns, has_speakers = paragraphs_to_turns(paragraphs, file="x.txt", markdown=markdown)
    except TranscriptError:
        return
    assert turns
    for turn in turns:
        assert turn.paragraphs and all(p and p == p.strip() for p in turn.paragraphs)
        assert (turn.speaker == PROSE_SPEAKER) is not has_speakers
    if not markdown:
        # every paragraph of the output is (a piece of) an input paragraph, never invented text
        sources = [normalise_paragraph(p) for p in lines]
        for turn in turns:
            for para in turn.paragraphs:
                assert any(para in source for source in sources), para
    _check_offsets(turns)


@FAST
@given(lines=st.lists(line, min_size=1, max_size=10))
def test_table_paragraphs_keep_offsets_exact(lines: list[str]) -> None:
    """Structured paragraphs (a docx table) with speakers given, some continuing."""
    paragraphs = [
        Paragraph(text, n, speaker=("Deelnemer 2" if n % 3 else "Moderator"))
        for n, text in enumerate(lines, start=1)
    ]
    try:
        turns, has_speakers = paragraphs_to_turns(paragraphs, file="x.docx")
    except TranscriptError:
        return
    assert has_speakers
    _check_offsets(turns)
