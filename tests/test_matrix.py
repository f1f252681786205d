"""``qualcode export matrix``: counts on a small hand-checked project, every kind, both file
types, and the error paths.

The expected numbers below were counted by hand from ``fixtures/matrix/codings.csv`` (see the
table in ``fixtures/matrix/README.md``). B = fg_buurt.txt, J = fg_jongeren.txt,
H = int_huurder.txt, M = notities_marieke.txt.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from coding_helpers import FIXTURES, assert_one_line_error, connect, copy_project, invoke

MATRIX = FIXTURES / "matrix"
CORPUS = MATRIX / "corpus"
CODEBOOK = MATRIX / "codebook.yaml"
DOCS = ["fg_buurt.txt", "fg_jongeren.txt", "int_huurder.txt", "notities_marieke.txt"]
SOCIAAL, FINANCIEEL = "impact/sociaal", "impact/financieel"
EENZAAM, SPANNING, SCHULD = (
    "impact/sociaal/eenzaamheid",
    "impact/sociaal/spanningen",
    "impact/financieel/schulden",
)
OUDEREN, JONGEREN = "doelgroep/ouderen", "doelgroep/jongeren"


def build_fixture_project(out: Path, *, tokens: bool = True) -> Path:
    """The hand-checked project: ingest, codebook, the codings of codings.csv inserted as the
    review commands store them, and (with ``tokens``) stored lemmas."""
    from qualcode.codebook import load_codebook
    from qualcode.codes import sync_codes
    from qualcode.ingest import ingest_files
    from qualcode.nlp import annotate_segments
    from qualcode.store import init_project, now

    with init_project(out, codebook=CODEBOOK) as project:
        ingest_files(project, [CORPUS], metadata=CORPUS / "metadata.csv")
        sync_codes(project, load_codebook(CODEBOOK))
        if tokens:
            from coding_helpers import pipeline

            annotate_segments(project, pipeline())
        with (MATRIX / "codings.csv").open(encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
        with project.transaction() as conn:
            for r in rows:
                seg = conn.execute(
                    "SELECT s.id FROM segments s JOIN documents d ON d.id = s.document_id"
                    " WHERE d.name = ? AND s.ord = ?",
                    (r["document"], int(r["order"])),
                ).fetchone()[0]
                code = conn.execute("SELECT id FROM codes WHERE path = ?", (r["code"],)).fetchone()
                stamp = now()
                conn.execute(
                    "INSERT INTO codings (segment_id, code_id, coder, status, score, source,"
                    " explanation, created_at, updated_at)"
                    " VALUES (?, ?, ?, ?, ?, 'test', '', ?, ?)",
                    (seg, code[0], r["coder"], r["status"], float(r["score"] or 1), stamp, stamp),
                )
    return out


@pytest.fixture(scope="module")
def fixture_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_fixture_project(tmp_path_factory.mktemp("matrix") / "project", tokens=False)


@pytest.fixture
def project(fixture_project: Path):  # type: ignore[no-untyped-def]
    from qualcode.store import open_project

    with open_project(fixture_project) as proj:
        yield proj


def cells(matrix) -> dict[tuple[str, str], int]:  # type: ignore[no-untyped-def]
    frame = matrix.frame
    return {(r, c): int(frame.loc[r, c]) for r in frame.index for c in frame.columns}


# -- counts ----------------------------------------------------------------------------------


def test_doelgroepenmatrix_counts_by_hand(project) -> None:  # type: ignore[no-untyped-def]
    from qualcode.export.matrix import build_matrix

    m = build_matrix(project, rows="impact", cols="doelgroep")
    assert list(m.frame.index) == [SOCIAAL, FINANCIEEL, "Totaal"]
    assert list(m.frame.columns) == [OUDEREN, JONGEREN, "Totaal"]
    assert cells(m) == {
        # sociaal x ouderen: B#2, H#4 (ouderen by bram); x jongeren: B#4, J#2, J#3, J#7, J#8
        (SOCIAAL, OUDEREN): 2, (SOCIAAL, JONGEREN): 5, (SOCIAAL, "Totaal"): 7,
        # financieel x ouderen: H#6; x jongeren: J#4, J#9 (the moderator's J#1 never counts)
        (FINANCIEEL, OUDEREN): 1, (FINANCIEEL, JONGEREN): 2, (FINANCIEEL, "Totaal"): 3,
        ("Totaal", OUDEREN): 3, ("Totaal", JONGEREN): 7, ("Totaal", "Totaal"): 10,
    }  # fmt: skip
    assert m.passages == 15  # passages with any accepted/manual coding
    assert m.labelled().loc["Sociale impact", "Ouderen"] == 2


def test_coder_only_counts_that_persons_decisions(project) -> None:  # type: ignore[no-untyped-def]
    from qualcode.export.matrix import build_matrix

    anna = cells(build_matrix(project, rows="impact", cols="doelgroep", coder="anna"))
    assert anna[(SOCIAAL, OUDEREN)] == 1  # H#4 ouderen was bram's decision
    # bram only decided B#2 eenzaamheid and H#4 ouderen: no passage has both of his codes
    bram = cells(build_matrix(project, rows="impact", cols="doelgroep", coder="bram"))
    assert set(bram.values()) == {0}


def test_cooccurrence_counts_and_totals_are_not_sums(project) -> None:  # type: ignore[no-untyped-def]
    from qualcode.export.matrix import build_matrix

    m = build_matrix(project, kind="cooccurrence", rows="sociaal,financieel,ouderen,jongeren")
    keys = [SOCIAAL, FINANCIEEL, OUDEREN, JONGEREN]
    assert list(m.frame.columns) == [*keys, "Totaal"]
    expected = {
        SOCIAAL: [10, 0, 2, 5],
        FINANCIEEL: [0, 5, 1, 2],
        OUDEREN: [2, 1, 3, 0],
        JONGEREN: [5, 2, 0, 7],
    }
    for row, values in expected.items():
        assert [int(m.frame.loc[row, c]) for c in keys] == values
        assert int(m.frame.loc[row, "Totaal"]) == values[keys.index(row)]  # the diagonal
    assert int(m.frame.loc[SOCIAAL, keys].sum()) == 17 != int(m.frame.loc[SOCIAAL, "Totaal"])
    assert "diagonaal" in m.rule_text
    assert "niet de som" in m.rule_text


def test_depth_goes_down_to_the_leaves(project) -> None:  # type: ignore[no-untyped-def]
    from qualcode.export.matrix import build_matrix

    m = build_matrix(project, kind="cooccurrence", rows="impact", depth=2)
    assert list(m.frame.index) == [EENZAAM, SPANNING, SCHULD, "Totaal"]
    assert [int(m.frame.loc[k, k]) for k in (EENZAAM, SPANNING, SCHULD)] == [7, 3, 5]
    assert int(m.frame.loc[EENZAAM, SPANNING]) == 0


def test_frequencies_roll_up_to_parents(project) -> None:  # type: ignore[no-untyped-def]
    from qualcode.export.matrix import build_matrix

    m = build_matrix(project, kind="frequencies")
    assert list(m.frame.columns) == [*DOCS, "Totaal"]
    expected = {  # B, J, H, M, Totaal
        "impact": [4, 7, 3, 1, 15],
        SOCIAAL: [3, 5, 1, 1, 10],
        EENZAAM: [1, 4, 1, 1, 7],
        SPANNING: [2, 1, 0, 0, 3],
        FINANCIEEL: [1, 2, 2, 0, 5],
        SCHULD: [1, 2, 2, 0, 5],
        "doelgroep": [2, 6, 2, 0, 10],
        OUDEREN: [1, 0, 2, 0, 3],
        JONGEREN: [1, 6, 0, 0, 7],
        "Totaal": [4, 7, 3, 1, 15],
    }
    assert list(m.frame.index) == list(expected)  # codebook order, parents included
    for row, values in expected.items():
        assert m.frame.loc[row].tolist() == values, row
    assert m.rows.depths[EENZAAM] == 2


def test_frequencies_with_suggestions_of_one_coder(project) -> None:  # type: ignore[no-untyped-def]
    from qualcode.export.matrix import build_matrix

    # anna's decisions plus the suggestions anna has not decided on: J#8 spanningen, M#4
    # eenzaamheid, and H#4 ouderen (decided by bram, not by anna); B#6 spanningen she rejected.
    m = build_matrix(project, kind="frequencies", rows="sociaal", status="any", coder="anna")
    assert m.frame.loc[SOCIAAL].tolist() == [3, 5, 1, 2, 11]
    assert m.frame.loc[EENZAAM].tolist() == [1, 4, 1, 2, 8]
    assert m.frame.loc[SPANNING].tolist() == [2, 2, 0, 0, 4]
    suggested = build_matrix(project, kind="frequencies", rows="sociaal", status="suggested")
    assert suggested.frame.loc[SOCIAAL].tolist() == [0, 1, 0, 1, 2]


def test_codes_by_document_attribute(project) -> None:  # type: ignore[no-untyped-def]
    from qualcode.export.matrix import build_matrix

    m = build_matrix(project, rows="impact", cols="doc:type")
    assert list(m.frame.columns) == ["focusgroep", "interview", "(onbekend)", "Totaal"]
    assert m.frame.loc[SOCIAAL].tolist() == [8, 1, 1, 10]
    assert m.frame.loc[FINANCIEEL].tolist() == [3, 2, 0, 5]
    assert m.frame.loc["Totaal"].tolist() == [11, 3, 1, 15]
    assert "wel de som" in m.rule_text  # each passage has one document type
    places = build_matrix(project, rows="doelgroep", cols="DOC:Place")  # any case
    assert list(places.frame.columns) == ["Den Haag", "Utrecht", "Zwolle", "(onbekend)", "Totaal"]


def test_codes_by_speaker_role_never_by_name(project) -> None:  # type: ignore[no-untyped-def]
    from qualcode.export.matrix import build_matrix

    m = build_matrix(project, rows="doelgroep", cols="speaker:role")
    roles = ["buurtbewoner", "huurder", "jongerenwerker", "wijkagent", "(onbekend)", "Totaal"]
    assert list(m.frame.columns) == roles
    assert m.frame.loc[OUDEREN].tolist() == [1, 2, 0, 0, 0, 3]
    assert m.frame.loc[JONGEREN].tolist() == [0, 0, 3, 1, 3, 7]  # J#3, J#4, J#9: no role
    header = " ".join(map(str, m.labelled().columns))
    assert "Marieke" not in header and "Vries" not in header


def test_attribute_rows_by_code_columns(project) -> None:  # type: ignore[no-untyped-def]
    from qualcode.export.matrix import build_matrix

    m = build_matrix(project, rows="document", cols="impact")
    assert list(m.frame.index) == [*DOCS, "Totaal"]
    assert m.frame.loc["fg_jongeren.txt"].tolist() == [5, 2, 7]


# -- files -----------------------------------------------------------------------------------


def test_xlsx_has_the_table_the_rule_and_a_telregel_sheet(fixture_project, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from openpyxl import load_workbook

    out = tmp_path / "matrix.xlsx"
    result = invoke(
        "export", "matrix", "--project", fixture_project, "--rows", "impact",
        "--cols", "doelgroep", "-o", out,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "2 rows by 2 columns" in result.output
    book = load_workbook(out)
    assert book.sheetnames == ["matrix", "telregel"]
    sheet = book["matrix"]
    rows = [[c.value for c in row] for row in sheet.iter_rows()]
    assert rows[0] == ["label", "code", "Ouderen", "Jongeren", "Totaal"]
    assert rows[1] == ["Sociale impact", SOCIAAL, 2, 5, 7]
    assert rows[2] == ["Financiële impact", FINANCIEEL, 1, 2, 3]
    assert rows[3] == ["Totaal", None, 3, 7, 10]
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == "A1:E3"  # the totals stay out of the filter
    below = [r[0] for r in rows[4:] if r[0]]
    assert below[0].startswith("Telregel")
    assert any("subcode" in line for line in below)
    rule = [r[0].value for r in book["telregel"].iter_rows(min_row=2)]
    assert any("geaccepteerde en handmatige" in line for line in rule)
    assert any("niet de som" in line for line in rule)


def test_csv_opens_cleanly_with_the_rule_below(fixture_project, tmp_path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "per_type.csv"
    result = invoke(
        "export", "matrix", "-p", fixture_project, "--rows", "impact", "--cols", "doc:type",
        "-o", out,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # BOM: Excel shows the ë of Financiële
    rows = list(csv.reader(raw.decode("utf-8-sig").splitlines()))
    assert rows[0] == ["label", "code", "focusgroep", "interview", "(onbekend)", "Totaal"]
    assert rows[1] == ["Sociale impact", SOCIAAL, "8", "1", "1", "10"]
    assert rows[2] == ["Financiële impact", FINANCIEEL, "3", "2", "0", "5"]
    assert rows[3] == ["Totaal", "", "11", "3", "1", "15"]
    assert not any(rows[4])  # an empty row ends the table
    assert rows[5][0] == "Telregel:"
    assert any("telt één keer per cel" in r[0] for r in rows[6:])
    assert all(len(r) == len(rows[0]) for r in rows)  # a rectangle: every tool reads it


@pytest.mark.parametrize(
    "args",
    [
        ["--kind", "frequencies"],
        ["--kind", "cooccurrence", "--rows", "doelgroep"],
        ["--rows", "impact", "--cols", "speaker:role", "--status", "any"],
        ["--rows", "impact", "--cols", "document", "--depth", "2", "--coder", "anna"],
    ],
)
@pytest.mark.parametrize("suffix", [".xlsx", ".csv"])
def test_every_kind_writes_both_file_types(fixture_project, tmp_path, args, suffix) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / f"m{suffix}"
    result = invoke("export", "matrix", "-p", fixture_project, *args, "-o", out)
    assert result.exit_code == 0, result.output
    assert out.exists() and not out.with_name(out.name + ".tmp").exists()


# -- errors ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--rows", "nope", "--cols", "doelgroep"], "no code 'nope'"),
        (["--rows", "impact", "--cols", "doc:nope"], "no document attribute 'nope'"),
        (["--rows", "impact", "--cols", "speaker:leeftijd"], "no speaker attribute 'leeftijd'"),
        (["--rows", "impact", "--cols", "speaker:label"], "never shown"),
        (["--rows", "impact"], "needs --cols"),
        (["--cols", "doelgroep"], "needs --rows"),
        (["--rows", "document", "--cols", "doc:type"], "codes on at least one axis"),
        (["--kind", "cooccurrence", "--rows", "impact", "--cols", "doc:type"], "both axes"),
        (["--rows", "impact", "--cols", "doelgroep", "--coder", "nobody"], "no codings by"),
    ],
)
def test_user_errors_are_one_line(fixture_project, tmp_path, args, fragment) -> None:  # type: ignore[no-untyped-def]
    result = invoke("export", "matrix", "-p", fixture_project, *args, "-o", tmp_path / "m.xlsx")
    assert_one_line_error(result, fragment)
    assert not (tmp_path / "m.xlsx").exists()


def test_an_attribute_name_given_as_code_gets_a_hint(fixture_project, tmp_path) -> None:  # type: ignore[no-untyped-def]
    result = invoke(
        "export", "matrix", "-p", fixture_project, "--rows", "impact", "--cols", "type",
        "-o", tmp_path / "m.xlsx",
    )  # fmt: skip
    assert_one_line_error(result, "no code 'type'")
    assert "doc:type" in result.stderr


def test_nothing_to_export_says_so_with_a_hint(fixture_project, tmp_path) -> None:  # type: ignore[no-untyped-def]
    only_machine = copy_project(fixture_project, tmp_path / "machine")
    with connect(only_machine) as conn:
        conn.execute("DELETE FROM codings WHERE coder != 'qualcode'")
    result = invoke(
        "export", "matrix", "-p", only_machine, "--rows", "impact", "--cols", "doelgroep",
        "-o", tmp_path / "m.xlsx",
    )  # fmt: skip
    assert_one_line_error(result, "no accepted or manual codings")
    assert "--status any" in result.stderr
    # with the suggestions: written, all cells 0 because no suggestion is a doelgroep
    result = invoke(
        "export", "matrix", "-p", only_machine, "--rows", "impact", "--cols", "doelgroep",
        "--status", "any", "-o", tmp_path / "m.xlsx",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "Every cell is 0" in result.stderr
    # nothing in the rows' codes at all
    result = invoke(
        "export", "matrix", "-p", only_machine, "--rows", "financieel", "--cols", "document",
        "--status", "suggested", "-o", tmp_path / "m2.xlsx",
    )  # fmt: skip
    assert_one_line_error(result, "no open suggestions for financieel")


@pytest.mark.parametrize(
    ("target", "fragment"),
    [
        ("a_file/matrix.xlsx", "cannot write"),
        ("a_folder.xlsx", "directory"),  # refused by the option itself
        ("matrix.pdf", "unknown file type"),
    ],
)
def test_unwritable_paths_are_one_line_errors(fixture_project, tmp_path, target, fragment) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "a_file").write_text("not a folder", encoding="utf-8")
    (tmp_path / "a_folder.xlsx").mkdir()
    result = invoke(
        "export", "matrix", "-p", fixture_project, "--rows", "impact", "--cols", "doelgroep",
        "-o", tmp_path / target,
    )  # fmt: skip
    assert_one_line_error(result, fragment)


def test_shared_load_counts_the_same_and_only_for_its_status(project) -> None:  # type: ignore[no-untyped-def]
    from qualcode.export.matrix import Loaded, build_matrix

    shared = Loaded.of(project, "accepted")
    for kwargs in (
        {"rows": "doelgroep", "cols": "impact"},
        {"kind": "frequencies"},
        {"rows": "impact", "cols": "document", "coder": "anna"},  # another coder: own read
        {"kind": "frequencies", "status": "any"},  # another status: own read
    ):
        alone = build_matrix(project, **kwargs)
        assert build_matrix(project, loaded=shared, **kwargs).frame.equals(alone.frame)
    wrong = Loaded(shared.units, {}, "any")  # codings of 'any' that do not fit 'accepted'
    assert build_matrix(project, kind="frequencies", loaded=wrong).frame.equals(
        build_matrix(project, kind="frequencies").frame
    )


def _reference_selection(project, status, coder):  # type: ignore[no-untyped-def]
    """One status from its own read of the codings, as ``selected_codings`` did it before."""
    from qualcode.export.matrix import PERSON_CERTAINTY, Selected, check_status
    from qualcode.models import MACHINE_CODER
    from qualcode.segments import effective_codings

    out: dict[int, dict[str, Selected]] = {}
    found = effective_codings(project, coder=coder, statuses=check_status(status))
    for seg_id, rows in found.items():
        for row in rows:
            certainty = PERSON_CERTAINTY if row.coder != MACHINE_CODER else float(row.score or 0)
            current = out.setdefault(seg_id, {}).get(row.code)
            if current is None or certainty > current.certainty:
                out[seg_id][row.code] = Selected(certainty, row.status, row.coder)
    return out


def _in_order(selection):  # type: ignore[no-untyped-def]
    # the order counts: the first of equally sure codings wins in the quote selection
    return [(sid, list(found.items())) for sid, found in selection.items()]


@pytest.mark.parametrize("coder", [None, "anna", "bram", "qualcode"])
def test_one_read_selects_each_status_as_its_own_read_did(project, coder) -> None:  # type: ignore[no-untyped-def]
    from qualcode.export.matrix import STATUS_CHOICES, selected_by_status, selected_codings

    together = selected_by_status(project, STATUS_CHOICES, coder=coder)
    assert list(together) == list(STATUS_CHOICES)
    for status in STATUS_CHOICES:
        expected = _in_order(_reference_selection(project, status, coder))
        assert _in_order(together[status]) == expected
        assert _in_order(selected_codings(project, status=status, coder=coder)) == expected
    assert together["any"] and together["suggested"]


def test_an_unknown_coder_is_refused_unless_only_suggestions_are_asked(project) -> None:  # type: ignore[no-untyped-def]
    from qualcode.errors import QualcodeError
    from qualcode.export.matrix import selected_by_status

    with pytest.raises(QualcodeError, match="no codings by coder 'zoe'"):
        selected_by_status(project, ["suggested", "accepted"], coder="zoe")
    assert selected_by_status(project, ["suggested"], coder="zoe")["suggested"]
