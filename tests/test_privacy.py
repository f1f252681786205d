"""Pseudonymisation: detection, consistent pseudonyms, the key file, offsets, leaks, errors.

deduce loads its lookup tables once per process (``qualcode.privacy.detect.load_deduce``), so
the ~15 s load is paid once for the whole test session. The pseudonymised project is built once
per module and only read; tests that change a project work on a copy.
"""

from __future__ import annotations

import csv
import json
import re
import shutil
import sqlite3
import zipfile
from collections import Counter
from pathlib import Path

import pytest
from coding_helpers import (
    CODING_YAML,
    FIXTURES,
    add_coding,
    assert_one_line_error,
    connect,
    invoke,
    segment_ids,
    write,
)

PRIVACY = FIXTURES / "privacy"
CORPUS = PRIVACY / "corpus"
METADATA = PRIVACY / "metadata.csv"
FG = "fg_buurthuis.txt"
INT = "int_wijkteam.txt"
# a pseudonym in the text, or a speaker label that became one ('R2: ...')
PSEUDONYM = r"(?:\[(?:[A-Z]+-\d+|[RI]\d+)\]|(?m:^)[RI]\d+(?=: ))"

# Identifiers in the fixture corpus (all of them must be gone after pseudonymising), written
# as a reader would search for them.
ORIGINALS = [
    "Marieke", "Jan de Vries", "De Vries", "Roos Bakker", "Rik van den Berg", "Rik",
    "Mark Jansen", "Jansen", "Visser", "van der Meer", "Van der Meer", "Fatima", "El Amrani",
    "Yilmaz", "Kerkstraat", "Laan van Meerdervoort", "2517 AB", "06-12345678", "070-3456789",
    "a.vandermeer@example.nl", "f.elamrani@wijkteam-denhaag.nl", "NL91ABNA0417164300",
    "123456782", "3 februari 2005", "wijkteamdenhaag", "Schilderswijk", "Den Haag",
    "De Mussen",
]  # fmt: skip
# Ordinary words that are also names: they must stay where they are words.
WORDS = ["De bakker op de hoek", "de visser op de markt", "Die berg boodschappen", "een roos uit"]


def _texts(path: Path) -> list[str]:
    """Every byte of a file as text, and the members of a zip archive (xlsx)."""
    data = path.read_bytes()
    out = [data.decode("utf-8", errors="ignore"), data.decode("utf-16-le", errors="ignore")]
    # a zip file starts with its first member; is_zipfile alone also says yes for a database
    # that stores a numpy archive (the similarity space) as a value
    if data[:4] == b"PK\x03\x04" and zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            out += [archive.read(m).decode("utf-8", errors="ignore") for m in archive.namelist()]
    return out


def leaks(paths: list[Path], originals: list[str] = ORIGINALS) -> list[tuple[str, str]]:
    found = []
    for path in paths:
        for text in _texts(path):
            for original in originals:
                if re.search(rf"(?<![^\W_]){re.escape(original)}(?![^\W_])", text):
                    found.append((path.name, original))
    return sorted(set(found))


def files_in(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file())


def table_rows(project_dir: Path) -> dict[str, list[tuple]]:
    conn = sqlite3.connect(project_dir / "qualcode.db")
    try:
        tables = [
            r[0]
            for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            )
        ]
        return {t: conn.execute(f'SELECT * FROM "{t}" ORDER BY rowid').fetchall() for t in tables}
    finally:
        conn.close()


def replaced_spans(
    old: str, new: str, originals: dict[str, list[str]] | None = None
) -> list[tuple[int, int]] | None:
    """Where in ``old`` the pseudonyms of ``new`` stand; None if ``new`` is not ``old`` with
    some stretches replaced by pseudonyms. With ``originals`` (pseudonym → originals, from the
    key) each pseudonym must stand for one of its originals, which makes the answer exact."""
    literals = re.split(PSEUDONYM, new)
    groups = []
    for found in re.findall(PSEUDONYM, new):
        names = (originals or {}).get(found.strip("[]"))
        alternatives = "|".join(re.escape(n) for n in sorted(names or [], key=len, reverse=True))
        groups.append(f"((?i:{alternatives}))" if names else "(.+?)")
    pattern = re.escape(literals[0]) + "".join(
        g + re.escape(part) for g, part in zip(groups, literals[1:], strict=True)
    )
    m = re.fullmatch(pattern, old, flags=re.DOTALL)
    if m is None:
        return None
    return [m.span(i) for i in range(1, len(literals))]


# -- the shared projects ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A coded project with names everywhere: text, labels, metadata, a memo, a person's coding
    with a note, and the exports `qualcode run` writes into the project folder."""
    from qualcode.pipeline import run

    out = tmp_path_factory.mktemp("privacy") / "project"
    run([CORPUS], out=out, codebook=CODING_YAML, metadata=METADATA)
    add_coding(out, FG, 3, "impact/sociaal/eenzaamheid", "manual", coder="anna")
    conn = connect(out)
    with conn:
        conn.execute(
            "INSERT INTO memos (target_type, target_id, coder, text, created_at, updated_at)"
            " VALUES ('document', 1, 'anna', ?, '2024-05-01', '2024-05-01')",
            ("Marieke en Jan de Vries kennen elkaar; bel Fatima El Amrani op 070-3456789.",),
        )
        conn.execute(
            "UPDATE codings SET explanation = 'anna: Jan de Vries over Kerkstraat 14'"
            " WHERE coder = 'anna'"
        )
    conn.close()
    return out


@pytest.fixture(scope="module")
def done(base: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The base project, pseudonymised with the command line; (project, key file)."""
    folder = tmp_path_factory.mktemp("pseudonymised")
    project = shutil.copytree(base, folder / "project")
    key = folder / "sleutels" / "sleutel.csv"
    key.parent.mkdir()
    result = invoke("pseudonymise", "--project", project, "--key", key, "--delete-backups")
    assert result.exit_code == 0, result.output
    return project, key


def key_rows(key: Path) -> list[dict[str, str]]:
    with key.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def pseudonym_of(key: Path, original: str) -> str:
    return next(r["pseudonym"] for r in key_rows(key) if r["original"] == original)


# -- consistency, speaker labels, key ------------------------------------------------------------


def test_same_person_same_pseudonym_in_every_transcript(done: tuple[Path, Path]) -> None:
    project, key = done
    conn = connect(project)
    texts = dict(conn.execute("SELECT name, text FROM documents").fetchall())
    conn.close()
    jan = pseudonym_of(key, "Jan de Vries")
    marieke = pseudonym_of(key, "Marieke")
    # a speaker in the focus group, mentioned by name (and by surname) in the interview
    assert f"[{jan}]" in texts[FG] and texts[INT].count(f"[{jan}]") == 2
    assert f"[{marieke}]" in texts[FG] and f"[{marieke}]" in texts[INT]
    # written differently, still the same person (one full name with that surname / first name)
    assert pseudonym_of(key, "De Vries") == jan
    assert pseudonym_of(key, "Rik") == pseudonym_of(key, "Rik van den Berg")
    assert pseudonym_of(key, "Jansen") == pseudonym_of(key, "Mark Jansen")
    meer = {r["pseudonym"] for r in key_rows(key) if r["original"].casefold() == "van der meer"}
    assert len(meer) == 1 and texts[FG].count(f"[{meer.pop()}]") == 2  # 'Van der', 'van der'
    # different people, different pseudonyms
    people = [pseudonym_of(key, n) for n in ("Jan de Vries", "Marieke", "Rik", "Visser", "Yilmaz")]
    assert len(set(people)) == len(people)
    # the place in the metadata and in both transcripts
    den_haag = pseudonym_of(key, "Den Haag")
    assert f"[{den_haag}]" in texts[INT]
    conn = connect(project)
    attributes = [json.loads(r[0]) for r in conn.execute("SELECT attributes FROM documents")]
    conn.close()
    assert all(a["place"] == f"[{den_haag}]" for a in attributes)


def test_speaker_labels_become_codes_and_keep_their_roles(
    base: Path, done: tuple[Path, Path]
) -> None:
    project, key = done

    def speakers(folder: Path) -> list[tuple]:
        conn = connect(folder)
        try:
            return conn.execute(
                "SELECT s.id, d.id, s.label, s.role, s.is_interviewer FROM speakers s"
                " JOIN documents d ON d.id = s.document_id ORDER BY s.id"
            ).fetchall()
        finally:
            conn.close()

    before, after = speakers(base), speakers(project)
    assert len(before) == len(after)
    labels = {}
    for old, new in zip(before, after, strict=True):
        assert (old[0], old[1], old[3], old[4]) == (new[0], new[1], new[3], new[4])
        labels[old[2]] = new[2]
    assert labels["Moderator"] == "Moderator"
    assert labels["Deelnemer 5"] == "Deelnemer 5"
    assert labels["Interviewer"] == "Interviewer" and labels["R"] == "R"
    for name in ("Marieke", "Jan de Vries", "Roos Bakker"):
        assert re.fullmatch(r"R\d+", labels[name]), labels
        assert pseudonym_of(key, name) == labels[name]
    assert len({labels[n] for n in ("Marieke", "Jan de Vries", "Roos Bakker")}) == 3
    # the label is also rewritten in the document text
    conn = connect(project)
    text = conn.execute("SELECT text FROM documents WHERE name = ?", (FG,)).fetchone()[0]
    conn.close()
    assert f"\n\n{labels['Roos Bakker']}: Ik ben vrijwilliger" in text


def test_key_is_written_only_where_asked(done: tuple[Path, Path]) -> None:
    project, key = done
    rows = key_rows(key)
    assert {"category", "original", "pseudonym"} <= set(rows[0])
    assert {"PERSOON", "SPREKER", "LOCATIE", "TELEFOONNUMMER", "IBAN", "BSN"} <= {
        r["category"] for r in rows
    }
    assert key.read_bytes().startswith(b"\xef\xbb\xbf")  # Excel reads it as UTF-8
    # neither the key nor any of its originals is in the project folder
    assert leaks(files_in(project), [r["original"] for r in rows if len(r["original"]) > 2]) == []
    assert not any(b"original,pseudonym" in p.read_bytes() for p in files_in(project))


def test_no_original_identifier_in_any_byte_of_the_project(
    base: Path, done: tuple[Path, Path]
) -> None:
    project, _ = done
    assert leaks(files_in(base))  # the check finds them before...
    assert not (project / "backups").exists() or not files_in(project / "backups")
    assert leaks(files_in(project)) == []  # ...and nothing after: db, settings, exports
    conn = connect(project)
    text = conn.execute("SELECT text FROM documents WHERE name = ?", (FG,)).fetchone()[0]
    tokens = conn.execute("SELECT count(*) FROM segment_nlp").fetchone()[0]
    conn.close()
    for words in WORDS:  # names that are also words stay where they are words
        assert words in text
    assert "(stilte)" in text and "meneer [" in text  # annotations and titles stay
    assert tokens > 0  # tokens of changed passages were computed again


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_no_original_identifier_in_exports(done: tuple[Path, Path], tmp_path: Path, suffix: str):
    project, _ = done
    target = tmp_path / f"export{suffix}"
    result = invoke("export", "segments", "--project", project, "-o", target)
    assert result.exit_code == 0, result.output
    assert leaks([target]) == []
    assert "[PERSOON-" in "".join(_texts(target))


def test_offsets_and_codings_follow_the_text(base: Path, done: tuple[Path, Path]) -> None:
    project, _ = done

    def passages(folder: Path, unit: str) -> dict[int, str]:
        conn = connect(folder)
        try:
            return dict(
                conn.execute(
                    f"SELECT u.id, substr(d.text, u.start + 1, u.end - u.start) FROM {unit} u"
                    " JOIN documents d ON d.id = u.document_id"
                ).fetchall()
            )
        finally:
            conn.close()

    for unit in ("segments", "turns"):
        old, new = passages(base, unit), passages(project, unit)
        assert old.keys() == new.keys()
        changed = 0
        for seg_id, old_text in old.items():
            spans = replaced_spans(old_text, new[seg_id])
            assert spans is not None, (unit, old_text, new[seg_id])
            changed += bool(spans)
        assert changed >= 5
    columns = "id, segment_id, code_id, coder, status, score, source, run_id, created_at"
    conn_old, conn_new = connect(base), connect(project)
    before = conn_old.execute(f"SELECT {columns} FROM codings ORDER BY id").fetchall()
    after = conn_new.execute(f"SELECT {columns} FROM codings ORDER BY id").fetchall()
    note = conn_new.execute("SELECT explanation FROM codings WHERE coder = 'anna'").fetchone()[0]
    conn_old.close()
    conn_new.close()
    assert [tuple(r) for r in before] == [tuple(r) for r in after]
    assert re.fullmatch(rf"anna: {PSEUDONYM} over {PSEUDONYM}", note), note
    # the person's coding is still on the passage it was made on (FG turn 3, now pseudonymised)
    assert segment_ids(project)[(FG, 3)] == segment_ids(base)[(FG, 3)]


def test_explanations_quote_the_pseudonymised_passage(done: tuple[Path, Path]) -> None:
    project, _ = done
    conn = connect(project)
    rows = conn.execute(
        "SELECT c.explanation, substr(d.text, s.start + 1, s.end - s.start) FROM codings c"
        " JOIN segments s ON s.id = c.segment_id JOIN documents d ON d.id = s.document_id"
        " WHERE c.coder = 'qualcode'"
    ).fetchall()
    conn.close()
    quoted = pseudonyms = 0
    for explanation, passage in rows:
        for quote in re.findall(r'"(?:\.\.\.)?(.+?)(?:\.\.\.)?"', explanation):
            words = r"\s+".join(re.escape(w) for w in quote.strip(".").split())
            assert re.search(words, passage), (quote, passage)
            quoted += 1
            pseudonyms += bool(re.search(PSEUDONYM, quote))
    assert quoted >= 4 and pseudonyms >= 1


def test_quotes_in_explanations_follow_replacements_made_by_context() -> None:
    from qualcode.privacy.rewrite import OffsetMap, map_quotes

    old = "Mijn zoon van 16 zat thuis. Hij is 16 en mist school."
    reps = [(14, 16, "[LEEFTIJD-2]"), (35, 37, "[LEEFTIJD-2]")]
    new = OffsetMap(reps).apply(old)
    explanation = (
        "lemma 'zoon' in \"Mijn zoon van 16 zat...\"; lemma 'school' in"
        ' "...is 16 en mist school."'
    )
    assert map_quotes(explanation, old, new, OffsetMap(reps)) == (
        "lemma 'zoon' in \"Mijn zoon van [LEEFTIJD-2] zat...\"; lemma 'school' in"
        ' "...is [LEEFTIJD-2] en mist school."'
    )


# -- later runs, lists, --check -------------------------------------------------------------------


def test_rerun_with_the_same_key_reuses_pseudonyms(done: tuple[Path, Path], tmp_path: Path):
    project = shutil.copytree(done[0], tmp_path / "project")
    key = tmp_path / "sleutel.csv"
    shutil.copy(done[1], key)
    before = key_rows(key)
    result = invoke(
        "ingest", PRIVACY / "later", "--project", project, "--pseudonymise", "--key", key
    )
    assert result.exit_code == 0, result.output
    assert "1 added" in result.stderr
    conn = connect(project)
    text = conn.execute("SELECT text FROM documents WHERE name = 'int_later.txt'").fetchone()[0]
    conn.close()
    # the same people keep their pseudonyms in the transcript added later
    for name in ("Jan de Vries", "Marieke", "Rik"):
        assert f"[{pseudonym_of(key, name)}]" in text, text
    assert "Meneer [" + pseudonym_of(key, "Visser") + "]" in text
    after = key_rows(key)
    assert after[: len(before)] == before or all(r in after for r in before)
    assert leaks(files_in(project)) == []
    # running again changes nothing and adds nothing to the key
    snapshot = table_rows(project)
    result = invoke("pseudonymise", "--project", project, "--key", key)
    assert result.exit_code == 0, result.output
    assert "0 identifier(s) replaced" in result.stderr
    assert key_rows(key) == after
    rows = table_rows(project)
    assert rows["documents"] == snapshot["documents"] and rows["segments"] == snapshot["segments"]


def test_allow_list_keeps_words_and_deny_list_replaces_them(base: Path, tmp_path: Path) -> None:
    project = shutil.copytree(base, tmp_path / "project")
    settings = (project / "settings.yaml").read_text(encoding="utf-8")
    (project / "settings.yaml").write_text(
        settings + "privacy:\n  allow:\n  - Schilderswijk\n", encoding="utf-8"
    )
    allow = write(tmp_path / "mag_blijven.txt", "# the study's setting\nDen Haag\n")
    deny = write(tmp_path / "altijd_vervangen.txt", "organisatie: Humanitas\nbuurtapp\n")
    key = tmp_path / "sleutel.csv"
    result = invoke(
        "pseudonymise", "-p", project, "--key", key, "--allow", allow, "--deny", deny,
        "--delete-backups",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    conn = connect(project)
    texts = "\n".join(r[0] for r in conn.execute("SELECT text FROM documents"))
    attributes = "\n".join(r[0] for r in conn.execute("SELECT attributes FROM documents"))
    conn.close()
    assert "Den Haag" in texts and '"place": "Den Haag"' in attributes
    assert "Schilderswijk" in texts
    assert "Humanitas" not in texts and "buurtapp" not in texts
    assert f"[{pseudonym_of(key, 'Humanitas')}]" in texts
    assert pseudonym_of(key, "Humanitas").startswith("ORGANISATIE-")
    assert pseudonym_of(key, "buurtapp").startswith("OVERIG-")
    assert "Marieke" not in texts
    # the allow-list stays in the settings; the deny-list is not copied into the project
    assert "Schilderswijk" in (project / "settings.yaml").read_text(encoding="utf-8")
    assert leaks(files_in(project), ["Humanitas", "buurtapp"]) == []


def test_check_lists_capitalised_words_left_in_the_text(done: tuple[Path, Path]) -> None:
    project, _ = done
    result = invoke("pseudonymise", "--check", "--project", project, "--format", "json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    words = {r["word"] for r in rows}
    assert "Humanitas" in words  # an organisation deduce does not know
    row = next(r for r in rows if r["word"] == "Humanitas")
    assert row["document"] in (FG, INT) and "Humanitas" in row["context"]
    assert row["count"] == 1
    # pseudonyms, sentence starts, ordinary words and annotations are not listed
    assert not words & {"PERSOON", "Ik", "Dat", "De", "Moderator", "Deelnemer", "stilte"}
    assert not any(w.startswith(("R1", "LOCATIE")) for w in words)
    table = invoke("pseudonymise", "--check", "--project", project)
    assert "Humanitas" in table.stdout and "word(s) to look at" in table.stderr
    allow = write(project.parent / "allow.txt", "Humanitas\nDiscord-server\n")
    allowed = invoke("pseudonymise", "--check", "-p", project, "--allow", allow, "-f", "json")
    assert "Humanitas" not in {r["word"] for r in json.loads(allowed.stdout)}


def test_check_before_pseudonymising_lists_the_names(base: Path) -> None:
    result = invoke("pseudonymise", "--check", "--project", base, "--format", "json")
    words = {r["word"] for r in json.loads(result.stdout)}
    assert {"Marieke", "Yilmaz", "Amrani"} <= words
    contexts = {(r["document"], r["word"]): r["context"] for r in json.loads(result.stdout)}
    assert contexts[(FG, "Marieke")].startswith("speaker label")


# -- one transaction, errors ----------------------------------------------------------------------


def test_an_error_half_way_leaves_the_project_and_key_as_they_were(
    base: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from qualcode.privacy import PrivacyOptions, pseudonymise
    from qualcode.privacy import rewrite as module
    from qualcode.store import open_project

    project = shutil.copytree(base, tmp_path / "project")
    key = tmp_path / "sleutel.csv"
    key.write_text("category,original,pseudonym\nPERSOON,Piet,PERSOON-7\n", encoding="utf-8")
    key_before = key.read_bytes()
    rows_before = table_rows(project)
    files_before = {p: p.read_bytes() for p in files_in(project) if p.name != "qualcode.db"}

    calls = []

    def fail(*args: object, **kwargs: object) -> int:
        calls.append(1)
        raise RuntimeError("disk on fire")

    # after the documents, speakers and attributes were rewritten, before memos
    monkeypatch.setattr(module, "rewrite_memos", fail)
    with open_project(project) as proj, pytest.raises(RuntimeError, match="disk on fire"):
        pseudonymise(proj, PrivacyOptions(key, delete_backups=True))
    assert calls
    assert table_rows(project) == rows_before
    assert key.read_bytes() == key_before
    assert {p: p.read_bytes() for p in files_in(project) if p.name != "qualcode.db"} == (
        files_before
    )
    assert not (tmp_path / "sleutel.csv.tmp").exists()


def test_ingest_pseudonymise_never_commits_the_original_text(
    base: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from qualcode.privacy import rewrite as module

    project = shutil.copytree(base, tmp_path / "project")
    rows_before = table_rows(project)
    monkeypatch.setattr(module, "rewrite_explanations", lambda *a: 1 / 0)
    key = tmp_path / "sleutel.csv"
    with pytest.raises(ZeroDivisionError):
        invoke("ingest", PRIVACY / "later", "-p", project, "--pseudonymise", "--key", key)
    assert table_rows(project) == rows_before  # the new transcript is not there either
    assert not key.exists()


def test_a_pseudonymised_project_only_takes_pseudonymised_transcripts(
    done: tuple[Path, Path],
) -> None:
    project, _ = done
    before = table_rows(project)
    result = invoke("ingest", PRIVACY / "later", "--project", project)
    assert_one_line_error(result, "is pseudonymised", "nothing was read")
    assert "--pseudonymise --key" in result.stderr
    assert table_rows(project) == before
    # 'run' into the same folder would ingest without pseudonymising: refused as well
    result = invoke("run", PRIVACY / "later", "--out", project)
    assert_one_line_error(result, "is pseudonymised")
    assert table_rows(project) == before


def test_missing_key_is_a_one_line_error(base: Path) -> None:
    result = invoke("pseudonymise", "--project", base)
    assert_one_line_error(result, "--key is required")
    result = invoke("ingest", PRIVACY / "later", "--project", base, "--pseudonymise")
    assert_one_line_error(result, "--key is required")


def test_key_inside_the_project_is_refused(base: Path) -> None:
    for key in (base / "sleutel.csv", base / "sub" / ".." / "key.csv"):
        result = invoke("pseudonymise", "--project", base, "--key", key)
        assert_one_line_error(result, "may not be inside the project folder")
    assert not (base / "sleutel.csv").exists()


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (b"\x00\x01\x02binary\x00" * 20, "not a pseudonym key"),
        (b"naam;wie\nJan;iemand\n", "the first line must name the columns"),
        (b"category,original,pseudonym\nPERSOON,Jan,Jantje\n", "line 2: not a key row"),
    ],
)
def test_unreadable_key_file_is_a_one_line_error(
    base: Path, tmp_path: Path, content: bytes, fragment: str
) -> None:
    key = tmp_path / "sleutel.csv"
    key.write_bytes(content)
    result = invoke("pseudonymise", "--project", base, "--key", key, "--delete-backups")
    assert_one_line_error(result, fragment)
    assert key.read_bytes() == content


def test_other_one_line_errors(base: Path, tmp_path: Path) -> None:
    key = tmp_path / "sleutel.csv"
    result = invoke("pseudonymise", "--project", base, "--key", tmp_path)
    assert_one_line_error(result, "is a folder")
    result = invoke("pseudonymise", "--project", base, "--key", tmp_path / "nope" / "k.csv")
    assert_one_line_error(result, "does not exist")
    result = invoke("ingest", PRIVACY / "later", "--project", base, "--key", key)
    assert_one_line_error(result, "--key only works together with --pseudonymise")
    deny = write(base / "deny.txt", "Humanitas\n")
    try:
        result = invoke("pseudonymise", "-p", base, "--key", key, "--deny", deny)
        assert_one_line_error(result, "deny-list may not be inside the project folder")
    finally:
        deny.unlink()
    result = invoke(
        "pseudonymise", "-p", base, "--key", key, "--delete-backups", "--move-backups", tmp_path
    )
    assert_one_line_error(result, "cannot be used together")
    assert not key.exists()


def test_backups_need_a_decision_and_can_be_moved_out(base: Path, tmp_path: Path) -> None:
    from qualcode.store import open_project

    project = shutil.copytree(base, tmp_path / "project")
    with open_project(project) as proj:
        backup = proj.backup("before-replace")
    key = tmp_path / "sleutel.csv"
    result = invoke("pseudonymise", "--project", project, "--key", key)
    assert_one_line_error(result, "backup(s) of the project still hold the original text")
    assert backup.exists() and not key.exists()
    elsewhere = tmp_path / "oude-backups"
    result = invoke("pseudonymise", "-p", project, "--key", key, "--move-backups", elsewhere)
    assert result.exit_code == 0, result.output
    assert not backup.exists() and (elsewhere / backup.name).exists()
    assert leaks([elsewhere / backup.name])  # the originals are there, outside the project
    assert leaks(files_in(project)) == []


def test_an_unknown_file_with_names_in_the_project_folder_stops_the_run(
    base: Path, tmp_path: Path
) -> None:
    project = shutil.copytree(base, tmp_path / "project")
    write(project / "notities.txt", "Gesprek met Marieke over de voedselbank.\n")
    before = table_rows(project)
    result = invoke("pseudonymise", "-p", project, "--key", tmp_path / "k.csv", "--delete-backups")
    assert_one_line_error(result, "notities.txt", "hold(s) original names")
    assert table_rows(project) == before


# -- detection and the naming rule, unit by unit ------------------------------------------------


@pytest.fixture(scope="module")
def detector():
    from qualcode.privacy.detect import Detector, dutch_words, load_deduce
    from qualcode.privacy.lists import Wordlists

    return Detector(Wordlists(), load_deduce(), dutch_words())


def found(detector, text: str) -> set[tuple[str, str]]:
    from qualcode.privacy.detect import resolve_overlaps

    return {(f.category, f.text) for f in resolve_overlaps(detector.detect(text))}


def test_person_names_are_trimmed_to_the_name(detector) -> None:
    text = "Toen belde mevrouw de Jong, en mijn collega Rik van den Berg kwam ook. Dag Mark."
    assert found(detector, text) >= {
        ("PERSOON", "de Jong"), ("PERSOON", "Rik van den Berg"), ("PERSOON", "Mark"),
    }  # fmt: skip
    assert found(detector, "Ik sprak gisteren met Mark. Mevrouw Roos Visser kwam later.") >= {
        ("PERSOON", "Mark"),
        ("PERSOON", "Roos Visser"),
    }


def test_names_that_are_words(detector) -> None:
    words = "De bakker op de hoek en de visser in de haven. Een roos, een berg."
    assert found(detector, words) == set()
    assert ("PERSOON", "Bakker") in found(detector, "Toen zei meneer Bakker dat het kon.")
    # a capitalised word at the start of a sentence is a word unless it is a first name
    assert found(detector, "Mooi initiatief. Rouw om je werk. Pas later wist ik het.") == set()
    assert ("PERSOON", "Joke") in found(detector, "Joke, wat vind jij ervan?")
    assert found(detector, "Ze spreekt een beetje Engels en Duits, en komt uit Polen.") == set()


def test_patterns_for_what_deduce_misses(detector) -> None:
    text = (
        "Bel +31 6 1234 5678 of 0031 33 123 4567. IBAN NL20 INGB 0001 2345 67, BSN 1112.22.333."
        " Mijn zoon van 12 en de 17-jarige buurjongen. Hij is geboren in 1968. Kijk op"
        " utrecht.nl/hulp. Stichting Het Buurtnetwerk en basisschool De Regenboog, in de"
        " Schilderswijk aan de Pretorialaan 12."
    )
    assert found(detector, text) >= {
        ("TELEFOONNUMMER", "+31 6 1234 5678"),
        ("TELEFOONNUMMER", "0031 33 123 4567"),
        ("IBAN", "NL20 INGB 0001 2345 67"),
        ("BSN", "1112.22.333"),
        ("LEEFTIJD", "12"),
        ("LEEFTIJD", "17"),
        ("DATUM", "1968"),
        ("URL", "utrecht.nl/hulp"),
        ("ORGANISATIE", "Het Buurtnetwerk"),
        ("ORGANISATIE", "De Regenboog"),
        ("LOCATIE", "Schilderswijk"),
        ("ADRES", "Pretorialaan 12"),
    }
    # an invalid IBAN or BSN is not one; a number of pupils is not an age
    text = "Nummer NL02RABO0123456789. Een klas van 28 leerlingen. Ik ben 1,80 lang."
    assert found(detector, text) == set()


def test_speaker_labels_that_are_names(detector) -> None:
    for label in ("Marieke", "Jan de Vries", "Joke", "Roos Bakker", "Fatima El Amrani", "Rik"):
        assert detector.is_name_label(label), label
    for label in ("Deelnemer 2", "R3", "Interviewer", "Moderator", "Jongerenwerker", "Spreker A"):
        assert not detector.is_name_label(label), label


def test_term_matcher_matches_names_as_written_never_in_lower_case() -> None:
    from qualcode.privacy.detect import TermMatcher

    matcher = TermMatcher(["Bakker", "Marieke", "Jan de Vries", "buurtapp"])
    text = (
        "De bakker zag Bakker en BAKKER, marieke en Jan  De\nVries, niet Mariekeke of"
        " Bakkerij; de buurtapp, Buurtapp. Mariekes fiets, Marieke's jas."
    )
    assert [text[s:e] for s, e, _ in matcher.finditer(text)] == [
        "Bakker", "BAKKER", "Jan  De\nVries", "buurtapp", "Buurtapp", "Marieke", "Marieke",
    ]  # fmt: skip
    loose = TermMatcher(["Bakker", "Jan de Vries", "Den Haag"], loose=True)
    name = "interview_bakker_jan-de-vries_denhaag.docx"
    assert loose.replace(name, lambda t: "X") == "interview_X_X_X.docx"


def test_naming_rule_links_short_forms_only_when_unambiguous(tmp_path: Path) -> None:
    from qualcode.privacy.key import PseudonymKey
    from qualcode.privacy.registry import Registry

    registry = Registry(PseudonymKey(tmp_path / "k.csv"))
    registry.assign_speakers([("Marieke Verhoeven", False, 1), ("Linda Kok", True, 1)])
    registry.assign_names(
        [("PERSOON", s) for s in ("Jan de Vries", "Jan Bakker", "De Vries", "Jan", "Marieke")]
        + [("PERSOON", "Kok"), ("LOCATIE", "Zwolle"), ("PERSOON", "zwolle")]
    )
    p = {s: registry.surfaces[s][1] for s in registry.surfaces}
    assert p["Marieke Verhoeven"] == p["Marieke"] == "R1"
    assert p["Linda Kok"] == p["Kok"] == "I1"
    assert p["De Vries"] == p["Jan de Vries"] != p["Jan Bakker"]
    assert p["Jan"] not in (p["Jan de Vries"], p["Jan Bakker"])  # two Jans: its own pseudonym
    assert p["Zwolle"] == p["zwolle"]  # one written name, one pseudonym
    registry.used.update(registry.surfaces)
    registry.record()
    registry.key.save()
    again = Registry(PseudonymKey.load(tmp_path / "k.csv"))
    again.assign_names([("PERSOON", "Jan"), ("PERSOON", "Jan Smit")])
    assert again.surfaces["Jan"][1] == p["Jan"]  # once in the key, never changed
    assert again.surfaces["Jan Smit"][1] not in p.values()


# -- recall on annotated transcripts ----------------------------------------------------------


def measure_recall(tmp_path: Path) -> tuple[dict[str, tuple[int, int]], list[str], list[str]]:
    """(category → (replaced, occurrences), missed identifiers, replaced non-identifiers) for
    the annotated transcripts in fixtures/privacy/recall, out of the box (no lists, no
    metadata)."""
    from qualcode.ingest import ingest_files
    from qualcode.privacy import PrivacyOptions, pseudonymise
    from qualcode.store import init_project

    folder = PRIVACY / "recall"
    with init_project(tmp_path / "recall") as project:
        ingest_files(project, [folder])
        sql = "SELECT id, name, text FROM documents"
        before = {r["id"]: (r["name"], r["text"]) for r in project.conn.execute(sql)}
        pseudonymise(project, PrivacyOptions(tmp_path / "recall-key.csv"))
        after = {r["id"]: r["text"] for r in project.conn.execute(sql)}
    originals: dict[str, list[str]] = {}
    for row in key_rows(tmp_path / "recall-key.csv"):
        originals.setdefault(row["pseudonym"], []).append(row["original"])
    with (folder / "expected.csv").open(encoding="utf-8") as handle:
        expected = list(csv.DictReader(handle))
    totals: dict[str, list[int]] = {}
    missed, extra = [], []
    for doc_id, (name, old) in before.items():
        spans = replaced_spans(old, after[doc_id], originals)
        assert spans is not None
        items = sorted(
            (e for e in expected if e["document"] == name), key=lambda e: -len(e["identifier"])
        )
        taken: list[tuple[int, int]] = []
        for e in items:
            pattern = rf"(?<![^\W_]){re.escape(e['identifier'])}(?![^\W_])"
            for m in re.finditer(pattern, old):
                if any(m.start() < b and a < m.end() for a, b in taken):
                    continue  # part of a longer identifier ('Lisa' in 'Lisa de Boer')
                taken.append(m.span())
                hit = any(a <= m.start() and m.end() <= b for a, b in spans)
                counts = totals.setdefault(e["category"], [0, 0])
                counts[0] += hit
                counts[1] += 1
                if not hit:
                    missed.append(f"{e['category']}: {e['identifier']}")
        for a, b in spans:
            if not any(x < b and a < y for x, y in taken):
                extra.append(old[a:b])
    return {c: (n[0], n[1]) for c, n in sorted(totals.items())}, missed, extra


def test_recall_per_category(tmp_path: Path) -> None:
    """Run with -s to see the table that docs/privacy.md reports."""
    recall, missed, extra = measure_recall(tmp_path)
    print("\ncategory        found / total  recall")
    for category, (hit, total) in recall.items():
        print(f"{category:15} {hit:5} / {total:<5}  {hit / total:.2f}")
    hits = sum(h for h, _ in recall.values())
    total = sum(t for _, t in recall.values())
    print(f"{'all':15} {hits:5} / {total:<5}  {hits / total:.2f}")
    print("missed:", ", ".join(sorted(Counter(missed))))
    print("replaced but not an identifier:", ", ".join(sorted(Counter(extra))))
    assert not extra  # no ordinary word of the fixture was replaced
    assert hits / total >= 0.85
    for category in ("TELEFOONNUMMER", "EMAILADRES", "IBAN", "BSN", "POSTCODE", "URL"):
        assert recall[category][0] == recall[category][1], category
    assert recall["PERSOON"][0] / recall["PERSOON"][1] >= 0.9


def test_names_in_file_names_and_settings_are_replaced(tmp_path: Path) -> None:
    from qualcode.store import init_project, open_project

    source = write(
        tmp_path / "transcripts" / "interview_jan_de_vries.txt",
        """
        Interviewer: Hoe gaat het met u?

        Jan de Vries: Goed hoor. Mijn dochter Sanne belt elke dag.

        Interviewer: Fijn om te horen.

        Jan de Vries: Ja, dat is het ook.
        """,
    )
    project = tmp_path / "project"
    with init_project(project) as proj:
        proj.update_settings(notitie="interviews Jan de Vries en Sanne, zie jan_de_vries.docx")
    key = tmp_path / "sleutel.csv"
    result = invoke("ingest", source, "-p", project, "--pseudonymise", "--key", key)
    assert result.exit_code == 0, result.output
    jan = pseudonym_of(key, "Jan de Vries")
    assert jan == "R1"  # a speaker label
    with open_project(project) as proj:
        name, path, text = proj.conn.execute("SELECT name, path, text FROM documents").fetchone()
        notitie = proj.settings()["notitie"]
    assert name == f"interview_{jan}.txt" and path.endswith(f"interview_{jan}.txt")
    assert text.startswith(f"Interviewer: Hoe gaat het met u?\n\n{jan}: Goed hoor.")
    assert notitie == f"interviews [{jan}] en [{pseudonym_of(key, 'Sanne')}], zie {jan}.docx"
    assert leaks(files_in(project), ["Jan de Vries", "jan_de_vries", "Sanne"]) == []
    # the runs table recorded nothing about the originals either
    result = invoke("documents", "-p", project, "--format", "csv")
    assert f"interview_{jan}.txt" in result.stdout
