"""The sentence makers behind :func:`speechlab.train.polish_text.training_texts`.

Each maker is built once from the lexicon and then called with a ``random.Random``; it
returns one sentence and draws only from that generator, so a seed fixes its output.

* ``words``: frequency-weighted sequences of real Polish words (wordfreq), tempered so
  that rare words come up too; not grammatical, but every word is a real word form.
* ``inflection``: nouns with agreeing adjectives in all seven cases and both numbers,
  in frames that govern the case, and verbs in every person, present or future, past
  (with the person endings: ``czytałem``, ``czytałyście``), imperative and infinitive
  (Morfeusz 2 / SGJP).
* ``numbers``: counted nouns with agreement, money, dates, clock times, measures,
  ordinals, scores and phone numbers, spelled out (:mod:`speechlab.train.polish_numbers`).
* ``names``: people (Faker's ``pl_PL`` first and last names) and places (its cities,
  streets and voivodeships), inflected by Morfeusz.
"""

from __future__ import annotations

import functools
import itertools
import random
from collections.abc import Callable, Sequence

from speechlab.train.polish_lexicon import (
    Lexicon,
    adjective_forms,
    agreeing_adjective,
    in_alphabet,
    noun_forms,
    proper_forms,
    verb_forms,
)
from speechlab.train.polish_numbers import (
    MONTHS_GENITIVE,
    cardinal,
    counted,
    date,
    money,
    ordinal,
    time_of_day,
    year,
)
from speechlab.train.sentences import plural

__all__ = ["Maker", "inflection_maker", "names_maker", "numbers_maker", "words_maker"]

Maker = Callable[[random.Random], str]

#: The exponent frequencies are raised to when drawing words (1 = as in the corpus).
WORD_TEMPERATURE = 0.35
_VOWELS = set("aąeęioóuy")

_NOUN_FRAMES: dict[str, tuple[str, ...]] = {
    "nom": ("Oto {np}.", "Czy to {np}?", "Tak, to {np}."),
    "gen": ("Nie ma tu {np}.", "Szukamy {np}.", "Boję się {np}.", "Obok {np} nic nie było.",
            "Potrzebuję {np}.", "Zabrakło nam {np}.", "Bez {np} ani rusz.",
            "Dla {np} zrobię wszystko.",
            "Ile jeszcze {np}?", "Od {np} wszystko się zaczęło."),
    "dat": ("Przyglądamy się {np}.", "Dzięki {np} zdążyliśmy.", "Ufam {np}.",
            "Wbrew {np} poszli dalej.", "Nie dowierzam {np}.", "Ku {np} szli powoli."),
    "acc": ("Widzę {np}.", "Mamy {np}.", "Lubię {np}.", "Proszę o {np}.", "Czekamy na {np}.",
            "Zostawiłem w domu {np}.", "Przez {np} się spóźniłam.", "Znalazła {np}."),
    "inst": ("Interesuję się {np}.", "Stoimy przed {np}.", "Za {np} jest ogród.",
             "Nad {np} świeci słońce.", "Pod {np} coś leży.", "Zajmujemy się {np}.",
             "Razem z {np} było weselej."),
    "loc": ("Myślę o {np}.", "Mówimy o {np}.", "Przy {np} ktoś stoi.", "Po {np} wrócimy.",
            "Na {np} nie ma miejsca.", "W {np} było cicho."),
    "voc": ("Witaj, {np}!", "Och, {np}, co ty robisz?"),
}  # fmt: skip
_NOM_FRAMES = {"sg": ("To jest {np}.", "Gdzieś tu jest {np}."), "pl": ("To są {np}.",)}
_PERSONS = (  # pronoun, number, person, gender of the past tense
    ("ja", "sg", "pri", "m1"), ("ja", "sg", "pri", "f"), ("ty", "sg", "sec", "m1"),
    ("ty", "sg", "sec", "f"), ("on", "sg", "ter", "m1"), ("ona", "sg", "ter", "f"),
    ("ono", "sg", "ter", "n"), ("my", "pl", "pri", "m1"), ("my", "pl", "pri", "f"),
    ("wy", "pl", "sec", "m1"), ("wy", "pl", "sec", "f"), ("oni", "pl", "ter", "m1"),
    ("one", "pl", "ter", "f"),
)  # fmt: skip
#: Person endings of the past tense after the masculine-singular or any other stem.
_PAST_ENDINGS = {("sg", "pri"): ("em", "m"), ("sg", "sec"): ("eś", "ś"),
                 ("pl", "pri"): ("śmy", "śmy"), ("pl", "sec"): ("ście", "ście")}  # fmt: skip
_MODALS = ("Muszę", "Chcę", "Możemy", "Trzeba", "Warto", "Spróbuj", "Nie wolno", "Lubię",
           "Zamierzamy", "Zaczynam")  # fmt: skip


def words_maker(lexicon: Lexicon, temperature: float = WORD_TEMPERATURE) -> Maker:
    """Sequences of 3-10 real words drawn by frequency ** ``temperature``."""
    cumulative = list(itertools.accumulate(f**temperature for f in lexicon.frequencies))
    words = lexicon.words

    def make(rng: random.Random) -> str:
        chosen = rng.choices(words, cum_weights=cumulative, k=rng.randint(3, 10))
        if len(chosen) > 5 and rng.random() < 0.3:
            chosen[rng.randrange(2, len(chosen) - 2)] += ","
        return _sentence(" ".join(chosen), "?" if rng.random() < 0.12 else ".")

    return make


def inflection_maker(lexicon: Lexicon) -> Maker:
    """Noun phrases in every case and number, and verbs in every person and tense."""
    nouns = list(lexicon.nouns)
    adjectives = list(lexicon.adjectives)
    verbs = list(lexicon.verbs)
    adverbs = [a.split(":")[0] for a in lexicon.adverbs]

    def make(rng: random.Random) -> str:
        kind = rng.random()
        if kind < 0.45:
            return _noun_sentence(rng, nouns, lexicon, adjectives)
        if kind < 0.6:
            return _subject_sentence(rng, nouns, lexicon, adjectives, verbs, adverbs)
        return _verb_sentence(rng, verbs, adverbs)

    return make


def numbers_maker(lexicon: Lexicon) -> Maker:
    """Numbers in context, with the noun and verb forms that agree with them."""
    countable = [n for n in lexicon.nouns if _countable_gender(lexicon.noun_genders[n])]
    makers: Sequence[Callable[[random.Random], str]] = (
        lambda rng: _counted_sentence(rng, countable, lexicon),
        lambda rng: _money_sentence(rng, countable, lexicon),
        _date_sentence,
        _time_sentence,
        _measure_sentence,
        _ordinal_sentence,
        _score_sentence,
        _phone_sentence,
    )
    weights = (0.25, 0.15, 0.15, 0.12, 0.13, 0.1, 0.05, 0.05)

    def make(rng: random.Random) -> str:
        return rng.choices(makers, weights)[0](rng)

    return make


def names_maker(lexicon: Lexicon) -> Maker:
    """People and places, in the cases their frames need."""
    people = _people()
    places = _places()
    streets = _streets()
    verbs = list(lexicon.verbs[:1500])
    adverbs = [a.split(":")[0] for a in lexicon.adverbs[:400]]

    def make(rng: random.Random) -> str:
        kind = rng.random()
        if kind < 0.5:
            return _person_sentence(rng, people, places, verbs, adverbs)
        if kind < 0.85:
            return _place_sentence(rng, places)
        return _street_sentence(rng, streets, places)

    return make


# -- inflection --------------------------------------------------------------------------


def _noun_phrase(
    rng: random.Random, noun: str, gender: str, number: str, case: str, adjectives: list[str]
) -> str | None:
    form = noun_forms(noun).get((number, case))
    if form is None:
        return None
    if rng.random() < 0.6:
        adjective = adjective_forms(_pick(rng, adjectives)).get((number, case, gender))
        if adjective is not None:
            return f"{adjective} {form}"
    return form


def _noun_sentence(
    rng: random.Random, nouns: list[str], lexicon: Lexicon, adjectives: list[str]
) -> str:
    while True:
        noun = _pick(rng, nouns)
        gender = lexicon.noun_genders[noun].split(":")[0]
        number = rng.choice(("sg", "pl"))
        case = rng.choice(("nom", "gen", "dat", "acc", "inst", "loc", "voc"))
        phrase = _noun_phrase(rng, noun, gender, number, case, adjectives)
        if phrase is None:
            continue
        frames = _NOUN_FRAMES[case] + (_NOM_FRAMES[number] if case == "nom" else ())
        return _fix_prepositions(_sentence(rng.choice(frames).format(np=phrase)))


def _subject_sentence(
    rng: random.Random,
    nouns: list[str],
    lexicon: Lexicon,
    adjectives: list[str],
    verbs: list[str],
    adverbs: list[str],
) -> str:
    while True:
        noun = _pick(rng, nouns)
        gender = lexicon.noun_genders[noun].split(":")[0]
        number = rng.choice(("sg", "pl"))
        subject = _noun_phrase(rng, noun, gender, number, "nom", adjectives)
        forms = verb_forms(_pick(rng, verbs))
        past = rng.random() < 0.5
        verb = forms.get(("praet", number, gender) if past else ("fin", number, "ter"))
        if subject is None or verb is None:
            continue
        return _sentence(f"{subject} {verb} {_pick(rng, adverbs)}")


def _verb_sentence(rng: random.Random, verbs: list[str], adverbs: list[str]) -> str:
    while True:
        forms = verb_forms(_pick(rng, verbs))
        pronoun, number, person, gender = rng.choice(_PERSONS)
        tense = rng.random()
        if tense < 0.1:
            infinitive = forms.get(("inf",))
            if infinitive:
                return _sentence(f"{rng.choice(_MODALS)} {infinitive} {_pick(rng, adverbs)}")
            continue
        if tense < 0.2:
            imperative = forms.get(("impt", number, person))
            if imperative and person != "ter":
                return _sentence(f"{imperative} {_pick(rng, adverbs)}", "!")
            continue
        verb = (
            forms.get(("fin", number, person))
            if tense < 0.6
            else _past(forms, number, person, gender)
        )
        if verb is None:
            continue
        said = f"{pronoun} {verb}" if person == "ter" or rng.random() < 0.5 else verb
        return _sentence(f"{said} {_pick(rng, adverbs)}", "?" if rng.random() < 0.15 else ".")


def _past(forms: dict[tuple[str, ...], str], number: str, person: str, gender: str) -> str | None:
    if person == "ter":
        return forms.get(("praet", number, gender))
    if number == "sg" and gender == "m1":
        stem = forms.get(("praet-agl", "sg", "m"))
        return None if stem is None else stem + _PAST_ENDINGS[(number, person)][0]
    stem = forms.get(("praet", number, gender))
    return None if stem is None else stem + _PAST_ENDINGS[(number, person)][1]


# -- numbers ------------------------------------------------------------------------------

_MEASURES = (  # forms, gender, frame
    (("kilometr", "kilometry", "kilometrów"), "m3", "Do celu zostało jeszcze {x}."),
    (("metr", "metry", "metrów"), "m3", "Ten pokój ma {x} długości."),
    (("kilogram", "kilogramy", "kilogramów"), "m3", "Paczka waży {x}."),
    (("gram", "gramy", "gramów"), "m3", "Do ciasta dodaj {x} cukru."),
    (("litr", "litry", "litrów"), "m3", "Bak mieści {x} paliwa."),
    (("stopień", "stopnie", "stopni"), "m3", "Temperatura wynosi {x}."),
    (("procent", "procent", "procent"), "m3", "Poparcie wynosi {x}."),
    (("minuta", "minuty", "minut"), "f", "Przerwa trwa {x}."),
    (("godzina", "godziny", "godzin"), "f", "Podróż zajmuje {x}."),
    (("sekunda", "sekundy", "sekund"), "f", "Rekord poprawiono o {x}."),
    (("dzień", "dni", "dni"), "m3", "Urlop potrwa {x}."),
    (("tydzień", "tygodnie", "tygodni"), "m3", "Remont trwał {x}."),
    (("miesiąc", "miesiące", "miesięcy"), "m3", "Kurs trwa {x}."),
    (("rok", "lata", "lat"), "m3", "Gwarancja obejmuje {x}."),
    (("osoba", "osoby", "osób"), "f", "Na sali czeka {x}."),
    (("strona", "strony", "stron"), "f", "Ta książka liczy {x}."),
)
_GENITIVE_SMALL = ("zera", "jednego", "dwóch", "trzech", "czterech", "pięciu", "sześciu",
                   "siedmiu", "ośmiu", "dziewięciu", "dziesięciu")  # fmt: skip


def _number(rng: random.Random) -> int:
    band = rng.random()
    if band < 0.4:
        return rng.randint(1, 10)
    if band < 0.75:
        return rng.randint(11, 100)
    if band < 0.9:
        return rng.randint(101, 999)
    return rng.randint(1001, 99_999)


def _countable_gender(gender: str) -> bool:
    """Nouns counted with the plain numerals: not personal masculine, not collective
    (``dwoje dzieci``), not plural-only (``dwoje drzwi``)."""
    kind, *sub = gender.split(":")
    return kind in {"m2", "m3", "f", "n"} and not {"col", "pt"} & set(sub)


def _countable_noun(rng: random.Random, nouns: list[str]) -> str:
    """A noun lemma with the forms counting needs (nouns are drawn until one has them)."""
    needed = (("sg", "nom"), ("pl", "nom"), ("pl", "gen"), ("sg", "acc"))
    while True:
        noun = _pick(rng, nouns)
        if all(k in noun_forms(noun) for k in needed):
            return noun


def _counted_sentence(rng: random.Random, nouns: list[str], lexicon: Lexicon) -> str:
    noun = _countable_noun(rng, nouns)
    gender = lexicon.noun_genders[noun].split(":")[0]
    forms = noun_forms(noun)
    n = _number(rng)
    phrase = counted(n, (forms[("sg", "nom")], forms[("pl", "nom")], forms[("pl", "gen")]), gender)
    shape = plural(n, "one", "few", "many")
    if rng.random() < 0.5:
        verb = {"one": "jest", "few": "są", "many": "jest"}[shape]
        place = rng.choice(("W magazynie", "Na półce", "W pudełku", "Na zdjęciu", "W ogłoszeniu"))
        return _sentence(f"{place} {verb} {phrase}")
    past = {"m2": "został", "m3": "został", "f": "została", "n": "zostało"}[gender]
    verb = {"one": past, "few": "zostały", "many": "zostało"}[shape]
    return _sentence(f"{verb} jeszcze {phrase}")


def _money_sentence(rng: random.Random, nouns: list[str], lexicon: Lexicon) -> str:
    currency = rng.choices(("PLN", "EUR", "USD"), (0.8, 0.1, 0.1))[0]
    whole = _number(rng) if rng.random() < 0.9 else 0
    cents = rng.choice((0, 0, rng.randint(1, 99), rng.choice((50, 99, 20))))
    amount = money(whole * 100 + cents if whole or cents else 100, currency)
    if rng.random() < 0.5:
        noun = noun_forms(_countable_noun(rng, nouns))[("sg", "acc")]
        return _sentence(f"Zapłaciliśmy {amount} za {noun}")
    return _sentence(
        rng.choice(("Rachunek wyniósł {x}", "Cena: {x}", "Do zapłaty {x}")).format(x=amount)
    )


def _date_sentence(rng: random.Random) -> str:
    day, month = rng.randint(1, 28), rng.randint(1, 12)
    y = rng.randint(1900, 2040)
    kind = rng.random()
    if kind < 0.25:
        return _sentence(f"Dzisiaj jest {ordinal(day)} {MONTHS_GENITIVE[month - 1]}")
    if kind < 0.5:
        return _sentence(f"Termin mija {date(day, month, y if rng.random() < 0.5 else None)}")
    if kind < 0.7:
        end = rng.randint(1, 28), rng.randint(1, 12)
        return _sentence(f"Umowa obowiązuje od {date(day, month)} do {date(*end, y)}")
    if kind < 0.85:
        return _sentence(f"Spotkanie przełożono na {date(day, month)}")
    return _sentence(f"W {year(y, 'loc')} roku otwarto tu szkołę")


def _time_sentence(rng: random.Random) -> str:
    hour, minute = rng.randint(1, 23), rng.choice((0, 0, 15, 30, 45, rng.randint(1, 59)))
    kind = rng.random()
    if kind < 0.3:
        return _sentence(f"Zbiórka o {time_of_day(hour, minute, 'loc')}")
    if kind < 0.55:
        end = rng.randint(hour, 24)
        return _sentence(
            f"Sklep jest czynny od {time_of_day(hour, 0, 'gen')} do {time_of_day(end, 0, 'gen')}"
        )
    if kind < 0.8:
        return _sentence(f"Jest {time_of_day(hour, minute)}")
    return _sentence(f"Budzik zadzwonił o {time_of_day(hour, minute, 'loc')}")


def _measure_sentence(rng: random.Random) -> str:
    forms, gender, frame = rng.choice(_MEASURES)
    if forms[0] == "stopień" and rng.random() < 0.3:
        return _sentence(frame.format(x="minus " + counted(rng.randint(1, 30), forms, gender)))
    if forms[0] == "procent" and rng.random() < 0.4:
        whole, tenth = rng.randint(0, 99), rng.randint(1, 9)
        return _sentence(frame.format(x=f"{cardinal(whole)} przecinek {cardinal(tenth)} procent"))
    return _sentence(frame.format(x=counted(_number(rng), forms, gender)))


def _ordinal_sentence(rng: random.Random) -> str:
    n = rng.randint(1, 30)
    return _sentence(
        rng.choice(
            (
                f"Winda jedzie na {ordinal(n, 'acc', 'n')} piętro",
                f"Zajęła {ordinal(n, 'acc', 'n')} miejsce",
                f"To już {ordinal(n, 'nom', 'f')} rocznica",
                f"Siedzimy w {ordinal(n, 'loc', 'm')} rzędzie",
                f"Skręć w {ordinal(min(n, 9), 'acc', 'f')} ulicę w prawo",
                f"Wygrał {ordinal(n, 'acc', 'm')} raz z rzędu",
            )
        )
    )


def _score_sentence(rng: random.Random) -> str:
    home, away = rng.randint(0, 10), rng.randint(0, 10)
    return _sentence(f"Mecz zakończył się wynikiem {cardinal(home)} do {_GENITIVE_SMALL[away]}")


def _phone_sentence(rng: random.Random) -> str:
    groups = [rng.randint(500, 899), rng.randint(100, 999), rng.randint(100, 999)]
    return _sentence("Proszę dzwonić pod numer " + ", ".join(cardinal(g) for g in groups))


# -- names and places ---------------------------------------------------------------------

_Person = tuple[str, dict[str, str]]  # gender, case → "First Last"


@functools.cache
def _people() -> tuple[_Person, ...]:
    """Faker pl_PL first names with last names, both inflected (cached)."""
    from faker.providers.person.pl_PL import Provider

    firsts = [(n, "m1") for n in Provider.first_names_male]
    firsts += [(n, "f") for n in Provider.first_names_female]
    lasts = list(Provider.male_last_names) + list(Provider.unisex_last_names[:1500])
    rng = random.Random(0)  # fixed pairing: the pool is data, the draw happens later
    people: list[_Person] = []
    for last in lasts:
        first, gender = rng.choice(firsts)
        surname = _feminine(last) if gender == "f" else last
        if not in_alphabet(first + surname):
            continue
        first_forms = proper_forms(first, "imię", gender)
        last_forms = proper_forms(surname, "nazwisko", gender)
        if first_forms is None or last_forms is None:
            continue
        people.append((gender, {c: f"{first_forms[c]} {last_forms[c]}" for c in first_forms}))
    return tuple(people)


@functools.cache
def _places() -> tuple[dict[str, str], ...]:
    from faker.providers.address.pl_PL import Provider

    found = (proper_forms(c.replace("-", " "), "nazwa_geograficzna") for c in Provider.cities)
    return tuple(f for f in found if f is not None and in_alphabet(f["nom"].replace(" ", "")))


@functools.cache
def _streets() -> tuple[str, ...]:
    """Street names in the genitive (``Leśnej``, ``Mickiewicza``)."""
    from faker.providers.address.pl_PL import Provider

    out = []
    for street in Provider.streets_adjective_feminine:
        forms = agreeing_adjective(street, "sg", "f") if in_alphabet(street) else None
        if forms is not None and forms["nom"] == street:
            out.append(forms["gen"])
    months = {m.capitalize() for m in MONTHS_GENITIVE}
    for street in Provider.streets_universal:
        if street not in months and all(in_alphabet(w) and not w.isupper() for w in street.split()):
            out.append(street)
    return tuple(out)


def _feminine(surname: str) -> str:
    for male, female in (("ski", "ska"), ("cki", "cka"), ("dzki", "dzka"), ("ny", "na")):
        if surname.endswith(male):
            return surname[: -len(male)] + female
    return surname


def _person_sentence(
    rng: random.Random,
    people: Sequence[_Person],
    places: Sequence[dict[str, str]],
    verbs: list[str],
    adverbs: list[str],
) -> str:
    gender, name = rng.choice(people)
    place = rng.choice(places)
    title = {"m1": ("Pan", "pana", "panu", "panem", "panie"), "f": ("Pani", "pani", "pani",
             "panią", "pani")}[gender]  # fmt: skip
    frames = (
        f"{name['nom']} pochodzi z {place['gen']}",
        f"{title[0]} {name['nom']} pracuje w {place['loc']}",
        f"Nie ma dzisiaj {title[1]} {name['gen']}",
        f"Przekaż to {title[2]} {name['dat']}",
        f"Znasz {name['acc']}?",
        f"Zaprosiliśmy {name['acc']} na kolację",
        f"Rozmawiałem wczoraj z {title[3]} {name['inst']}",
        f"Dużo słyszałam o {name['loc']}",
        f"{title[0]} {name['nom']} {'przyjechał' if gender == 'm1' else 'przyjechała'} "
        f"do {place['gen']}",
        f"{title[4].capitalize()} {name['voc'].split()[0]}, proszę wejść!",
    )
    if rng.random() < 0.25:
        verb = verb_forms(_pick(rng, verbs)).get(("praet", "sg", gender))
        if verb:
            return _sentence(f"{name['nom']} {verb} {_pick(rng, adverbs)}")
    return _fix_prepositions(_sentence(rng.choice(frames)))


def _place_sentence(rng: random.Random, places: Sequence[dict[str, str]]) -> str:
    a, b = rng.sample(list(places), 2)
    frames = (
        f"Jedziemy do {a['gen']}",
        f"Wracam z {a['gen']} pociągiem",
        f"Mieszkamy w {a['loc']} od lat",
        f"Przesyłka z {a['gen']} dotarła do {b['gen']}",
        f"Z {a['gen']} do {b['gen']} jest daleko",
        f"{a['nom']} to piękne miasto",
        f"Przed {a['inst']} był korek",
        f"Ile kilometrów jest z {a['gen']} do {b['gen']}?",
        f"Tęsknię za {a['inst']}",
        f"Znam {a['acc']} jak własną kieszeń",
    )
    return _fix_prepositions(_sentence(rng.choice(frames)))


def _street_sentence(
    rng: random.Random, streets: Sequence[str], places: Sequence[dict[str, str]]
) -> str:
    street, place = rng.choice(streets), rng.choice(places)
    number = cardinal(rng.randint(1, 150))
    frames = (
        f"Biuro mieści się przy ulicy {street} {number}",
        f"Skręć w ulicę {street}",  # genitive after ulica, as the sign says
        f"Przy ulicy {street} otwarto nową piekarnię",
        f"Adres: {place['nom']}, ulica {street} {number}",
    )
    return _fix_prepositions(_sentence(rng.choice(frames)))


# -- helpers -----------------------------------------------------------------------------


def _pick(rng: random.Random, items: Sequence[str]) -> str:
    """An item, the more frequent (earlier) ones more likely: index ~ n * u**2."""
    return items[int(len(items) * rng.random() ** 2)]


def _sentence(text: str, end: str = ".") -> str:
    text = " ".join(text.replace("-", " ").split())
    if text[-1] not in ".?!":
        text += end
    return text[:1].upper() + text[1:]


def _fix_prepositions(text: str) -> str:
    """``w``/``z`` become ``we``/``ze`` before a cluster that needs it (``we Wrocławiu``,
    ``ze Szczecina``)."""
    words = text.split(" ")
    for i, word in enumerate(words[:-1]):
        bare = word.lower()
        if bare not in {"w", "z"}:
            continue
        following = words[i + 1].lower()
        if len(following) < 2 or following[1] in _VOWELS:
            continue
        if (bare == "w" and following[0] in "wf") or (bare == "z" and following[0] in "szśźż"):
            words[i] = word + "e"
    return " ".join(words)
