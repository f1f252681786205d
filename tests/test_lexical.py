"""The lexical suggester: lemmas, phrases, Dutch compounds, negation, exclusion patterns and the
explanation it gives. Runs on the offline pipeline (spacy.blank('nl') + lookup lemmatizer)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from coding_helpers import (
    CODING_YAML,
    EENZAAMHEID,
    SCHULDEN,
    lexical_for,
    lexical_match,
    pipeline,
)

from qualcode.nlp import dutch_vocabulary, lemmatise_phrase, tokens_of, weak_verb_forms
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


@pytest.mark.parametrize(
    ("form", "lemma"),
    [
        ("gedaan", "doen"),  # irregular participles and past tenses: not in the lookup table
        ("kwam", "komen"),
        ("zaten", "zitten"),  # not the noun 'zate'
        ("mensen", "mens"),
        ("afspraken", "afspraak"),  # the noun, not the verb 'afspreken'
        ("ouderen", "oudere"),
        ("geholpen", "helpen"),
        ("wist", "weten"),
        ("geïsoleerde", "geïsoleerd"),  # an adjective: 'het huis isoleren' is something else
        ("verzorgenden", "verzorgende"),  # people, not the verb 'verzorgen'
        ("genomen", "nemen"),  # not the plural of 'genoom'
        ("gedachten", "gedachte"),
        ("zat", "zitten"),  # stop words, but 'zat thuis' must meet 'thuis zitten'
        ("werd", "worden"),
        # weak verbs: present and past forms made from the infinitive ('t kofschip)
        ("werkte", "werken"),
        ("zorgde", "zorgen"),
        ("maakten", "maken"),
        ("leefde", "leven"),
        ("verhuisde", "verhuizen"),
        ("wandelde", "wandelen"),
        ("leent", "lenen"),
    ],
)
def test_the_exception_lists_complete_the_lookup_table(form: str, lemma: str) -> None:
    assert lemmatise_phrase(pipeline(), form) == (lemma,)


@pytest.mark.parametrize(
    "word",
    # nouns and verbs in their own right, adjectives that are no participle, adverbs in -s,
    # stop words: without part-of-speech tags these must keep their form
    [
        "week",
        "groep",
        "man",
        "bellen",
        "werken",
        "echt",
        "langs",
        "straks",
        "genoeg",
        "het",
        "gespannen",
        "overvallen",
    ],
)
def test_words_in_their_own_right_keep_their_form(word: str) -> None:
    assert lemmatise_phrase(pipeline(), word) == (word,)


@pytest.mark.parametrize(
    ("infinitive", "forms"),
    [
        ("maken", ["maakt", "maakte", "maakten"]),
        ("bellen", ["belt", "belde", "belden"]),
        ("praten", ["praat", "praatte", "praatten"]),
        ("leven", ["leeft", "leefde", "leefden"]),
        ("wandelen", ["wandelt", "wandelde", "wandelden"]),
        ("lachen", ["lacht", "lachte", "lachten"]),
        ("zien", []),  # a monosyllable: its forms are irregular
    ],
)
def test_weak_verb_forms(infinitive: str, forms: list[str]) -> None:
    assert list(weak_verb_forms([infinitive])) == forms


def test_a_form_two_verbs_share_goes_to_the_shorter_whatever_the_order() -> None:
    # the lemma index has both 'spelen' and the old spelling 'speelen'; lemmas must not depend
    # on the order of a set (that made topics differ between two runs of the same corpus)
    assert weak_verb_forms(["speelen", "spelen"])["speelde"] == "spelen"
    assert weak_verb_forms(["spelen", "speelen"])["speelde"] == "spelen"
    assert lemmatise_phrase(pipeline(), "speelde") == ("spelen",)


@pytest.mark.parametrize(
    ("sentence", "word"),
    [
        ("De agenda zat vol.", "vol"),
        ("Hij belde me.", "me"),
        ("Dank u.", "u"),
        ("Dat zei ze van dat.", "dat"),
    ],
)
def test_an_everyday_word_at_the_end_of_a_sentence_is_not_an_abbreviation(
    sentence: str, word: str
) -> None:
    tokens = [t.text for t in pipeline().nlp(sentence)]
    assert tokens[-2:] == [word, "."]


def test_initials_and_titles_keep_their_full_stop() -> None:
    tokens = [t.text for t in pipeline().nlp("Mevr. J. de Vries en prof. Bakker kwamen.")]
    assert tokens[:2] == ["Mevr.", "J."] and "prof." in tokens


def test_a_phrase_with_a_verb_matches_its_past_forms() -> None:
    book = """
name: Hulp
codes:
  - id: burenhulp
    label: Burenhulp
    keywords: [boodschappen doen voor]
"""
    assert codes_in("De buurman heeft boodschappen gedaan voor haar.", book) == {"burenhulp"}
    assert codes_in("Wij zullen boodschappen doen voor de buren.", book) == {"burenhulp"}


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


OVERLAP_BOOK = """
    name: overlap
    codes:
      - id: digitaal
        label: Digitaal
        keywords: [beeldbellen]
        context: [computer, computers]
      - id: alleen
        label: Alleen
        keywords: [er alleen voor staan, alleen voor staan]
"""


def test_two_context_words_on_the_same_word_are_one_piece_of_evidence() -> None:
    result = lexical_match("Hij had het op de computer voor me aangezet.", OVERLAP_BOOK)
    assert len(result["digitaal"].hits) == 2  # both entries are found ...
    assert result["digitaal"].score < 0.5  # ... but they count once: context alone stays below
    assert result["digitaal"].explanation.count("context word") == 1


def test_overlapping_phrases_count_once() -> None:
    one = lexical_match("Moeders die er alleen voor staan.", OVERLAP_BOOK)["alleen"]
    assert len(one.hits) == 2
    assert one.score == 0.7  # one phrase's weight, no repeat bonus
    two = lexical_match(
        "Moeders die er alleen voor staan. Vaders die er alleen voor staan.", OVERLAP_BOOK
    )["alleen"]
    assert one.score < two.score < 0.8  # the same phrase elsewhere is a repeat, not new evidence


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


# -- the pattern index and the per-form memo: faster, never different -----------------------

INDEXED = """
name: Index
codes:
  - id: deurwaarder
    label: Deurwaarder
    patterns:
      - id: incasso_belt
        description: a prefix anchor (^(schuldeis|incasso) without $), then a lemma list
        effect: include
        pattern:
          - {LOWER: {REGEX: "^(schuldeis|incasso)"}}
          - {OP: "{0,2}"}
          - {LEMMA: {IN: [bellen, dreigen]}}
  - id: bezoek
    label: Bezoek
    patterns:
      - id: geen_bezoek
        description: an IN list, an optional word, a literal
        effect: include
        pattern: [{LOWER: {IN: [geen, weinig]}}, {LOWER: meer, OP: "?"}, {LOWER: bezoek}]
      - id: alleen_wonen
        description: an optional first token
        effect: include
        pattern: [{LOWER: heel, OP: "?"}, {LOWER: alleen}, {LEMMA: wonen}]
  - id: oudere
    label: Oudere
    patterns:
      - id: leeftijd
        description: one token, a regular expression that is no simple alternation
        effect: include
        pattern: [{LOWER: {REGEX: "^(6[5-9]|[7-9][0-9])-?jarigen?$"}}]
  - id: schuld
    label: Schuld
    keywords: [schuld]
    patterns:
      - id: schuldgevoel
        description: exclude, with a regular expression the old anchors could not use
        effect: exclude
        pattern: [{LOWER: {REGEX: "^schuld(gevoel|bewust)"}}]
"""


def pattern_hits(text: str, codebook: str = INDEXED) -> list[tuple[str, str]]:
    hits = hits_in(text, codebook)
    return [(h.evidence, text[h.start : h.end]) for h in hits if h.kind == "pattern"]


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("De schuldeisers bleven bellen.", [("incasso_belt", "schuldeisers bleven bellen")]),
        ("Het incassobureau dreigde.", [("incasso_belt", "incassobureau dreigde")]),
        ("We kregen geen bezoek.", [("geen_bezoek", "geen bezoek")]),
        ("Geen bezoek, niemand.", [("geen_bezoek", "Geen bezoek")]),  # from the first token
        ("We kregen weinig meer bezoek.", [("geen_bezoek", "weinig meer bezoek")]),
        ("Ze woont alleen.", []),  # 'woont alleen': the other order
        ("Ik ga alleen wonen.", [("alleen_wonen", "alleen wonen")]),
        (  # with and without the optional word, as spaCy's Matcher gives them
            "Ik ga heel alleen wonen.",
            [("alleen_wonen", "heel alleen wonen"), ("alleen_wonen", "alleen wonen")],
        ),
        ("Veel 80-jarigen bleven thuis.", [("leeftijd", "80-jarigen")]),
        ("Veel 80jarigen bleven thuis.", [("leeftijd", "80jarigen")]),
        ("Veel 50-jarigen bleven thuis.", []),
    ],
)
def test_the_pattern_index_finds_every_kind_of_anchor(
    text: str, found: list[tuple[str, str]]
) -> None:
    assert pattern_hits(text) == found


def test_anchors_in_another_order_earlier_in_the_sentence_do_not_hide_a_match() -> None:
    # 'bezoek' before 'geen' first, then 'geen ... bezoek' in the right order
    text = "Bezoek? Nee. Bezoek kwam er niet, we kregen geen bezoek."
    assert pattern_hits(text) == [("geen_bezoek", "geen bezoek")]
    # the words of a pattern in two sentences are no match
    assert pattern_hits("Het was geen doen. Bezoek kwam niet.") == []


def test_an_exclude_pattern_found_through_a_regex_anchor_cancels_its_code() -> None:
    assert codes_in("Ik had een schuldgevoel.", INDEXED) == set()
    [hit] = hits_in("Ik had een schuldgevoel.", INDEXED)
    assert (hit.code, hit.kind, hit.excluded) == ("schuld", "compound", True)
    assert codes_in("Ik had een schuldgevoel. En een schuld.", INDEXED) == {"schuld"}


def test_required_tokens_say_which_anchors_fix_a_position() -> None:
    from qualcode.suggest.lexical import Anchor, required_tokens

    [a, b, c, d, e] = required_tokens(
        [
            {"LOWER": {"IN": ["Geen", "weinig"]}},
            {"OP": "{0,3}"},
            {"LEMMA": {"REGEX": "^(bezoeke?n?|visite)$"}},
            {"LOWER": {"REGEX": "^bel|len$"}},  # 'starts with bel or ends with len'
            {"TEXT": "Thuis"},
            {"LOWER": {"REGEX": "^[0-9]+$"}, "OP": "+"},
            {"NORM": {"REGEX": "^[a-z]+$"}},  # no anchor at all
        ]
    )
    assert (a.anchor, a.positional) == (Anchor(frozenset({"geen", "weinig"})), True)
    assert b.anchor.words == {"bezoek", "bezoeke", "bezoeken", "bezoekn", "visite"}
    assert b.positional
    assert (c.anchor.words, c.positional) == ({"bel", "len"}, False)
    assert (d.anchor.words, d.positional) == ({"thuis"}, False)
    assert (e.anchor, e.positional) == (Anchor(regex="^[0-9]+$"), True)


def brute_force(suggester, text: str, tokens) -> tuple[list[tuple], set[tuple[str, int]]]:
    """Every pattern on every sentence, no index: what the index must give."""
    from qualcode.nlp import to_doc

    doc = to_doc(suggester.vocab_, text, tokens)
    found, excluded = [], set()
    for n, sent in enumerate(doc.sents):
        for p in suggester.patterns_.patterns:
            for _, i, j in p.matcher(sent):
                if p.effect == "exclude":
                    excluded.add((p.code, n))
                else:
                    found.append((p.code, p.pattern_id, sent.start + i, sent.start + j, n))
    return found, excluded


REPO = Path(__file__).parent.parent


def sample_paragraphs() -> list[str]:
    files = sorted((REPO / "corpus").glob("*.txt")) + sorted((REPO / "corpus").glob("*.md"))
    # one paragraph a line; a few files are Windows-1252, which does not matter here
    lines = [line for f in files for line in f.read_bytes().decode(errors="replace").splitlines()]
    paragraphs = [line for line in lines if len(line.split()) > 3]
    return [
        *paragraphs,
        "Sommige 80-jarigen hadden schuldgevoelens. De incassobureaus belden. Geen bezoek!",
    ]


@pytest.mark.parametrize("codebook", ["impact", "indexed"])
def test_the_index_gives_what_running_every_pattern_gives(codebook: str) -> None:
    from qualcode.codebook import load_codebook, parse_codebook
    from qualcode.suggest.lexical import LexicalSuggester

    path = REPO / "codebooks" / "impact.yaml"
    if codebook == "impact" and not path.exists():
        pytest.skip("codebooks/impact.yaml is not there")
    book = load_codebook(path) if codebook == "impact" else parse_codebook(INDEXED)
    suggester = LexicalSuggester().fit(book, pipeline(), dutch_vocabulary())
    paragraphs = sample_paragraphs()
    assert len(paragraphs) > 50
    matched = 0
    for text in paragraphs:
        tokens = tokens_of(pipeline().nlp(text))
        found, excluded = brute_force(suggester, text, tokens)
        hits = suggester.hits(text, tokens)
        patterns = [
            (h.code, h.evidence, h.token, h.token_end, h.sentence)
            for h in hits
            if h.kind == "pattern"
        ]
        assert patterns == found, text
        assert all(h.excluded == ((h.code, h.sentence) in excluded) for h in hits), text
        matched += len(found) + len(excluded)
    assert matched > (50 if codebook == "impact" else 3)


def test_a_word_first_seen_after_many_others_is_still_analysed() -> None:
    # Everything that depends on the word form alone is memoised per (lower, lemma); a form
    # the suggester has not seen yet is analysed when it first comes, a known one is reused.
    from qualcode.codebook import load_codebook
    from qualcode.suggest.lexical import LexicalSuggester

    suggester = LexicalSuggester().fit(load_codebook(CODING_YAML), pipeline(), dutch_vocabulary())

    def codes(text: str) -> set[str]:
        return set(suggester.match(text, tokens_of(pipeline().nlp(text))))

    assert codes("We hadden het zwaar, maar we redden het wel.") == set()
    assert codes("Toen kwam de huurschuld.") == {SCHULDEN}  # a compound, never seen before
    assert codes("Toen kwam de huurschuld, niet de studieschuld.") == {SCHULDEN}
    assert codes("We hadden het zwaar, maar we redden het wel.") == set()
    assert codes("Het was mijn schuld.") == set()  # the same form, excluded here
    assert codes("Er was een schuld.") == {SCHULDEN}


PHRASES = """
name: Zinnen
codes:
  - id: hoop
    label: Hoop
    keywords: [de hoop opgeven, de hoop verliezen, de moed verliezen]
  - id: jeugd
    label: Jeugd
    keywords: [de jeugd]
  - id: contact
    label: Contact
    keywords: [coronaregel handhaven, coronaregels handhaven]
"""


def test_phrases_that_share_their_first_word_keep_their_order() -> None:
    text = "Ze verloor de hoop. Hij wilde de hoop opgeven en de moed verliezen, de jeugd ook."
    hits = hits_in(text, PHRASES)
    assert [(h.evidence, h.sentence) for h in hits] == [
        ("de hoop opgeven", 1),
        ("de moed verliezen", 1),
        ("de jeugd", 1),
    ]
    # the first word through its base form too (coronaregels → coronaregel: no lemma is known),
    # and the phrases starting with the token's lemma before those starting with a base form
    assert [h.evidence for h in hits_in("Wij moesten de coronaregels handhaven.", PHRASES)] == [
        "coronaregels handhaven",
        "coronaregel handhaven",
    ]
