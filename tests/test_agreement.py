"""``qualcode agreement``: percent agreement, Cohen's kappa and Krippendorff's alpha between
coders, checked against hand calculations on the fixture corpus and against textbook examples;
the disagreement file; and one-line errors.

The fixture corpus has 11 coded units: fg_ouderen.txt (FG) #2 #3 #4 #6 #9 #10 #11 and
int_schulden.txt (INT) #2 #6 #8 #10. Two people coded it in the project (rows as the review
commands store them: accepted/manual = yes, rejected = an explicit no):

    unit    anna                         ben
    FG#2    eenzaamheid                  eenzaamheid
    FG#3    eenzaamheid                  impact/sociaal
    FG#4    schulden, jongeren           schulden
    FG#6    (rejected eenzaamheid)       eenzaamheid
    FG#9    ouderen, jongeren            ouderen
    FG#10   eenzaamheid                  eenzaamheid
    FG#11   eenzaamheid, ouderen         -            (only anna: dropped)
    INT#2   schulden                     schulden
    INT#6   (rejected eenzaamheid)       (rejected eenzaamheid)
    INT#8   (rejected schulden)          schulden
    INT#10  -                            schulden     (only ben: dropped)

So 9 segments are common. Codes roll up (eenzaamheid also counts as impact/sociaal and impact).
impact/werk is given by nobody (a rejection is not a code given).
tests/fixtures/agreement/anna.csv and ben.csv hold the same coding as files.
"""

from __future__ import annotations

import json
import math
import random
import re
from fractions import Fraction
from pathlib import Path

import pytest
from coding_helpers import (
    EENZAAMHEID,
    FG,
    INT,
    SCHULDEN,
    assert_one_line_error,
    build_project,
    copy_project,
    invoke,
    read_csv_text,
    segment_ids,
    suggested,
    write,
)

from qualcode.agreement import AgreementReport, agreement, nominal_alpha, to_frame
from qualcode.evaluate import cohen_kappa
from qualcode.store import open_project

FIXTURES = Path(__file__).parent / "fixtures" / "agreement"
SOCIAAL = "impact/sociaal"
FINANCIEEL = "impact/financieel"
OUDEREN = "doelgroep/ouderen"
JONGEREN = "doelgroep/jongeren"
WERK = "impact/werk"

ANNA = [
    (FG, 2, EENZAAMHEID, "accepted"),
    (FG, 3, EENZAAMHEID, "manual"),
    (FG, 4, SCHULDEN, "accepted"),
    (FG, 4, JONGEREN, "accepted"),
    (FG, 6, EENZAAMHEID, "rejected"),
    (FG, 9, OUDEREN, "accepted"),
    (FG, 9, JONGEREN, "accepted"),
    (FG, 10, EENZAAMHEID, "manual"),
    (FG, 11, EENZAAMHEID, "accepted"),
    (FG, 11, OUDEREN, "accepted"),
    (INT, 2, SCHULDEN, "accepted"),
    (INT, 6, EENZAAMHEID, "rejected"),
    (INT, 8, SCHULDEN, "rejected"),
]
BEN = [
    (FG, 2, EENZAAMHEID, "manual"),
    (FG, 3, SOCIAAL, "manual"),
    (FG, 4, SCHULDEN, "accepted"),
    (FG, 6, EENZAAMHEID, "accepted"),
    (FG, 9, OUDEREN, "accepted"),
    (FG, 10, EENZAAMHEID, "manual"),
    (INT, 2, SCHULDEN, "accepted"),
    (INT, 6, EENZAAMHEID, "rejected"),
    (INT, 8, SCHULDEN, "manual"),
    (INT, 10, SCHULDEN, "accepted"),
]
# A third coder on exactly the 9 common segments: eenzaamheid on FG#2, #3, #6, #10.
CARL = [
    (FG, 2, EENZAAMHEID, "manual"),
    (FG, 3, EENZAAMHEID, "manual"),
    (FG, 4, SCHULDEN, "manual"),
    (FG, 6, EENZAAMHEID, "manual"),
    (FG, 9, OUDEREN, "manual"),
    (FG, 10, EENZAAMHEID, "manual"),
    (INT, 2, SCHULDEN, "manual"),
    (INT, 6, EENZAAMHEID, "rejected"),
    (INT, 8, SCHULDEN, "manual"),
]
# Two coders without a common segment.
DORA = [(FG, 2, EENZAAMHEID, "manual")]
EVA = [(INT, 2, SCHULDEN, "manual")]


def add_codings(project_dir: Path, coder: str, rows: list[tuple[str, int, str, str]]) -> None:
    """A person's codings, inserted in one transaction the way the review commands store them."""
    ids = segment_ids(project_dir)
    with open_project(project_dir) as proj, proj.transaction() as conn:
        codes = {r["path"]: r["id"] for r in conn.execute("SELECT id, path FROM codes")}
        conn.executemany(
            "INSERT INTO codings (segment_id, code_id, coder, status, source, created_at,"
            " updated_at) VALUES (?, ?, ?, ?, 'review', '2024-05-01T10:00:00+00:00',"
            " '2024-05-01T10:00:00+00:00')",
            [(ids[(doc, order)], codes[code], coder, status) for doc, order, code, status in rows],
        )


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = build_project(tmp_path_factory.mktemp("agreement") / "out")
    for coder, rows in {"anna": ANNA, "ben": BEN, "carl": CARL, "dora": DORA, "eva": EVA}.items():
        add_codings(out, coder, rows)
    return out


def run(project: Path, coders: list[str], files: list[tuple[str, Path]] = (), **kw: object):
    with open_project(project) as proj:
        return agreement(proj, coders, list(files), **kw)


def by_code(report: AgreementReport) -> dict:
    return {c.code: c for c in report.codes}


def approx(x: Fraction | float) -> object:
    return pytest.approx(float(x), abs=1e-12)


# --------------------------------------------------------------------------------------------
# Hand-computed figures on the fixture


F = Fraction
# anna vs ben per used code: (agreement, kappa, alpha, given by anna, given by ben), computed by
# hand in test_two_coders_hand_computed.
ANNA_BEN = {
    EENZAAMHEID: (F(7, 9), F(1, 2), F(19, 36), 3, 3),
    SOCIAAL: (F(8, 9), F(10, 13), F(60, 77), 3, 4),
    SCHULDEN: (F(8, 9), F(8, 11), F(48, 65), 2, 3),
    FINANCIEEL: (F(8, 9), F(8, 11), F(48, 65), 2, 3),
    "impact": (F(7, 9), F(10, 19), F(19, 36), 5, 7),
    JONGEREN: (F(7, 9), F(0), F(-1, 16), 2, 0),
    OUDEREN: (F(1), F(1), F(1), 1, 1),
    "doelgroep": (F(8, 9), F(14, 23), F(28, 45), 2, 1),
}


def mean_of(i: int) -> Fraction:
    return sum((v[i] for v in ANNA_BEN.values()), Fraction(0)) / len(ANNA_BEN)


def test_two_coders_hand_computed(project: Path) -> None:
    """Over the 9 common segments, per code (yes = given, with roll-up):

    eenzaamheid  anna FG#2 #3 #10, ben FG#2 #6 #10: both yes 2, only anna 1 (FG#3), only ben 1
                 (FG#6), both no 5.
        agreement = 7/9
        kappa: p_o = 7/9, p_e = (3·3 + 6·6)/81 = 45/81, kappa = (63 - 45)/(81 - 45) = 1/2
        alpha (2 coders, binary, no missing values): n = 18 values, n1 = 6 yes, n0 = 12 no,
            d = 2 disagreeing segments; alpha = 1 - (n - 1)·d/(n0·n1) = 1 - 17·2/72 = 19/36
    impact/sociaal  anna FG#2 #3 #10, ben FG#2 #3 #6 #10: both yes 3, only ben 1, both no 5.
        agreement = 8/9; kappa: p_e = (3·4 + 6·5)/81 = 42/81 → (72 - 42)/(81 - 42) = 10/13
        alpha: n1 = 7, n0 = 11, d = 1 → 1 - 17/77 = 60/77
    schulden (and impact/financieel)  anna FG#4 INT#2, ben FG#4 INT#2 INT#8: only ben 1.
        agreement = 8/9; kappa: p_e = (2·3 + 7·6)/81 = 48/81 → 24/33 = 8/11
        alpha: n1 = 5, n0 = 13, d = 1 → 1 - 17/65 = 48/65
    impact  anna 5 (FG#2 #3 #4 #10 INT#2), ben 7 (+ FG#6 INT#8): both yes 5, only ben 2.
        agreement = 7/9; kappa: p_e = (5·7 + 4·2)/81 = 43/81 → (63 - 43)/(81 - 43) = 10/19
        alpha: n1 = 12, n0 = 6, d = 2 → 1 - 34/72 = 19/36
    jongeren  anna FG#4 #9, ben none: agreement 7/9; p_e = 63/81 = p_o → kappa 0;
        alpha: n1 = 2, n0 = 16, d = 2 → 1 - 34/32 = -1/16
    ouderen  both FG#9 only (anna's FG#11 is dropped): agreement 1, kappa 1, alpha 1
    doelgroep  anna FG#4 #9, ben FG#9: agreement 8/9; p_e = (2·1 + 7·8)/81 = 58/81 →
        (72 - 58)/(81 - 58) = 14/23; alpha: n1 = 3, n0 = 15, d = 1 → 1 - 17/45 = 28/45
    """
    expected = ANNA_BEN
    report = run(project, ["anna", "ben"])
    assert report.common_segments == report.units == 9
    assert [(c.name, c.coded, c.dropped) for c in report.coders] == [
        ("anna", 10, 1),
        ("ben", 10, 1),
    ]
    codes = by_code(report)
    for code, (agree, kappa, alpha, anna, ben) in expected.items():
        c = codes[code]
        assert (c.units, c.given) == (9, {"anna": anna, "ben": ben}), code
        assert c.agreement == approx(agree), code
        assert c.kappa == approx(kappa), code
        assert c.alpha == approx(alpha), code
        assert c.note == ""
    # Overall: the mean over the 8 used codes ...
    assert report.mean.label == "mean over 8 codes"
    assert report.mean.agreement == approx(mean_of(0))
    assert report.mean.kappa == approx(mean_of(1))
    assert report.mean.alpha == approx(mean_of(2))
    # ... and pooled over 8 codes × 9 segments = 72 decisions: both yes 16, anna yes 20,
    # ben yes 22, so only anna 4, only ben 6, both no 46; 10 disagreements.
    #   agreement = 62/72
    #   kappa: p_e = (20·22 + 52·50)/72² = 3040/5184 → (62·72 - 3040)/(5184 - 3040) = 1424/2144
    #   alpha: n = 144, n1 = 42, n0 = 102, d = 10 → 1 - 143·10/(102·42) = 1 - 1430/4284
    F = Fraction
    pooled = report.pooled
    assert pooled.decisions == 72
    assert pooled.given == {"anna": 20, "ben": 22}
    assert pooled.agreement == approx(F(62, 72))
    assert pooled.kappa == approx(F(1424, 2144))
    assert pooled.alpha == approx(1 - F(1430, 4284))


def test_codes_nobody_used_are_reported_not_averaged(project: Path) -> None:
    report = run(project, ["anna", "ben"])
    assert report.unused == [WERK]
    c = by_code(report)[WERK]
    assert (c.given, c.agreement, c.kappa, c.alpha) == ({"anna": 0, "ben": 0}, None, None, None)
    assert "not used by any coder" in c.note
    assert report.mean.label == "mean over 8 codes"
    assert report.pooled.decisions == 8 * 9
    assert report.note_lines()[0].endswith("(1): impact/werk")


def test_level_rolls_sub_codes_up(project: Path) -> None:
    # --level impact: impact/sociaal, impact/financieel and impact/werk, each with its
    # sub-codes rolled up, so the figures equal those of the parents without --level.
    report = run(project, ["anna", "ben"], level="impact")
    assert [c.code for c in report.codes] == [SOCIAAL, FINANCIEEL, WERK]
    codes = by_code(report)
    assert codes[SOCIAAL].kappa == approx(Fraction(10, 13))
    assert codes[FINANCIEEL].kappa == approx(Fraction(8, 11))
    assert report.unused == [WERK]
    assert report.mean.kappa == approx((Fraction(10, 13) + Fraction(8, 11)) / 2)
    assert "sub-codes of impact" in report.scope
    # a path suffix names the same code; 'top' gives the top-level codes
    assert [c.code for c in run(project, ["anna", "ben"], level="financieel").codes] == [SCHULDEN]
    assert [c.code for c in run(project, ["anna", "ben"], level="top").codes] == [
        "impact",
        "doelgroep",
    ]


# --------------------------------------------------------------------------------------------
# Textbook values


def test_krippendorff_2011_nominal_example() -> None:
    """Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", the example with 4
    observers, 12 units and missing values; for nominal data the paper gives alpha = 0.743.

    By hand: unit 12 has one value and is not pairable; units 1-11 hold n = 40 values.
    Values per category: n_1 = 9, n_2 = 13, n_3 = 10, n_4 = 5, n_5 = 3, so Σ n_c² = 384.
    Matching pairs on the diagonal, Σ_u Σ_c n_uc (n_uc - 1)/(m_u - 1) over units 1..11:
    3 + 2 + 4 + 4 + 4 + 0 + 4 + 2 + 4 + 3 + 2 = 32.
    alpha = 1 - (n - 1)(n - Σ o_cc)/(n² - Σ n_c²) = 1 - 39·8/(1600 - 384) = 1 - 312/1216
          = 0.7434."""
    nan = math.nan
    data = [
        [1, 2, 3, 3, 2, 1, 4, 1, 2, nan, nan, nan],
        [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, nan, 3],
        [nan, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, nan],
        [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, nan],
    ]
    assert nominal_alpha(data) == pytest.approx(1 - 312 / 1216)
    assert round(nominal_alpha(data), 3) == 0.743


def test_cohens_kappa_textbook_example() -> None:
    """The classic 2×2 example with 50 items: both yes 20, only A yes 5, only B yes 10, both
    no 15. p_o = 35/50 = 0.7; A says yes 25/50 = 0.5, B 30/50 = 0.6, so
    p_e = 0.5·0.6 + 0.5·0.4 = 0.5 and kappa = (0.7 - 0.5)/(1 - 0.5) = 0.40."""
    assert cohen_kappa(20, 5, 10, 15) == pytest.approx(0.40)
    # undefined when both raters never (or always) say yes: chance agreement is 1
    assert cohen_kappa(0, 0, 0, 50) is None
    assert cohen_kappa(50, 0, 0, 0) is None


def test_kappa_and_alpha_match_other_implementations() -> None:
    """Cohen's kappa against scikit-learn's, and alpha for two coders without missing values
    against the closed form for binary data, on random yes/no decisions."""
    from sklearn.metrics import cohen_kappa_score

    rng = random.Random(7)
    for _ in range(25):
        n = rng.randint(5, 40)
        a = [rng.random() < 0.4 for _ in range(n)]
        b = [x if rng.random() < 0.7 else not x for x in a]
        if len(set(a) | set(b)) < 2:
            continue
        tp = sum(x and y for x, y in zip(a, b, strict=True))
        fp = sum(x and not y for x, y in zip(a, b, strict=True))
        fn = sum(y and not x for x, y in zip(a, b, strict=True))
        kappa = cohen_kappa(tp, fp, fn, n - tp - fp - fn)
        assert kappa == pytest.approx(cohen_kappa_score(a, b))
        ones, d = sum(a) + sum(b), fp + fn
        closed = 1 - (2 * n - 1) * d / (ones * (2 * n - ones))
        assert nominal_alpha([a, b]) == pytest.approx(closed)
    assert nominal_alpha([[0, 0, 0], [0, 0, 0]]) is None
    assert nominal_alpha([[1, 1], [1, 1]]) is None


# --------------------------------------------------------------------------------------------
# More coders, the machine, files, documents


def test_three_coders_alpha_over_all_kappa_per_pair(project: Path) -> None:
    """eenzaamheid on the 9 common segments, (anna, ben, carl):
    FG#2 (1,1,1)  FG#3 (1,0,1)  FG#6 (0,1,1)  FG#10 (1,1,1)  the other 5 (0,0,0).
        agreement (all three the same): 7/9
        kappa per pair: anna–ben 1/2 (as with two coders);
            anna–carl: both yes 3, only carl 1 (FG#6), both no 5 → p_e = (3·4 + 6·5)/81 → 10/13
            ben–carl: both yes 3, only carl 1 (FG#3), both no 5 → 10/13
            kappa = Light's kappa = (1/2 + 10/13 + 10/13)/3
        alpha: n = 27 values, n1 = 3+2+2+3 = 10, n0 = 17. A segment with values (1,1,0)
            adds 2 ordered (1,0) pairs and 2 (0,1) pairs, each weighted 1/(m - 1) = 1/2, so
            o_01 + o_10 = 2 + 2 = 4. D_o = 4/27, D_e = 2·10·17/(27·26) = 340/702,
            alpha = 1 - (4/27)/(340/702) = 1 - 104/340 = 59/85.
    jongeren: anna FG#4 #9, ben and carl none: ben–carl is undefined (both never), the other
        two pairs are 0, so kappa = 0 with a note."""
    report = run(project, ["anna", "ben", "carl"])
    assert report.common_segments == 9
    assert [(c.name, c.dropped) for c in report.coders] == [("anna", 1), ("ben", 1), ("carl", 0)]
    e = by_code(report)[EENZAAMHEID]
    assert e.agreement == approx(Fraction(7, 9))
    assert e.pair_kappas[("anna", "ben")] == approx(Fraction(1, 2))
    assert e.pair_kappas[("anna", "carl")] == approx(Fraction(10, 13))
    assert e.pair_kappas[("ben", "carl")] == approx(Fraction(10, 13))
    assert e.kappa == approx((Fraction(1, 2) + Fraction(20, 13)) / 3)
    assert e.alpha == approx(Fraction(59, 85))
    j = by_code(report)[JONGEREN]
    assert j.pair_kappas[("ben", "carl")] is None
    assert j.kappa == 0
    assert "ben–carl (both gave it to no segment)" in j.note

    result = invoke("agreement", "--project", project, "--coder", "anna", "--coder", "ben",
                    "--coder", "carl", "-f", "csv")  # fmt: skip
    assert result.exit_code == 0, result.output
    rows = {r["code"]: r for r in read_csv_text(result.stdout)}
    assert rows[EENZAAMHEID]["kappa anna–ben"] == "0.50"
    assert rows[EENZAAMHEID]["kappa ben–carl"] == "0.77"
    assert rows[EENZAAMHEID]["alpha"] == "0.69"
    assert rows[JONGEREN]["kappa ben–carl"] == "n/a"
    assert "all 3 coders" in result.stderr and "Light's kappa" in result.stderr


def test_coder_against_the_machine(project: Path) -> None:
    """The machine coded all 11 units; anna's 10 are common. eenzaamheid: the machine suggests
    FG#2 (0.55), #3 (0.70), #6 (0.55), #11 (0.75); anna gave FG#2, #3, #10, #11.
        threshold 0.50: both yes 3, only anna 1 (FG#10), only machine 1 (FG#6), both no 5:
            p_o = 8/10, p_e = (4·4 + 6·6)/100 = 52/100, kappa = 28/48 = 7/12
        threshold 0.60: machine keeps FG#3 and #11: both yes 2, only anna 2, both no 6:
            p_o = 8/10, p_e = (4·2 + 6·8)/100 = 56/100, kappa = 24/44 = 6/11"""
    machine = {(d, o) for d, o, c in suggested(project) if c == EENZAAMHEID}
    assert machine == {(FG, n) for n in (2, 3, 6, 11)}
    report = run(project, ["anna", "qualcode"])
    assert report.common_segments == 10
    assert [(c.name, c.coded, c.dropped) for c in report.coders] == [
        ("anna", 10, 0),
        ("qualcode", 11, 1),
    ]
    assert report.coders[1].source == "suggestions at threshold 0.50"
    assert by_code(report)[EENZAAMHEID].kappa == approx(Fraction(7, 12))
    stricter = run(project, ["anna", "qualcode"], threshold=0.6)
    assert by_code(stricter)[EENZAAMHEID].kappa == approx(Fraction(6, 11))
    assert stricter.coders[1].source == "suggestions at threshold 0.60"

    result = invoke("agreement", "-p", project, "--coder", "qualcode", "--coder", "anna")
    assert result.exit_code == 0, result.output
    assert "qualcode (suggestions at threshold 0.50): 11 segments coded" in result.stderr


def test_file_coders_give_the_same_figures_as_project_coders(project: Path) -> None:
    """anna.csv (commas, with extensions) and ben.csv (Dutch Excel: semicolons, CRLF,
    document names without extension) hold the coding of the table above."""
    from_project = run(project, ["anna", "ben"])
    from_files = run(project, [], [("A", FIXTURES / "anna.csv"), ("B", FIXTURES / "ben.csv")])
    assert from_files.common_segments == 9
    assert [(c.name, c.coded, c.dropped) for c in from_files.coders] == [("A", 10, 1), ("B", 10, 1)]
    for p, f in zip(from_project.codes, from_files.codes, strict=True):
        assert (p.code, p.agreement, p.kappa, p.alpha) == (f.code, f.agreement, f.kappa, f.alpha)
        assert list(p.given.values()) == list(f.given.values())
    # a file coder against a project coder and the machine, from the command line
    result = invoke("agreement", "-p", project, "--coder", "ben", "--file",
                    f"A={FIXTURES / 'anna.csv'}", "--level", "top")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "anna.csv): 10 segments coded, 1 not coded by the other coder" in result.stderr


def test_both_coders_always_give_a_code_is_na_with_reason(project: Path, tmp_path: Path) -> None:
    """x and y both give impact on both rows: no variation, so kappa and alpha for impact are
    undefined, reported as n/a with the reason and left out of the mean."""
    x = write(
        tmp_path / "x.csv", f"document,order,codes\n{FG},2,{EENZAAMHEID}\n{FG},3,{SCHULDEN}\n"
    )
    y = write(tmp_path / "y.csv", f"document,order,codes\n{FG},2,{EENZAAMHEID}\n{FG},3,{SOCIAAL}\n")
    report = run(project, [], [("x", x), ("y", y)])
    impact = by_code(report)["impact"]
    assert (impact.agreement, impact.kappa, impact.alpha) == (1.0, None, None)
    assert "every coder gave it to every segment" in impact.note
    assert "impact" in report.mean.note
    result = invoke("agreement", "-p", project, "--file", f"x={x}", "--file", f"y={y}",
                    "--format", "json")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "NaN" not in result.stdout
    rows = {r["code"]: r for r in json.loads(result.stdout)}
    assert rows["impact"]["kappa"] is None and "no variation" in rows["impact"]["note"]
    assert rows[EENZAAMHEID]["kappa"] == pytest.approx(1.0)
    table = invoke("agreement", "-p", project, "--file", f"x={x}", "--file", f"y={y}")
    line = next(r for r in table.stdout.splitlines() if r.startswith("impact "))
    assert "n/a" in line
    assert not re.search(r"\bnan\b", table.stdout, re.IGNORECASE)


def test_document_as_unit(project: Path) -> None:
    """Per document (over the 9 common segments): anna and ben differ only on jongeren in FG
    (anna yes, ben no): agreement 1/2, kappa: p_o = 1/2, p_e = (1·0 + 1·2)/4 = 1/2 → 0.
    eenzaamheid: both FG yes, INT no: kappa 1. impact: both give it to both documents: n/a."""
    report = run(project, ["anna", "ben"], unit="document")
    assert (report.common_segments, report.units) == (9, 2)
    codes = by_code(report)
    assert (codes[JONGEREN].agreement, codes[JONGEREN].kappa) == (0.5, 0.0)
    assert codes[EENZAAMHEID].kappa == 1.0
    assert codes["impact"].kappa is None and "every document" in codes["impact"].note
    assert [(d.unit.key, d.codes) for d in report.disagreements] == [(FG, (JONGEREN,))]


# --------------------------------------------------------------------------------------------
# The command and the disagreement file

# anna vs ben: the 5 common segments where they differ, the disputed codes most specific only
# (FG#4: doelgroep is disputed too, but jongeren says it), and what each gave.
DISAGREEMENTS = [
    (f"{FG}#3", EENZAAMHEID, EENZAAMHEID, SOCIAAL),
    (f"{FG}#4", JONGEREN, f"{SCHULDEN}; {JONGEREN}", SCHULDEN),
    (f"{FG}#6", EENZAAMHEID, "(no code)", EENZAAMHEID),
    (f"{FG}#9", JONGEREN, f"{OUDEREN}; {JONGEREN}", OUDEREN),
    (f"{INT}#8", SCHULDEN, "(no code)", SCHULDEN),
]


def test_command_prints_figures_and_writes_disagreements_csv(project: Path, tmp_path: Path) -> None:
    before = (project / "qualcode.db").read_bytes()
    target = tmp_path / "bespreking" / "verschillen.csv"
    result = invoke("agreement", "--project", project, "--coder", "anna", "--coder", "ben",
                    "-o", target)  # fmt: skip
    assert result.exit_code == 0, result.output
    assert (project / "qualcode.db").read_bytes() == before  # reading only
    lines = result.stdout.splitlines()
    assert lines[0].split() == [
        "code", "segments", "anna", "ben", "agreement", "kappa", "alpha", "note",
    ]  # fmt: skip
    eenzaam = next(line for line in lines if line.startswith(EENZAAMHEID))
    assert eenzaam.split() == [EENZAAMHEID, "9", "3", "3", "0.78", "0.50", "0.53"]
    assert not any(line.startswith(WERK) for line in lines)  # unused: listed below instead
    means = [f"{float(mean_of(i)):.2f}" for i in range(3)]  # 0.86 0.61 0.61
    assert lines[-2].split() == ["(mean", "over", "8", "codes)", *means]
    assert lines[-1].split()[:10] == [
        "(pooled", "over", "8", "codes", "×", "9", "segments)", "72", "20", "22",
    ]  # fmt: skip
    assert "Agreement between anna and ben: 9 segments coded by both" in result.stderr
    assert "anna (codings in the project): 10 segments coded, 1 not coded" in result.stderr
    assert "(1): impact/werk" in result.stderr
    assert f"Wrote 5 disagreements to {target}" in result.stderr

    text = target.read_text(encoding="utf-8-sig")
    rows = read_csv_text(text)
    assert list(rows[0]) == [
        "segment", "document", "speaker", "role", "disputed codes", "codes by anna",
        "codes by ben", "text",
    ]  # fmt: skip
    got = [(r["segment"], r["disputed codes"], r["codes by anna"], r["codes by ben"]) for r in rows]
    assert got == DISAGREEMENTS
    assert rows[0]["document"] == FG and rows[0]["speaker"] == "Deelnemer 2"
    assert rows[0]["text"].startswith("Het sociaal contact viel weg.")
    assert rows[4]["text"].startswith("Het was niet jouw schuld")


def test_disagreements_xlsx_has_the_list_and_the_figures(project: Path, tmp_path: Path) -> None:
    from openpyxl import load_workbook

    target = tmp_path / "verschillen.xlsx"
    result = invoke("agreement", "-p", project, "--coder", "anna", "--coder", "ben", "-o", target)
    assert result.exit_code == 0, result.output
    book = load_workbook(target)
    assert book.sheetnames == ["Disagreements", "Agreement per code"]
    sheet = [list(r) for r in book["Disagreements"].iter_rows(values_only=True)]
    header = sheet[0]
    assert header[:5] == ["segment", "document", "speaker", "role", "disputed codes"]
    pick = [header.index(c) for c in ("segment", "disputed codes", "codes by anna", "codes by ben")]
    assert [tuple(r[i] for i in pick) for r in sheet[1:]] == DISAGREEMENTS
    figures = {r[0]: r for r in book["Agreement per code"].iter_rows(values_only=True)}
    head = figures["code"]
    row = dict(zip(head, figures[EENZAAMHEID], strict=True))
    assert (row["segments"], row["anna"], row["ben"]) == (9, 3, 3)
    assert (row["agreement"], row["kappa"], row["alpha"]) == (0.778, 0.5, 0.528)
    werk = dict(zip(head, figures[WERK], strict=True))
    assert werk["kappa"] == "n/a" and "not used" in werk["note"]


def test_library_report_as_dataframe(project: Path) -> None:
    frame = to_frame(run(project, ["anna", "ben"]))
    assert list(frame.columns[:4]) == ["code", "segments", "anna", "ben"]
    eenzaam = frame.set_index("code").loc[EENZAAMHEID]
    assert eenzaam["kappa"] == pytest.approx(0.5)
    assert len(frame) == 9 + 2  # 9 codes, the mean and the pooled row


# --------------------------------------------------------------------------------------------
# Errors: one line, no traceback


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--coder", "zoe", "--coder", "anna"], "no codings by coder 'zoe'"),
        (["--coder", "anna"], "at least two coders"),
        ([], "at least two coders"),
        (["--coder", "anna", "--coder", "anna"], "coder 'anna' is given twice"),
        (["--coder", "dora", "--coder", "eva"], "no segment in common"),
        (["--coder", "anna", "--file", "anna.csv"], "should be NAME=FILE"),
        (["--coder", "anna", "--file", "B=missing.csv"], "missing.csv: coder file not found"),
        (["--coder", "anna", "--file", f"B={FIXTURES / 'header_only.csv'}"], "has no rows"),
        (
            ["--coder", "anna", "--file", f"B={FIXTURES / 'no_codes_column.csv'}"],
            "line 1: no 'codes' column",
        ),
        (
            ["--coder", "anna", "--file", f"B={FIXTURES / 'unknown_code.csv'}"],
            "line 3: unknown code 'impact/sociaal/armoede'",
        ),
        (["--coder", "anna", "--coder", "ben", "--level", "armoede"], "no code 'armoede'"),
        (["--coder", "anna", "--coder", "ben", "--level", "eenzaamheid"], "has no sub-codes"),
        (["--coder", "anna", "--coder", "ben", "-o", "verschillen.txt"], ".csv or .xlsx"),
        (
            ["--coder", "anna", "--coder", "qualcode", "--threshold", "0.3"],
            "stored at threshold 0.50",
        ),
    ],
)
def test_errors_are_one_line(project: Path, args: list[str], fragment: str) -> None:
    result = invoke("agreement", "--project", project, *args)
    assert_one_line_error(result, fragment)


def test_machine_without_suggestions_is_an_error(project: Path, tmp_path: Path) -> None:
    bare = copy_project(project, tmp_path / "bare")
    with open_project(bare) as proj, proj.transaction() as conn:
        conn.execute("DELETE FROM codings WHERE coder = 'qualcode'")
        conn.execute("DELETE FROM runs")
    result = invoke("agreement", "-p", bare, "--coder", "anna", "--coder", "qualcode")
    assert_one_line_error(result, "no suggestions yet")
    assert "qualcode suggest" in result.stderr
