"""Dutch inflection fallbacks and compound-part checks used by the lexical suggester."""

import pytest

from qualcode.nlp import dutch_vocabulary
from qualcode.suggest.compounds import CompoundMatcher
from qualcode.suggest.inflection import base_forms


@pytest.mark.parametrize(
    ("word", "base"),
    [
        ("ouderen", "oudere"),
        ("jongeren", "jongere"),
        ("schulden", "schuld"),
        ("mantelzorgers", "mantelzorger"),
        ("zzp'ers", "zzp'er"),
        ("sociale", "sociaal"),
        ("eenzame", "eenzaam"),
        ("grote", "groot"),
        ("psychische", "psychisch"),
        ("kleine", "klein"),
    ],
)
def test_base_forms_propose_the_keyword_form(word: str, base: str) -> None:
    assert base in base_forms(word)


def test_base_forms_order_prefers_the_nearest_form() -> None:
    # "ouderen" (older people) must meet keyword "oudere" before "ouder" (parent)
    forms = base_forms("ouderen")
    assert forms.index("oudere") < forms.index("ouder")


def test_short_words_get_no_base_forms() -> None:
    assert base_forms("les") == ()
    assert base_forms("de") == ()


@pytest.fixture(scope="module")
def matcher() -> CompoundMatcher:
    return CompoundMatcher(["schuld", "rouwen", "eenzaamheid"], dutch_vocabulary())


@pytest.mark.parametrize(
    "word",
    ["huurschuld", "huurschulden", "studieschuld", "schuldhulpverlening", "schuldenproblematiek"],
)
def test_compounds_with_known_parts_match(matcher: CompoundMatcher, word: str) -> None:
    assert "schuld" in matcher.parts(word)


@pytest.mark.parametrize("word", ["vertrouwen", "schuldig", "onschuldig"])
def test_words_whose_rest_is_no_word_do_not_match(matcher: CompoundMatcher, word: str) -> None:
    assert matcher.parts(word) == ()


@pytest.mark.parametrize(
    ("keyword", "word"),
    [
        ("chillen", "verschillen"),  # ver + schillen, not vers + chillen
        ("rouwen", "wantrouwen"),
        ("rouwen", "hertrouwen"),  # her + trouwen, not hert (a deer) + rouwen
        ("chatten", "inschatten"),
        ("pleger", "verpleger"),
        ("cent", "procent"),
        ("cent", "centrum"),
        ("geld", "gelding"),
        ("geld", "geregeld"),
        ("omzet", "omzetting"),
    ],
)
def test_derivations_that_look_like_compounds_do_not_match(keyword: str, word: str) -> None:
    # found by running every keyword of the default codebook over spaCy's Dutch vocabulary
    assert CompoundMatcher([keyword], dutch_vocabulary()).parts(word) == ()


@pytest.mark.parametrize(
    ("keyword", "word"),
    [
        ("cent", "eurocent"),
        ("lening", "geldlening"),
        ("rekening", "gasrekening"),
        ("mantelzorg", "mantelzorgers"),
        ("angst", "faalangst"),
        ("pleger", "veelpleger"),
    ],
)
def test_real_compounds_still_match(keyword: str, word: str) -> None:
    assert CompoundMatcher([keyword], dutch_vocabulary()).parts(word) == (keyword,)
