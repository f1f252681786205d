"""Bad input, generated: every transcript reader, ``ingest_files`` and the codebook loader either
accept what they are given or refuse it with a QualcodeError whose message is one line, and a
refused ingest leaves the project exactly as it was (no half-written document).

``test_properties.py`` covers the decoder and the offsets of what is read; this module throws
random bytes, encodings, speaker labels, damaged Word/OpenDocument files, captions and codebook
YAML at the public entry points, and a few of the same cases through the command line.
"""

from __future__ import annotations

import io
import itertools
import sqlite3
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from coding_helpers import assert_one_line_error, invoke
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qualcode.codebook import CODE_KEYS, PATTERN_KEYS, TOP_KEYS, Codebook, load_codebook
from qualcode.errors import CodebookError, QualcodeError, TranscriptError
from qualcode.ingest import ingest_files, read_transcript
from qualcode.store import Project, init_project

FUZZ = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
_names = itertools.count()

# -- building blocks -------------------------------------------------------------------------

# fmt: off
WORDS = [
    "ik", "we", "ze", "de", "het", "een", "niet", "wel", "ja", "nee", "eh", "nou", "buurt",
    "ouderen", "eenzaam", "jongeren", "schulden", "mantelzorger", "wijkteam", "burn-out",
    "zzp'er", "lockdown", "ideeën", "één", "café", "privé", "geïnterviewd", "coördinator",
    "reünie", "naïef", "Curaçao", "€ 50", "zo’n", "“echt”", "‘even’", "—", "…", "½", "°",
    "straße", "ŉ", "👍", "\u00a0", "\u200b", "e\u0301",
]
LABELS = [
    "Interviewer:", "I:", "R:", "R3:", "Moderator:", "Deelnemer 4:", "Spreker 1", "Spreker 2:",
    "Els Hoekstra:", "Fatima El Amrani (huisarts):", "**Interviewer:**", "Naam:", ":", "::",
    "[00:12:31]", "00:12:31", "#00:12:31-4#", "(00:01)", "[onverstaanbaar]", "(lacht)",
    "(stilte)", "[naam]", "[overlappend]", "- ", ">> ", "# ", "* ", "1.", "A:", "B:", "Q:",
    "Spreker 1 [00:00:05]", "[Spreker 1]", "<v Els>", "</v>", "WEBVTT", "-->", "\t", "  ",
]
# fmt: on
word = st.sampled_from(WORDS) | st.text(max_size=5)
dutch_line = st.lists(st.sampled_from(LABELS) | word, max_size=10).map(" ".join)
dutch_text = st.lists(dutch_line, min_size=1, max_size=12).map("\n".join)
ENCODINGS = ["utf-8", "utf-8-sig", "utf-16", "utf-16-le", "utf-16-be", "cp1252", "latin-1"]


def xml_safe(text: str) -> str:
    """What python-docx and odfpy accept: no control characters other than tab/newline."""
    return "".join(c for c in text if c in "\t\n" or (ord(c) >= 32 and c not in "\ufffe\uffff"))


def encoded(text: str, encoding: str, crlf: bool) -> bytes:
    if crlf:
        text = text.replace("\n", "\r\n")
    return text.encode(encoding, errors="replace")


def docx_bytes(paragraphs: list[str]) -> bytes:
    import docx

    document = docx.Document()
    for p in paragraphs:
        document.add_paragraph(xml_safe(p))
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def odt_bytes(paragraphs: list[str]) -> bytes:
    from odf.opendocument import OpenDocumentText
    from odf.text import P

    document = OpenDocumentText()
    for p in paragraphs:
        document.text.addElement(P(text=xml_safe(p)))
    buffer = io.BytesIO()
    document.write(buffer)
    return buffer.getvalue()


def zip_bytes(members: list[tuple[str, bytes]]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members:
            archive.writestr(name, data)
    return buffer.getvalue()


XML_PIECES = [
    b"<?xml version='1.0'?>", b"<w:document xmlns:w='http://schemas.openxmlformats.org/"
    b"wordprocessingml/2006/main'>", b"<w:body>", b"<w:p>", b"<w:r><w:t>", b"R: hallo",
    b"</w:t></w:r>", b"</w:p>", b"</w:body></w:document>", b"<office:document-content>",
    b"<text:p>", b"&amp;", b"&bogus;", b"<![CDATA[", b"]]>", b"\x00", b"\xff", b"<", b">",
]  # fmt: skip
member_name = st.sampled_from(
    [
        "[Content_Types].xml", "_rels/.rels", "word/document.xml", "word/_rels/document.xml.rels",
        "mimetype", "content.xml", "META-INF/manifest.xml", "styles.xml", "notities.txt",
    ]
)  # fmt: skip
member_data = st.binary(max_size=200) | st.lists(st.sampled_from(XML_PIECES), max_size=12).map(
    b"".join
)


@st.composite
def office_files(draw: st.DrawFn) -> tuple[str, bytes]:
    """(extension, bytes): valid, truncated, re-zipped with damaged members, or random."""
    suffix = draw(st.sampled_from([".docx", ".odt"]))
    kind = draw(st.sampled_from(["valid", "truncated", "members", "swapped", "random"]))
    paragraphs = draw(st.lists(dutch_line, min_size=0, max_size=6))
    make = docx_bytes if suffix == ".docx" else odt_bytes
    if kind == "valid":
        return suffix, make(paragraphs)
    if kind == "truncated":
        data = make(paragraphs)
        return suffix, data[: draw(st.integers(0, len(data) - 1))]
    if kind == "members":
        members = st.lists(
            st.tuples(member_name, member_data), max_size=5, unique_by=lambda m: m[0]
        )
        return suffix, zip_bytes(draw(members))
    if kind == "swapped":  # a valid file of the other kind, or with one member damaged
        data = (odt_bytes if suffix == ".docx" else docx_bytes)(paragraphs)
        if draw(st.booleans()):
            return suffix, data
        with zipfile.ZipFile(io.BytesIO(make(paragraphs))) as archive:
            members = [(n, archive.read(n)) for n in archive.namelist()]
        n = draw(st.integers(0, len(members) - 1))
        members[n] = (members[n][0], draw(member_data))
        return suffix, zip_bytes(members)
    return suffix, draw(st.binary(max_size=400))


def _timing(draw: st.DrawFn, comma: bool) -> str:
    def stamp() -> str:
        h, m, s, ms = (draw(st.integers(0, n)) for n in (99, 99, 99, 9999))
        sep = "," if comma else "."
        return draw(st.sampled_from([f"{h:02}:{m:02}:{s:02}{sep}{ms:03}", f"{m:02}:{s:02}.{ms:03}",
                                     f"{h}:{m}:{s}", "", "00:00:01,000", "-1"]))  # fmt: skip

    arrow = draw(st.sampled_from([" --> ", "-->", " -> ", " --> --> "]))
    return stamp() + arrow + stamp() + draw(st.sampled_from(["", " align:start", " line:0"]))


@st.composite
def caption_files(draw: st.DrawFn) -> tuple[str, bytes]:
    """(extension, bytes): WebVTT or SRT made of random cues, some of them damaged."""
    suffix = draw(st.sampled_from([".vtt", ".srt"]))
    lines = ["WEBVTT", ""] if suffix == ".vtt" and draw(st.booleans()) else []
    for n in range(draw(st.integers(0, 6))):
        if suffix == ".srt" or draw(st.booleans()):
            lines.append(draw(st.sampled_from([str(n + 1), "", "x", f"{n}-{n}"])))
        lines.append(_timing(draw, comma=suffix == ".srt"))
        voice = draw(st.sampled_from(["", "<v Els Hoekstra>", "<v>", "<v Spreker 1>", "Els: "]))
        lines.append(voice + draw(dutch_line) + draw(st.sampled_from(["", "</v>", "<b>", "<i"])))
        if draw(st.booleans()):
            lines.append(draw(dutch_line))
        lines.append("")
    text = "\n".join(lines)
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "cp1252"]))
    return suffix, encoded(text, encoding, draw(st.booleans()))


@st.composite
def text_files(draw: st.DrawFn) -> tuple[str, bytes]:
    """(extension, bytes): Dutch-ish transcript text in a random encoding, with or without BOM
    and CRLF, now and then with a few random bytes spliced in."""
    suffix = draw(st.sampled_from([".txt", ".md"]))
    data = encoded(draw(dutch_text), draw(st.sampled_from(ENCODINGS)), draw(st.booleans()))
    if draw(st.integers(0, 4)) == 0:
        at = draw(st.integers(0, len(data)))
        data = data[:at] + draw(st.binary(min_size=1, max_size=8)) + data[at:]
    return suffix, data


any_file = (
    text_files()
    | caption_files()
    | office_files()
    | st.tuples(
        st.sampled_from([".txt", ".md", ".vtt", ".srt", ".docx", ".odt"]), st.binary(max_size=300)
    )
)


# -- helpers ---------------------------------------------------------------------------------


def assert_one_line(error: QualcodeError) -> None:
    assert len(error.message.splitlines()) == 1, error
    assert error.hint is None or len(error.hint.splitlines()) == 1, error
    assert "Traceback" not in str(error)


def rows(project: Project) -> dict[str, list[tuple]]:
    conn = project.conn
    tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    return {
        t: [tuple(r) for r in conn.execute(f"SELECT * FROM {t} ORDER BY rowid")] for t in tables
    }


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Project]:
    folder = tmp_path_factory.mktemp("fuzz")
    proj = init_project(folder / "project")
    yield proj
    proj.close()


@pytest.fixture(scope="module")
def good_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A valid transcript, ingested together with each random one."""
    path = tmp_path_factory.mktemp("good") / "goed.txt"
    path.write_text("Interviewer: Hoe gaat het?\n\nR: Goed, dank u.\n", encoding="utf-8")
    return path


def _write(folder: Path, suffix: str, data: bytes) -> Path:
    path = folder / f"willekeurig{next(_names)}{suffix}"
    path.write_bytes(data)
    return path


def _ingest_or_refuse(project: Project, files: list[Path]) -> None:
    """Ingest ``files`` as one batch: accepted, or refused with a one-line QualcodeError and
    not a single row changed."""
    before = rows(project)
    try:
        report = ingest_files(project, files)
    except QualcodeError as error:
        assert_one_line(error)
        assert rows(project) == before
        return
    assert len(report.added) + len(report.unchanged) == len(files)
    for name in report.added:
        text = project.conn.execute("SELECT text FROM documents WHERE name = ?", (name,)).fetchone()
        assert text[0].strip()
    assert project.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


# -- readers and ingest ----------------------------------------------------------------------


@FUZZ
@given(file=any_file)
def test_read_transcript_reads_or_refuses_in_one_line(
    file: tuple[str, bytes], tmp_path: Path
) -> None:
    path = _write(tmp_path, *file)
    try:
        parsed = read_transcript(path)
    except TranscriptError as error:
        assert error.file == str(path)
        assert_one_line(error)
        return
    assert parsed.turns and all(t.paragraphs for t in parsed.turns)


@FUZZ
@given(file=any_file, with_good=st.booleans())
def test_ingest_adds_everything_or_nothing(
    file: tuple[str, bytes], with_good: bool, project: Project, good_file: Path, tmp_path: Path
) -> None:
    folder = tmp_path / f"batch{next(_names)}"
    folder.mkdir()
    files = [_write(folder, *file)]
    if with_good:
        good = folder / f"goed{next(_names)}.txt"
        good.write_bytes(good_file.read_bytes())
        files.insert(0, good)
    _ingest_or_refuse(project, files)


@FUZZ
@given(text=dutch_text, encoding=st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "cp1252"]))
def test_text_in_a_supported_encoding_is_read_without_garbling(
    text: str, encoding: str, tmp_path: Path
) -> None:
    """UTF-8 (with or without BOM), UTF-16 with BOM and Windows-1252 come back as written:
    no replacement characters, no mojibake such as 'Ã©' for 'é'."""
    try:
        data = text.encode(encoding)
    except UnicodeEncodeError:
        return  # not every character exists in Windows-1252
    path = _write(tmp_path, ".txt", data)
    try:
        parsed = read_transcript(path)
    except TranscriptError as error:
        assert_one_line(error)
        return
    spoken = "\n".join(p for t in parsed.turns for p in t.paragraphs)
    assert "\ufffd" not in spoken
    for bad in ("Ã", "â€", "ï»¿", "\x00"):
        if bad not in text:
            assert bad not in spoken


# -- the codebook loader ---------------------------------------------------------------------

scalar = (
    st.text(max_size=12)
    | st.sampled_from(["eenzaam", "impact", "#1f77b4", "#zzz", "", " ", "include", "exclude"])
    | st.integers(-5, 5)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.booleans()
    | st.none()
)
# fmt: off
TOKEN_KEYS = [
    "LOWER", "LEMMA", "TEXT", "OP", "REGEX", "IN", "POS", "IS_DIGIT", "lemma", "LENGTH", "NORM",
    "ORTH", "_", "x",
]
# fmt: on
token_spec = st.dictionaries(
    st.sampled_from(TOKEN_KEYS),
    scalar
    | st.sampled_from(["?", "*", "+", "!", "{2}", "{1,3}", "(", "[a-", ".*", "\\"])
    | st.dictionaries(st.sampled_from(["IN", "NOT_IN", "REGEX", ">=", "==", "FUZZY"]), scalar)
    | st.lists(scalar, max_size=3),
    max_size=3,
)
pattern = st.dictionaries(
    st.sampled_from(sorted(PATTERN_KEYS)) | st.text(max_size=6),
    st.lists(token_spec, max_size=3) | scalar,
    max_size=4,
)
code_value = st.one_of(
    scalar,
    st.lists(scalar, max_size=4),
    st.lists(pattern, max_size=2),
    st.dictionaries(st.text(max_size=4), scalar, max_size=2),
)


def codes(depth: int) -> st.SearchStrategy[list]:
    keys = st.sampled_from(sorted(CODE_KEYS)) | st.text(max_size=8)
    values = code_value if depth == 0 else code_value | st.deferred(lambda: codes(depth - 1))
    code = st.dictionaries(keys, values, max_size=7)
    ids = st.fixed_dictionaries(
        {"id": st.sampled_from(["a", "b", "sociaal", "a_1", "A", "1x", "x y"]), "label": scalar},
        optional={
            "keywords": st.lists(scalar, max_size=3),
            "patterns": st.lists(pattern, max_size=2),
        },
    )
    return st.lists(ids | code | scalar, max_size=4)


codebook_data = (
    st.dictionaries(
        st.sampled_from(sorted(TOP_KEYS)) | st.text(max_size=6),
        scalar | codes(2),
        max_size=5,
    )
    | st.lists(scalar, max_size=3)
    | scalar
)

YAML_PIECES = [
    "name: x\n", "codes:\n", "  - id: a\n", "    label: A\n", "    keywords: [a, b\n",
    "    children:\n", "      - id: b\n", "        label: B\n", "\t", "&a ", "*a", "*b ",
    "!!python/object:os.system ", "!!binary ", "!!set ", "!!omap ", "? ", "[", "]", "{", "}",
    "'", '"', "- ", ": ", "\n", "    ", "---\n", "...\n", "%YAML 1.1\n", "<<: *a\n", "~", "#",
    "|\n", ">-\n", "0x1F", "\u00e9", "\ufeff", "\x00", "\x85", "\u2028", '"\\n"', "'a\nb'",
]  # fmt: skip
yaml_text = st.lists(st.sampled_from(YAML_PIECES) | st.text(max_size=4), max_size=30).map("".join)


def _load_or_refuse(path: Path) -> Codebook | None:
    try:
        return load_codebook(path)
    except CodebookError as error:
        assert error.problems
        assert_one_line(error)
        for _, problem in error.problems:  # each is a line of 'qualcode codebook validate'
            assert len(problem.splitlines()) == 1, problem
        return None


@FUZZ
@given(data=codebook_data)
def test_codebook_structures_load_or_are_refused_in_one_line(data: object, tmp_path: Path) -> None:
    path = tmp_path / f"codeboek{next(_names)}.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    book = _load_or_refuse(path)
    if book is not None:
        assert book.codes and all(c.id and c.label for c in book.walk())


@FUZZ
@given(text=yaml_text, bom=st.booleans())
def test_codebook_text_loads_or_is_refused_in_one_line(
    text: str, bom: bool, tmp_path: Path
) -> None:
    path = tmp_path / f"codeboek{next(_names)}.yaml"
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8", "surrogatepass"))
    _load_or_refuse(path)


@FUZZ
@given(data=st.binary(max_size=300))
def test_codebook_bytes_load_or_are_refused_in_one_line(data: bytes, tmp_path: Path) -> None:
    path = tmp_path / f"codeboek{next(_names)}.yaml"
    path.write_bytes(data)
    _load_or_refuse(path)


# -- the same through the command line -------------------------------------------------------


@settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck))
@given(file=office_files())
def test_cli_ingest_of_a_random_office_file(
    file: tuple[str, bytes], project: Project, tmp_path: Path
) -> None:
    path = _write(tmp_path, *file)
    before = rows(project)
    result = invoke("ingest", path, "--project", project.path)
    if result.exit_code == 0:
        assert "1 added" in result.stderr
        return
    assert_one_line_error(result, path.name)
    assert rows(project) == before


@pytest.mark.parametrize(
    "make, fragment",
    [
        (lambda d: d[: len(d) // 2], "not a valid Word .docx file"),
        (lambda d: d.replace(b"word/document.xml", b"word/dokument.xml"), "damaged"),
        # an old .doc (OLE2) renamed to .docx
        (lambda d: b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(500), "not a valid Word .docx"),
    ],
)
def test_cli_ingest_of_a_damaged_word_file(
    make: object, fragment: str, project: Project, tmp_path: Path
) -> None:
    path = tmp_path / f"kapot{next(_names)}.docx"
    path.write_bytes(make(docx_bytes(["R: Dit was een zware tijd.", "I: Vertel."])))  # type: ignore[operator]
    before = rows(project)
    result = invoke("ingest", path, "--project", project.path)
    assert_one_line_error(result, path.name, fragment)
    assert rows(project) == before


@pytest.mark.parametrize(
    "text, fragment",
    [
        ("name: x\ncodes:\n  - id: a\n    label: [1, 2]\n", "'label' must be text"),
        ("name: x\ncodes:\n  - {id: a, label: A, patterns: [{pattern: [{REGEX: '('}]}]}\n",
         "spaCy rejects pattern"),
        ("name: x\ncodes: [\n", "not valid YAML"),
        ("- 1\n- 2\n", "must start with 'name:'"),
    ],
)  # fmt: skip
def test_cli_with_a_bad_codebook(text: str, fragment: str, tmp_path: Path) -> None:
    path = tmp_path / "codeboek.yaml"
    path.write_text(text, encoding="utf-8")
    for args in (["codebook", "validate", path], ["codebook", "show", path]):
        assert_one_line_error(invoke(*args), fragment)


def test_cli_suggest_with_a_bad_codebook_changes_nothing(project: Project, tmp_path: Path) -> None:
    path = tmp_path / "codeboek.yaml"
    path.write_text("name: x\ncodes:\n  - id: a\n    label: A\n    kleur: rood\n", "utf-8")
    before = rows(project)
    result = invoke("suggest", "--project", project.path, "--codebook", path)
    assert_one_line_error(result, "unknown key 'kleur'")
    assert rows(project) == before
    db = sqlite3.connect(project.path / "qualcode.db")
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    db.close()
