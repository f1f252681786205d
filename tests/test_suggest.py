"""``qualcode suggest`` on the fixture corpus: what is stored, what is never suggested, what a
re-run keeps, the ``segments`` filters and the explanations."""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path

import pytest
from coding_helpers import (
    ANNOTATION_ONLY_UNITS,
    CHANGED_YAML,
    CODED_UNITS,
    CODING_YAML,
    EENZAAMHEID,
    FG,
    INT,
    INTERVIEWER_UNITS,
    SCHULDEN,
    add_coding,
    assert_one_line_error,
    build_project,
    codings,
    connect,
    copy_project,
    invoke,
    lexical_match,
    segment_ids,
    suggested,
    write,
)

from qualcode.codebook import load_codebook
from qualcode.codes import CodeRemoval
from qualcode.evaluate import machine_codings, score, with_ancestors
from qualcode.store import open_project
from qualcode.suggest import Suggestion, _most_specific
from qualcode.suggest import suggest as run_suggest

JONGEREN = "doelgroep/jongeren"
OUDEREN = "doelgroep/ouderen"


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The fixture corpus ingested and suggested once (with coding.yaml)."""
    return build_project(tmp_path_factory.mktemp("suggest") / "out")


@pytest.fixture
def work(built: Path, tmp_path: Path) -> Path:
    """A private copy of the built project, for tests that change it."""
    return copy_project(built, tmp_path / "project")


@pytest.fixture
def reviewed(work: Path) -> Path:
    """The project after a coder 'anna' accepted, rejected and added codes by hand."""
    add_coding(work, FG, 2, EENZAAMHEID, "accepted")  # the machine suggested it too
    add_coding(work, FG, 6, EENZAAMHEID, "rejected")  # 'ik weet niet of ze eenzaam is'
    add_coding(work, FG, 4, JONGEREN, "manual")  # jongeren is gone in coding_changed.yaml
    add_coding(work, INT, 8, SCHULDEN, "manual")  # where the machine suggested nothing
    return work


def segment_text(project_dir: Path, document: str, order: int) -> str:
    with connect(project_dir) as conn:
        row = conn.execute(
            "SELECT substr(d.text, s.start + 1, s.end - s.start) FROM segments s"
            " JOIN documents d ON d.id = s.document_id WHERE d.name = ? AND s.ord = ?",
            (document, order),
        ).fetchone()
    return row[0]


def machine_rows(project_dir: Path) -> dict[tuple[str, int, str], sqlite3.Row]:
    conn = connect(project_dir)
    try:
        rows = conn.execute(
            """
            SELECT d.name, s.ord, k.path, c.* FROM codings c
            JOIN segments s ON s.id = c.segment_id JOIN documents d ON d.id = s.document_id
            JOIN codes k ON k.id = c.code_id WHERE c.coder = 'qualcode'
            """
        ).fetchall()
    finally:
        conn.close()
    return {(r["name"], r["ord"], r["path"]): r for r in rows}


# -- what is suggested -----------------------------------------------------------------------


def test_expected_lexical_suggestions(built: Path) -> None:
    found = suggested(built)
    for unit in [
        (FG, 2, EENZAAMHEID),  # vereenzaamt
        (FG, 3, EENZAAMHEID),  # sociaal isolement
        (FG, 4, SCHULDEN),  # schulden, studieschuld
        (FG, 6, EENZAAMHEID),  # 'ik weet niet of ze eenzaam is': the negation is elsewhere
        (FG, 9, OUDEREN),  # oudere
        (FG, 9, JONGEREN),  # tiener
        (FG, 10, "impact/sociaal"),  # sociaal contact, no sub-code
        (INT, 2, SCHULDEN),  # huurschulden
        (INT, 10, SCHULDEN),
    ]:
        assert unit in found
    # 'ik voel me niet eenzaam': negated; 'het was niet jouw schuld': excluded by the pattern
    assert not {c for d, o, c in found if (d, o) == (INT, 6)}
    assert not {c for d, o, c in found if (d, o) == (INT, 8)}


def test_scores_sources_and_run(built: Path) -> None:
    rows = machine_rows(built)
    assert rows
    with connect(built) as conn:
        [run_id] = [r[0] for r in conn.execute("SELECT id FROM runs WHERE command = 'suggest'")]
    for row in rows.values():
        assert row["status"] == "suggested"
        assert 0.5 <= row["score"] <= 1.0
        assert row["source"] in {"lexical", "similarity", "lexical+similarity"}
        assert row["explanation"]
        assert row["run_id"] == run_id


# -- roll-up ---------------------------------------------------------------------------------


def test_leaf_is_stored_without_its_parent(built: Path) -> None:
    text = segment_text(built, FG, 3)
    assert "sociaal contact" in text and "sociaal isolement" in text
    # both the parent (keyword 'sociaal contact') and the leaf match lexically ...
    assert {"impact/sociaal", EENZAAMHEID} <= set(lexical_match(text))
    # ... but only the most specific code is stored
    codes = {c for d, o, c in suggested(built) if (d, o) == (FG, 3)}
    assert codes == {EENZAAMHEID}
    # a parent alone (no sub-code suggested) is stored as itself
    assert {c for d, o, c in suggested(built) if (d, o) == (FG, 10)} == {"impact/sociaal"}


def test_most_specific_drops_every_implied_ancestor() -> None:
    def s(code: str) -> Suggestion:
        return Suggestion(1, code, 0.9, "lexical", "")

    candidates = {c: s(c) for c in ["impact", "impact/sociaal", EENZAAMHEID, OUDEREN, "doel"]}
    assert set(_most_specific(candidates)) == {EENZAAMHEID, OUDEREN, "doel"}
    # 'doelgroep' is not implied by 'doel' (paths, not string prefixes)
    assert set(_most_specific({"doel": s("doel"), "doelgroep": s("doelgroep")})) == {
        "doel",
        "doelgroep",
    }


def test_with_ancestors_counts_a_leaf_for_its_parents() -> None:
    assert with_ancestors([EENZAAMHEID]) == {"impact", "impact/sociaal", EENZAAMHEID}
    assert with_ancestors([OUDEREN, JONGEREN]) == {"doelgroep", OUDEREN, JONGEREN}
    assert with_ancestors(["/impact/"]) == {"impact"}


def test_evaluation_rolls_up_and_counts_a_segment_once_per_parent(built: Path) -> None:
    ids = segment_ids(built)
    book = load_codebook(CODING_YAML)
    with open_project(built) as project:
        predicted = machine_codings(project)
    # the stored leaf counts for its parent and grandparent
    assert {"impact", "impact/sociaal", EENZAAMHEID} <= predicted[ids[(FG, 3)]]
    # FG#9 has two sub-codes of doelgroep: the segment counts once for doelgroep
    assert {OUDEREN, JONGEREN, "doelgroep"} <= predicted[ids[(FG, 9)]]
    reference = {
        ids[(FG, 9)]: with_ancestors([OUDEREN]),
        ids[(INT, 2)]: with_ancestors([SCHULDEN]),
        ids[(INT, 6)]: set(),
    }
    result = {s.code: s for s in score(reference, predicted, book).codes}
    doelgroep = result["doelgroep"]
    assert (doelgroep.support, doelgroep.predicted, doelgroep.true_positives) == (1, 1, 1)
    assert doelgroep.precision == doelgroep.recall == 1.0
    # at the level of the sub-codes, the extra 'jongeren' is a false positive
    assert (result[JONGEREN].predicted, result[JONGEREN].true_positives) == (1, 0)
    assert result["impact"].true_positives == 1  # INT#2 schulden → financieel → impact


# -- never suggested -------------------------------------------------------------------------


def test_no_suggestions_on_interviewer_turns(built: Path) -> None:
    texts = {unit: segment_text(built, *unit) for unit in INTERVIEWER_UNITS}
    # they do contain keywords: the rule, not the text, keeps them out
    assert lexical_match(texts[(INT, 1)]).keys() >= {EENZAAMHEID, SCHULDEN}
    assert EENZAAMHEID in lexical_match(texts[(FG, 1)])
    found = {(d, o) for d, o, _ in suggested(built)}
    assert not found & set(INTERVIEWER_UNITS)
    with connect(built) as conn:
        interviewer_codings = conn.execute(
            "SELECT count(*) FROM codings c JOIN segments s ON s.id = c.segment_id"
            " JOIN turns t ON t.id = s.turn_id JOIN speakers sp ON sp.id = t.speaker_id"
            " WHERE sp.is_interviewer = 1"
        ).fetchone()[0]
        labels = {r[0] for r in conn.execute("SELECT label FROM speakers WHERE is_interviewer = 1")}
    assert interviewer_codings == 0
    assert labels == {"I", "Moderator"}


def test_no_suggestions_on_annotation_only_segments(built: Path) -> None:
    texts = {unit: segment_text(built, *unit) for unit in ANNOTATION_ONLY_UNITS}
    assert texts == {(FG, 7): "[eenzaam, onverstaanbaar]", (INT, 4): "(stilte)"}
    with connect(built) as conn:
        flags = {
            (r[0], r[1]): r[2]
            for r in conn.execute(
                "SELECT d.name, s.ord, s.has_words FROM segments s"
                " JOIN documents d ON d.id = s.document_id"
            )
        }
    assert {flags[u] for u in ANNOTATION_ONLY_UNITS} == {0}
    assert {flags[u] for u in CODED_UNITS} == {1}
    found = {(d, o) for d, o, _ in suggested(built)}
    assert not found & set(ANNOTATION_ONLY_UNITS)


def test_coded_units_are_the_respondent_segments_with_words(built: Path) -> None:
    from qualcode.segments import coded_units

    with open_project(built) as project:
        units = [(s.document, s.order) for s in coded_units(project)]
    assert units == CODED_UNITS


def test_interviewer_named_in_metadata_gets_no_suggestions(tmp_path: Path) -> None:
    from qualcode.ingest import ingest_files
    from qualcode.store import init_project

    folder = tmp_path / "in"
    write(
        folder / "gesprek.txt",
        """
        Els: Voelde u zich eenzaam in die tijd? Had u schulden?

        Joke: Ja, ik was heel eenzaam.

        Els: En die schulden?

        Joke: De schulden zijn er nog steeds.
        """,
    )
    meta = write(folder / "meta.csv", "document,speaker,role,interviewer\ngesprek.txt,Els,,ja\n")
    found = {}
    for name, metadata in (("zonder", None), ("met", meta)):
        with init_project(tmp_path / name, codebook=CODING_YAML) as project:
            ingest_files(project, [folder / "gesprek.txt"], metadata=metadata)
            run_suggest(project)
        found[name] = {(o, c) for _, o, c in suggested(tmp_path / name)}
    # without metadata 'Els' is just a speaker with a name, and her questions get codes
    assert (1, EENZAAMHEID) in found["zonder"]
    # metadata says she is the interviewer: only Joke's answers are coded
    assert found["met"] == {(2, EENZAAMHEID), (4, SCHULDEN)}


# -- re-running ------------------------------------------------------------------------------


def test_rerun_with_same_settings_gives_the_same_suggestions(work: Path) -> None:
    before = {k: (r["score"], r["source"], r["explanation"]) for k, r in machine_rows(work).items()}
    result = invoke("suggest", "--project", work)
    assert result.exit_code == 0, result.output
    after = machine_rows(work)
    assert {k: (r["score"], r["source"], r["explanation"]) for k, r in after.items()} == before
    with connect(work) as conn:
        last_run = conn.execute("SELECT max(id) FROM runs WHERE command = 'suggest'").fetchone()[0]
    assert {r["run_id"] for r in after.values()} == {last_run}  # replaced, not added to
    assert f"{len(before)} suggestions on {len(CODED_UNITS)} segments" in result.stdout


def test_rerun_keeps_human_codings_byte_for_byte(reviewed: Path) -> None:
    anna = codings(reviewed, "anna")
    assert len(anna) == 4
    machine_before = machine_rows(reviewed)
    with connect(reviewed) as conn:
        old_ids = dict(conn.execute("SELECT path, id FROM codes").fetchall())

    # jongeren left the codebook but anna coded with it: the user must say what happens
    result = invoke(
        "suggest", "-p", reviewed, "--codebook", CHANGED_YAML, "--threshold", "0.6",
        "--merge-into", f"{JONGEREN}=doelgroep/ouderen",
    )  # fmt: skip
    assert result.exit_code == 0, result.output

    # anna's rows are the very same rows; the one on jongeren now points at ouderen
    ouderen, jongeren = old_ids["doelgroep/ouderen"], old_ids[JONGEREN]
    assert codings(reviewed, "anna") == [
        (*r[:2], ouderen, *r[3:]) if r[2] == jongeren else r for r in anna
    ]
    # machine suggestions were replaced: all from the new run, none under the new threshold,
    # none for codes that left the codebook
    machine_after = machine_rows(reviewed)
    with connect(reviewed) as conn:
        last_run = conn.execute("SELECT max(id) FROM runs WHERE command = 'suggest'").fetchone()[0]
        origins = dict(conn.execute("SELECT path, origin FROM codes").fetchall())
    assert machine_after
    assert {r["run_id"] for r in machine_after.values()} == {last_run}
    assert min(r["score"] for r in machine_after.values()) >= 0.6
    assert {code for _, _, code in machine_after} <= {c.path for c in load_codebook(CHANGED_YAML)}
    assert (FG, 9, JONGEREN) in machine_before and (FG, 9, JONGEREN) not in machine_after
    # eenzaamheid lost 'vereenzamen': FG#2 ('vereenzaamt') is no longer suggested
    assert (FG, 2, EENZAAMHEID) in machine_before and (FG, 2, EENZAAMHEID) not in machine_after
    assert JONGEREN not in origins and "impact/werk" not in origins
    assert origins["impact/psychisch/angst"] == "codebook"
    assert f"Code {JONGEREN} left the codebook: 1 coding(s) moved to doelgroep/ouderen" in (
        result.stderr
    )
    assert "Backup before removing codes:" in result.stderr


def test_a_removed_code_with_codings_stops_suggest_until_the_user_decides(
    reviewed: Path,
) -> None:
    before = {t: codings(reviewed, c) for t, c in (("anna", "anna"), ("machine", "qualcode"))}
    result = invoke("suggest", "-p", reviewed, "--codebook", CHANGED_YAML)
    assert_one_line_error(result, JONGEREN, "1 by anna", "nothing was changed")
    assert "--merge-into" in result.stderr and "--delete-codings" in result.stderr
    assert {t: codings(reviewed, c) for t, c in (("anna", "anna"), ("machine", "qualcode"))} == (
        before
    )
    with connect(reviewed) as conn:
        assert conn.execute("SELECT 1 FROM codes WHERE path = ?", (JONGEREN,)).fetchone()


def test_delete_codings_removes_the_code_after_a_backup(reviewed: Path) -> None:
    with open_project(reviewed) as project:
        report = run_suggest(project, codebook=CHANGED_YAML, removals=[CodeRemoval(JONGEREN)])
    assert report.sync.deleted_codings == {JONGEREN: 1}
    assert report.sync.backup is not None and report.sync.backup.exists()
    rows = segments_json(reviewed, "--coder", "anna", "--status", "manual")
    assert {(r["document"], r["order"], r["code"]) for r in rows} == {(INT, 8, SCHULDEN)}
    # the backup still holds anna's coding on jongeren
    with sqlite3.connect(report.sync.backup) as old:
        assert old.execute(
            "SELECT count(*) FROM codings c JOIN codes k ON k.id = c.code_id"
            " WHERE k.path = ? AND c.coder = 'anna'",
            (JONGEREN,),
        ).fetchone() == (1,)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--delete-codings", "doelgroep/ouderen"], "is still in the codebook"),
        (["--merge-into", f"{JONGEREN}=doelgroep/bestaat_niet"], "not in the codebook"),
        (["--delete-codings", "doelgroep/nooit_bestaan"], "is not a code of this project"),
    ],
)
def test_code_removal_options_are_checked(reviewed: Path, args: list[str], message: str) -> None:
    result = invoke("suggest", "-p", reviewed, "--codebook", CHANGED_YAML, *args)
    assert_one_line_error(result, message)


def test_merge_into_needs_old_equals_new(reviewed: Path) -> None:
    result = invoke("suggest", "-p", reviewed, "--merge-into", "doelgroep/jongeren")
    assert result.exit_code == 2 and "OLD=NEW" in result.output


def test_codes_option_limits_the_replacement_to_that_subtree(reviewed: Path) -> None:
    anna = codings(reviewed, "anna")
    before = machine_rows(reviewed)
    result = invoke("suggest", "-p", reviewed, "--codes", "schulden", "--threshold", "0.8")
    assert result.exit_code == 0, result.output
    after = machine_rows(reviewed)
    # outside the subtree: the very same rows (same ids, run, scores)
    outside = {k: tuple(v) for k, v in before.items() if k[2] != SCHULDEN}
    assert {k: tuple(v) for k, v in after.items() if k[2] != SCHULDEN} == outside
    # inside: replaced by the new run at the new threshold
    schulden_before = {k for k in before if k[2] == SCHULDEN}
    schulden_after = {k: v for k, v in after.items() if k[2] == SCHULDEN}
    assert schulden_before == {(FG, 4, SCHULDEN), (INT, 2, SCHULDEN), (INT, 10, SCHULDEN)}
    assert (
        set(schulden_after)
        == {k for k in schulden_before if before[k]["score"] >= 0.8}
        == {(INT, 10, SCHULDEN)}
    )
    with connect(reviewed) as conn:
        last_run = conn.execute("SELECT max(id) FROM runs WHERE command = 'suggest'").fetchone()[0]
    assert {v["run_id"] for v in schulden_after.values()} == {last_run}
    assert codings(reviewed, "anna") == anna


def test_codes_option_takes_a_parent_and_its_subtree(reviewed: Path) -> None:
    before = machine_rows(reviewed)
    result = invoke("suggest", "-p", reviewed, "--codes", "impact/sociaal", "-t", "0.99")
    assert result.exit_code == 0, result.output
    after = machine_rows(reviewed)
    assert not [k for k in after if k[2] in {"impact/sociaal", EENZAAMHEID}]
    assert {k: tuple(v) for k, v in after.items()} == {
        k: tuple(v) for k, v in before.items() if k[2] not in {"impact/sociaal", EENZAAMHEID}
    }


def test_unknown_code_in_codes_option_is_an_error(reviewed: Path) -> None:
    before = codings(reviewed)
    result = invoke("suggest", "-p", reviewed, "--codes", "bestaat_niet")
    assert_one_line_error(result, "no code 'bestaat_niet' in the codebook")
    assert codings(reviewed) == before


# -- segments filters ------------------------------------------------------------------------


def segments_json(project_dir: Path, *args: str) -> list[dict]:
    result = invoke("segments", "-p", project_dir, *args, "-f", "json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_segments_filters_combine(reviewed: Path) -> None:
    rows = segments_json(reviewed, "--code", "schulden", "--status", "suggested", "--speaker", "R")
    assert [(r["document"], r["order"], r["code"], r["status"]) for r in rows] == [
        (INT, 2, SCHULDEN, "suggested"),
        (INT, 10, SCHULDEN, "suggested"),
    ]
    assert {r["speaker"] for r in rows} == {"R"}
    # FG#4 has a schulden suggestion too, but from Deelnemer 1
    rows = segments_json(reviewed, "--code", "schulden", "--status", "suggested")
    assert {(r["document"], r["order"]) for r in rows} == {(FG, 4), (INT, 2), (INT, 10)}
    # INT#8 has schulden, but as anna's manual coding, not a suggestion
    rows = segments_json(reviewed, "--code", "schulden", "--speaker", "R")
    assert {(r["document"], r["order"], r["status"]) for r in rows} == {
        (INT, 2, "suggested"),
        (INT, 8, "manual"),
        (INT, 10, "suggested"),
    }


def test_segments_status_filter_hides_decided_suggestions(reviewed: Path) -> None:
    rows = segments_json(reviewed, "--code", EENZAAMHEID, "--status", "suggested")
    # FG#2 was accepted and FG#6 rejected by anna: no longer open suggestions
    assert {(r["document"], r["order"]) for r in rows} == {(FG, 3), (FG, 11)}
    rows = segments_json(reviewed, "--status", "rejected")
    assert [(r["document"], r["order"], r["code"]) for r in rows] == [(FG, 6, EENZAAMHEID)]
    rows = segments_json(reviewed, "--status", "accepted")
    assert [(r["document"], r["order"], r["code"]) for r in rows] == [(FG, 2, EENZAAMHEID)]


def test_segments_code_filter_includes_sub_codes(reviewed: Path) -> None:
    rows = segments_json(reviewed, "--code", "impact/sociaal", "--status", "suggested")
    assert {r["code"] for r in rows} == {"impact/sociaal", EENZAAMHEID}
    rows = segments_json(reviewed, "--code", "doelgroep")
    assert {r["code"] for r in rows} == {OUDEREN, JONGEREN}


@pytest.mark.parametrize(
    ("ref", "codes"),
    [
        ("financieel", {SCHULDEN}),  # a parent's id: its sub-codes
        ("impact/financieel", {SCHULDEN}),
        ("sociaal", {"impact/sociaal", EENZAAMHEID}),
        ("sociaal/eenzaamheid", {EENZAAMHEID}),  # a path suffix
        ("eenzaamheid", {EENZAAMHEID}),
        ("impact", {"impact/sociaal", EENZAAMHEID, SCHULDEN}),
    ],
)
def test_segments_code_filter_by_id_or_path(reviewed: Path, ref: str, codes: set[str]) -> None:
    rows = segments_json(reviewed, "--code", ref, "--status", "suggested")
    assert {r["code"] for r in rows} == codes


def test_segments_code_is_an_id_not_a_prefix(reviewed: Path) -> None:
    result = invoke("segments", "-p", reviewed, "--code", "eenzaam")
    assert result.exit_code != 0
    assert "no code 'eenzaam'" in result.output


def test_segments_speaker_filter(reviewed: Path) -> None:
    rows = segments_json(reviewed, "--speaker", "deelnemer 2")  # case-insensitive
    assert rows and {r["speaker"] for r in rows} == {"Deelnemer 2"}
    assert {r["role"] for r in rows} == {"wijkverpleegkundige"}  # from metadata.csv
    assert segments_json(reviewed, "--speaker", "Moderator") == []
    assert segments_json(reviewed, "--speaker", "Niemand") == []


def test_segments_table_output(reviewed: Path) -> None:
    result = invoke("segments", "-p", reviewed, "--code", "schulden", "--speaker", "R")
    assert result.exit_code == 0, result.output
    header = result.stdout.splitlines()[0].split()
    assert header == [
        "document",
        "segment_id",
        "speaker",
        "code",
        "status",
        "score",
        "explanation",
        "text",
    ]
    assert "huurschulden" in result.stdout


# -- explanations ----------------------------------------------------------------------------


def test_stored_lexical_explanation(built: Path) -> None:
    rows = machine_rows(built)
    explanation = rows[(FG, 6, EENZAAMHEID)]["explanation"]
    assert explanation == "lemma 'eenzaam' in \"...weet niet of ze eenzaam is, maar ze...\""
    assert rows[(FG, 6, EENZAAMHEID)]["source"] == "lexical"
    explanation = rows[(FG, 2, EENZAAMHEID)]["explanation"]
    match = re.match(r"lemma 'vereenzamen' in \"([^\"]+)\"", explanation)
    assert match and "vereenzaamt" in match[1]


SIMILAR = re.compile(r"similar to example (\d+) of ([a-z_/]+) \((\d\.\d\d)\)")


def test_similarity_explanation_for_a_near_copy_of_an_example(built: Path) -> None:
    book = load_codebook(CODING_YAML)
    example = book.find("schulden").examples[0]
    text = segment_text(built, INT, 10)
    assert text.startswith(example.rstrip(".").rsplit(",", 1)[0][:60])
    row = machine_rows(built)[(INT, 10, SCHULDEN)]
    assert row["source"] == "lexical+similarity"
    match = SIMILAR.search(row["explanation"])
    assert match, row["explanation"]
    assert (match[1], match[2]) == ("1", SCHULDEN)
    assert 0.8 <= float(match[3]) <= 1.0
    # the keyword evidence comes first, then the similarity
    assert row["explanation"].startswith("compound 'huurschulden' contains 'schuld' in \"")


def test_similarity_alone_for_a_near_copy_without_keywords(built: Path) -> None:
    text = segment_text(built, FG, 11)
    assert EENZAAMHEID not in lexical_match(text)  # no keyword of eenzaamheid in it
    row = machine_rows(built)[(FG, 11, EENZAAMHEID)]
    assert row["source"] == "similarity"
    match = SIMILAR.fullmatch(row["explanation"])
    assert match, row["explanation"]
    assert (match[1], match[2]) == ("2", EENZAAMHEID)
    assert float(match[3]) >= 0.8


def test_segment_unlike_any_example_has_no_similarity_reason(built: Path) -> None:
    row = machine_rows(built)[(FG, 6, EENZAAMHEID)]
    assert "similar to" not in row["explanation"]
