"""speechlab.textnorm: the model-card, Whisper and plain normalisers, the registry."""

from __future__ import annotations

import pytest

from speechlab.errors import SpeechlabError
from speechlab.textnorm import (
    CHARS_TO_IGNORE,
    NORMALIZERS,
    NormalizerError,
    _basic_text_normalizer,
    get_normalizer,
    model_card,
    normalizer_name,
    plain,
    whisper,
)

LOWER = "ą ć ę ł ń ó ś ź ż"
UPPER = "Ą Ć Ę Ł Ń Ó Ś Ź Ż"


@pytest.mark.parametrize("normalize", [model_card, whisper])
def test_every_polish_letter_survives_and_capitals_are_lowered(normalize):
    assert normalize(LOWER) == LOWER
    assert normalize(UPPER) == LOWER
    assert normalize("Zażółć GĘŚLĄ jaźń.") == "zażółć gęślą jaźń"


def test_model_card_deletes_the_listed_characters_without_adding_spaces():
    assert model_card("Dzień dobry, jak się masz?") == "dzień dobry jak się masz"
    # the card's regex replaces by nothing: glued words stay glued
    assert model_card("tak,nie") == "taknie"
    assert model_card("„Cytat” — (to) 50% […]") == "cytat to 50"
    # not in the list: hyphen and ASCII apostrophe
    assert model_card("Biało-czerwony rock'n'roll") == "biało-czerwony rock'n'roll"
    assert model_card("  wiele \t\n odstępów  ") == "wiele odstępów"


def test_model_card_list_is_the_cards_list():
    assert len(CHARS_TO_IGNORE) == 93
    assert CHARS_TO_IGNORE[:4] == [",", "?", "¿", "."]
    assert CHARS_TO_IGNORE[-3:] == ["^", "ʻ", "ˆ"]
    assert "-" not in CHARS_TO_IGNORE and "'" not in CHARS_TO_IGNORE
    for char in {c for item in CHARS_TO_IGNORE for c in item}:
        assert model_card(f"a{char}b") == "ab", char


def test_whisper_replaces_symbols_with_spaces_and_drops_bracketed_spans():
    text = "Biało-czerwony [szum] tak,nie (kaszel) 2,5 <unk> koniec!"
    assert whisper(text) == "biało czerwony tak nie 2 5 koniec"
    # the fallback used without transformers gives the same output
    assert " ".join(_basic_text_normalizer(text).split()) == whisper(text)
    assert " ".join(_basic_text_normalizer(UPPER).split()) == LOWER


def test_registry_and_unknown_names():
    assert set(NORMALIZERS) == {"model-card", "whisper", "none"}
    assert get_normalizer("none")("  Tak, NIE  ") == "Tak, NIE"
    assert get_normalizer(str.upper) is str.upper
    assert normalizer_name(model_card) == "model-card"
    assert normalizer_name(str.upper) == "upper"
    unknown = r"Unknown normaliser 'basic'.*model-card, whisper, none"
    with pytest.raises(NormalizerError, match=unknown):
        get_normalizer("basic")
    assert issubclass(NormalizerError, SpeechlabError)


def test_plain_keeps_polish_letters_and_apostrophes():
    assert plain("Zażółć  GĘŚLĄ jaźń, don't!") == "zażółć gęślą jaźń don't"
    assert plain("Dzień dobry.—Tak?") == "dzień dobry tak"
    assert plain(" …! ") == ""
