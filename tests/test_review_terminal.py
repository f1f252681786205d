"""The interactive review driven by simulated key presses (CliRunner input): accept, reject,
skip, undo, other code, memo, quit; every decision saved at once; the order of suggestions;
and where the evidence is highlighted."""

from __future__ import annotations

from pathlib import Path

import click
import pytest
from click.testing import Result
from coding_helpers import (
    EENZAAMHEID,
    FG,
    INT,
    SCHULDEN,
    add_coding,
    assert_one_line_error,
    build_project,
    codings,
    connect,
    copy_project,
    invoke,
)

from qualcode.review import ReviewItem, order_items, review_items, uncertainty
from qualcode.review.terminal import ReviewSession, highlight_spans
from qualcode.store import open_project

# The open suggestions of the fixture project in reading order (document, order, code).
READING_ORDER = [
    (FG, 2, EENZAAMHEID),
    (FG, 3, EENZAAMHEID),
    (FG, 4, "doelgroep/jongeren"),
    (FG, 4, SCHULDEN),
    (FG, 6, EENZAAMHEID),
    (FG, 9, "doelgroep/jongeren"),
    (FG, 9, "doelgroep/ouderen"),
    (FG, 10, "impact/sociaal"),
    (FG, 11, "doelgroep/ouderen"),
    (FG, 11, EENZAAMHEID),
    (INT, 2, SCHULDEN),
    (INT, 10, SCHULDEN),
]


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_project(tmp_path_factory.mktemp("review_terminal") / "project")


@pytest.fixture
def project_dir(base: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("QUALCODE_CODER", raising=False)
    return copy_project(base, tmp_path / "project")


def review(project_dir: Path, keys: str, *args: str, coder: str = "anna") -> Result:
    return invoke("review", "-p", project_dir, "--coder", coder, *args, input=keys)


def decisions(project_dir: Path, coder: str = "anna") -> dict[tuple[str, int, str], tuple]:
    conn = connect(project_dir)
    try:
        rows = conn.execute(
            """
            SELECT d.name, s.ord, k.path, c.status, c.source, c.score FROM codings c
            JOIN segments s ON s.id = c.segment_id JOIN documents d ON d.id = s.document_id
            JOIN codes k ON k.id = c.code_id WHERE c.coder = ?
            """,
            (coder,),
        ).fetchall()
    finally:
        conn.close()
    return {(r[0], r[1], r[2]): (r[3], r[4], r[5]) for r in rows}


def memos(project_dir: Path) -> list[tuple]:
    conn = connect(project_dir)
    try:
        return [tuple(r) for r in conn.execute("SELECT target_type, coder, text FROM memos")]
    finally:
        conn.close()


def test_the_open_suggestions_in_reading_order(project_dir: Path) -> None:
    with open_project(project_dir) as proj:
        items = review_items(proj, "anna")
    assert [(i.segment.document, i.segment.order, i.code.path) for i in items] == READING_ORDER
    assert items[0].context.startswith("Moderator: Welkom allemaal.")


def test_accept_reject_skip_and_quit(project_dir: Path) -> None:
    result = review(project_dir, "arsq")
    assert result.exit_code == 0, result.output
    out = result.output
    assert "12 suggestions to review for anna" in out
    assert "[1 of 12]" in out and "[3 of 12]" in out and "[4 of 12]" not in out.split("skipped")[0]
    assert f"{FG}  #2  Deelnemer 1 (buurtbewoner)" in out
    assert "before: Moderator: Welkom allemaal." in out
    assert "code:   impact/sociaal/eenzaamheid  (Eenzaamheid)" in out
    assert "score:  0.55" in out and "why:    lemma 'vereenzamen'" in out
    assert "→ accepted" in out and "→ rejected" in out and "→ skipped" in out
    assert "Saved for anna: 1 accepted, 1 rejected; 1 skipped. 10 suggestions still open." in out
    got = decisions(project_dir)
    assert got[READING_ORDER[0]][:2] == ("accepted", "review:terminal")
    assert got[READING_ORDER[0]][2] == pytest.approx(0.55)  # the score is kept with the decision
    assert got[READING_ORDER[1]][0] == "rejected"
    assert len(got) == 2  # the skipped one stays open


def test_quitting_keeps_earlier_decisions_and_the_next_session_continues(
    project_dir: Path,
) -> None:
    review(project_dir, "aaq")
    result = review(project_dir, "q")
    assert "10 suggestions to review" in result.output
    assert "[1 of 10]" in result.output and "Saved for anna: no decisions" in result.output
    assert set(decisions(project_dir)) == set(READING_ORDER[:2])


@pytest.mark.parametrize("stop", ["", "\x03", "\x04"], ids=["end-of-input", "ctrl-c", "ctrl-d"])
def test_interrupting_loses_nothing(project_dir: Path, stop: str) -> None:
    result = review(project_dir, "ar" + stop + "a")
    assert result.exit_code == 0, result.output
    assert {k: v[0] for k, v in decisions(project_dir).items()} == (
        {READING_ORDER[0]: "accepted", READING_ORDER[1]: "rejected"}
        if stop
        else {
            READING_ORDER[0]: "accepted",
            READING_ORDER[1]: "rejected",
            READING_ORDER[2]: "accepted",
        }
    )


def test_undo_restores_the_previous_state(project_dir: Path) -> None:
    result = review(project_dir, "aruuq")
    assert "undone: rejected (suggestion 2)" in result.output
    assert "undone: accepted (suggestion 1)" in result.output
    assert result.output.count("[1 of 12]") == 2  # back on the first suggestion
    assert decisions(project_dir) == {}
    assert "nothing to undo" in review(project_dir, "uq").output


def test_undo_of_a_changed_decision_puts_the_old_row_back(project_dir: Path) -> None:
    add_coding(project_dir, FG, 2, EENZAAMHEID, "rejected", coder="anna")
    before = codings(project_dir, "anna")
    with open_project(project_dir) as proj:
        items = review_items(proj, "anna", include_decided=True)
        session = ReviewSession(proj, "anna", items)
        step = session.accept(0)
        assert codings(project_dir, "anna") != before
        assert session.undo() == step
        assert session.undo() is None
    assert codings(project_dir, "anna") == before


def test_other_code(project_dir: Path) -> None:
    result = review(project_dir, "o\nouderen\nq")
    assert "other code (path or id, empty to cancel): ouderen" in result.output
    assert "→ rejected; coded as doelgroep/ouderen instead" in result.output
    assert decisions(project_dir) == {
        (FG, 2, EENZAAMHEID): ("rejected", "review:terminal", pytest.approx(0.55)),
        (FG, 2, "doelgroep/ouderen"): ("manual", "review:terminal", None),
    }
    undone = review(project_dir, "u")  # a new session has nothing of the old one to undo
    assert "nothing to undo" in undone.output


def test_other_code_can_be_undone_in_one_step(project_dir: Path) -> None:
    review(project_dir, "o\nouderen\nuq")
    assert decisions(project_dir) == {}


def test_an_unknown_or_ambiguous_other_code_asks_again(project_dir: Path) -> None:
    result = review(project_dir, "o\narmoede\no\ns\no\n\nsq")
    assert "no code 'armoede' in this project" in result.output
    assert "code 's' is ambiguous" in result.output
    assert "→ skipped" in result.output
    assert decisions(project_dir) == {}


def test_memo(project_dir: Path) -> None:
    result = review(project_dir, "m\nMooi citaat over de buurvrouw.\naq")
    assert "→ memo saved" in result.output and "→ accepted" in result.output
    assert memos(project_dir) == [("segment", "anna", "Mooi citaat over de buurvrouw.")]
    assert decisions(project_dir)[READING_ORDER[0]][0] == "accepted"
    review(project_dir, "m\nweg ermee\nuq")
    assert len(memos(project_dir)) == 1  # the second memo was undone


def test_help_and_unknown_keys(project_dir: Path) -> None:
    result = review(project_dir, "?xq")
    assert "u  undo the last decision of this session" in result.output
    assert "unknown key 'x'" in result.output
    assert decisions(project_dir) == {}


def test_one_code_and_uncertain_order(project_dir: Path) -> None:
    with open_project(project_dir) as proj:
        proj.update_settings(threshold=0.7)
    result = review(project_dir, "aq", "--code", "schulden", "--order", "uncertain")
    assert "3 suggestions to review" in result.output
    first = result.output.split("[2 of 3]")[0]
    assert f"{FG}  #4" in first and "score:  0.60" in first  # 0.60 is nearest to 0.7
    assert set(decisions(project_dir)) == {(FG, 4, SCHULDEN)}


def test_uncertainty_is_the_distance_to_the_threshold(project_dir: Path) -> None:
    with open_project(project_dir) as proj:
        items = review_items(proj, "anna")
    ordered = order_items(items, "uncertain", 0.6)
    distances = [uncertainty(i.score, 0.6) for i in ordered]
    assert distances == sorted(distances) and distances[0] == 0.0
    assert uncertainty(None, 0.5) == float("inf")
    by_score = order_items(items, "score", 0.5)
    assert by_score[0].score == max(i.score or 0 for i in items)


def test_all_decided_leaves_nothing_to_review(project_dir: Path) -> None:
    review(project_dir, "a" * 12)
    result = review(project_dir, "a")
    assert "Nothing to review: no open suggestions for anna." in result.output
    assert "0 suggestions still open" in result.output
    other = review(project_dir, "q", coder="bob")
    assert "12 suggestions to review for bob" in other.output  # anna's work is not bob's


def test_the_coder_is_required_and_not_the_machine(
    project_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert_one_line_error(invoke("review", "-p", project_dir, input="a"), "no coder name")
    assert_one_line_error(review(project_dir, "a", coder="qualcode"), "reserved")
    monkeypatch.setenv("QUALCODE_CODER", "carla")
    result = invoke("review", "-p", project_dir, input="aq")
    assert "for carla" in result.output and set(decisions(project_dir, "carla"))


def test_highlight_finds_the_quoted_words() -> None:
    text = "Zeker. Mijn buurvrouw vereenzaamt, ze zag wekenlang niemand."
    explanation = "lemma 'vereenzamen' in \"...Mijn buurvrouw vereenzaamt, ze zag...\""
    assert [text[a:b] for a, b in highlight_spans(text, explanation)] == ["vereenzaamt"]
    phrase = "Het sociaal contact viel weg. Bij ons was het echt sociaal isolement."
    why = (
        "phrase 'sociaal isolement' in \"...was het echt sociaal isolement.\"; "
        "lemma 'sociaal' in \"Het sociaal contact viel...\" (+1 more)"
    )
    assert [phrase[a:b] for a, b in highlight_spans(phrase, why)] == [
        "sociaal", "sociaal isolement"
    ]  # fmt: skip
    compound = "Ja, we hadden flinke huurschulden. De post maakte ik niet meer open."
    why = "compound 'huurschulden' contains 'schuld' in \"...we hadden flinke huurschulden. De...\""
    assert [compound[a:b] for a, b in highlight_spans(compound, why)] == ["huurschulden"]
    assert highlight_spans(compound, "similar to example 1 of x (0.80)") == []


def test_highlight_of_a_pattern_is_the_match_without_context() -> None:
    text = "En dan zag ik dat hij de hele dag op zijn kamer zat met niemand om zich heen."
    why = "pattern 'op_je_kamer' in \"...hij de hele dag op zijn kamer zat met niemand om...\""
    assert [text[a:b] for a, b in highlight_spans(text, why)] == ["op zijn kamer"]


def test_review_items_show_earlier_decisions_when_asked(project_dir: Path) -> None:
    add_coding(project_dir, FG, 3, EENZAAMHEID, "accepted", coder="anna")
    with open_project(project_dir) as proj:
        open_items = review_items(proj, "anna")
        every: list[ReviewItem] = review_items(proj, "anna", include_decided=True)
    assert len(open_items) == 11 and len(every) == 12
    assert [i.decision for i in every if i.decision] == ["accepted"]


def test_highlight_styles_the_words_for_the_terminal() -> None:
    from qualcode.review.terminal import highlight

    text = "Zeker. Mijn buurvrouw vereenzaamt, ze zag wekenlang niemand."
    styled = highlight(text, "lemma 'vereenzamen' in \"...Mijn buurvrouw vereenzaamt, ze zag...\"")
    assert "\x1b[" in styled and click.unstyle(styled) == text
    start = styled.index("vereenzaamt")
    assert styled[:start].endswith("m") and "\x1b[0m" in styled[start:]
