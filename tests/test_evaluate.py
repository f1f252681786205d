"""``qualcode evaluate --reference``: hand-computed scores, the keyword baseline, and one-line
errors (with the line number) for a bad reference file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from coding_helpers import (
    CODING_YAML,
    EENZAAMHEID,
    SCHULDEN,
    SUGGEST_CORPUS,
    assert_one_line_error,
    build_project,
    invoke,
    suggested,
    write,
)

from qualcode.codebook import load_codebook
from qualcode.errors import TranscriptError
from qualcode.evaluate import evaluate, keyword_baseline
from qualcode.store import open_project

# The human reference for the 11 coded units of the fixture corpus. Documents may be named
# with or without extension; codes are full paths separated by ';'; empty = no code.
REFERENCE = """
document,order,codes,text
fg_ouderen,2,impact/sociaal/eenzaamheid,Zeker. Mijn buurvrouw
fg_ouderen,3,impact/sociaal/eenzaamheid,
fg_ouderen,4,impact/financieel/schulden;doelgroep/jongeren,En de jongeren
fg_ouderen,6,,Ik weet niet of ze eenzaam is
fg_ouderen,9,doelgroep/ouderen;doelgroep/jongeren,
fg_ouderen,10,impact/sociaal/eenzaamheid,
fg_ouderen.txt,11,impact/sociaal/eenzaamheid;doelgroep/ouderen,
int_schulden,2,impact/financieel/schulden,
int_schulden,6,,
int_schulden,8,,Het was niet jouw schuld
int_schulden,10,impact/financieel/schulden,
"""


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_project(tmp_path_factory.mktemp("evaluate") / "out")


@pytest.fixture
def reference(tmp_path: Path) -> Path:
    return write(tmp_path / "referentie.csv", REFERENCE)


def scores(project: Path, reference: Path, **kw: object) -> dict:
    with open_project(project) as proj:
        result = evaluate(proj, reference, codebook=CODING_YAML, **kw)
    return {s.code: s for s in result.codes} | {"_result": result}


def test_hand_computed_scores_for_eenzaamheid(project: Path, reference: Path) -> None:
    # The machine suggests eenzaamheid on FG#2, #3, #6 and #11 (see test_suggest.py)
    machine = {(d, o) for d, o, c in suggested(project) if c == EENZAAMHEID}
    assert machine == {("fg_ouderen.txt", n) for n in (2, 3, 6, 11)}
    # Reference says eenzaamheid for FG#2, #3, #10 and #11. Over the 11 reference segments:
    #   TP = 3 (#2, #3, #11)  FP = 1 (#6)  FN = 1 (#10: the machine gave only impact/sociaal)
    #   TN = 11 - 3 - 1 - 1 = 6
    #   precision = 3 / (3 + 1) = 0.75, recall = 3 / (3 + 1) = 0.75, F1 = 0.75
    #   kappa: observed p_o = (TP + TN) / n = 9/11
    #          expected p_e = [(TP+FP)(TP+FN) + (FN+TN)(FP+TN)] / n² = (4·4 + 7·7) / 121 = 65/121
    #          kappa = (9/11 - 65/121) / (1 - 65/121) = (99 - 65) / (121 - 65) = 34/56 = 17/28
    result = scores(project, reference)
    e = result[EENZAAMHEID]
    assert result["_result"].segments == 11
    assert (e.support, e.predicted, e.true_positives) == (4, 4, 3)
    assert e.precision == pytest.approx(0.75)
    assert e.recall == pytest.approx(0.75)
    assert e.f1 == pytest.approx(0.75)
    assert e.kappa == pytest.approx(17 / 28)


def test_parent_level_counts_each_segment_once(project: Path, reference: Path) -> None:
    result = scores(project, reference)
    # doelgroep: reference FG#4, #9, #11; the machine has ouderen AND jongeren on FG#9,
    # jongeren on FG#4 and ouderen on FG#11 (plural "ouderen" → keyword "oudere"):
    # three segments, not four codings
    d = result["doelgroep"]
    assert (d.support, d.predicted, d.true_positives) == (3, 3, 3)
    assert d.precision == pytest.approx(1.0)
    assert d.recall == pytest.approx(1.0)
    # impact/sociaal: the leaf suggestions roll up (#2, #3, #6, #11) plus #10 itself
    s = result["impact/sociaal"]
    assert (s.support, s.predicted, s.true_positives) == (4, 5, 4)
    level = result["_result"].level("impact/sociaal")
    assert level.codes == (EENZAAMHEID,)
    assert level.macro_f1 == pytest.approx(0.75)


def test_evaluate_command_prints_levels_and_codes(project: Path, reference: Path) -> None:
    result = invoke("evaluate", "-p", project, "--reference", reference)
    assert result.exit_code == 0, result.output
    assert "Evaluated codings of qualcode on 11 reference segments" in result.stderr
    assert result.stdout.splitlines()[0].split() == [
        "level", "codes", "precision", "recall", "f1", "kappa", "micro_f1",
    ]  # fmt: skip
    result = invoke("evaluate", "-p", project, "-r", reference, "--all-codes", "-f", "json")
    rows = {r["code"]: r for r in json.loads(result.stdout)}
    assert rows[EENZAAMHEID]["kappa"] == pytest.approx(17 / 28)
    assert rows[EENZAAMHEID]["f1"] == pytest.approx(0.75)
    assert rows[SCHULDEN]["f1"] == pytest.approx(1.0)


def test_baseline_is_exact_keyword_matching(project: Path, reference: Path) -> None:
    book = load_codebook(CODING_YAML)
    # no lemmas, no compounds, no negation, no patterns
    found = keyword_baseline(
        book,
        [
            (1, "We hadden schulden."),
            (2, "Een studieschuld."),
            (3, "Het is jouw schuld."),
            (4, "Ik was niet eenzaam."),
            (5, "Ze vereenzaamt."),
            (6, "Dat was sociaal isolement."),
            (7, "We gingen rood staan."),
        ],
    )
    assert set(found) == {3, 4, 6, 7}
    assert found[3] == {"impact", "impact/financieel", SCHULDEN}
    assert found[7] == {"impact", "impact/financieel", SCHULDEN}  # '=rood staan': '=' dropped

    machine = scores(project, reference)
    baseline = scores(project, reference, baseline=True)
    # schulden: reference FG#4 ('schulden, een studieschuld'), INT#2 and INT#10 ('huurschulden');
    # the baseline finds none of them, only 'jouw schuld' on INT#8: TP 0, FP 1, FN 3
    b = baseline[SCHULDEN]
    assert (b.support, b.predicted, b.true_positives) == (3, 1, 0)
    assert b.precision == b.recall == b.f1 == 0.0
    assert machine[SCHULDEN].f1 == pytest.approx(1.0)
    # eenzaamheid: 'sociaal isolement' (#3) and 'eenzaam' in #6 and in 'niet eenzaam' (INT#6)
    b = baseline[EENZAAMHEID]
    assert (b.support, b.predicted, b.true_positives) == (4, 3, 1)

    result = invoke("evaluate", "-p", project, "-r", reference, "--baseline", "--all-codes",
                    "-f", "json")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "Evaluated keyword baseline on 11 reference segments" in result.stderr
    rows = {r["code"]: r for r in json.loads(result.stdout)}
    assert (rows[SCHULDEN]["predicted"], rows[SCHULDEN]["f1"]) == (1, 0.0)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "document,order,codes\nfg_ouderen,2,impact/sociaal/eenzaamheid\n"
            "fg_ouderen,3,impact/sociaal/onbekend\n",
            "referentie.csv, line 3: unknown code 'impact/sociaal/onbekend'",
        ),
        (
            "document,order,codes\nfg_ouderen,99,impact\n",
            "referentie.csv, line 2: no segment 99 in document 'fg_ouderen'",
        ),
        (
            "document,order,codes\nfg_ouderen,2,impact\nbestaat_niet,1,impact\n",
            "referentie.csv, line 3: no segment 1 in document 'bestaat_niet'",
        ),
        (
            "document,volgorde,codes\nfg_ouderen,2,impact\n",
            "referentie.csv, line 1: no 'order' column",
        ),
        ("document,order\nfg_ouderen,2\n", "referentie.csv, line 1: no 'codes' column"),
        (
            "document,order,codes\nfg_ouderen,twee,impact\n",
            "referentie.csv, line 2: 'order' must be a segment number",
        ),
        (
            "document,order,codes,text\nfg_ouderen,2,impact,Iets heel anders\n",
            "referentie.csv, line 2: segment 2 of 'fg_ouderen' does not start with",
        ),
        ("document,order,codes\n", "referentie.csv: the reference has no rows"),
    ],
)
def test_reference_errors_are_one_line_with_the_line_number(
    project: Path, tmp_path: Path, text: str, message: str
) -> None:
    path = tmp_path / "referentie.csv"
    path.write_text(text, encoding="utf-8")
    result = invoke("evaluate", "-p", project, "--reference", path)
    assert result.exit_code == TranscriptError.exit_code
    assert_one_line_error(result, message)
    with open_project(project) as proj, pytest.raises(TranscriptError, match=r"referentie\.csv"):
        evaluate(proj, path, codebook=CODING_YAML)


def test_missing_reference_file(project: Path, tmp_path: Path) -> None:
    result = invoke("evaluate", "-p", project, "-r", tmp_path / "geen.csv")
    assert_one_line_error(result, "reference file not found")


def test_evaluate_before_suggest_is_an_error(tmp_path: Path, reference: Path) -> None:
    from qualcode.ingest import ingest_files
    from qualcode.store import init_project

    with init_project(tmp_path / "leeg", codebook=CODING_YAML) as proj:
        ingest_files(proj, [SUGGEST_CORPUS])
    result = invoke("evaluate", "-p", tmp_path / "leeg", "-r", reference)
    assert_one_line_error(result, "this project has no suggestions yet")
