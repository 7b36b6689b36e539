"""Numbers, dates, times and money in Polish words, with the agreement a speaker uses.

num2words (``lang="pl"``) spells cardinals and nominative masculine ordinals; what it
leaves out is added here: the feminine and neuter ``jedna``/``jedno`` and ``dwie``
(``dwie godziny``, but ``dwa złote``: *złoty* is masculine), ordinals in every case and
gender (``pierwszego stycznia``, ``o siedemnastej``, ``na trzecim piętrze``), years
(``dwa tysiące dwudziestego czwartego roku``: the hundreds stay cardinal), the noun form
after a number (:func:`speechlab.train.sentences.plural`) and money from whole grosze
(num2words' ``to="currency"`` reads an ``int`` as grosze and says ``jeden euro``).
Personal masculine nouns (``dwaj panowie``, ``pięciu panów``) are not handled.
"""

from __future__ import annotations

import functools

from num2words import num2words

from speechlab.errors import SpeechlabError
from speechlab.train.sentences import plural

__all__ = [
    "MONTHS_GENITIVE",
    "NumberWordsError",
    "cardinal",
    "counted",
    "date",
    "money",
    "ordinal",
    "time_of_day",
    "year",
]

MONTHS_GENITIVE = ("stycznia", "lutego", "marca", "kwietnia", "maja", "czerwca", "lipca",
                   "sierpnia", "września", "października", "listopada", "grudnia")  # fmt: skip

#: Hard-stem adjective endings (``pierwsz-y``) by (case, gender); ``m`` stands for m1-m3.
_ENDINGS = {
    ("nom", "m"): "y", ("gen", "m"): "ego", ("dat", "m"): "emu", ("acc", "m"): "y",
    ("inst", "m"): "ym", ("loc", "m"): "ym",
    ("nom", "n"): "e", ("gen", "n"): "ego", ("dat", "n"): "emu", ("acc", "n"): "e",
    ("inst", "n"): "ym", ("loc", "n"): "ym",
    ("nom", "f"): "a", ("gen", "f"): "ej", ("dat", "f"): "ej", ("acc", "f"): "ą",
    ("inst", "f"): "ą", ("loc", "f"): "ej",
}  # fmt: skip
#: Currency: gender of the main unit, its three forms (``plural``), the minor unit's forms.
_CURRENCIES = {
    "PLN": ("m3", ("złoty", "złote", "złotych"), ("grosz", "grosze", "groszy")),
    "EUR": ("n", ("euro", "euro", "euro"), ("cent", "centy", "centów")),
    "USD": ("m3", ("dolar", "dolary", "dolarów"), ("cent", "centy", "centów")),
}


class NumberWordsError(SpeechlabError, ValueError):
    """A number, date or amount that cannot be said as asked."""


def cardinal(n: int, gender: str = "m3") -> str:
    """``n`` in words, nominative, agreeing with a non-personal noun of ``gender``:
    ``cardinal(1, "f")`` → ``jedna``, ``cardinal(22, "f")`` → ``dwadzieścia dwie``."""
    if gender == "m1":
        raise NumberWordsError(
            "Personal masculine nouns take other numeral forms (dwaj, pięciu); use m2, m3, f or n."
        )
    if n < 0:
        return "minus " + cardinal(-n, gender)
    if n == 1:
        return {"f": "jedna", "n": "jedno"}.get(gender, "jeden")
    words = num2words(n, lang="pl").split()
    if gender == "f" and words[-1] == "dwa":
        words[-1] = "dwie"
    return " ".join(words)


def counted(n: int, forms: tuple[str, str, str], gender: str = "m3") -> str:
    """``n`` with its noun: ``counted(2, ("godzina", "godziny", "godzin"), "f")`` →
    ``dwie godziny``. ``forms`` are the nominative singular, the plural after 2-4, and the
    genitive plural."""
    return f"{cardinal(n, gender)} {plural(abs(n), *forms)}"


def ordinal(n: int, case: str = "nom", gender: str = "m") -> str:
    """Ordinal ``n`` in ``case`` and ``gender`` (``m``, ``f``, ``n``; m1-m3 count as ``m``):
    ``ordinal(1, "gen")`` → ``pierwszego``, ``ordinal(21, "loc", "f")`` →
    ``dwudziestej pierwszej``. Leading hundreds and thousands of a larger number stay
    as num2words says them (``sto pierwszego``)."""
    if n <= 0:
        raise NumberWordsError(f"An ordinal needs a positive number, got {n}.")
    key = (case, gender[0] if gender.startswith("m") else gender)
    if key not in _ENDINGS:
        raise NumberWordsError(
            f"Unknown case or gender {case!r}/{gender!r}; cases: nom gen dat acc inst loc, "
            "genders: m, f, n."
        )
    ending = _ENDINGS[key]
    ordinals = _ordinal_words()  # the ordinal words follow the cardinal ones (sto pierwszy)
    words = num2words(n, lang="pl", to="ordinal").split()
    last = len(words) - 1
    while last >= 0 and (last == len(words) - 1 or words[last] in ordinals):
        words[last] = _inflect(words[last], ending)
        last -= 1
    return " ".join(words)


def year(y: int, case: str = "gen") -> str:
    """A year as said in a date, without ``roku``: ``year(2024)`` → ``dwa tysiące
    dwudziestego czwartego``, ``year(1989, "loc")`` → ``tysiąc dziewięćset
    osiemdziesiątym dziewiątym``."""
    if y <= 0:
        raise NumberWordsError(f"A year must be positive, got {y}.")
    rest = y % 100
    if rest == 0:
        return ordinal(y, case)
    head = num2words(y - rest, lang="pl") + " " if y >= 100 else ""
    return head + ordinal(rest, case)


def date(day: int, month: int, y: int | None = None) -> str:
    """A date in the genitive, as in ``urodziny są ...``: ``pierwszego stycznia dwa tysiące
    dwudziestego piątego roku``."""
    if not 1 <= month <= 12 or not 1 <= day <= 31:
        raise NumberWordsError(f"No such date: day {day}, month {month}.")
    said = f"{ordinal(day, 'gen')} {MONTHS_GENITIVE[month - 1]}"
    return said if y is None else f"{said} {year(y, 'gen')} roku"


def time_of_day(hour: int, minute: int = 0, case: str = "nom") -> str:
    """A clock time: ``time_of_day(7, 15, "loc")`` → ``siódmej piętnaście`` (after ``o``),
    ``time_of_day(21, 5)`` → ``dwudziesta pierwsza zero pięć``."""
    if not 0 <= hour <= 24 or not 0 <= minute <= 59:
        raise NumberWordsError(f"No such time: {hour}:{minute:02d}.")
    said = "zero" if hour == 0 else ordinal(hour, case, "f")
    if minute == 0:
        return said
    return f"{said} {'zero ' if minute < 10 else ''}{num2words(minute, lang='pl')}"


def money(grosze: int, currency: str = "PLN") -> str:
    """An amount given in the minor unit: ``money(2250)`` → ``dwadzieścia dwa złote
    pięćdziesiąt groszy``, ``money(100, "EUR")`` → ``jedno euro``."""
    if currency not in _CURRENCIES:
        raise NumberWordsError(f"Unknown currency {currency!r}; use one of {list(_CURRENCIES)}.")
    if grosze < 0:
        raise NumberWordsError(f"An amount must not be negative, got {grosze}.")
    gender, major, minor = _CURRENCIES[currency]
    whole, cents = divmod(grosze, 100)
    parts = []
    if whole or not cents:
        parts.append(counted(whole, major, gender) if whole else f"zero {major[2]}")
    if cents:
        parts.append(counted(cents, minor, "m3"))
    return " ".join(parts)


def _inflect(word: str, ending: str) -> str:
    """A nominative masculine ordinal (``pierwszy``, ``drugi``, ``trzeci``) given a hard-stem
    ending; soft stems (``trzeci``) and k/g stems (``drugi``) spell it with ``i``."""
    if word.endswith("y"):
        return word[:-1] + ending
    stem = word[:-1]  # ends in -i
    if ending == "y":
        return word
    if ending == "ym":
        return stem + "im"
    if ending.startswith("e") or not stem.endswith(("g", "k")):
        return stem + "i" + ending
    return stem + ending


@functools.cache
def _ordinal_words() -> frozenset[str]:
    """Every word num2words uses in Polish ordinals up to 1000 (the words to inflect)."""
    values = [*range(1, 20), *range(20, 100, 10), *range(100, 1001, 100)]
    return frozenset(num2words(v, lang="pl", to="ordinal") for v in values)
