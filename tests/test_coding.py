"""A person's codings and memos (qualcode.coding and the `code` / `memo` commands): manual
coding with its refusals, decisions on suggestions, exact undo, memos, and that coders never
touch each other's codings."""

from __future__ import annotations

from pathlib import Path

import pytest
from coding_helpers import (
    ANNOTATION_ONLY_UNITS,
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
    segment_ids,
)

from qualcode import coding
from qualcode.errors import QualcodeError
from qualcode.segments import effective_codings
from qualcode.store import Project, open_project


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_project(tmp_path_factory.mktemp("coding") / "project")


@pytest.fixture
def project_dir(base: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("QUALCODE_CODER", raising=False)
    return copy_project(base, tmp_path / "project")


def rows(project_dir: Path, coder: str) -> dict[tuple[str, int, str], dict]:
    """A coder's codings as (document, order, code) → the row's columns."""
    conn = connect(project_dir)
    try:
        found = conn.execute(
            """
            SELECT d.name, s.ord, k.path, c.* FROM codings c
            JOIN segments s ON s.id = c.segment_id JOIN documents d ON d.id = s.document_id
            JOIN codes k ON k.id = c.code_id WHERE c.coder = ?
            """,
            (coder,),
        ).fetchall()
    finally:
        conn.close()
    return {(r["name"], r["ord"], r["path"]): dict(r) for r in found}


def memos(project_dir: Path) -> list[dict]:
    conn = connect(project_dir)
    try:
        return [dict(r) for r in conn.execute("SELECT * FROM memos ORDER BY id")]
    finally:
        conn.close()


# -- coder names, codes and segments ---------------------------------------------------------


@pytest.mark.parametrize("name", [None, "", "   "])
def test_a_coder_name_is_required(name: str | None) -> None:
    with pytest.raises(QualcodeError, match="no coder name"):
        coding.check_coder(name)


@pytest.mark.parametrize("name", ["qualcode", " Qualcode ", "QUALCODE"])
def test_the_machine_name_is_reserved(name: str) -> None:
    with pytest.raises(QualcodeError, match="reserved"):
        coding.check_coder(name)


@pytest.mark.parametrize(
    ("ref", "path"),
    [
        (EENZAAMHEID, EENZAAMHEID),
        ("eenzaamheid", EENZAAMHEID),
        ("sociaal/eenzaamheid", EENZAAMHEID),
        ("eenz", EENZAAMHEID),
        ("/impact/financieel/", "impact/financieel"),
        ("schuld", SCHULDEN),
        ("Ouderen", "doelgroep/ouderen"),
        ("impact/fin", "impact/financieel"),
    ],
)
def test_codes_resolve_by_path_id_suffix_or_prefix(project_dir: Path, ref: str, path: str) -> None:
    with open_project(project_dir) as proj:
        assert coding.find_code(proj, ref).path == path


def test_an_ambiguous_or_unknown_code_is_an_error(project_dir: Path) -> None:
    with open_project(project_dir) as proj:
        with pytest.raises(QualcodeError, match="ambiguous") as ambiguous:
            coding.find_code(proj, "s")
        assert "impact/sociaal" in str(ambiguous.value)
        with pytest.raises(QualcodeError, match="no code 'eenzaamhied'") as unknown:
            coding.find_code(proj, "eenzaamhied")
        assert "did you mean eenzaamheid" in str(unknown.value)


def test_segments_resolve_by_id_or_document_and_order(project_dir: Path) -> None:
    ids = segment_ids(project_dir)
    with open_project(project_dir) as proj:
        assert coding.find_segment(proj, str(ids[(FG, 2)])).key == f"{FG}#2"
        assert coding.find_segment(proj, f"{FG}#2").id == ids[(FG, 2)]
        assert coding.find_segment(proj, "fg_ouderen#3").id == ids[(FG, 3)]
        assert coding.find_segment(proj, "int#6").id == ids[(INT, 6)]
        for bad in ("fg_ouderen#99", "9999", "fg_ouderen"):
            with pytest.raises(QualcodeError):
                coding.find_segment(proj, bad)


# -- code add / remove -------------------------------------------------------------------


def test_code_add_makes_a_manual_coding(project_dir: Path) -> None:
    before = codings(project_dir)
    result = invoke("code", "add", f"{FG}#4", "ouderen", "-p", project_dir, "--coder", "anna")
    assert result.exit_code == 0, result.output
    assert f"Coded {FG}#4" in result.output and "doelgroep/ouderen" in result.output
    row = rows(project_dir, "anna")[(FG, 4, "doelgroep/ouderen")]
    assert row["status"] == "manual" and row["source"] == "manual"
    assert row["created_at"] == row["updated_at"] and row["created_at"].startswith("20")
    assert codings(project_dir) == before  # the machine's suggestions are untouched
    again = invoke("code", "add", f"{FG}#4", "ouderen", "-p", project_dir, "--coder", "anna")
    assert again.exit_code == 0 and "nothing changed" in again.output
    assert len(rows(project_dir, "anna")) == 1


def test_code_add_takes_the_coder_from_the_environment(
    project_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("QUALCODE_CODER", "bram")
    result = invoke("code", "add", f"{INT}#6", SCHULDEN, "-p", project_dir)
    assert result.exit_code == 0, result.output
    assert (INT, 6, SCHULDEN) in rows(project_dir, "bram")


@pytest.mark.parametrize("unit", [INTERVIEWER_UNITS[0], INTERVIEWER_UNITS[3]])
def test_coding_an_interviewer_turn_is_refused(project_dir: Path, unit: tuple) -> None:
    result = invoke("code", "add", f"{unit[0]}#{unit[1]}", "eenz", "-p", project_dir,
                    "--coder", "anna")  # fmt: skip
    assert_one_line_error(result, "interviewer", f"{unit[0]}#{unit[1]}")
    assert rows(project_dir, "anna") == {}


@pytest.mark.parametrize("unit", ANNOTATION_ONLY_UNITS)
def test_coding_an_annotation_only_passage_is_refused(project_dir: Path, unit: tuple) -> None:
    result = invoke("code", "add", f"{unit[0]}#{unit[1]}", "eenz", "-p", project_dir,
                    "--coder", "anna")  # fmt: skip
    assert_one_line_error(result, "no spoken words")
    assert rows(project_dir, "anna") == {}


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        ((f"{FG}#2", "eenz"), "no coder name"),
        ((f"{FG}#2", "eenz", "--coder", "qualcode"), "reserved"),
        ((f"{FG}#99", "eenz", "--coder", "anna"), "no segment"),
        (("zomaar", "eenz", "--coder", "anna"), "not a segment"),
        ((f"{FG}#2", "onbekend", "--coder", "anna"), "no code 'onbekend'"),
        ((f"{FG}#2", "s", "--coder", "anna"), "ambiguous"),
    ],
)
def test_code_add_errors_are_one_line(project_dir: Path, args: tuple, fragment: str) -> None:
    result = invoke("code", "add", *args, "-p", project_dir)
    assert_one_line_error(result, fragment)


def test_code_remove_removes_only_the_coders_own_coding(project_dir: Path) -> None:
    add_coding(project_dir, FG, 2, EENZAAMHEID, "accepted", coder="bob")
    invoke("code", "add", f"{FG}#2", EENZAAMHEID, "-p", project_dir, "--coder", "anna")
    bob = codings(project_dir, "bob")
    result = invoke("code", "remove", f"{FG}#2", "eenz", "-p", project_dir, "--coder", "anna")
    assert result.exit_code == 0, result.output
    assert "Removed anna's manual coding" in result.output
    assert rows(project_dir, "anna") == {}
    assert codings(project_dir, "bob") == bob

    refused = invoke("code", "remove", f"{FG}#2", "eenz", "-p", project_dir, "--coder", "anna")
    assert_one_line_error(refused, "anna has no coding", EENZAAMHEID)
    assert "only bob coded it" in refused.stderr
    assert codings(project_dir, "bob") == bob


def test_a_rejection_is_not_a_coding_to_remove(project_dir: Path) -> None:
    add_coding(project_dir, FG, 2, EENZAAMHEID, "rejected", coder="anna")
    result = invoke("code", "remove", f"{FG}#2", "eenz", "-p", project_dir, "--coder", "anna")
    assert_one_line_error(result, "anna has no coding")
    assert rows(project_dir, "anna")[(FG, 2, EENZAAMHEID)]["status"] == "rejected"


# -- decisions, undo and several coders --------------------------------------------------


def _ids(proj: Project, document: str, order: int, code: str) -> tuple[int, int]:
    segment = coding.find_segment(proj, f"{document}#{order}")
    return segment.id, coding.find_code(proj, code).id


def test_a_decision_copies_the_suggestions_score_and_reason(project_dir: Path) -> None:
    with open_project(project_dir) as proj:
        seg, code = _ids(proj, FG, 2, EENZAAMHEID)
        suggestion = coding.suggestion_row(proj, seg, code)
        assert suggestion is not None
        change = coding.decide(proj, seg, code, "anna", "accepted", source="review:xlsx")
        assert change is not None and change.before is None
        again = coding.decide(proj, seg, code, "anna", "accepted", source="review:xlsx")
        assert again is None  # nothing to change, not even the time stamp
    row = rows(project_dir, "anna")[(FG, 2, EENZAAMHEID)]
    assert row["status"] == "accepted" and row["source"] == "review:xlsx"
    assert row["score"] == suggestion["score"] and row["explanation"] == suggestion["explanation"]
    assert "vereenzamen" in row["explanation"]


def test_accepting_what_the_coder_coded_by_hand_changes_nothing(project_dir: Path) -> None:
    with open_project(project_dir) as proj:
        seg, code = _ids(proj, FG, 2, EENZAAMHEID)
        coding.set_coding(proj, seg, code, "anna", "manual", source="manual")
        assert coding.decide(proj, seg, code, "anna", "accepted", source="review:xlsx") is None
    assert rows(project_dir, "anna")[(FG, 2, EENZAAMHEID)]["status"] == "manual"


def test_undo_restores_the_row_exactly(project_dir: Path) -> None:
    add_coding(project_dir, FG, 3, EENZAAMHEID, "rejected", coder="anna")
    before = codings(project_dir, "anna")
    with open_project(project_dir) as proj:
        seg, code = _ids(proj, FG, 3, EENZAAMHEID)
        changed = coding.decide(proj, seg, code, "anna", "accepted", source="review:terminal")
        other_seg, other_code = _ids(proj, FG, 4, "ouderen")
        added = coding.set_coding(proj, other_seg, other_code, "anna", "manual", source="manual")
        assert codings(project_dir, "anna") != before
        assert changed is not None and added is not None
        coding.undo(proj, [changed, added])
    assert codings(project_dir, "anna") == before  # same id, status, source and time stamps


def test_undo_of_a_removal_puts_the_coding_back(project_dir: Path) -> None:
    add_coding(project_dir, FG, 3, EENZAAMHEID, "accepted", coder="anna")
    before = codings(project_dir, "anna")
    with open_project(project_dir) as proj:
        segment = coding.find_segment(proj, f"{FG}#3")
        change = coding.remove_code(proj, segment, coding.find_code(proj, "eenz"), "anna")
        assert codings(project_dir, "anna") == []
        coding.undo(proj, [change])
    assert codings(project_dir, "anna") == before


def test_two_coders_decisions_on_one_suggestion_coexist(project_dir: Path) -> None:
    machine = codings(project_dir)
    with open_project(project_dir) as proj:
        seg, code = _ids(proj, FG, 2, EENZAAMHEID)
        coding.decide(proj, seg, code, "anna", "accepted", source="manual")
        bob_before = codings(project_dir, "bob")
        coding.decide(proj, seg, code, "bob", "rejected", source="manual")
        anna = codings(project_dir, "anna")
        segment, ouderen = coding.find_segment(proj, f"{FG}#3"), coding.find_code(proj, "ouderen")
        coding.add_code(proj, segment, ouderen, "bob")
        assert codings(project_dir, "anna") == anna  # bob's work never changes anna's rows
        assert bob_before == []
        as_anna = effective_codings(proj, coder="anna")[seg]
        as_bob = effective_codings(proj, coder="bob")[seg]
        as_carl = effective_codings(proj, coder="carl")[seg]
    assert [(c.code, c.coder, c.status) for c in as_anna] == [(EENZAAMHEID, "anna", "accepted")]
    assert [(c.code, c.coder, c.status) for c in as_bob] == [(EENZAAMHEID, "bob", "rejected")]
    assert [(c.code, c.coder, c.status) for c in as_carl] == [
        (EENZAAMHEID, "qualcode", "suggested")
    ]
    assert codings(project_dir) == machine  # the machine's suggestion itself is untouched
    statuses = {(r["coder"], r["status"]) for r in rows(project_dir, "anna").values()}
    assert statuses == {("anna", "accepted")}


# -- memos -------------------------------------------------------------------------------


def test_memos_on_a_code_document_segment_and_the_project(project_dir: Path) -> None:
    p = ("-p", project_dir, "--coder", "anna")
    results = [
        invoke("memo", "--code", "eenz", *p, "Ook gemis van kleinkinderen telt mee."),
        invoke("memo", "--document", "int_schulden", *p, "Respondent was openhartig."),
        invoke("memo", "--segment", f"{FG}#2", *p, "Mooi citaat over vereenzamen."),
        invoke("memo", "--project-memo", *p, "Eerste ronde: alleen de focusgroep."),
    ]
    for result in results:
        assert result.exit_code == 0, result.output
    assert "saved on code impact/sociaal/eenzaamheid" in results[0].output
    assert "saved on the project" in results[3].output
    stored = memos(project_dir)
    assert [(m["target_type"], m["coder"]) for m in stored] == [
        ("code", "anna"), ("document", "anna"), ("segment", "anna"), ("project", "anna"),
    ]  # fmt: skip
    assert stored[2]["target_id"] == segment_ids(project_dir)[(FG, 2)]
    assert stored[3]["target_id"] is None

    listed = invoke("memo", "--list", "-p", project_dir, "-f", "csv")
    assert listed.exit_code == 0, listed.output
    assert "impact/sociaal/eenzaamheid" in listed.output and f"{FG}#2" in listed.output
    assert "int_schulden.txt" in listed.output and len(listed.output.splitlines()) == 5
    one = invoke("memo", "--list", "--code", EENZAAMHEID, "-p", project_dir, "-f", "json")
    assert '"target": "impact/sociaal/eenzaamheid"' in one.output
    assert "openhartig" not in one.output


def test_listing_memos_by_coder(project_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    invoke("memo", "--project-memo", "-p", project_dir, "--coder", "anna", "van anna")
    invoke("memo", "--project-memo", "-p", project_dir, "--coder", "bob", "van bob")
    monkeypatch.setenv("QUALCODE_CODER", "anna")  # names the writer, does not filter a list
    everyone = invoke("memo", "--list", "-p", project_dir)
    assert "van anna" in everyone.output and "van bob" in everyone.output
    only_bob = invoke("memo", "--list", "--project-memo", "--coder", "bob", "-p", project_dir)
    assert "van bob" in only_bob.output and "van anna" not in only_bob.output


def test_duplicate_memos_can_be_skipped(project_dir: Path) -> None:
    with open_project(project_dir) as proj:
        first, created = coding.add_memo(proj, "segment", f"{FG}#2", "anna", "idem")
        again, none = coding.add_memo(proj, "segment", f"{FG}#2", "anna", "idem",
                                      skip_duplicate=True)  # fmt: skip
        assert created is not None and none is None and again.id == first.id
        _, other_coder = coding.add_memo(proj, "segment", f"{FG}#2", "bob", "idem",
                                         skip_duplicate=True)  # fmt: skip
        assert other_coder is not None
    assert len(memos(project_dir)) == 2


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (("--code", "eenz", "tekst"), "no coder name"),
        (("--code", "eenz", "--coder", "anna"), "no memo text"),
        (("--code", "eenz", "--coder", "anna", "  "), "the memo is empty"),
        (("--coder", "anna", "tekst"), "no target"),
        (("--code", "eenz", "--project-memo", "--coder", "anna", "tekst"), "one target"),
        (("--code", "zzz", "--coder", "anna", "tekst"), "no code 'zzz'"),
        (("--document", "zzz", "--coder", "anna", "tekst"), "no document 'zzz'"),
        (("--segment", f"{FG}#77", "--coder", "anna", "tekst"), "no segment"),
        (("--project-memo", "--coder", "qualcode", "tekst"), "reserved"),
    ],
)
def test_memo_errors_are_one_line(project_dir: Path, args: tuple, fragment: str) -> None:
    result = invoke("memo", *args, "-p", project_dir)
    assert_one_line_error(result, fragment)
    assert memos(project_dir) == []
