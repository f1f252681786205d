"""``qualcode export quotes``: selection properties, attribution without names, the three file
types and the error paths, on the hand-checked project of ``fixtures/matrix``."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from coding_helpers import assert_one_line_error, connect, copy_project, invoke
from hypothesis import given, settings
from hypothesis import strategies as st
from test_matrix import build_fixture_project

from qualcode.text import count_words

EENZAAM = "impact/sociaal/eenzaamheid"
SCHULD = "impact/financieel/schulden"
CODEBOOK_ORDER = [
    "impact", "impact/sociaal", EENZAAM, "impact/sociaal/spanningen", "impact/financieel",
    SCHULD, "doelgroep", "doelgroep/ouderen", "doelgroep/jongeren",
]  # fmt: skip
FILLER_WORDS = re.compile(r"(?<!\w)(?:eh|ehm|uhm|nou ja)(?!\w)", re.IGNORECASE)
NAMES = ("Marieke", "Jan", "Vries", "PERSOON")


@pytest.fixture(scope="module")
def fixture_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_fixture_project(tmp_path_factory.mktemp("quotes") / "project")


@pytest.fixture
def project(fixture_project: Path):  # type: ignore[no-untyped-def]
    from qualcode.store import open_project

    with open_project(fixture_project) as proj:
        yield proj


def speakers(project_dir: Path) -> dict[int, tuple[str, str]]:
    """segment id → (document, speaker label)."""
    with connect(project_dir) as conn:
        rows = conn.execute(
            "SELECT s.id, d.name, sp.label FROM segments s JOIN documents d ON d.id ="
            " s.document_id JOIN turns t ON t.id = s.turn_id JOIN speakers sp ON"
            " sp.id = t.speaker_id"
        ).fetchall()
    return {r[0]: (r[1], r[2]) for r in rows}


def by_code(selection):  # type: ignore[no-untyped-def]
    return {c.code: c for c in selection.codes}


# -- selection -------------------------------------------------------------------------------


def test_codebook_order_roll_up_and_per_code_count(project) -> None:  # type: ignore[no-untyped-def]
    from qualcode.export.quotes import select_quotes

    selection = select_quotes(project, per_code=2)
    assert [c.code for c in selection.codes] == CODEBOOK_ORDER
    assert all(len(c.quotes) <= 2 for c in selection.codes)
    codes = by_code(selection)
    # nobody coded 'impact' itself: its quotes come from its sub-codes
    assert len(codes["impact"].quotes) == 2
    assert codes["impact"].coded == 15
    assert codes[EENZAAM].label == "Eenzaamheid"
    assert codes[EENZAAM].definition.startswith("Zich alleen voelen")
    one = select_quotes(project, per_code=1)
    assert all(len(c.quotes) == 1 for c in one.codes)


def test_no_two_quotes_from_one_speaker(project, fixture_project) -> None:  # type: ignore[no-untyped-def]
    from qualcode.export.quotes import select_quotes

    who = speakers(fixture_project)
    selection = select_quotes(project, per_code=10, status="any")
    for code in selection.codes:
        said_by = [who[q.segment_id] for q in code.quotes]
        assert len(said_by) == len(set(said_by)), code.code
    # eenzaamheid: B#2, J#2 or J#7 (one speaker), J#8, H#4, M#2; J#6 'Ja, zeker.' is too short
    eenzaam = by_code(select_quotes(project, per_code=10))[EENZAAM]
    keys = sorted(q.segment_key for q in eenzaam.quotes)
    assert len(keys) == 5
    assert "fg_jongeren.txt#6" not in keys
    assert len({"fg_jongeren.txt#2", "fg_jongeren.txt#7"} & set(keys)) == 1
    assert eenzaam.too_short == 1


def test_quotes_are_spread_over_documents(project) -> None:  # type: ignore[no-untyped-def]
    from qualcode.export.quotes import select_quotes

    # four documents have a quotable eenzaamheid passage: three quotes, three documents
    eenzaam = by_code(select_quotes(project, per_code=3))[EENZAAM]
    assert len({q.document for q in eenzaam.quotes}) == 3


@pytest.mark.parametrize(("low", "high"), [(15, 80), (20, 40), (8, 25)])
def test_length_bounds(project, low, high) -> None:  # type: ignore[no-untyped-def]
    from qualcode.export.quotes import select_quotes

    selection = select_quotes(project, per_code=10, status="any", min_words=low, max_words=high)
    assert selection.quotes
    for quote in selection.quotes:
        assert low <= count_words(quote.text) <= high, quote.text
        assert quote.words == count_words(quote.text)


def test_long_turn_is_trimmed_to_whole_sentences_around_the_code(project) -> None:  # type: ignore[no-untyped-def]
    from qualcode.export.quotes import CUT, select_quotes

    schulden = by_code(select_quotes(project, per_code=10))[SCHULD]
    quote = next(q for q in schulden.quotes if q.segment_key == "fg_buurt.txt#6")
    original = " ".join(project.conn.execute(
        "SELECT substr(d.text, s.start + 1, s.end - s.start) FROM segments s JOIN documents d"
        " ON d.id = s.document_id WHERE s.id = ?", (quote.segment_id,)
    ).fetchone()[0].split())  # fmt: skip
    assert count_words(original) > 80
    assert quote.text.startswith(CUT + " ") and quote.text.endswith(" " + CUT)
    core = quote.text[len(CUT) + 1 : -len(CUT) - 1]
    assert core in original  # verbatim
    before = original[: original.index(core)]
    assert before.endswith(". ")  # starts at a sentence
    assert core.endswith((".", "?", "!"))  # ends at one
    assert "schuld" in core
    assert 15 <= count_words(core) <= 80


def test_fillers_are_dropped_with_an_ellipsis_on_request(project) -> None:  # type: ignore[no-untyped-def]
    from qualcode.export.quotes import DROPPED, select_quotes

    verbatim = select_quotes(project, per_code=10, status="any")
    clean = select_quotes(project, per_code=10, status="any", no_fillers=True)
    assert any(FILLER_WORDS.search(q.text) for q in verbatim.quotes)
    assert not any(FILLER_WORDS.search(q.text) for q in clean.quotes)
    texts = {q.segment_key: q.text for q in clean.quotes}
    assert texts["fg_jongeren.txt#2"].startswith(f"{DROPPED} veel jongeren")
    assert "anders, … wij zagen" in texts["fg_jongeren.txt#3"]
    assert (
        "Eh, veel jongeren" in {q.segment_key: q.text for q in verbatim.quotes}["fg_jongeren.txt#2"]
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Eh, veel jongeren zaten thuis.", "… veel jongeren zaten thuis."),
        ("Het was anders, uhm, wij zagen het.", "Het was anders, … wij zagen het."),
        ("Dat was echt... nou ja, een gekkenhuis.", "Dat was echt… een gekkenhuis."),
        ("Ehm ik weet het niet, ehh, echt niet.", "… ik weet het niet, … echt niet."),
        ("De ehbo en de heh-moment blijven.", "De ehbo en de heh-moment blijven."),
    ],
)
def test_remove_fillers(text, expected) -> None:  # type: ignore[no-untyped-def]
    from qualcode.export.quotes import remove_fillers

    assert remove_fillers(text) == expected


def test_trim_quote_keeps_whole_sentences() -> None:
    from qualcode.export.quotes import trim_quote

    sentences = [
        "Het buurthuis was dicht. ",
        "Mijn neef raakte zijn baan kwijt en bouwde een grote schuld op bij de energiefirma. ",
        "Hij durfde niemand om hulp te vragen. ",
        "De markt is weer open.",
    ]
    # 15 + 7 words fit in 24; neither outer sentence does
    trimmed = trim_quote(sentences, [0.0, 1.0, 0.6, 0.0], min_words=10, max_words=24)
    assert trimmed is not None
    assert trimmed.text == (
        "[…] Mijn neef raakte zijn baan kwijt en bouwde een grote schuld op bij de "
        "energiefirma. Hij durfde niemand om hulp te vragen. […]"
    )
    assert trim_quote(sentences, [0.0, 1.0, 0.6, 0.0], min_words=40, max_words=80) is None
    assert trim_quote(["Ja, zeker."], [1.0]) is None


def test_an_over_long_sentence_is_cut_with_a_marker() -> None:
    from qualcode.export.quotes import CUT, trim_quote

    sentence = ", ".join(["we belden elke ochtend de mensen uit de wijk"] * 20) + "."
    trimmed = trim_quote([sentence], [1.0], min_words=15, max_words=40)
    assert trimmed is not None
    assert trimmed.text.endswith(CUT)
    assert 15 <= count_words(trimmed.text) <= 40


def test_status_filters(project) -> None:  # type: ignore[no-untyped-def]
    from qualcode.export.quotes import select_quotes

    accepted = select_quotes(project, per_code=10)
    assert {q.status for q in accepted.quotes} <= {"accepted", "manual"}
    assert {q.score for q in accepted.quotes} == {1.0}
    suggested = select_quotes(project, per_code=10, status="suggested")
    assert {q.status for q in suggested.quotes} == {"suggested"}
    # open suggestions: J#8 spanningen (0.52); M#4 is too short; the others were decided
    assert {q.segment_key for q in suggested.quotes} == {"fg_jongeren.txt#8"}
    assert {q.score for q in suggested.quotes} == {0.52}
    spanningen = by_code(select_quotes(project, per_code=10, status="any"))[
        "impact/sociaal/spanningen"
    ]
    assert "fg_jongeren.txt#8" in {q.segment_key for q in spanningen.quotes}
    anna = select_quotes(project, per_code=10, coder="anna")
    assert "doelgroep/ouderen" in by_code(anna)
    assert "int_huurder.txt#4" not in {
        q.segment_key for q in by_code(anna)["doelgroep/ouderen"].quotes
    }


def test_stored_lemmas_are_optional(fixture_project, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from qualcode.export.quotes import select_quotes
    from qualcode.store import open_project

    plain = copy_project(fixture_project, tmp_path / "plain")
    with connect(plain) as conn:
        conn.execute("DELETE FROM segment_nlp")
    with open_project(plain) as proj:
        selection = select_quotes(proj, per_code=3)
    assert [c.code for c in selection.codes] == CODEBOOK_ORDER
    assert all(0.0 < q.centrality <= 1.0 for q in selection.quotes)


# -- attribution -----------------------------------------------------------------------------


def test_attribution_by_role_and_setting(project) -> None:  # type: ignore[no-untyped-def]
    from qualcode.export.quotes import select_quotes

    selection = select_quotes(project, per_code=10, status="any")
    credit = {q.segment_key: q.attribution for q in selection.quotes}
    assert credit["fg_buurt.txt#4"] == "wijkagent, focusgroep 2 (Zwolle)"  # Jan de Vries
    assert credit["int_huurder.txt#2"] == "huurder, interview 1 (Utrecht)"
    assert credit["fg_jongeren.txt#3"] == "Deelnemer 2, focusgroep 1 (Den Haag)"  # generic
    assert credit["fg_jongeren.txt#4"] == "deelnemer, focusgroep 1 (Den Haag)"  # Marieke
    assert credit["notities_marieke.txt#2"] == "deelnemer"  # the file name has her name
    for text in credit.values():
        assert not any(name.casefold() in text.casefold() for name in NAMES), text


def test_pseudonymised_labels_never_show(fixture_project, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from qualcode.export.quotes import select_quotes
    from qualcode.store import open_project

    pseudo = copy_project(fixture_project, tmp_path / "pseudo")
    with connect(pseudo) as conn:
        conn.execute(
            "UPDATE speakers SET label = '[PERSOON-3]', role = NULL WHERE label = 'Jan de Vries'"
        )
        conn.execute("UPDATE speakers SET label = 'Bewoner 2' WHERE label = 'Deelnemer 2'")
    with open_project(pseudo) as proj:
        selection = select_quotes(proj, per_code=10, status="any")
    credit = {q.segment_key: q.attribution for q in selection.quotes}
    assert credit["fg_buurt.txt#4"] == "deelnemer, focusgroep 2 (Zwolle)"
    assert credit["fg_buurt.txt#3"] == "Bewoner 2, focusgroep 2 (Zwolle)"
    assert not any("PERSOON" in text for text in credit.values())


@pytest.mark.parametrize(
    ("label", "role", "document", "attributes", "expected"),
    [
        ("R3", None, "fg05.srt", {}, "R3, fg05"),
        ("Respondent", None, "int05.srt", {"type": "interview"}, "Respondent, interview"),
        ("P1", "huisarts", "x.txt", {"type": "interview", "place": "Rotterdam"},
         "huisarts, interview (Rotterdam)"),
        ("Marieke", None, "gesprek_marieke.txt", {}, "deelnemer"),
        ("Marieke", None, "fg1.txt", {"group": "focusgroep 3", "place": "Den Haag"},
         "deelnemer, focusgroep 3 (Den Haag)"),
        ("[PERSOON-3]", None, "fg1.txt", {}, "deelnemer, fg1"),
        ("Jan", None, "[PERSOON-1]_interview.txt", {}, "deelnemer"),
        ("Priya D'Souza", None, "int_dsouza.txt", {}, "deelnemer"),
        ("Huisarts", "huisarts", "int1.txt", {"type": "interview"}, "huisarts, interview"),
        ("Arts", "huisarts", "int1.txt", {"type": "interview"}, "huisarts, interview"),
    ],
)  # fmt: skip
def test_attribution_rules(label, role, document, attributes, expected) -> None:  # type: ignore[no-untyped-def]
    from qualcode.export.quotes import attribution

    assert (
        attribution(role=role, label=label, document=document, doc_attributes=attributes)
        == expected
    )


_NAME = st.from_regex(r"[A-Z][a-zé]{2,9}( (van |de )?[A-Z][a-z]{2,9})?", fullmatch=True)


@settings(max_examples=150, deadline=None)
@given(name=_NAME, other=_NAME, in_file=st.booleans(), role=st.sampled_from([None, "", "  "]))
def test_attribution_never_shows_a_name(name, other, in_file, role) -> None:  # type: ignore[no-untyped-def]
    from qualcode.export.quotes import attribution, is_generic_label

    if is_generic_label(name):
        return
    document = f"interview_{name.split()[-1].lower()}.docx" if in_file else "int07.docx"
    text = attribution(
        role=role, label=name, document=document, doc_attributes={}, names=[name, other]
    )
    words = {w.casefold() for w in re.findall(r"\w+", text)}
    for who in (name, other):
        assert not {w.casefold() for w in who.split() if len(w) > 2} & words, (who, text)
    assert text.startswith("deelnemer")


@pytest.mark.parametrize("label", ["R", "R3", "P1", "Deelnemer 2", "Respondent", "Bewoner 2",
                                   "Spreker 4", "SPEAKER_01", "deelnemer B"])  # fmt: skip
def test_generic_labels(label) -> None:  # type: ignore[no-untyped-def]
    from qualcode.export.quotes import is_generic_label

    assert is_generic_label(label)


@pytest.mark.parametrize("label", ["Marieke", "Jan de Vries", "[PERSOON-3]", "Bo", "Persoon 3"])
def test_names_are_not_generic(label) -> None:  # type: ignore[no-untyped-def]
    from qualcode.export.quotes import is_generic_label

    assert not is_generic_label(label)


# -- files -----------------------------------------------------------------------------------


def test_docx_has_heading_and_quote_structure(fixture_project, tmp_path) -> None:  # type: ignore[no-untyped-def]
    import docx

    out = tmp_path / "citaten.docx"
    result = invoke("export", "quotes", "--project", fixture_project, "-o", out, "--no-fillers")
    assert result.exit_code == 0, result.output
    assert "Wrote" in result.output and "quotes for 9 codes" in result.output
    document = docx.Document(str(out))
    paragraphs = [(p.style.name, p.text) for p in document.paragraphs]
    assert paragraphs[0] == ("Title", "Citaten per code")
    assert paragraphs[1][0] == "Normal" and paragraphs[1][1].startswith("Hoe deze citaten")
    headings = [(s, t) for s, t in paragraphs if s.startswith("Heading")]
    assert headings[:4] == [
        ("Heading 1", "Impact"),
        ("Heading 2", "Sociale impact"),
        ("Heading 3", "Eenzaamheid"),
        ("Heading 3", "Spanningen in de buurt"),
    ]
    assert ("Heading 1", "Doelgroep") in headings
    quotes = [n for n, (style, _) in enumerate(paragraphs) if style == "Quote"]
    assert len(quotes) == int(result.output.split(": ")[1].split()[0])
    for n in quotes:  # each quote is followed by its attribution in a normal paragraph
        style, text = paragraphs[n + 1]
        assert style == "Normal" and text.startswith("— ")
        assert not any(name in text for name in NAMES)
    eenzaam = paragraphs.index(("Heading 3", "Eenzaamheid"))
    assert paragraphs[eenzaam + 1] == ("Normal", "Zich alleen voelen, weinig contact hebben, "
                                       "sociaal isolement.")  # fmt: skip


def test_markdown_and_xlsx(fixture_project, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from openpyxl import load_workbook

    md = tmp_path / "citaten.md"
    result = invoke("export", "quotes", "-p", fixture_project, "-o", md, "--codes", "sociaal")
    assert result.exit_code == 0, result.output
    text = md.read_text(encoding="utf-8")
    assert text.startswith("# Citaten per code\n")
    assert "\n## Sociale impact\n" in text and "\n### Eenzaamheid\n" in text
    assert "Schulden" not in text
    blocks = [line for line in text.splitlines() if line.startswith("> ")]
    credits = [line for line in text.splitlines() if line.startswith("— ")]
    assert len(blocks) == len(credits) > 0

    xlsx = tmp_path / "citaten.xlsx"
    result = invoke("export", "quotes", "-p", fixture_project, "-o", xlsx, "--per-code", "2",
                    "--status", "any")  # fmt: skip
    assert result.exit_code == 0, result.output
    book = load_workbook(xlsx)
    sheet = book["quotes"]
    rows = [[c.value for c in row] for row in sheet.iter_rows()]
    assert rows[0] == ["code", "label", "quote", "attribution", "document", "segment", "score",
                       "status", "centrality"]  # fmt: skip
    assert len(rows) - 1 == 2 * 9  # two quotes for each of the nine codes
    assert [r[0] for r in rows[1:]][::2] == CODEBOOK_ORDER
    assert sheet.freeze_panes == "A2" and sheet.auto_filter.ref
    assert sheet.column_dimensions["C"].width >= 60
    assert "toelichting" in book.sheetnames


def test_codes_option_selects_a_branch(project) -> None:  # type: ignore[no-untyped-def]
    from qualcode.export.quotes import _level, select_quotes

    selection = select_quotes(project, codes=["schulden", "doelgroep"])
    assert [c.code for c in selection.codes] == [
        SCHULD,
        "doelgroep",
        "doelgroep/ouderen",
        "doelgroep/jongeren",
    ]
    assert [_level(selection, c) for c in selection.codes] == [1, 1, 2, 2]


# -- errors ----------------------------------------------------------------------------------


def test_no_accepted_codings_says_so_with_a_hint(fixture_project, tmp_path) -> None:  # type: ignore[no-untyped-def]
    only_machine = copy_project(fixture_project, tmp_path / "machine")
    with connect(only_machine) as conn:
        conn.execute("DELETE FROM codings WHERE coder != 'qualcode'")
    out = tmp_path / "q.docx"
    result = invoke("export", "quotes", "-p", only_machine, "-o", out)
    assert_one_line_error(result, "no accepted or manual codings")
    assert "--status any" in result.stderr
    assert not out.exists()
    result = invoke("export", "quotes", "-p", only_machine, "-o", out, "--status", "any")
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--codes", "nope"], "no code 'nope'"),
        (["--codes", "ouderen", "--status", "suggested"], "no open suggestions for ouderen"),
        (["--coder", "nobody"], "no codings by coder 'nobody'"),
        (["--per-code", "0"], "--per-code"),
    ],
)
def test_user_errors_are_one_line(fixture_project, tmp_path, args, fragment) -> None:  # type: ignore[no-untyped-def]
    result = invoke("export", "quotes", "-p", fixture_project, "-o", tmp_path / "q.md", *args)
    assert_one_line_error(result, fragment)


def test_only_short_passages_is_an_error(fixture_project, tmp_path) -> None:  # type: ignore[no-untyped-def]
    result = invoke(
        "export", "quotes", "-p", fixture_project, "-o", tmp_path / "q.md", "--codes",
        "eenzaamheid", "--status", "suggested",
    )  # fmt: skip
    assert_one_line_error(result, "no passage of 15 to 80 words")


@pytest.mark.parametrize(
    ("target", "fragment"),
    [("a_file/q.docx", "cannot write"), ("q.pdf", "unknown file type"), ("q.docx", "directory")],
)
def test_unwritable_paths_are_one_line_errors(fixture_project, tmp_path, target, fragment) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "a_file").write_text("not a folder", encoding="utf-8")
    (tmp_path / "q.docx").mkdir()
    result = invoke("export", "quotes", "-p", fixture_project, "-o", tmp_path / target)
    assert_one_line_error(result, fragment)


# -- the work behind the selection, done once instead of per code or per pair ---------------

KEYWORDS = {
    "impact/sociaal": ["eenzaam", "eenzaamheid", "alleen thuis", "24/7 bereikbaar", "geldzorgen"],
    "impact/financieel": ["schuld", "schulden", "schuldhulp", "geld", "ë-bon", "(buurt)"],
    "doelgroep": ["ouderen", "oudere", "jong", "alleen"],  # prefixes of another family's words
}
FRAGMENTS = [
    "eenzaam", "eenzaamheid", "Eenzaamheid", "alleen", "alleen thuis", " thuis", "24/7 ",
    "bereikbaar", "schulden", "schuldhulpverlening", "geld,", "geldzorgen", "ë-bon", "(buurt)",
    "ouderen", "oudere", "jongeren", "kjong", "_jong", " ", ", ", ". ", "-", "'", "x", "é",
]  # fmt: skip


def _codes(keywords: dict[str, list[str]]):  # type: ignore[no-untyped-def]
    from qualcode.export.matrix import ProjectCode

    return [
        ProjectCode(
            path=path, key=path, label=path, definition="", parent=None, order=n, keywords=tuple(k)
        )
        for n, (path, k) in enumerate(keywords.items())
    ]


def _reference_keyword_re(codes):  # type: ignore[no-untyped-def]
    """The family's keyword expression as select_quotes searched it per sentence before."""
    words = sorted({k.casefold() for c in codes for k in c.keywords if k.strip()}, key=len)
    return re.compile(r"(?<!\w)(?:" + "|".join(re.escape(w) for w in reversed(words)) + ")")


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(FRAGMENTS), max_size=12).map("".join))
def test_keyword_index_finds_what_each_family_expression_finds(sentence: str) -> None:
    from qualcode.export.quotes import _KeywordIndex, _keywords_of

    codes = _codes(KEYWORDS)
    found = _KeywordIndex(codes).keywords_in(sentence)
    for n in range(len(codes)):
        for family in (codes[n : n + 1], codes[: n + 1]):
            expected = bool(_reference_keyword_re(family).search(sentence.casefold()))
            assert (not _keywords_of(family).isdisjoint(found)) == expected, (family, found)


def test_keyword_index_keeps_every_keyword_at_one_spot() -> None:
    from qualcode.export.quotes import _KeywordIndex, _trie_pattern

    index = _KeywordIndex(_codes(KEYWORDS))
    # 'schuldhulp' is the longest match; 'schuld' starts at the same spot and counts too
    assert index.keywords_in("Via de Schuldhulp.") == {"schuld", "schuldhulp"}
    assert index.keywords_in("eenzaamheid en geld") == {"eenzaam", "eenzaamheid", "geld"}
    assert index.keywords_in("deeenzaam, kjong") == set()  # not at the start of a word
    assert re.fullmatch(_trie_pattern(["ab", "abcd", "b"]), "abcd")
    assert re.match(_trie_pattern(["ab", "abcd", "b"]), "abce").group() == "ab"  # type: ignore[union-attr]


def test_similarity_columns_equal_the_square_matrix() -> None:
    import numpy as np
    from scipy.sparse import random as sparse_random
    from sklearn.preprocessing import normalize

    from qualcode.export.quotes import _Similarities

    rows = normalize(sparse_random(60, 40, density=0.2, format="csr", random_state=3))
    square = (rows @ rows.T).toarray()
    similarities = _Similarities(rows)
    for j in (0, 17, 59):
        assert np.array_equal(similarities.column(j), square[:, j])
    assert sorted(similarities.columns) == [0, 17, 59]


def test_selection_computes_only_the_chosen_columns(project, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Memory grows with candidates x quotes, not with candidates squared."""
    from qualcode.export import quotes

    seen: list[tuple[int, int]] = []
    choose = quotes.most_representative

    def spy(candidates, similarity, n):  # type: ignore[no-untyped-def]
        chosen = choose(candidates, similarity, n)
        seen.append((len(similarity.columns), len(chosen)))
        return chosen

    monkeypatch.setattr(quotes, "most_representative", spy)
    quotes.select_quotes(project, per_code=2, status="any")
    assert seen and all(columns <= chosen for columns, chosen in seen)


def _tokens_of(text: str) -> list:  # type: ignore[type-arg]
    """Tokens as the pipeline stores them: punctuation, stop words, a sentence start after
    each full stop, lemmas that are and are not the lower-case form."""
    from qualcode.nlp import FLAG_PUNCT, FLAG_SENT_START, FLAG_STOP, Token

    tokens = []
    for n, match in enumerate(re.finditer(r"\w+|[^\w\s]", text)):
        word = match.group().lower()
        after_stop = n and text[: match.start()].rstrip().endswith((".", "!"))
        flags = FLAG_SENT_START if n == 0 or after_stop else 0
        flags |= FLAG_STOP if word in ("ik", "me", "en", "de") else 0
        flags |= FLAG_PUNCT if not word[0].isalnum() else 0
        tokens.append(Token(match.start(), match.end(), word, word + "x" if n % 2 else word, flags))
    return tokens


def test_sentence_lemmas_from_stored_tokens_equal_filtering_every_token() -> None:
    """Reading the stored JSON directly gives what decoding every token gave: the passage's
    content lemmas, its sentences and their lemmas, for tokens in text order or not."""
    from qualcode.export.quotes import _sentence_lemmas, _spans, _Tokens, sentence_spans
    from qualcode.nlp import decode_tokens, encode_tokens
    from qualcode.suggest.similarity import lemma_text

    text = "Ik voel me eenzaam. Geen geld meer! En toen (lacht) kwam de buurvrouw, a b."
    tokens = _tokens_of(text)
    spans = sentence_spans(text, tokens)
    assert len(spans) == 3
    for order in (tokens, tokens[::-1]):
        stored = _Tokens.decode(encode_tokens(order), text)
        assert stored is not None
        decoded = decode_tokens(encode_tokens(order), text)
        assert stored.lemma_text() == lemma_text(decoded)
        assert _spans(text, stored.sentence_starts) == sentence_spans(text, decoded)
        expected = [lemma_text([t for t in decoded if a <= t.start < b]) for a, b in spans]
        assert _sentence_lemmas(text, stored, spans) == expected
    assert "eenzaamx" in expected[0] and "geld" in expected[1] and " a " not in expected[2]
    assert _Tokens.decode("[]", text) is None  # no tokens: the plain words are used


def test_codings_are_rolled_up_to_every_code_above_them(project) -> None:  # type: ignore[no-untyped-def]
    from qualcode.export.matrix import Selected, project_codes, selected_codings
    from qualcode.export.quotes import _coded_per_code

    def reference(scope, selected):  # type: ignore[no-untyped-def]
        # the test per code and passage that select_quotes did before
        out: dict[str, dict[int, Selected]] = {}
        for code in scope:
            for sid, found in selected.items():
                hits = [
                    s for p, s in found.items() if p == code.path or p.startswith(code.path + "/")
                ]
                if hits:
                    out.setdefault(code.path, {})[sid] = max(
                        hits, key=lambda s: (s.certainty, s.status)
                    )
        return out

    codes = project_codes(project)
    selected = selected_codings(project, status="any")
    tie = {  # equally sure codings: the first one found wins, as before
        "impact/sociaal/spanningen": Selected(0.7, "suggested", "qualcode"),
        "impact/sociaal": Selected(0.7, "suggested", "anna"),
        "impact/sociaalx": Selected(0.9, "suggested", "qualcode"),  # not under impact/sociaal
    }
    for extra in ({}, {-1: tie}):
        for scope in (codes, codes[1:4]):
            expected = reference(scope, {**selected, **extra})
            got = _coded_per_code(scope, {**selected, **extra})
            assert {k: dict(sorted(v.items())) for k, v in got.items()} == {
                k: dict(sorted(v.items())) for k, v in expected.items()
            }
    assert got["impact/sociaal"][-1].coder == "qualcode"


# -- the faster paths give what the plain ones gave --------------------------------------------

# Pieces of transcript text where tidying, counting and sentence splitting have edge cases:
# whitespace of several kinds, ellipses next to words and commas, annotations and brackets that
# are not annotations, fillers, a word glued to the next sentence.
PIECES = [
    "Ja", "nee", "zo.", "En", "toen?", "Dat", "3", "_", "é", " ", "  ", "\n", "\t", "\u00a0",
    "\u200b", "...", "…", ".", ",", ", ", "!", "-", "'", "(lacht)", "(stilte)", "(iedereen lacht)",
    "[onverstaanbaar]", "[…]", "[00:12]", "(nee)", "[", "]", "(", ")", "eh", "uhm", "nou ja",
    "…word",
]  # fmt: skip
_TEXT = st.lists(st.sampled_from(PIECES), max_size=14).map("".join)


def _reference_tidy(text: str) -> str:
    from qualcode.export.quotes import _ELLIPSES_RE, DROPPED

    text = re.sub(r"\s+", " ", text).strip()
    text = _ELLIPSES_RE.sub(DROPPED, text)
    return re.sub(rf"{DROPPED}(?=\w)", f"{DROPPED} ", text)


def _reference_strip_edges(text: str) -> str:
    from qualcode.export.quotes import _EDGE_ANNOTATION_RE

    while (stripped := _EDGE_ANNOTATION_RE.sub("", text, count=1)) != text:
        text = stripped
    return text


def _reference_spans(text: str, starts: list[int]) -> list[tuple[int, int]]:
    from qualcode.text import annotation_spans

    starts = sorted(set(starts))
    starts[0] = 0
    for a, b in annotation_spans(text):
        starts = [a if a < start < b else start for start in starts]
    starts = sorted(set(starts))
    ends = [*starts[1:], len(text)]
    return [(a, b) for a, b in zip(starts, ends, strict=True) if text[a:b].strip()]


@settings(max_examples=400, deadline=None)
@given(text=_TEXT, cuts=st.lists(st.integers(0, 60), max_size=5))
def test_tidying_and_sentences_equal_the_plain_expressions(text: str, cuts: list[int]) -> None:
    from qualcode.export.quotes import _spans, _strip_edge_annotations, _tidy

    assert _tidy(text) == _reference_tidy(text)
    assert _strip_edge_annotations(text) == _reference_strip_edges(text)
    starts = [0, *(c for c in cuts if c <= len(text))]
    assert _spans(text, starts) == _reference_spans(text, starts)


@settings(max_examples=400, deadline=None)
@given(
    sentences=st.lists(_TEXT, min_size=1, max_size=5).map(tuple),
    first=st.integers(0, 4),
    length=st.integers(0, 4),
    no_fillers=st.booleans(),
)
def test_stretch_word_count_equals_that_of_its_text(sentences, first, length, no_fillers) -> None:  # type: ignore[no-untyped-def]
    """Candidates are measured without making their text: '[…]' and the annotations left
    out at the ends never count as words."""
    from qualcode.export.quotes import _stretch, _stretch_words

    first = min(first, len(sentences) - 1)
    end = min(first + length, len(sentences) - 1)
    text, count = _stretch(sentences, first, end, no_fillers)
    assert _stretch_words(sentences, first, end, no_fillers) == count == count_words(text)


def _reference_mmr(candidates, similarity, n):  # type: ignore[no-untyped-def]
    """Maximal marginal relevance one candidate at a time, as the selection did it before."""
    from qualcode.export import quotes as q

    chosen: list[int] = []
    speakers: set[tuple[str, str]] = set()

    def redundancy(i: int, j: int) -> float:
        a, b = candidates[i], candidates[j]
        same_doc = a.unit.segment.document == b.unit.segment.document
        return (
            float(similarity.column(j)[i])
            + (q.SAME_DOCUMENT_PENALTY if same_doc else 0.0)
            + (q.SAME_GROUP_PENALTY if not same_doc and a.group == b.group else 0.0)
        )

    while len(chosen) < n:
        best, best_value = None, 0.0
        for i, cand in enumerate(candidates):
            if cand.speaker in speakers:
                continue
            worst = max((redundancy(i, j) for j in chosen), default=0.0)
            value = q.MMR_LAMBDA * cand.relevance - (1 - q.MMR_LAMBDA) * worst
            if best is None or value > best_value + 1e-12:
                best, best_value = i, value
        if best is None:
            break
        chosen.append(best)
        speakers.add(candidates[best].speaker)
    return [candidates[i] for i in chosen]


@pytest.mark.parametrize("seed", range(12))
def test_most_representative_chooses_as_one_candidate_at_a_time(seed: int) -> None:
    """Same choices as the plain loop, ties (equal cosines, equal scores) included."""
    import random

    from scipy.sparse import csr_matrix
    from sklearn.preprocessing import normalize

    from qualcode.export.matrix import Selected, Unit
    from qualcode.export.quotes import _Candidate, _Similarities, most_representative
    from qualcode.models import Segment

    rng = random.Random(seed)
    size = rng.randint(0, 40)
    # few distinct rows and scores, so that equal values are common
    patterns = [[rng.choice([0, 0, 1, 2]) for _ in range(6)] for _ in range(4)]
    rows = normalize(csr_matrix([rng.choice(patterns) for _ in range(size)] or [[0] * 6]))
    candidates = []
    for n in range(size):
        doc = f"doc{rng.randint(1, 4)}.txt"
        segment = Segment(
            id=n, document_id=0, document=doc, order=n, turn_order=n,
            speaker=f"S{rng.randint(1, 3)}", role=None, is_interviewer=False, start=0, end=1,
            text="x",
        )  # fmt: skip
        coding = Selected(rng.choice([0.5, 0.75, 1.0]), "suggested", "qualcode")
        group = rng.choice(["g1", "g2", doc])
        candidates.append(
            _Candidate(Unit(segment), coding, rng.choice([0.0, 0.25, 0.5]), None, group)  # type: ignore[arg-type]
        )
    for per_code in (1, 3, 5):
        expected = _reference_mmr(candidates, _Similarities(rows), per_code)
        assert most_representative(candidates, _Similarities(rows), per_code) == expected
