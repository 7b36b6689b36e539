"""Polish numbers, dates, times and money in words, with agreement."""

from __future__ import annotations

import pytest

from speechlab.train.polish_numbers import (
    NumberWordsError,
    cardinal,
    counted,
    date,
    money,
    ordinal,
    time_of_day,
    year,
)

HOURS = ("godzina", "godziny", "godzin")
ZLOTY = ("złoty", "złote", "złotych")


def test_cardinals_agree_with_the_gender_of_the_noun():
    assert cardinal(1, "f") == "jedna" and cardinal(1, "n") == "jedno" and cardinal(1) == "jeden"
    assert counted(2, ZLOTY) == "dwa złote"  # złoty is masculine: never "dwie złote"
    assert counted(2, HOURS, "f") == "dwie godziny"
    assert counted(22, HOURS, "f") == "dwadzieścia dwie godziny"
    assert counted(12, HOURS, "f") == "dwanaście godzin"
    assert counted(21, HOURS, "f") == "dwadzieścia jeden godzin"
    assert counted(5, ZLOTY) == "pięć złotych"
    with pytest.raises(NumberWordsError, match="Personal masculine"):
        cardinal(2, "m1")


def test_ordinals_in_every_case_and_gender():
    assert ordinal(1, "gen") == "pierwszego"
    assert ordinal(2, "loc", "f") == "drugiej" and ordinal(2, "nom", "f") == "druga"
    assert ordinal(3, "nom", "f") == "trzecia" and ordinal(3, "gen") == "trzeciego"
    assert ordinal(21, "loc", "f") == "dwudziestej pierwszej"
    assert ordinal(4, "loc", "n") == "czwartym" and ordinal(2, "acc", "n") == "drugie"
    assert ordinal(101, "gen") == "sto pierwszego"


def test_dates_years_and_times_as_a_speaker_says_them():
    assert date(1, 1) == "pierwszego stycznia"
    assert date(3, 5, 1791) == (
        "trzeciego maja tysiąc siedemset dziewięćdziesiątego pierwszego roku"
    )
    assert year(2024) == "dwa tysiące dwudziestego czwartego"
    assert year(2000) == "dwutysięcznego"
    assert year(1989, "loc") == "tysiąc dziewięćset osiemdziesiątym dziewiątym"
    assert time_of_day(7, 15, "loc") == "siódmej piętnaście"
    assert time_of_day(21, 5) == "dwudziesta pierwsza zero pięć"
    with pytest.raises(NumberWordsError):
        date(32, 1)


def test_money_from_whole_grosze():
    assert money(2250) == "dwadzieścia dwa złote pięćdziesiąt groszy"
    assert money(100) == "jeden złoty"
    assert money(5) == "pięć groszy"
    assert money(100, "EUR") == "jedno euro"  # num2words says "jeden euro"
    assert money(201, "USD") == "dwa dolary jeden cent"
    with pytest.raises(NumberWordsError, match="Unknown currency"):
        money(100, "GBP")
