"""REFI-QDA exchange: .qdpx export/import, .qdc codebooks, positions, errors.

Every file qualcode writes is validated here with lxml against the XSDs shipped in
``qualcode/data`` (byte copies of the REFI schemas, checked by md5 below).
"""

from __future__ import annotations

import hashlib
import json
import re
import sqlite3
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from coding_helpers import (
    CODING_YAML,
    EENZAAMHEID,
    FG,
    INT,
    SCHULDEN,
    add_coding,
    assert_one_line_error,
    build_project,
    connect,
    copy_project,
    invoke,
    segment_ids,
)
from lxml import etree

REFI = Path(__file__).parent / "fixtures" / "refi"
DATA = Path(__file__).parents[1] / "qualcode" / "data"
NS = {"q": "urn:QDA-XML:project:1.0", "c": "urn:QDA-XML:codebook:1.0"}
GUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
BUURVROUW = "buurvrouw_crlf.txt"
MEMOS = [
    ("project", None, "anna", "Projectmemo: let op het verschil tussen groepen ë é ’."),
    ("document", BUURVROUW, "anna", "Gesprek bij haar thuis 😊, rustig."),
    ("code", EENZAAMHEID, "bob", "Eenzaamheid ≠ alleen zijn."),
    ("segment", (FG, 2), "anna", "Mooi citaat voor het rapport."),
    ("segment", (INT, 8), "bob", "Twijfel: schuld of blaam?"),
    ("segment", (INT, 3), "carla", "De vraag stuurt hier wel erg."),  # an interviewer turn
]


def schema(name: str) -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(DATA / name)))


def test_vendored_schemas_are_the_refi_files() -> None:
    names = ("Project.xsd", "Codebook.xsd")
    digests = {n: hashlib.md5((DATA / n).read_bytes()).hexdigest() for n in names}
    assert digests == {
        "Project.xsd": "11ffe6e3b6c989dcbf013ab1b6e3df01",
        "Codebook.xsd": "969f2ff6e647a92487f88a6631498fcd",
    }
    assert "MIT license" in (DATA / "Project.xsd").read_text(encoding="utf-8")


def validated_qde(path: Path) -> etree._Element:
    """project.qde of a .qdpx, after checking it against Project.xsd."""
    with zipfile.ZipFile(path) as archive:
        data = archive.read("project.qde")
    assert not data.startswith(b"\xef\xbb\xbf")
    root = etree.fromstring(data)
    project_schema = schema("Project.xsd")
    assert project_schema.validate(root), project_schema.error_log
    return root


def source_texts(path: Path) -> dict[str, str]:
    """TextSource name → the text of its source file in the archive."""
    root = validated_qde(path)
    out = {}
    with zipfile.ZipFile(path) as archive:
        for source in root.iterfind(".//q:TextSource", NS):
            data = archive.read("sources/" + source.get("plainTextPath").split("://")[1])
            assert not data.startswith(b"\xef\xbb\xbf")
            out[source.get("name")] = data.decode("utf-8")
    return out


def add_memo_rows(project: Path) -> None:
    conn = connect(project)
    ids = segment_ids(project)
    docs = {r["name"]: r["id"] for r in conn.execute("SELECT id, name FROM documents")}
    codes = {r["path"]: r["id"] for r in conn.execute("SELECT id, path FROM codes")}
    for n, (kind, target, coder, text) in enumerate(MEMOS):
        target_id = {
            "project": lambda t: None,
            "document": lambda t: docs[t],
            "code": lambda t: codes[t],
            "segment": lambda t: ids[t],
        }[kind](target)
        stamp = f"2024-05-0{n + 1}T09:00:00+00:00"
        conn.execute(
            "INSERT INTO memos (target_type, target_id, coder, text, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (kind, target_id, coder, text, stamp, stamp),
        )
    conn.commit()
    conn.close()


@pytest.fixture(scope="module")
def coded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The fixture corpus plus a CRLF transcript with ë, ’ and emoji; codings by anna and bob
    (accepted, manual, rejected) next to the machine's suggestions; memos on every target."""
    from qualcode.ingest import ingest_files
    from qualcode.store import open_project

    project = build_project(tmp_path_factory.mktemp("refi") / "project")
    with open_project(project) as proj:
        ingest_files(proj, [REFI / BUURVROUW])
    add_coding(project, FG, 2, EENZAAMHEID, "accepted", coder="anna")
    add_coding(project, FG, 2, EENZAAMHEID, "manual", coder="bob")
    add_coding(project, FG, 3, "impact/sociaal", "rejected", coder="bob")
    add_coding(project, INT, 6, SCHULDEN, "manual", coder="anna")
    add_coding(project, INT, 8, SCHULDEN, "accepted", coder="bob")
    add_coding(project, BUURVROUW, 2, EENZAAMHEID, "manual", coder="anna")
    add_coding(project, BUURVROUW, 2, "doelgroep/ouderen", "manual", coder="anna")
    add_coding(project, BUURVROUW, 4, SCHULDEN, "accepted", coder="bob")
    add_memo_rows(project)
    return project


@pytest.fixture(scope="module")
def exported(coded: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("qdpx") / "studie.qdpx"
    result = invoke("export", "qdpx", "--project", coded, "-o", target)
    assert result.exit_code == 0, result.output
    assert "Wrote" in result.output
    return target


def human_codings(project: Path) -> set[tuple[str, int, str, str, str]]:
    with sqlite3.connect(project / "qualcode.db") as conn:
        rows = conn.execute(
            "SELECT d.name, s.ord, k.path, c.coder, c.status FROM codings c"
            " JOIN segments s ON s.id = c.segment_id JOIN documents d ON d.id = s.document_id"
            " JOIN codes k ON k.id = c.code_id WHERE c.status IN ('accepted', 'manual')"
        ).fetchall()
    return {tuple(r) for r in rows}


# -- export ----------------------------------------------------------------------------------


def test_export_follows_the_standard_and_what_the_programs_expect(exported: Path) -> None:
    root = validated_qde(exported)
    with zipfile.ZipFile(exported) as archive:
        names = archive.namelist()
    assert "project.qde" in names
    files = [n for n in names if not n.endswith("/")]
    assert all(n == "project.qde" or n.startswith("sources/") for n in files)  # lowercase
    sources = root.findall(".//q:TextSource", NS)
    assert len(sources) == 3
    for source in sources:
        assert source.get("richTextPath") is None  # ATLAS.ti reads a .txt rich path as rich
        path = source.get("plainTextPath")
        assert path.startswith("internal://") and f"sources/{path[11:]}" in names
        assert source.find("q:PlainTextContent", NS) is None
    guids = [el.get(a) for el in root.iter() for a in ("guid", "targetGUID") if el.get(a)]
    assert guids and all(GUID_RE.match(g) for g in guids)
    users = {u.get("name") for u in root.iterfind(".//q:User", NS)}
    assert users == {"anna", "bob", "carla"}  # carla wrote a memo; the machine is no user
    assert root.get("origin").startswith("qualcode")


def test_export_codes_keep_hierarchy_colours_and_definitions(exported: Path) -> None:
    from qualcode.codebook import load_codebook

    root = validated_qde(exported)
    book = load_codebook(CODING_YAML)
    top = root.findall("q:CodeBook/q:Codes/q:Code", NS)
    assert [c.get("name") for c in top] == [c.label for c in book.codes]
    by_name = {c.get("name"): c for c in root.iterfind(".//q:Code", NS)}
    for code in book.walk():
        element = by_name[code.label]
        assert element.get("color") == code.color
        assert element.findtext("q:Description", "", NS) == code.definition
        assert element.get("isCodable") == "true"
        children = [c.get("name") for c in element.findall("q:Code", NS)]
        assert children == [c.label for c in code.children]


def test_positions_index_the_written_source_text(coded: Path, exported: Path) -> None:
    """Every selection's text in the written file is exactly its segment's text, also with
    ë, ’, emoji beyond the BMP and a CRLF original."""
    texts = source_texts(exported)
    root = validated_qde(exported)
    with sqlite3.connect(coded / "qualcode.db") as conn:
        stored = dict(conn.execute("SELECT name, text FROM documents"))
        segments = {
            (r[0], r[1], r[2]): r[3]
            for r in conn.execute(
                "SELECT d.name, s.start, s.end, substr(d.text, s.start + 1, s.end - s.start)"
                " FROM segments s JOIN documents d ON d.id = s.document_id"
            )
        }
    assert texts == stored
    assert "\r" not in texts[BUURVROUW]
    checked = []
    for source in root.iterfind(".//q:TextSource", NS):
        name = source.get("name")
        for selection in source.iterfind("q:PlainTextSelection", NS):
            start, end = int(selection.get("startPosition")), int(selection.get("endPosition"))
            assert texts[name][start:end] == segments[(name, start, end)]
            checked.append(texts[name][start:end])
    emoji = [t for t in checked if "😢" in t]
    assert emoji and "📞" in emoji[0] and "Café’s" in emoji[0] and "\n" in emoji[0]
    assert any("💶" in t for t in checked)


def test_export_statuses(coded: Path, exported: Path, tmp_path: Path) -> None:
    root = validated_qde(exported)
    codings = root.findall(".//q:Coding", NS)
    users = {u.get("guid"): u.get("name") for u in root.iterfind(".//q:User", NS)}
    assert {users[c.get("creatingUser")] for c in codings} == {"anna", "bob"}
    assert len(codings) == len(human_codings(coded)) == 7  # bob's rejection: not exported
    notes = {n.get("guid"): n.get("name") for n in root.iterfind(".//q:Note", NS)}
    marked = [c for c in codings if c.find("q:NoteRef", NS) is not None]
    assert {notes[c.find("q:NoteRef", NS).get("targetGUID")] for c in marked} == {
        "qualcode: accepted suggestion"
    }
    assert len(marked) == 3

    everything = tmp_path / "alles.qdpx"
    result = invoke("export", "qdpx", "-p", coded, "-o", everything, "--status", "any")
    assert result.exit_code == 0, result.output
    root = validated_qde(everything)
    users = {u.get("guid"): u.get("name") for u in root.iterfind(".//q:User", NS)}
    machine = [
        c for c in root.iterfind(".//q:Coding", NS) if users[c.get("creatingUser")] == "qualcode"
    ]
    assert machine  # open suggestions as codings of the user 'qualcode'
    with sqlite3.connect(coded / "qualcode.db") as conn:
        decided = conn.execute(
            "SELECT count(*) FROM codings c WHERE c.coder = 'qualcode' AND EXISTS (SELECT 1"
            " FROM codings p WHERE p.segment_id = c.segment_id AND p.code_id = c.code_id"
            " AND p.coder != 'qualcode')"
        ).fetchone()[0]
        total = conn.execute("SELECT count(*) FROM codings WHERE coder = 'qualcode'").fetchone()[0]
    assert decided and len(machine) == total - decided  # a decided suggestion is not repeated


def test_reexport_gives_the_same_file(coded: Path, exported: Path, tmp_path: Path) -> None:
    again = tmp_path / "again.qdpx"
    assert invoke("export", "qdpx", "-p", coded, "-o", again).exit_code == 0
    assert again.read_bytes() == exported.read_bytes()


def test_attributes_speakers_and_memos_are_exported(exported: Path) -> None:
    root = validated_qde(exported)
    variables = {v.get("name"): v.get("typeOfVariable") for v in root.iterfind(".//q:Variable", NS)}
    assert variables["interviewer"] == "Boolean" and variables["speaker"] == "Text"
    cases = {c.get("name"): c for c in root.iterfind(".//q:Case", NS)}
    assert "Moderator (fg_ouderen.txt)" in cases
    respondent = cases[f"Respondent ({BUURVROUW})"]
    assert len(respondent.findall("q:SelectionRef", NS)) == 2  # anna's and bob's passages
    notes = {n.get("guid"): n for n in root.iterfind(".//q:Note", NS)}
    texts = {n.findtext("q:PlainTextContent", "", NS) for n in notes.values()}
    assert {m[3] for m in MEMOS} <= texts
    project_refs = root.findall("q:NoteRef", NS)
    assert [
        notes[r.get("targetGUID")].findtext("q:PlainTextContent", "", NS) for r in project_refs
    ] == [MEMOS[0][3]]


# -- round trip ------------------------------------------------------------------------------


def state(project: Path) -> dict[str, object]:
    """What a round trip must keep, keyed by names instead of database ids."""
    conn = connect(project)
    try:
        docs = {r["id"]: r["name"] for r in conn.execute("SELECT id, name FROM documents")}
        codes = {r["id"]: r["path"] for r in conn.execute("SELECT id, path FROM codes")}
        segments = {
            r["id"]: (docs[r["document_id"]], r["ord"])
            for r in conn.execute("SELECT id, document_id, ord FROM segments")
        }
        targets = {"project": lambda i: None, "document": docs.get, "code": codes.get,
                   "segment": segments.get}  # fmt: skip
        return {
            "codings": human_codings(project),
            "codebook": [
                (r["path"], r["label"], r["color"], r["definition"] or "")
                for r in conn.execute("SELECT * FROM codes ORDER BY ord")
            ],
            "memos": sorted(
                (
                    r["target_type"],
                    str(targets[r["target_type"]](r["target_id"])),
                    r["coder"],
                    r["text"],
                )
                for r in conn.execute("SELECT * FROM memos")
            ),
            "segments": sorted(
                (docs[r["document_id"]], r["ord"], r["start"], r["end"], r["has_words"])
                for r in conn.execute("SELECT * FROM segments")
            ),
            "texts": dict(conn.execute("SELECT name, text FROM documents").fetchall()),
            "attributes": {
                r["name"]: json.loads(r["attributes"])
                for r in conn.execute("SELECT name, attributes FROM documents")
            },
            "speakers": sorted(
                (docs[r["document_id"]], r["label"], r["role"], r["is_interviewer"])
                for r in conn.execute("SELECT * FROM speakers")
            ),
        }
    finally:
        conn.close()


@pytest.fixture(scope="module")
def reimported(exported: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("fresh") / "nieuw"
    result = invoke("import", "qdpx", exported, "--project", target)
    assert result.exit_code == 0, result.output
    assert "3 added" in result.output and "7 added (anna 4, bob 3)" in result.output
    return target


def test_round_trip_is_identical(coded: Path, reimported: Path) -> None:
    before, after = state(coded), state(reimported)
    assert len(before["memos"]) == len(MEMOS)
    for key in before:
        assert after[key] == before[key], key


def test_round_trip_codes_are_project_codes(reimported: Path) -> None:
    with sqlite3.connect(reimported / "qualcode.db") as conn:
        origins = {r[0] for r in conn.execute("SELECT origin FROM codes")}
        sources = {r[0] for r in conn.execute("SELECT source FROM codings")}
    assert origins == {"qdpx"} and sources == {"qdpx"}


def test_round_trip_with_suggestions(coded: Path, tmp_path: Path) -> None:
    from qualcode.segments import effective_codings
    from qualcode.store import open_project

    qdpx = tmp_path / "alles.qdpx"
    assert invoke("export", "qdpx", "-p", coded, "-o", qdpx, "--status", "any").exit_code == 0
    assert invoke("import", "qdpx", qdpx, "-p", tmp_path / "p").exit_code == 0

    def view(folder: Path) -> set[tuple[object, ...]]:
        with open_project(folder) as project:
            keys = {
                r[0]: (r[1], r[2])
                for r in project.conn.execute(
                    "SELECT s.id, d.name, s.ord FROM segments s JOIN documents d"
                    " ON d.id = s.document_id"
                )
            }
            shown = effective_codings(project, statuses=("accepted", "manual", "suggested"))
            return {(*keys[sid], c.code, c.coder, c.status) for sid, rows in shown.items()
                    for c in rows}  # fmt: skip

    assert view(tmp_path / "p") == view(coded)


def test_import_back_into_the_same_project_adds_nothing(
    coded: Path, exported: Path, tmp_path: Path
) -> None:
    project = copy_project(coded, tmp_path / "kopie")
    before = state(project)
    result = invoke("import", "qdpx", exported, "-p", project)
    assert result.exit_code == 0, result.output
    assert "0 added, 3 already in the project" in result.output
    assert "0 added" in result.output and "7 were already there" in result.output
    assert state(project) == before


def test_colleague_codes_in_another_program(coded: Path, exported: Path, tmp_path: Path) -> None:
    """A colleague's work from another program lands next to ours, under their name, and
    touches nobody else's codings."""
    project = copy_project(coded, tmp_path / "team")
    with zipfile.ZipFile(exported) as archive:
        qde = archive.read("project.qde").decode("utf-8")
        files = {n: archive.read(n) for n in archive.namelist() if not n.endswith("/")}
    # the colleague is 'bob' in our file; in theirs the same user GUID is called 'Dirk'
    qde = qde.replace('name="bob"', 'name="Dirk"').replace('origin="qualcode', 'origin="NVivo')
    files["project.qde"] = qde.encode("utf-8")
    colleague = tmp_path / "dirk.qdpx"
    with zipfile.ZipFile(colleague, "w") as archive:
        for name, data in files.items():
            archive.writestr(name.replace("sources/", "Sources/"), data)
    before = state(project)["codings"]
    result = invoke("import", "qdpx", colleague, "-p", project)
    assert result.exit_code == 0, result.output
    after = state(project)["codings"]
    added = after - before
    assert before <= after
    assert {(d, o, p) for d, o, p, c, s in added} == {
        (d, o, p) for d, o, p, c, s in before if c == "bob"
    }
    assert {c for *_, c, s in added} == {"Dirk"}
    assert {s for *_, s in added} == {"accepted", "manual"}


# -- files from other programs ---------------------------------------------------------------


def zip_folder(folder: Path, target: Path, *, skip: tuple[str, ...] = ()) -> Path:
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for file in sorted(folder.rglob("*")):
            name = file.relative_to(folder).as_posix()
            if file.is_file() and name not in skip:
                archive.write(file, name)
    return target


def test_foreign_qdpx_is_mapped_onto_segments(tmp_path: Path) -> None:
    """MAXQDA-style file: 'Sources/' folder, CRLF text with a preamble, selections that do not
    follow the turns, a code without colour, a coding without user, an annotation."""
    qdpx = zip_folder(REFI / "maxqda_style", tmp_path / "wijk.qdpx")
    project = tmp_path / "wijk"
    result = invoke("import", "qdpx", qdpx, "-p", project)
    assert result.exit_code == 0, result.output
    assert "MAXQDA 2022" in result.output
    assert "1 coded selection(s) lie only on interviewer" in result.stderr
    doc = "Interview wijkbewoner"
    assert human_codings(project) == {
        (doc, 2, "sociale_gevolgen/eenzaamheid", "Marieke", "manual"),  # quote inside a turn
        (doc, 2, "sociale_gevolgen/eenzaamheid", "Joost", "manual"),
        (doc, 2, "sociale_gevolgen", "imported", "manual"),  # nobody named
        (doc, 4, "financiele_gevolgen/schulden_achterstanden", "Marieke", "manual"),
        (doc, 6, "hulp/steun", "Joost", "manual"),  # not 4: only one of its words
    }
    after = state(project)
    assert after["codebook"] == [
        ("sociale_gevolgen", "Sociale gevolgen", "#1F77B4", "Gevolgen voor contacten en relaties."),
        (
            "sociale_gevolgen/eenzaamheid",
            "Eenzaamheid",
            None,
            "Zich alleen voelen, weinig contact.",
        ),
        ("financiele_gevolgen", "Financiële gevolgen", "#dd6622", ""),
        ("financiele_gevolgen/schulden_achterstanden", "Schulden & achterstanden", "#FF7F0E", ""),
        ("hulp", "Hulp", "#2CA02C", ""),
        ("hulp/steun", "Steun", "#98DF8A", ""),
    ]
    assert after["memos"] == [
        ("project", "None", "Marieke", "Tweede interview gepland in april."),
        ("project", "None", "imported", "Wijkonderzoek Zwolle, voorjaar 2021."),
        ("segment", f"('{doc}', 2)", "Joost", "De stilte komt in bijna elk interview terug."),
        ("segment", f"('{doc}', 4)", "Marieke", "Opvallend: schaamte over de brieven."),
    ]
    assert after["attributes"] == {doc: {"Woonplaats": "Zwolle", "Leeftijdsgroep": "65+"}}
    text = after["texts"][doc]
    assert "\r" not in text and not text.startswith("Interview wijkbewoner")  # preamble
    assert [(label, interviewer) for _, label, _, interviewer in after["speakers"]] == [
        ("I", 1),
        ("R", 0),
    ]


MAXQDA_SOURCE = REFI / "maxqda_style" / "Sources" / "7D2C1A8E-4B3F-4C55-9E21-0A6B3C9D8E11.txt"


def lf_variant(tmp_path: Path, name: str, edit: object, files: dict[str, bytes]) -> Path:
    """The MAXQDA-style file with positions counted on the text with \n endings (as if
    \r\n were one character), edited by ``edit(qde, text)``, zipped with ``files``."""
    raw = MAXQDA_SOURCE.read_bytes().decode("utf-8")
    qde = (REFI / "maxqda_style" / "project.qde").read_text(encoding="utf-8")

    def shift(match: re.Match[str]) -> str:
        position = int(match.group(2))
        return f'{match.group(1)}="{position - raw[:position].count(chr(13))}"'

    qde = re.sub(r"(startPosition|endPosition)=\"(\d+)\"", shift, qde)
    qde = re.sub(r' name="[^"]*" startPosition', " startPosition", qde)  # no quotes to go by
    qde = edit(qde, raw.replace("\r\n", "\n"))  # type: ignore[operator]
    target = tmp_path / f"{name}.qdpx"
    with zipfile.ZipFile(target, "w") as archive:
        archive.writestr("project.qde", qde)
        for file, data in files.items():
            archive.writestr(file, data)
    return target


@pytest.fixture(scope="module")
def maxqda_codings(tmp_path_factory: pytest.TempPathFactory) -> set[tuple[str, ...]]:
    tmp = tmp_path_factory.mktemp("maxqda")
    result = invoke(
        "import", "qdpx", zip_folder(REFI / "maxqda_style", tmp / "m.qdpx"), "-p", tmp / "p"
    )
    assert result.exit_code == 0, result.output
    return human_codings(tmp / "p")


def test_atlas_counts_crlf_as_one_character(tmp_path: Path, maxqda_codings: set) -> None:
    """The same file as ATLAS.ti writes it (positions as if the text had \n only) gives the
    same codings."""
    qdpx = lf_variant(
        tmp_path,
        "atlas",
        lambda qde, text: qde.replace("MAXQDA 2022 (Release 22.4.0)", "ATLAS.ti Windows 23.2.1"),
        {"sources/" + MAXQDA_SOURCE.name: MAXQDA_SOURCE.read_bytes()},
    )
    assert invoke("import", "qdpx", qdpx, "-p", tmp_path / "p").exit_code == 0
    assert human_codings(tmp_path / "p") == maxqda_codings


def test_text_embedded_in_the_xml(tmp_path: Path, maxqda_codings: set) -> None:
    from xml.sax.saxutils import escape

    def embed(qde: str, text: str) -> str:
        qde = qde.replace(
            ' plainTextPath="internal://7D2C1A8E-4B3F-4C55-9E21-0A6B3C9D8E11.txt"', ""
        )
        return re.sub(
            r"(<TextSource [^>]*>)",
            lambda m: m.group(1) + f"<PlainTextContent>{escape(text)}</PlainTextContent>",
            qde,
        )

    qdpx = lf_variant(tmp_path, "embedded", embed, {})
    result = invoke("import", "qdpx", qdpx, "-p", tmp_path / "p")
    assert result.exit_code == 0, result.output
    assert human_codings(tmp_path / "p") == maxqda_codings


def test_word_file_as_a_fallback(tmp_path: Path, maxqda_codings: set) -> None:
    import io

    import docx

    document = docx.Document()
    for line in MAXQDA_SOURCE.read_bytes().decode("utf-8").splitlines():
        document.add_paragraph(line)
    buffer = io.BytesIO()
    document.save(buffer)
    qdpx = lf_variant(
        tmp_path,
        "word",
        lambda qde, text: qde.replace(
            'plainTextPath="internal://7D2C1A8E-4B3F-4C55-9E21-0A6B3C9D8E11.txt"',
            'richTextPath="internal://7D2C1A8E.docx"',
        ),
        {"Sources/7D2C1A8E.docx": buffer.getvalue()},
    )
    result = invoke("import", "qdpx", qdpx, "-p", tmp_path / "p")
    assert result.exit_code == 0, result.output
    assert "read from the Word file" in result.stderr
    assert human_codings(tmp_path / "p") == maxqda_codings


def test_position_schemes() -> None:
    from qualcode.refi.positions import CODE_POINTS, PositionScheme, SourceText, default_scheme

    text = SourceText("\ufeffA😀b\r\nZoë’s")
    assert text.text == "A😀b\nZoë’s"
    nvivo, atlas = default_scheme("NVivo 14"), default_scheme("ATLAS.ti Mac 23")
    assert nvivo == PositionScheme(utf16=True) and atlas == PositionScheme(crlf_as_one=True)
    zoe = (5, 10)  # 'Zoë’s' in code points with \r\n as two
    assert text.text[slice(*text.span(*zoe, CODE_POINTS))] == "Zoë’s"
    assert text.text[slice(*text.span(6, 11, nvivo))] == "Zoë’s"  # the emoji counts two
    assert text.text[slice(*text.span(4, 9, atlas))] == "Zoë’s"
    assert text.span(5, 11, CODE_POINTS) is None and text.length(nvivo) == 11
    assert text.choose_scheme(CODE_POINTS, [(6, 11, "Zoë’s")]) == nvivo
    assert text.choose_scheme(nvivo, [(5, 10, "Zoë’s")]) == CODE_POINTS
    assert SourceText("plain").choose_scheme(nvivo, []) == CODE_POINTS  # nothing to differ


def test_segment_rule() -> None:
    from qualcode.refi.positions import Alignment, SegmentIndex, SegmentSpan

    text = "I: een twee\n\nR: drie vier vijf zes zeven acht\n\nR: negen tien"
    segments = [SegmentSpan(1, 3, 11, False), SegmentSpan(2, 16, 44, True),
                SegmentSpan(3, 49, 59, True)]  # fmt: skip
    alignment = Alignment(text, text)
    index = SegmentIndex(alignment.target_tokens, segments)

    def coded(fragment: str) -> list[int]:
        start = text.index(fragment)
        return index.coded_segments(alignment.target_tokens_in(start, start + len(fragment)))

    assert coded("vier vijf zes") == [2]  # half of its words
    assert coded("vijf") == [2]  # a short quote: the segment holding it
    assert coded("een twee") == []  # interviewer turns are never coded
    assert coded("acht\n\nR: negen tien") == [3]  # one word of 2 is not enough
    assert coded("zes zeven acht\n\nR: negen") == [2, 3]


# -- codebooks (.qdc) ------------------------------------------------------------------------


def test_codebook_export_and_import(tmp_path: Path) -> None:
    from qualcode.codebook import load_codebook

    qdc = tmp_path / "codeboek.qdc"
    result = invoke("codebook", "export", CODING_YAML, "-o", qdc)
    assert result.exit_code == 0, result.output
    data = qdc.read_bytes()
    assert not data.startswith(b"\xef\xbb\xbf")
    root = etree.fromstring(data)
    codebook_schema = schema("Codebook.xsd")
    assert codebook_schema.validate(root), codebook_schema.error_log
    invoke("codebook", "export", CODING_YAML, "-o", tmp_path / "again.qdc")
    assert (tmp_path / "again.qdc").read_bytes() == data  # stable GUIDs

    yaml_file = tmp_path / "terug.yaml"
    result = invoke("codebook", "import", qdc, "-o", yaml_file)
    assert result.exit_code == 0, result.output
    original, back = load_codebook(CODING_YAML), load_codebook(yaml_file)

    def shape(book: object) -> list[tuple[int, str, str | None, str]]:
        return [(c.depth, c.label, c.color, c.definition) for c in book.walk()]  # type: ignore[attr-defined]

    assert shape(back) == shape(original)
    assert "impact/sociale_impact/eenzaamheid" in back.by_path  # ids made from the names


def test_codebook_import_from_nvivo_for_mac(tmp_path: Path) -> None:
    from qualcode.codebook import load_codebook

    target = tmp_path / "nvivo.yaml"
    result = invoke("codebook", "import", REFI / "nvivo_mac.qdc", "-o", target)
    assert result.exit_code == 0, result.output
    assert "6 codes" in result.output
    book = load_codebook(target)
    assert [c.path for c in book.walk()] == [
        "sociale_impact",
        "sociale_impact/eenzaamheid",
        "sociale_impact/overig",
        "financiele_impact",
        "financiele_impact/schulden",
        "financiele_impact/overig_2",  # ids are unique in a codebook
    ]
    assert book.find("schulden").color == "#FF0000"
    assert book.find("schulden").definition == "Achterstanden, rood staan."
    assert "NVivo 12 For Mac" in book.description


# -- errors ----------------------------------------------------------------------------------


def broken_qdpx(tmp_path: Path, edit: object = None, skip: tuple[str, ...] = ()) -> Path:
    folder = tmp_path / "broken"
    import shutil

    shutil.copytree(REFI / "maxqda_style", folder)
    if edit is not None:
        qde = folder / "project.qde"
        qde.write_text(edit(qde.read_text(encoding="utf-8")), encoding="utf-8")  # type: ignore[operator]
    return zip_folder(folder, tmp_path / "broken.qdpx", skip=skip)


def not_a_zip(tmp: Path) -> Path:
    (tmp / "x.qdpx").write_text("geen zip", encoding="utf-8")
    return tmp / "x.qdpx"


SOURCE_FILE = "Sources/7D2C1A8E-4B3F-4C55-9E21-0A6B3C9D8E11.txt"
IMPORT_ERRORS = {
    "not-a-zip": (not_a_zip, ["x.qdpx", "not a REFI-QDA project file"]),
    "no-project-qde": (
        lambda t: zip_folder(REFI / "maxqda_style", t / "x.qdpx", skip=("project.qde",)),
        ["no project.qde"],
    ),
    "schema": (
        lambda t: broken_qdpx(t, lambda q: q.replace(' isCodable="true" color="#FF7F0E"', "")),
        ["broken.qdpx (project.qde), line 20", "schema", "isCodable"],
    ),
    "xml": (
        lambda t: broken_qdpx(t, lambda q: q.replace("</Sources>", "</Source>")),
        ["not valid XML"],
    ),
    "outside-text": (
        lambda t: broken_qdpx(t, lambda q: q.replace('endPosition="521"', 'endPosition="9999"')),
        [
            "selection d1000000-0000-4000-8000-00000000000d",
            "Interview wijkbewoner",
            "outside the source text (523 characters)",
        ],
    ),
    "missing-source": (
        lambda t: broken_qdpx(t, skip=(SOURCE_FILE,)),
        ["source 'Interview wijkbewoner'", "missing from the archive"],
    ),
    "no-file": (lambda t: t / "nergens.qdpx", ["nergens.qdpx: file not found"]),
}


@pytest.mark.parametrize(("make", "fragments"), IMPORT_ERRORS.values(), ids=IMPORT_ERRORS.keys())
def test_import_errors_are_one_line(tmp_path: Path, make: object, fragments: list[str]) -> None:
    qdpx = make(tmp_path)  # type: ignore[operator]
    result = invoke("import", "qdpx", qdpx, "-p", tmp_path / "nieuw")
    assert_one_line_error(result, *fragments)
    assert not (tmp_path / "nieuw").exists()  # no half-made project left behind


def test_failed_import_leaves_the_project_as_it_was(coded: Path, tmp_path: Path) -> None:
    project = copy_project(coded, tmp_path / "p")
    before = state(project)
    bad = broken_qdpx(tmp_path, lambda q: q.replace('endPosition="521"', 'endPosition="9999"'))
    assert_one_line_error(invoke("import", "qdpx", bad, "-p", project), "outside the source text")
    assert state(project) == before


def test_codebook_and_export_errors_are_one_line(
    coded: Path, exported: Path, tmp_path: Path
) -> None:
    assert_one_line_error(
        invoke("codebook", "import", exported, "-o", tmp_path / "x.yaml"), "not valid XML"
    )
    qde = REFI / "maxqda_style" / "project.qde"
    assert_one_line_error(
        invoke("codebook", "import", qde, "-o", tmp_path / "x.yaml"),
        "expected a REFI-QDA codebook file",
        "found <Project>",
    )
    assert_one_line_error(
        invoke("export", "qdpx", "-p", coded, "-o", tmp_path / "studie.zip"), "must end in .qdpx"
    )
    assert not (tmp_path / "x.yaml").exists()


def test_export_refuses_to_write_an_invalid_file(
    coded: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from qualcode.refi import project as refi_project

    original = refi_project.write_codes

    def without_codable(parent: object, *args: object, **kwargs: object) -> None:
        original(parent, *args, **kwargs)  # type: ignore[arg-type]
        for code in parent.iter("{urn:QDA-XML:project:1.0}Code"):  # type: ignore[attr-defined]
            del code.attrib["isCodable"]

    monkeypatch.setattr(refi_project, "write_codes", without_codable)
    target = tmp_path / "fout.qdpx"
    error = assert_one_line_error(invoke("export", "qdpx", "-p", coded, "-o", target), "schema")
    assert "nothing was written" in error
    assert not target.exists() and not list(tmp_path.iterdir())


def test_help_does_not_import_lxml() -> None:
    code = (
        "import sys, qualcode.cli;"
        " sys.exit(any(m in sys.modules for m in ('lxml', 'qualcode.refi')))"
    )
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


def test_xml_text_drops_characters_xml_cannot_hold() -> None:
    from qualcode.refi.schema import xml_text

    assert xml_text("a\x0bb\x00c\td\n😀") == "abc\td\n😀"


def test_import_needs_an_explicit_project_to_create_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("QUALCODE_PROJECT", raising=False)
    qdpx = zip_folder(REFI / "maxqda_style", tmp_path / "m.qdpx")
    assert_one_line_error(invoke("import", "qdpx", qdpx), "no qualcode project here")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.qdpx"]
