"""Learning from decisions (``qualcode.suggest.learn``): what counts as a positive, negative and
weak negative example, when a code gets a model, how rejected and accepted codings change later
scores, that a person's rejection is final on that segment, determinism, and ``suggest
--no-learning``.

The study below is made for it: a focus group where the codebook (``coding.yaml``) goes wrong
in two systematic ways a researcher would notice while reviewing: the keyword ``eenzaam`` also
fires on a book club reading *Eenzaam op zee* (false positives), and self-employed people losing
their assignments have no ``impact/werk`` keyword at all (misses).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from coding_helpers import CODING_YAML, EENZAAMHEID, SCHULDEN, codings, copy_project, invoke, write

from qualcode.codebook import load_codebook
from qualcode.evaluate import score, with_ancestors
from qualcode.nlp import load_pipeline
from qualcode.segments import coded_units
from qualcode.store import DEFAULT_SETTINGS, now, open_project
from qualcode.suggest import (
    CodebookScores,
    ScoringConfig,
    load_tokens,
    score_all,
    score_segments,
    select,
    suggest_from_scores,
)
from qualcode.suggest.learn import (
    MIN_POSITIVE,
    Decision,
    LearningConfig,
    blocked_pairs,
    code_labels,
    learn,
    load_decisions,
)

WERK = "impact/werk"
DOC = "fg_leren.txt"
# segment order → what the researcher (and the reference) says
LONELY = [2, 3, 4, 5, 6, 7, 8, 9]  # eenzaamheid, with the keyword
BOOK_CLUB = [11, 12, 13, 14, 15]  # 'Eenzaam op zee': no code
SELF_EMPLOYED = [17, 18, 19, 20, 21, 22, 23]  # impact/werk, no keyword
DEBTS = [25, 26, 27, 28, 29, 30]  # schulden, with the keyword

TURNS = [
    ("Moderator", "Wat hebben jullie gezien in de wijk tijdens de lockdown?"),
    (
        "Deelnemer 1",
        "Mijn buurvrouw is sinds de dood van haar man erg eenzaam, ze ziet haar kinderen "
        "bijna nooit en belt huilend op.",
    ),
    (
        "Deelnemer 2",
        "Veel bewoners in de flat voelden zich eenzaam, de dagen waren lang en stil "
        "zonder visite of familie.",
    ),
    (
        "Deelnemer 3",
        "Die eenzaamheid zag je overal, mensen zaten maandenlang binnen zonder familie of"
        " vrienden te zien.",
    ),
    (
        "Deelnemer 4",
        "Een oude man vertelde dat hij zo eenzaam was dat hij met zijn kat praatte, "
        "familie kwam nooit langs.",
    ),
    (
        "Deelnemer 1",
        "De eenzaamheid onder bewoners nam toe, vooral mensen zonder familie hadden "
        "niemand om mee te praten.",
    ),
    (
        "Deelnemer 2",
        "Mijn moeder voelde zich eenzaam in het verpleeghuis, de familie mocht wekenlang "
        "niet op bezoek komen.",
    ),
    (
        "Deelnemer 3",
        "Ook jonge mensen waren eenzaam, ze zaten alleen op hun kamer zonder vrienden of "
        "familie in de buurt.",
    ),
    (
        "Deelnemer 4",
        "Hij was eenzaam en verdrietig, zijn vrienden en familie bleven weg en de "
        "telefoon ging nooit.",
    ),
    ("Moderator", "Hadden jullie zelf nog ontspanning?"),
    (
        "Deelnemer 1",
        "In de leesclub lazen we het boek Eenzaam op zee, over een zeiler die in zijn "
        "boot alleen de oceaan overstak.",
    ),
    (
        "Deelnemer 2",
        "De leesclub besprak het hoofdstuk uit Eenzaam op zee waarin de zeiler zijn boot "
        "repareert na de storm.",
    ),
    (
        "Deelnemer 3",
        "Iedereen in de leesclub vond het boek Eenzaam op zee spannend, vooral de storm "
        "in het derde hoofdstuk.",
    ),
    (
        "Deelnemer 4",
        "Voor de leesclub moest ik het boek Eenzaam op zee uitlezen, het verhaal van de "
        "zeiler en zijn boot was prachtig.",
    ),
    (
        "Deelnemer 1",
        "Volgende week bespreekt de leesclub het laatste hoofdstuk van het boek Eenzaam "
        "op zee, over de zeiler en de storm.",
    ),
    ("Moderator", "En het werk?"),
    (
        "Deelnemer 2",
        "Als zzp'er verloor ik al mijn opdrachten, de klanten belden af en mijn omzet was"
        " in een maand verdwenen.",
    ),
    (
        "Deelnemer 3",
        "Mijn zwager is zzp'er in de evenementen, alle opdrachten werden geschrapt en hij"
        " had geen klanten meer.",
    ),
    (
        "Deelnemer 4",
        "De zzp'ers in onze wijk zagen hun opdrachten verdwijnen, klanten stelden alle "
        "opdrachten uit tot na de crisis.",
    ),
    (
        "Deelnemer 1",
        "Zij werkte als zzp'er in de horeca en had ineens geen opdrachten en geen klanten"
        " meer, de omzet viel weg.",
    ),
    (
        "Deelnemer 2",
        "Veel zzp'ers hadden geen opdrachten meer, de omzet zakte in en de klanten kwamen"
        " niet terug.",
    ),
    (
        "Deelnemer 3",
        "Een kennis die zzp'er is kreeg geen nieuwe opdrachten, zijn vaste klanten gingen"
        " failliet en de omzet verdween.",
    ),
    (
        "Deelnemer 4",
        "Ook de zzp'er van de fotostudio kreeg geen opdrachten meer, alle klanten zegden "
        "af en de omzet was weg.",
    ),
    ("Moderator", "En geldzaken?"),
    (
        "Deelnemer 1",
        "Door de crisis kreeg hij schulden, de huur bleef liggen en de rekeningen van "
        "energie stapelden zich op.",
    ),
    (
        "Deelnemer 2",
        "Ze had een betalingsachterstand bij de zorgverzekering en durfde de brieven van "
        "de deurwaarder niet te openen.",
    ),
    (
        "Deelnemer 3",
        "Jonge mensen liepen schulden op bij webwinkels, achteraf betalen werd een "
        "valkuil met incassokosten.",
    ),
    (
        "Deelnemer 4",
        "Een gezin in onze straat had huurschulden en moest naar de schuldhulpverlening "
        "van de gemeente.",
    ),
    (
        "Deelnemer 1",
        "De schulden van zijn bedrijf werden zo hoog dat de bank de rekening blokkeerde "
        "en de deurwaarder kwam.",
    ),
    (
        "Deelnemer 2",
        "Door de schuld bij de energieleverancier werd het gas afgesloten en zat het "
        "gezin in de kou.",
    ),
]
TRANSCRIPT = "\n\n".join(f"{speaker}: {text}" for speaker, text in TURNS)


def reference_codes(order: int) -> set[str]:
    """What the researcher codes on segment ``order`` (the most specific codes)."""
    for orders, codes in (
        (LONELY, {EENZAAMHEID}),
        (SELF_EMPLOYED, {WERK}),
        (DEBTS, {SCHULDEN}),
    ):
        if order in orders:
            return codes
    return set()


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The study ingested and suggested once with coding.yaml, nobody has decided yet."""
    from qualcode.pipeline import run

    root = tmp_path_factory.mktemp("learn")
    write(root / "corpus" / DOC, TRANSCRIPT)
    run([root / "corpus"], out=root / "project", codebook=CODING_YAML)
    return root / "project"


@pytest.fixture
def work(built: Path, tmp_path: Path) -> Path:
    return copy_project(built, tmp_path / "project")


@pytest.fixture(scope="module")
def scored(built: Path) -> tuple[CodebookScores, dict[int, int]]:
    """The codebook's scores for every (segment, code) pair, and segment order → id."""
    with open_project(built) as project:
        segments = coded_units(project)
        pipeline = load_pipeline(DEFAULT_SETTINGS["spacy_model"])
        tokens = load_tokens(project, pipeline, segments)
        scores = score_all(load_codebook(CODING_YAML), pipeline, segments, tokens, ScoringConfig())
    return scores, {s.order: s.id for s in segments}


def decide(project_dir: Path, *rows: tuple[int, str, str], coder: str = "anna") -> None:
    """A person's decisions (segment order, code, status), stored like the review commands do."""
    with open_project(project_dir) as project, project.transaction() as conn:
        ids = {s.order: s.id for s in coded_units(project)}
        codes = dict(conn.execute("SELECT path, id FROM codes").fetchall())
        conn.executemany(
            "INSERT INTO codings (segment_id, code_id, coder, status, source, created_at,"
            " updated_at) VALUES (?, ?, ?, ?, 'review', ?, ?)",
            [
                (ids[order], codes[code], coder, status, now(), now())
                for order, code, status in rows
            ],
        )


def decisions(ids: dict[int, int], *rows: tuple[int, str, str], coder: str = "anna") -> list:
    return [Decision(ids[order], code, coder, status) for order, code, status in rows]


def machine(project_dir: Path) -> dict[tuple[int, str], tuple[float, str, str]]:
    """The stored suggestions: (segment order, code) → (score, source, explanation)."""
    with open_project(project_dir) as project:
        rows = project.conn.execute(
            "SELECT s.ord, k.path, c.score, c.source, c.explanation FROM codings c"
            " JOIN segments s ON s.id = c.segment_id JOIN codes k ON k.id = c.code_id"
            " WHERE c.coder = 'qualcode' AND c.status = 'suggested'"
        ).fetchall()
    return {(r[0], r[1]): (r[2], r[3], r[4]) for r in rows}


def column(scores: CodebookScores, ids: dict[int, int], orders: list[int], code: str) -> list:
    """The codebook's own score of ``code`` on these segments."""
    rows = [scores.segment_ids.index(ids[o]) for o in orders]
    return [float(scores.score[r, scores.column(code)]) for r in rows]


def blended(learned, scores: CodebookScores, ids: dict[int, int], orders: list[int], code: str):
    final, _ = learned.blend(scores)
    rows = [scores.segment_ids.index(ids[o]) for o in orders]
    return [float(final[r, scores.column(code)]) for r in rows]


LONELY_ACCEPTED = [(o, EENZAAMHEID, "accepted") for o in LONELY[:5]]
BOOK_CLUB_REJECTED = [(o, EENZAAMHEID, "rejected") for o in BOOK_CLUB[:3]]


# -- what counts as an example ---------------------------------------------------------------

CODES = ["impact", "impact/sociaal", EENZAAMHEID, "impact/financieel", SCHULDEN, WERK]


def test_positives_roll_up_and_rejections_roll_down() -> None:
    labels = code_labels(
        [
            Decision(1, EENZAAMHEID, "anna", "accepted"),
            Decision(2, "impact/sociaal", "anna", "rejected"),
            Decision(3, SCHULDEN, "anna", "manual"),
            Decision(3, EENZAAMHEID, "anna", "rejected"),
        ],
        CODES,
    )
    # segment 1: eenzaamheid, and so impact/sociaal and impact
    assert {c for c in CODES if labels.get(c) and labels[c].labels.get(1) == (1, 1.0)} == {
        "impact",
        "impact/sociaal",
        EENZAAMHEID,
    }
    # segment 2: not social, so not lonely either; and it casts doubt on impact (a weak
    # negative), without ruling it out
    weak = LearningConfig().weak_negative_weight
    assert labels["impact/sociaal"].labels[2] == (0, 1.0)
    assert labels[EENZAAMHEID].labels[2] == (0, 1.0)
    assert labels["impact"].labels[2] == (0, weak)
    # segment 3: rejecting the leaf is no verdict on its parent; the parent is only a weak
    # negative (anna coded the segment, with something else)
    assert labels[EENZAAMHEID].labels[3] == (0, 1.0)
    assert labels["impact/sociaal"].labels[3] == (0, weak)
    assert labels[WERK].labels[3] == (0, weak)
    assert labels[SCHULDEN].labels[3] == (1, 1.0)
    # a segment with only a rejection gives no weak negatives: nobody coded it
    assert 2 not in labels[WERK].labels
    assert (labels[EENZAAMHEID].positives, labels[EENZAAMHEID].negatives) == (1, 2)
    sociaal = labels["impact/sociaal"]
    assert (sociaal.positives, sociaal.negatives, sociaal.weak_negatives) == (1, 1, 1)


def test_coders_disagreeing_majority_counts_and_a_tie_is_left_out() -> None:
    labels = code_labels(
        [
            Decision(1, EENZAAMHEID, "anna", "accepted"),
            Decision(1, EENZAAMHEID, "bram", "rejected"),
            Decision(2, EENZAAMHEID, "anna", "accepted"),
            Decision(2, EENZAAMHEID, "bram", "accepted"),
            Decision(2, EENZAAMHEID, "carla", "rejected"),
            Decision(3, SCHULDEN, "anna", "accepted"),
            Decision(3, EENZAAMHEID, "bram", "manual"),
        ],
        CODES,
    )
    assert 1 not in labels[EENZAAMHEID].labels  # one against one
    assert labels[EENZAAMHEID].labels[2] == (1, 1.0)  # two against one
    # anna did not code eenzaamheid on 3 (a weak negative) but bram did: bram's decision counts
    assert labels[EENZAAMHEID].labels[3] == (1, 1.0)


def test_a_rejection_blocks_the_code_and_its_sub_codes_on_that_segment_only() -> None:
    blocked = blocked_pairs(
        [
            Decision(7, "impact/sociaal", "anna", "rejected"),
            Decision(8, SCHULDEN, "bram", "rejected"),
            Decision(9, WERK, "anna", "accepted"),
        ],
        CODES,
    )
    assert blocked == {(7, "impact/sociaal"), (7, EENZAAMHEID), (8, SCHULDEN)}


def test_the_blend_weight_grows_with_the_number_of_decisions() -> None:
    config = LearningConfig()
    weights = [config.weight(n) for n in (MIN_POSITIVE, 10, 30, 100, 1000)]
    assert weights == sorted(weights)
    assert 0 < weights[0] < 0.5 < weights[-1] <= config.max_weight
    assert config.weight(config.half_weight_decisions) == pytest.approx(config.max_weight / 2)


def test_score_segments_is_still_the_codebook_alone(built: Path, scored) -> None:
    scores, _ = scored
    with open_project(built) as project:
        segments = coded_units(project)
        pipeline = load_pipeline(DEFAULT_SETTINGS["spacy_model"])
        tokens = load_tokens(project, pipeline, segments)
    book = load_codebook(CODING_YAML)
    plain = score_segments(book, pipeline, segments, tokens, ScoringConfig())
    assert plain == select(scores)
    assert {(s.code, s.source) for s in plain if s.segment_id == scores.segment_ids[0]} == {
        (EENZAAMHEID, "lexical")
    }
    # the stored suggestions of the fresh project are exactly these
    stored = machine(built)
    order = {s.id: s.order for s in segments}
    assert {(order[s.segment_id], s.code): s.score for s in plain} == {
        k: v[0] for k, v in stored.items()
    }


# -- when a model is used ------------------------------------------------------------------------


def test_no_model_below_the_minimum_number_of_positive_decisions(scored) -> None:
    scores, ids = scored
    few = decisions(ids, *LONELY_ACCEPTED[: MIN_POSITIVE - 1], *BOOK_CLUB_REJECTED)
    learned = learn(scores, few)
    assert learned.models == {} and learned.probabilities == {}  # sklearn never ran
    waiting = {m.code: m for m in learned.report.waiting}
    assert waiting[EENZAAMHEID].positives == MIN_POSITIVE - 1
    # the scores are the codebook's, apart from the three rejected pairs, which are gone
    with_learning, report = suggest_from_scores(scores, few, learning=LearningConfig())
    rejected = {(ids[o], c) for o, c, _ in BOOK_CLUB_REJECTED}
    codebook = [s for s in select(scores) if (s.segment_id, s.code) not in rejected]
    assert with_learning == codebook
    assert report.models == [] and not any("model" in s.source for s in with_learning)


def test_a_model_is_used_from_the_minimum_on(scored) -> None:
    scores, ids = scored
    enough = decisions(ids, *LONELY_ACCEPTED, *BOOK_CLUB_REJECTED)
    suggestions, report = suggest_from_scores(scores, enough, learning=LearningConfig())
    models = {m.code: m for m in report.models}
    # the book-club rejections doubt the parents: weak negatives next to the rolled-up positives
    assert {code: (m.positives, m.negatives, m.weak_negatives) for code, m in models.items()} == {
        "impact": (MIN_POSITIVE, 0, 3),
        "impact/sociaal": (MIN_POSITIVE, 0, 3),
        EENZAAMHEID: (MIN_POSITIVE, 3, 0),
    }
    model = models[EENZAAMHEID]
    assert model.decisions == MIN_POSITIVE + 3
    assert model.weight == pytest.approx(LearningConfig().weight(MIN_POSITIVE + 3))
    lonely = [s for s in suggestions if s.code == EENZAAMHEID]
    assert lonely and all(s.source.endswith("+model") for s in lonely)
    for s in lonely:
        # the codebook's reason, then the model's, in plain words
        assert s.explanation.startswith("lemma 'eenzaam")
        assert f"; geleerd van {MIN_POSITIVE + 3} besluiten ({s.model:.2f})" in s.explanation
        assert 0 <= s.model <= 1
    # a run for some codes only (--codes) suggests for them what a full run does
    partial, _ = suggest_from_scores(scores, enough, scope={EENZAAMHEID}, learning=LearningConfig())
    assert partial == lonely
    # codes without a model are scored as before
    assert [s for s in suggestions if s.code == SCHULDEN] == [
        s for s in select(scores) if s.code == SCHULDEN
    ]


def test_rejected_suggestions_lower_the_code_there_and_on_similar_passages(scored) -> None:
    scores, ids = scored
    learned = learn(scores, decisions(ids, *LONELY_ACCEPTED, *BOOK_CLUB_REJECTED))
    rejected, unseen = BOOK_CLUB[:3], BOOK_CLUB[3:]
    before = column(scores, ids, rejected + unseen, EENZAAMHEID)
    after = blended(learned, scores, ids, rejected + unseen, EENZAAMHEID)
    assert min(before) >= 0.5  # the codebook suggests eenzaamheid on every book-club passage
    assert all(a < b for a, b in zip(after, before, strict=True)), (before, after)
    # the two book-club passages nobody decided on drop under the threshold
    assert max(after[len(rejected) :]) < 0.5
    # while the accepted kind of passage stays suggested and on the whole goes up, also
    # where nobody decided (LONELY[5:])
    lonely_before = column(scores, ids, LONELY, EENZAAMHEID)
    lonely_after = blended(learned, scores, ids, LONELY, EENZAAMHEID)
    assert min(lonely_after) > 0.5
    assert sum(lonely_after) > sum(lonely_before)


def test_accepted_and_manual_codings_raise_similar_passages(scored) -> None:
    scores, ids = scored
    coded = [(o, WERK, "manual") for o in SELF_EMPLOYED[:5]]
    other = [(o, SCHULDEN, "accepted") for o in DEBTS[:2]] + LONELY_ACCEPTED[:2]
    learned = learn(scores, decisions(ids, *coded, *other))
    assert list(learned.models) == [WERK]
    unseen = SELF_EMPLOYED[5:]
    assert column(scores, ids, unseen, WERK) == [0.0, 0.0]  # no keyword: the codebook misses it
    raised = blended(learned, scores, ids, unseen, WERK)
    elsewhere = blended(learned, scores, ids, BOOK_CLUB + DEBTS[2:], WERK)
    assert min(raised) > max(elsewhere) >= 0.0
    assert min(raised) > 0.1


# -- qualcode suggest with decisions in the project ----------------------------------------------

REVIEWED = [*LONELY_ACCEPTED, *BOOK_CLUB_REJECTED, (DEBTS[0], "impact/financieel", "rejected")]


def test_suggest_learns_and_says_so_and_respects_every_decision(work: Path) -> None:
    decide(work, *REVIEWED)
    decide(work, (LONELY[0], EENZAAMHEID, "accepted"), coder="bram")  # a second coder agrees
    people = {coder: codings(work, coder) for coder in ("anna", "bram")}
    before = machine(work)

    result = invoke("suggest", "--project", work)
    assert result.exit_code == 0, result.output

    # what the model did, per code, in plain words
    assert "Learned from 10 decisions (a code needs 5 positive decisions); 3 codes with" in (
        result.stdout
    )
    [line] = [ln for ln in result.stdout.splitlines() if ln.strip().startswith(EENZAAMHEID)]
    assert "8 decisions (5 coded, 3 rejected); model counts for 36%" in line
    lines = result.stdout.splitlines()
    models = [ln.split() for ln in lines if ln.startswith("  ") and "decisions (" in ln]
    assert [words[0] for words in models] == ["impact", "impact/sociaal", EENZAAMHEID]
    [line] = [ln for ln in result.stdout.splitlines() if "impact/sociaal   " in ln and "(" in ln]
    assert "5 decisions (5 coded, 0 rejected, left out on 3 more); model counts for 27%" in line
    # codes with decisions but no model yet: schulden was only ever left out or rejected
    assert "No model yet (too few decisions): " in result.stdout
    waiting = " ".join(result.stdout.split("No model yet")[1].split())
    assert "impact/financieel/schulden (0 coded, 1 rejected, left out on 5)" in waiting
    after = machine(work)
    score, source, explanation = after[(LONELY[6], EENZAAMHEID)]  # nobody decided on this one
    assert source == "lexical+model"
    assert re.fullmatch(r"lemma 'eenzaam' in .*; geleerd van 8 besluiten \(0\.\d\d\)", explanation)
    assert score > 0.5
    # rejected pairs are never suggested again, a rejected parent takes its sub-codes along
    assert not {(o, c) for o, c, status in REVIEWED if status == "rejected"} & set(after)
    assert (DEBTS[0], SCHULDEN) in before and (DEBTS[0], SCHULDEN) not in after
    # an undecided book-club passage like the rejected ones is no longer suggested, and the
    # rejected keyword evidence does not come back as the parent code either
    assert (BOOK_CLUB[4], EENZAAMHEID) in before and (BOOK_CLUB[4], EENZAAMHEID) not in after
    assert not [key for key in after if key[0] in BOOK_CLUB]
    # the people's own codings are untouched, byte for byte
    assert {coder: codings(work, coder) for coder in people} == people


def test_no_learning_gives_the_codebook_only_suggestions(work: Path, built: Path) -> None:
    decide(work, *REVIEWED)
    result = invoke("suggest", "--project", work, "--no-learning")
    assert result.exit_code == 0, result.output
    assert "Learning from decisions: off (--no-learning); the codebook alone decides." in (
        result.stdout
    )
    rejected = {(o, c) for o, c, status in REVIEWED if status == "rejected"}
    rejected.add((DEBTS[0], SCHULDEN))  # under the rejected impact/financieel
    codebook = {k: v for k, v in machine(built).items() if k not in rejected}
    assert machine(work) == codebook
    assert not any("model" in source for _, source, _ in codebook.values())


def test_without_decisions_suggest_says_the_codebook_decides(work: Path, built: Path) -> None:
    result = invoke("suggest", "--project", work)
    assert result.exit_code == 0, result.output
    assert (
        "Learning from decisions: no decisions yet, a code needs 5 positive decisions;"
        " the codebook alone decides." in result.stdout
    )
    assert machine(work) == machine(built)


def test_learning_is_deterministic(built: Path, tmp_path: Path, scored) -> None:
    scores, ids = scored
    runs = []
    for n in (1, 2):
        project = copy_project(built, tmp_path / f"run{n}")
        decide(project, *REVIEWED, *[(o, WERK, "manual") for o in SELF_EMPLOYED[:5]])
        assert invoke("suggest", "-p", project, "-t", "0.1").exit_code == 0
        runs.append(machine(project))
    assert runs[0] == runs[1]
    assert any(source == "model" for _, source, _ in runs[0].values())  # werk, raised alone
    with open_project(built) as project:
        assert load_decisions(project) == []
    same = decisions(ids, *REVIEWED)
    first, second = learn(scores, same), learn(scores, same)
    assert first.report.models == second.report.models
    for code, p in first.probabilities.items():
        assert p.tolist() == second.probabilities[code].tolist()


def test_learning_improves_f1_on_held_out_reference_segments(work: Path, built: Path) -> None:
    """Decide on about half of each kind of passage; the other half is held out."""
    trained = {*LONELY[:5], *BOOK_CLUB[:3], *SELF_EMPLOYED[:5], *DEBTS[:3]}
    suggested = machine(built)
    rows = []
    for order in sorted(trained):
        wanted = reference_codes(order)
        rows += [(order, c, "accepted" if (order, c) in suggested else "manual") for c in wanted]
        rows += [(o, c, "rejected") for o, c in suggested if o == order and c not in wanted]
    decide(work, *rows)
    assert invoke("suggest", "-p", work).exit_code == 0

    with open_project(work) as project:
        ids = {s.order: s.id for s in coded_units(project)}
    held_out = {ids[o]: with_ancestors(reference_codes(o)) for o in ids if o not in trained}
    book = load_codebook(CODING_YAML)

    def f1(stored: dict) -> float:
        predicted: dict[int, set[str]] = {}
        for order, code in stored:
            predicted.setdefault(ids[order], set()).update(with_ancestors([code]))
        result = score(held_out, predicted, book)
        leaves = [s for s in result.codes if book.by_path[s.code].is_leaf]
        tp = sum(s.true_positives for s in leaves)
        return 2 * tp / sum(s.predicted + s.support for s in leaves)

    before, after = f1(suggested), f1(machine(work))
    assert after > before, (before, after)
