"""Polish words from wordfreq and their inflections from Morfeusz 2."""

from __future__ import annotations

from speechlab.train.polish_lexicon import (
    ALPHABET,
    CASES,
    lexicon,
    noun_forms,
    proper_forms,
    verb_forms,
)


def test_the_lexicon_keeps_real_polish_words_in_frequency_order():
    lex = lexicon(15_000)
    assert lex.words[:3] == ("w", "i", "nie")
    assert len(lex.words) == 15_000 == len(lex.frequencies)
    assert list(lex.frequencies) == sorted(lex.frequencies, reverse=True)
    assert all(set(w) <= set(ALPHABET) for w in lex.words)
    assert not {"the", "and", "mgr", "np"} & set(lex.words)  # English and abbreviations
    assert "człowiek" in lex.nouns and "czytać" in lex.verbs and "szybko" in lex.adverbs
    assert lex.noun_genders["dziecko"] == "n:col"


def test_nouns_have_seven_cases_in_both_numbers():
    forms = noun_forms("stół")
    assert {(n, c) for n in ("sg", "pl") for c in CASES} <= set(forms)
    assert forms[("sg", "loc")] == "stole" and forms[("pl", "gen")] == "stołów"


def test_verbs_have_every_person():
    forms = verb_forms("nieść")
    assert [forms[("fin", n, p)] for n in ("sg", "pl") for p in ("pri", "sec", "ter")] == [
        "niosę", "niesiesz", "niesie", "niesiemy", "niesiecie", "niosą",
    ]  # fmt: skip
    assert forms[("praet-agl", "sg", "m")] + "em" == "niosłem"
    assert forms[("praet", "pl", "m1")] == "nieśli"


def test_place_and_person_names_are_inflected_with_agreement():
    assert proper_forms("Ruda Śląska", "nazwa_geograficzna")["loc"] == "Rudzie Śląskiej"
    assert proper_forms("Katowice", "nazwa_geograficzna")["gen"] == "Katowic"
    assert proper_forms("Kowalska", "nazwisko", "f")["inst"] == "Kowalską"
    assert proper_forms("Jakub", "imię", "m1")["voc"] == "Jakubie"
    assert proper_forms("Xyzzy", "nazwa_geograficzna") is None
