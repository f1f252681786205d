"""The lexical suggester: lemmas, phrases, Dutch compounds, negation, exclusion patterns and the
explanation it gives. Runs on the offline pipeline (spacy.blank('nl') + lookup lemmatizer)."""

from __future__ import annotations

import re

import pytest
from coding_helpers import EENZAAMHEID, SCHULDEN, lexical_for, lexical_match, pipeline

from qualcode.nlp import dutch_vocabulary, lemmatise_phrase, tokens_of
from qualcode.suggest.compounds import MIN_KEYWORD, CompoundMatcher


def codes_in(text: str, codebook: str | None = None) -> set[str]:
    return set(lexical_match(text, codebook))


def hits_in(text: str, codebook: str | None = None) -> list:
    tokens = tokens_of(pipeline().nlp(text))
    return lexical_for(codebook).hits(text, tokens)


# -- lemmas and phrases ----------------------------------------------------------------------


def test_the_offline_pipeline_is_the_lookup_fallback() -> None:
    assert pipeline().fallback
    assert pipeline().nlp.lang == "nl"


def test_plural_matches_the_lemma_keyword() -> None:
    result = lexical_match("Ik had schulden bij de woningcorporatie.")
    assert set(result) == {SCHULDEN}
    assert [h.kind for h in result[SCHULDEN].hits] == ["lemma"]
    assert result[SCHULDEN].hits[0].evidence == "schuld"


@pytest.mark.parametrize("form", ["vereenzaamd", "vereenzaamt", "vereenzaamde"])
def test_verb_forms_match_through_the_lookup_lemmatizer(form: str) -> None:
    # What spacy-lookups-data's Dutch table does (checked, not assumed): every form below maps
    # to the infinitive, so the keyword 'vereenzamen' finds them.
    assert lemmatise_phrase(pipeline(), form) == ("vereenzamen",)
    result = lexical_match(f"Mijn buurvrouw {form} sinds de lockdown.")
    assert set(result) == {EENZAAMHEID}
    assert result[EENZAAMHEID].hits[0].kind == "lemma"
    assert result[EENZAAMHEID].explanation.startswith("lemma 'vereenzamen' in ")


def test_inflected_adjective_matches() -> None:
    assert codes_in("Het waren eenzame weken.") == {EENZAAMHEID}


def test_phrase_matches_as_a_contiguous_lemma_sequence() -> None:
    result = lexical_match("Bij ons was het echt sociaal isolement.")
    assert set(result) == {EENZAAMHEID}
    hit = result[EENZAAMHEID].hits[0]
    assert (hit.kind, hit.evidence) == ("phrase", "sociaal isolement")
    assert "Bij ons was het echt sociaal isolement."[hit.start : hit.end] == "sociaal isolement"
    assert result[EENZAAMHEID].score == pytest.approx(0.7)  # a phrase weighs more than a lemma


def test_phrase_matches_on_lemmas() -> None:
    # 'niemand zien': 'zag' has the lemma 'zien', so 'niemand zag' is the same lemma sequence
    assert lemmatise_phrase(pipeline(), "niemand zag") == ("niemand", "zien")
    assert codes_in("Niemand zag haar nog.") == {EENZAAMHEID}
    assert codes_in("Ze wilde niemand zien.") == {EENZAAMHEID}


@pytest.mark.parametrize(
    "text",
    [
        "Ze zag niemand meer.",  # other order: not the sequence 'niemand zien'
        "Ze wilde niemand meer zien.",  # a word in between: not contiguous
        "Sociaal was het zwaar, het isolement ook.",  # the words apart
        "Het isolement van de wijk.",  # half a phrase
    ],
)
def test_phrase_needs_the_words_in_order_and_together(text: str) -> None:
    assert EENZAAMHEID not in codes_in(text)


# -- compounds -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "word",
    ["schuldenproblematiek", "schuldhulpverlening", "huurschuld", "huurschulden", "studieschuld"],
)
def test_keyword_found_inside_compounds(word: str) -> None:
    text = f"Het ging over de {word} in de wijk."
    result = lexical_match(text)
    assert set(result) == {SCHULDEN}
    hit = result[SCHULDEN].hits[0]
    assert hit.kind == "compound"
    assert text[hit.start : hit.end] == word
    assert result[SCHULDEN].explanation.startswith(f"compound '{word}' contains 'schuld' in \"")


def test_compound_with_a_capital_at_the_start_of_a_sentence() -> None:
    assert codes_in("Schuldhulpverlening kwam pas laat.") == {SCHULDEN}


@pytest.mark.parametrize("word", ["schuldig", "onschuldig", "schuldloos", "schuldeloos"])
def test_derivations_are_not_compounds(word: str) -> None:
    assert codes_in(f"Hij voelde zich {word}.") == set()


def test_derivational_suffixes_that_are_words_do_not_make_a_compound() -> None:
    # 'loos', 'lijk' and 'baar' are words too, but zorgeloos/werkelijk/werkbaar are derivations
    matcher = CompoundMatcher(["zorg", "werk", "schuld"], dutch_vocabulary())
    for word in ("zorgeloos", "zorgelijk", "werkelijk", "werkbaar", "schuldloos", "schuldig"):
        assert matcher.parts(word) == (), word
    for word in ("zorgverzekering", "werkdag", "schuldeiser", "schuldhulpverlening"):
        assert matcher.parts(word) != (), word


def test_eenzaamheid_finds_eenzaamheidsgevoelens() -> None:
    result = lexical_match("De eenzaamheidsgevoelens namen toe.")
    assert set(result) == {EENZAAMHEID}
    hit = result[EENZAAMHEID].hits[0]
    assert (hit.kind, hit.evidence) == ("compound", "eenzaamheid|eenzaamheidsgevoelens")


EXACT = """
name: Exact of niet
codes:
  - id: samengesteld
    label: Samengesteld
    keywords: [werk, geld]
  - id: exact
    label: Exact
    keywords: [=werk, =geld]
  - id: kort
    label: Kort
    keywords: [zak]
"""


def test_exact_keyword_matches_whole_words_only() -> None:
    assert codes_in("Het thuiswerk viel zwaar.", EXACT) == {"samengesteld"}
    assert codes_in("Hij kreeg zakgeld.", EXACT) == {"samengesteld"}
    assert codes_in("Mijn werk is weg.", EXACT) == {"samengesteld", "exact"}
    assert codes_in("Het geld was op.", EXACT) == {"samengesteld", "exact"}


def test_keywords_shorter_than_four_letters_do_not_do_compounds() -> None:
    assert MIN_KEYWORD == 4
    assert codes_in("Een zak chips.", EXACT) == {"kort"}
    assert "kort" not in codes_in("Hij kreeg zakgeld.", EXACT)  # 'geld' (4 letters) does
    assert CompoundMatcher(["zak", "arm"], dutch_vocabulary()).keywords == set()


# -- negation and exclusion ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Ik voel me niet eenzaam.", EENZAAMHEID),
        ("Ik voel me nooit echt eenzaam.", EENZAAMHEID),
        ("We hebben geen schulden.", SCHULDEN),
        ("Gelukkig geen huurschulden meer.", SCHULDEN),
    ],
)
def test_negated_keyword_gives_no_suggestion(text: str, code: str) -> None:
    assert code not in codes_in(text)
    negated = [h for h in hits_in(text) if h.code == code]
    assert negated and all(h.negated for h in negated)


@pytest.mark.parametrize(
    "text",
    [
        "Ik was niet alleen eenzaam, maar ook bang.",  # 'niet alleen ... maar ook'
        "Ik weet niet of ze eenzaam is.",  # the negation is in another clause
        "Dat klopt niet. Eenzaam was ik wel.",  # ... or in another sentence
        "Zij niet, maar haar man was erg eenzaam.",
    ],
)
def test_negation_that_does_not_reach_the_keyword(text: str) -> None:
    assert EENZAAMHEID in codes_in(text)


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Schulden heb ik ook niet, gelukkig.", SCHULDEN),
        ("We redden het. Schulden hebben we niet.", SCHULDEN),
        ("Eenzaam voel ik me niet.", EENZAAMHEID),
        ("Nee, eenzaam was ze nooit hoor.", EENZAAMHEID),
    ],
)
def test_fronted_keyword_negated_at_the_end_of_its_clause(text: str, code: str) -> None:
    # Dutch verb-second order puts the negation after the keyword: "Schulden heb ik niet".
    assert code not in codes_in(text)


@pytest.mark.parametrize(
    "text",
    [
        "Schulden maken mensen niet gelukkig.",  # 'niet' belongs to 'gelukkig'
        "Ik heb schulden, maar ik schaam me niet.",  # the keyword does not open the clause
        "Eenzaam was ze, en ze belde niet.",  # another clause
    ],
)
def test_a_later_niet_about_something_else_does_not_negate(text: str) -> None:
    assert codes_in(text) & {SCHULDEN, EENZAAMHEID}


CONTEXT_BOOK = """
    name: context
    codes:
      - id: schulden
        label: Schulden
        keywords: [schuld, deurwaarder]
        context: [schuldhulp, budgetcoach, uitkering]
"""


def test_a_context_word_alone_is_not_enough() -> None:
    result = lexical_match("Ik heb hem doorverwezen naar de schuldhulp.", CONTEXT_BOOK)
    assert result["schulden"].score < 0.5  # below the default threshold on its own
    [hit] = result["schulden"].hits
    assert hit.kind == "context"
    assert result["schulden"].explanation.startswith("context word 'schuldhulp' in ")


def test_context_words_add_to_real_evidence() -> None:
    alone = lexical_match("Er stond een deurwaarder voor de deur.", CONTEXT_BOOK)["schulden"]
    both = lexical_match(
        "Er stond een deurwaarder voor de deur, dus ik belde de schuldhulp.", CONTEXT_BOOK
    )["schulden"]
    assert both.score > alone.score >= 0.5


def test_context_words_are_found_in_compounds_too() -> None:
    [hit] = lexical_match("De budgetcoachgesprekken gingen door.", CONTEXT_BOOK)["schulden"].hits
    assert hit.kind == "context"


def test_negation_is_per_occurrence() -> None:
    # one negated, one not: the second occurrence still counts
    result = lexical_match("Eerst was ik niet eenzaam. Later werd ik heel eenzaam.")
    assert EENZAAMHEID in result
    assert [h.negated for h in result[EENZAAMHEID].hits] == [False]


def test_exclusion_pattern_cancels_the_keyword() -> None:
    assert codes_in("Het is jouw schuld.") == set()
    [hit] = hits_in("Het is jouw schuld.")
    assert (hit.code, hit.excluded, hit.negated) == (SCHULDEN, True, False)


def test_exclusion_pattern_only_in_its_own_sentence() -> None:
    text = "Het is jouw schuld, zei hij. Maar hij had zelf ook schulden."
    result = lexical_match(text)
    assert set(result) == {SCHULDEN}
    [hit] = result[SCHULDEN].hits
    assert text[hit.start : hit.end] == "schulden"
    assert hit.sentence == 1
    assert result[SCHULDEN].explanation == "lemma 'schuld' in \"...hij had zelf ook schulden.\""


def test_exclusion_pattern_only_cancels_its_own_code() -> None:
    assert codes_in("Het is jouw schuld dat ik zo eenzaam ben.") == {EENZAAMHEID}


def test_exclusion_also_cancels_compounds_in_that_sentence() -> None:
    assert codes_in("Dat is mijn schuld, zei de schuldhulpverlening.") == set()


# -- explanations ----------------------------------------------------------------------------


def test_lexical_explanation_quotes_the_matched_word() -> None:
    text = (
        "Na de verhuizing van haar dochter naar Groningen voelde mijn moeder zich heel eenzaam"
        " in dat grote huis aan de rand van het dorp."
    )
    result = lexical_match(text)
    explanation = result[EENZAAMHEID].explanation
    match = re.fullmatch(r"lemma 'eenzaam' in \"(?P<snippet>.+)\"", explanation)
    assert match, explanation
    snippet = match["snippet"]
    assert "eenzaam" in snippet
    # a window around the word, marked with ... where the segment goes on
    assert snippet.startswith("...") and snippet.endswith("...")
    assert snippet.strip(".") in text
    assert len(snippet) < len(text)


def test_lexical_explanation_of_a_short_segment_is_the_whole_text() -> None:
    assert lexical_match("Hij was eenzaam.")[EENZAAMHEID].explanation == (
        "lemma 'eenzaam' in \"Hij was eenzaam.\""
    )


def test_explanation_lists_the_three_strongest_pieces_of_evidence() -> None:
    text = "Ze is eenzaam. Sociaal isolement, en niemand zien: eenzaamheidsgevoelens."
    result = lexical_match(text)[EENZAAMHEID]
    assert sorted(h.kind for h in result.hits) == ["compound", "lemma", "phrase", "phrase"]
    # phrases (0.7) before lemmas (0.55) before compounds (0.5); at most three, then a count
    assert result.explanation.endswith(" (+1 more)")
    parts = result.explanation.removesuffix(" (+1 more)").split("; ")
    assert [p.split(" '")[0] for p in parts] == ["phrase", "phrase", "lemma"]
    # the snippet: up to 4 tokens either side ('.' counts), '...' where the segment goes on
    assert parts[0] == (
        "phrase 'sociaal isolement' in \"Ze is eenzaam. Sociaal isolement, en niemand zien...\""
    )
    assert parts[2].startswith("lemma 'eenzaam' in \"Ze is eenzaam.")
    assert result.score > lexical_match("Ze is eenzaam.")[EENZAAMHEID].score


PATTERN = """
name: Patronen
codes:
  - id: geldzorgen
    label: Geldzorgen
    patterns:
      - id: geld_tekort
        description: geld of inkomen in combinatie met tekort/krap
        effect: include
        pattern: [{LEMMA: {IN: [geld, inkomen]}}, {OP: "{0,3}"}, {LEMMA: {IN: [tekort, krap]}}]
"""


def test_include_pattern_is_evidence_with_its_id() -> None:
    result = lexical_match("Het geld was toen heel krap bij ons.", PATTERN)
    assert set(result) == {"geldzorgen"}
    [hit] = result["geldzorgen"].hits
    assert hit.kind == "pattern"
    assert "Het geld was toen heel krap bij ons."[hit.start : hit.end] == "geld was toen heel krap"
    assert result["geldzorgen"].explanation.startswith("pattern 'geld_tekort' in \"")
    # more than three tokens in between: no match
    assert lexical_match("Het geld was toen echt heel erg krap.", PATTERN) == {}
