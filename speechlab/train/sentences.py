"""Varied everyday Polish sentences for synthetic training corpora.

Built from hand-written, already inflected fragments (names with gender-matched past tense,
subjects with present tense, questions, prices and ages with the right plural forms), so
every sentence is grammatical. Numbers are written out in words: CTC models spell what
they hear. ``polish_sentences(n, seed)`` is deterministic; ``split_sentences`` holds out a
share of them for evaluation.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence

from num2words import num2words

__all__ = ["EXTRA_SENTENCES", "distinct_sentences", "plural", "polish_sentences", "split_sentences"]

_NAMES = {
    "m": ["Marek", "Łukasz", "Grzegorz", "Paweł", "Wojciech", "Tomasz", "Michał", "Krzysztof",
          "Jerzy", "Piotr", "Andrzej", "Zbigniew", "Jędrzej", "Bartłomiej", "Maciej", "Mikołaj"],
    "f": ["Anna", "Zofia", "Małgorzata", "Jadwiga", "Agnieszka", "Ewa", "Katarzyna", "Joanna",
          "Bożena", "Dorota", "Elżbieta", "Urszula", "Jolanta", "Grażyna", "Halina", "Łucja"],
}  # fmt: skip

#: (masculine past, feminine past, complements)
_PAST = [
    ("kupił", "kupiła", ["nowy rower", "świeży chleb", "bilet do Krakowa", "książkę o historii",
                         "ciepłą kurtkę", "bukiet róż", "dwa kilogramy jabłek"]),
    ("widział", "widziała", ["pożar w centrum", "sarnę w lesie", "tęczę nad jeziorem",
                             "nowy film o wojnie", "starego znajomego"]),
    ("czekał", "czekała", ["na autobus", "na spóźniony pociąg", "na siostrę przed szkołą",
                           "na wyniki badań", "na list z urzędu"]),
    ("pojechał", "pojechała", ["do Gdańska", "nad morze", "w góry", "do Poznania",
                               "na wieś do dziadków", "do Wrocławia pociągiem"]),
    ("zjadł", "zjadła", ["pierogi z mięsem", "zupę pomidorową", "kanapkę z serem",
                         "gołąbki z sosem", "kawałek szarlotki"]),
    ("napisał", "napisała", ["list do babci", "wiadomość do szefa", "długi artykuł",
                             "życzenia świąteczne", "wypracowanie z polskiego"]),
    ("spotkał", "spotkała", ["sąsiada na schodach", "koleżankę w sklepie",
                             "lekarza w przychodni", "przyjaciół na rynku"]),
    ("zgubił", "zgubiła", ["klucze od mieszkania", "portfel w tramwaju", "rękawiczki",
                           "parasol w kawiarni", "telefon na dworcu"]),
    ("naprawił", "naprawiła", ["zepsuty kran", "stary zegar", "drzwi w łazience",
                               "rower syna"]),
    ("ugotował", "ugotowała", ["żurek z jajkiem", "bigos dla całej rodziny", "rosół",
                               "kluski śląskie"]),
]  # fmt: skip

_TIMES = ["wczoraj", "w zeszły piątek", "dziś rano", "tydzień temu", "w niedzielę po południu",
          "zeszłej zimy", "przed świętami", "w środę wieczorem", "miesiąc temu",
          "o świcie"]  # fmt: skip

_SUBJECTS = ["Mój brat", "Moja siostra", "Nasz sąsiad", "Ta pani", "Pan doktor", "Ich córka",
             "Wasz syn", "Stary rybak", "Młoda nauczycielka", "Mój dziadek", "Babcia Józefa",
             "Kierowca autobusu", "Żona piekarza", "Pies sąsiadów"]  # fmt: skip

_PRESENT = ["pracuje w szpitalu", "mieszka w Łodzi od dziesięciu lat", "uczy się niemieckiego",
            "gra na gitarze w zespole", "lubi jeździć na rowerze", "często chodzi do kina",
            "codziennie pije gorącą kawę", "ogląda mecz w telewizji", "czyta gazetę przy śniadaniu",
            "gotuje obiad dla całej rodziny", "śpi do południa w soboty",
            "źle się dzisiaj czuje", "wraca z pracy bardzo późno", "śpiewa w chórze kościelnym",
            "hoduje pszczoły na działce", "zbiera grzyby jesienią"]  # fmt: skip

_THINGS = ["ten bilet", "ta książka", "ten płaszcz", "ta lampa", "ten słownik", "ta żarówka",
           "ten obraz", "ta gęś", "ten zegarek", "ta łyżka"]  # fmt: skip
_WHERE = ["klucz do piwnicy", "najbliższa apteka", "dworzec główny", "moja torebka",
          "twój telefon", "przystanek tramwajowy", "ulica Świętojańska", "łazienka"]  # fmt: skip
_CITIES_GEN = ["Krakowa", "Gdańska", "Łodzi", "Szczecina", "Białegostoku", "Zakopanego",
               "Rzeszowa", "Częstochowy"]  # fmt: skip
_EVENTS = ["koncert", "mecz", "spotkanie", "lekcja angielskiego", "msza", "przedstawienie"]

#: Hand-written sentences that add what the templates lack (ź, ń, commands, exclamations).
EXTRA_SENTENCES = [
    "Źródło tej wiadomości jest bardzo pewne.",
    "Gałąź złamała się pod ciężarem śniegu.",
    "Proszę zamknąć okno, bo wieje.",
    "Nie wiem, gdzie położyłem okulary.",
    "Jesień w tym roku jest wyjątkowo ciepła.",
    "Dzieci bawią się na podwórku aż do zmroku.",
    "Koń pasie się na łące za stodołą.",
    "Słońce świeci, a ptaki śpiewają.",
    "Musimy się pośpieszyć, bo uciekną nam pociągi.",
    "Włącz, proszę, światło w przedpokoju.",
    "Chrząszcz brzmi w trzcinie w Szczebrzeszynie.",
    "Żaden pociąg nie jedzie dziś do Zielonej Góry.",
    "Ćma krąży wokół lampy na ganku.",
    "Niedźwiedź obudził się wcześniej niż zwykle.",
    "Ania źle zrozumiała pytanie nauczyciela.",
    "Czy możesz mi podać sól i pieprz?",
    "Jutro rano pójdziemy na grzyby do lasu.",
    "Ten pociąg jest opóźniony o dwadzieścia minut.",
    "Bardzo dziękuję za pomoc i cierpliwość.",
    "W przyszłym tygodniu zaczynamy remont kuchni.",
]


def plural(count: int, one: str, few: str, many: str) -> str:
    """The Polish noun form after ``count``: 1 ``one``; 2-4, 22-24, ... ``few``; else ``many``."""
    last, tens = count % 10, count % 100
    if count == 1:
        return one
    return few if 2 <= last <= 4 and not 12 <= tens <= 14 else many


def _price(rng: random.Random) -> str:
    zloty = rng.randint(2, 499)
    noun = plural(zloty, "złoty", "złote", "złotych")
    return f"{rng.choice(_THINGS).capitalize()} kosztuje {num2words(zloty, lang='pl')} {noun}."


def _age(rng: random.Random) -> str:
    years = rng.randint(5, 99)
    noun = plural(years, "rok", "lata", "lat")
    return f"{rng.choice(_SUBJECTS)} ma {num2words(years, lang='pl')} {noun}."


def _past(rng: random.Random, question: bool) -> str:
    gender = rng.choice(("m", "f"))
    name = rng.choice(_NAMES[gender])
    masc, fem, complements = rng.choice(_PAST)
    verb = masc if gender == "m" else fem
    body = f"{name} {rng.choice(_TIMES)} {verb} {rng.choice(complements)}"
    return f"Czy {body}?" if question else f"{body}."


def _one(rng: random.Random) -> str:
    kind = rng.random()
    if kind < 0.35:
        return _past(rng, question=False)
    if kind < 0.5:
        return _past(rng, question=True)
    if kind < 0.7:
        return f"{rng.choice(_SUBJECTS)} {rng.choice(_PRESENT)}."
    if kind < 0.78:
        return _price(rng)
    if kind < 0.85:
        return _age(rng)
    if kind < 0.9:
        return f"Gdzie jest {rng.choice(_WHERE)}?"
    if kind < 0.95:
        return f"Kiedy przyjedzie pociąg z {rng.choice(_CITIES_GEN)}?"
    return f"O której godzinie zaczyna się {rng.choice(_EVENTS)}?"


def polish_sentences(n: int, seed: int = 0) -> list[str]:
    """``n`` distinct sentences (the hand-written ones first), the same for the same seed."""
    return distinct_sentences(_one, n, seed, first=EXTRA_SENTENCES)


def distinct_sentences(
    make_one: Callable[[random.Random], str],
    n: int,
    seed: int = 0,
    first: Sequence[str] = (),
) -> list[str]:
    """``n`` distinct sentences: ``first`` (in order), then draws of ``make_one(rng)``."""
    rng = random.Random(seed)
    sentences = list(dict.fromkeys(first))[:n]
    seen = set(sentences)
    attempts = 0
    while len(sentences) < n:
        attempts += 1
        if attempts > 50 * n:
            raise ValueError(f"Could not make {n} distinct sentences; ask for fewer.")
        sentence = make_one(rng)
        if sentence not in seen:
            seen.add(sentence)
            sentences.append(sentence)
    return sentences


def split_sentences(
    sentences: list[str], held_out: float = 0.05, seed: int = 0
) -> tuple[list[str], list[str]]:
    """(train, held-out): a seeded shuffle, ``held_out`` share kept apart."""
    order = list(sentences)
    random.Random(seed).shuffle(order)
    cut = max(1, round(len(order) * held_out))
    return order[cut:], order[:cut]
