"""Polish legal sentences: a second domain for adaptation experiments (``notebooks/05_adapt``).

Court proceedings, articles of the codes, judgements, fines and damages, notarial deeds,
inheritance and enforcement, from hand-written, already inflected fragments; numbers are
written out in words with the right forms (ordinals for articles and dates, plural forms
for money and years). speechlab-pl-ctc (v2) was trained on text that includes
:mod:`speechlab.train.medical_sentences`, so clinical Polish is no longer a new domain for
it; this generator is not one of :mod:`speechlab.train.polish_text`'s sources. Only
letters of the Polish alphabet are used (no q, v, x).
"""

from __future__ import annotations

import random

from num2words import num2words

from speechlab.train.sentences import distinct_sentences, plural

__all__ = ["LEGAL_SENTENCES", "legal_sentences"]

#: Nominative, with the verb's past form agreeing: (court, "ruled" / "dismissed" forms).
_COURTS = ["Sąd Rejonowy", "Sąd Okręgowy", "Sąd Apelacyjny", "Sąd Najwyższy",
           "Naczelny Sąd Administracyjny", "Wojewódzki Sąd Administracyjny",
           "Sąd Rejonowy w Krakowie", "Sąd Okręgowy w Poznaniu",
           "Sąd Apelacyjny w Gdańsku"]  # fmt: skip
#: Genitive: "kodeksu ...", "ustawy ...".
_CODES = ["kodeksu karnego", "kodeksu cywilnego", "kodeksu pracy",
          "kodeksu postępowania cywilnego", "kodeksu postępowania karnego",
          "kodeksu rodzinnego i opiekuńczego", "kodeksu spółek handlowych",
          "kodeksu wykroczeń", "ustawy o ochronie danych osobowych",
          "ustawy prawo budowlane", "ustawy o prawie autorskim"]  # fmt: skip
#: Accusative: "Pełnomocnik złożył ...", "Strona wniosła ...".
_FILINGS = ["apelację od wyroku", "zażalenie na postanowienie", "skargę kasacyjną",
            "pozew o zapłatę", "wniosek o zabezpieczenie roszczenia",
            "sprzeciw od nakazu zapłaty", "wniosek o przywrócenie terminu",
            "pozew o rozwód", "skargę na przewlekłość postępowania",
            "wniosek o stwierdzenie nabycia spadku", "pozew o ustalenie ojcostwa",
            "wniosek o ogłoszenie upadłości"]  # fmt: skip
#: Nominative parties and their past-tense "filed" form.
_PARTIES = [("Powód", "złożył"), ("Powódka", "złożyła"), ("Pozwany", "złożył"),
            ("Pozwana", "złożyła"), ("Pełnomocnik powoda", "złożył"),
            ("Obrońca oskarżonego", "złożył"), ("Prokurator", "złożył"),
            ("Wierzyciel", "złożył"), ("Dłużniczka", "złożyła")]  # fmt: skip
#: Accusative: "Sąd oddalił ...", "Sąd uwzględnił ...".
_DECIDED = ["powództwo w całości", "apelację jako bezzasadną", "wniosek dowodowy",
            "zarzut przedawnienia", "żądanie zadośćuczynienia",
            "wniosek o wyłączenie sędziego", "zażalenie pozwanego",
            "roszczenie o odsetki"]  # fmt: skip
#: Accusative things a notary certifies.
_DEEDS = ["umowę sprzedaży mieszkania", "umowę darowizny działki", "testament",
          "akt poświadczenia dziedziczenia", "umowę majątkową małżeńską",
          "ustanowienie służebności przejazdu", "umowę spółki z ograniczoną odpowiedzialnością",
          "pełnomocnictwo do zbycia nieruchomości"]  # fmt: skip
#: Genitive: "przestępstwa ...", after "oskarżony o popełnienie".
_OFFENCES = ["kradzieży z włamaniem", "oszustwa", "przywłaszczenia mienia",
             "prowadzenia pojazdu w stanie nietrzeźwości", "fałszowania dokumentów",
             "składania fałszywych zeznań", "uszkodzenia ciała", "paserstwa",
             "znieważenia funkcjonariusza", "wyłudzenia kredytu"]  # fmt: skip
#: What an amount is (nominative, the verb "wynosi" agrees).
_AMOUNTS = ["Kwota zadośćuczynienia", "Wartość przedmiotu sporu", "Opłata sądowa",
            "Zasądzone odszkodowanie", "Grzywna", "Wysokość alimentów",
            "Zaległy czynsz", "Koszt zastępstwa procesowego"]  # fmt: skip
_MONTHS_GEN = ["stycznia", "lutego", "marca", "kwietnia", "maja", "czerwca", "lipca",
               "sierpnia", "września", "października", "listopada", "grudnia"]  # fmt: skip
_DAY_UNITS = ["pierwszego", "drugiego", "trzeciego", "czwartego", "piątego", "szóstego",
              "siódmego", "ósmego", "dziewiątego"]  # fmt: skip
_DAY_TEENS = ["dziesiątego", "jedenastego", "dwunastego", "trzynastego", "czternastego",
              "piętnastego", "szesnastego", "siedemnastego", "osiemnastego",
              "dziewiętnastego"]  # fmt: skip
#: Locative feminine ordinals: "o godzinie ...".
_HOURS = {8: "ósmej", 9: "dziewiątej", 10: "dziesiątej", 11: "jedenastej", 12: "dwunastej",
          13: "trzynastej", 14: "czternastej", 15: "piętnastej"}  # fmt: skip
_ROOMS = ["sali numer", "sali rozpraw numer", "pokoju numer"]

#: Hand-written sentences (formulas of the courtroom and of judgements).
LEGAL_SENTENCES = [
    "Proszę wstać, sąd idzie.",
    "Wyrok jest nieprawomocny i stronom przysługuje apelacja.",
    "Sąd odroczył ogłoszenie wyroku o dwa tygodnie.",
    "Świadek został pouczony o odpowiedzialności karnej za składanie fałszywych zeznań.",
    "Postępowanie zostało umorzone z powodu przedawnienia karalności.",
    "Oskarżony nie przyznał się do zarzucanego mu czynu i odmówił składania wyjaśnień.",
    "Sąd zamknął przewód sądowy i udzielił głosu stronom.",
    "Komornik wszczął egzekucję z wynagrodzenia za pracę dłużnika.",
    "Pozwany wnosi o oddalenie powództwa i zasądzenie kosztów procesu.",
    "Rozprawa odbyła się z wyłączeniem jawności.",
    "Spadkobiercy przyjęli spadek z dobrodziejstwem inwentarza.",
    "Wniosek należy złożyć w terminie czternastu dni od doręczenia postanowienia.",
]


def _day(day: int) -> str:
    """Genitive ordinal of a day of the month (1-31): "dwudziestego trzeciego"."""
    if day < 10:
        return _DAY_UNITS[day - 1]
    if day < 20:
        return _DAY_TEENS[day - 10]
    tens = "dwudziestego" if day < 30 else "trzydziestego"
    return tens if day % 10 == 0 else f"{tens} {_DAY_UNITS[day % 10 - 1]}"


def _article(rng: random.Random) -> str:
    article = num2words(rng.randint(1, 450), lang="pl", to="ordinal")
    paragraph = num2words(rng.randint(1, 4), lang="pl", to="ordinal")
    return f"artykuł {article} paragraf {paragraph} {rng.choice(_CODES)}"


def _money(rng: random.Random) -> str:
    amount = rng.choice((rng.randint(100, 999), rng.randrange(1000, 100000, 500)))
    return f"{num2words(amount, lang='pl')} {plural(amount, 'złoty', 'złote', 'złotych')}"


def _one(rng: random.Random) -> str:
    kind = rng.random()
    if kind < 0.14:
        party, filed = rng.choice(_PARTIES)
        return f"{party} {filed} {rng.choice(_FILINGS)}."
    if kind < 0.26:
        verb = rng.choice(("oddalił", "uwzględnił", "odrzucił"))
        return f"{rng.choice(_COURTS)} {verb} {rng.choice(_DECIDED)}."
    if kind < 0.4:
        start = rng.choice(("Sąd zastosował", "Prokurator powołał się na", "Obrońca przytoczył"))
        return f"{start} {_article(rng)}."
    if kind < 0.52:
        return f"{rng.choice(_AMOUNTS)} wynosi {_money(rng)}."
    if kind < 0.64:
        years = rng.randint(1, 12)
        term = f"{num2words(years, lang='pl')} {plural(years, 'rok', 'lata', 'lat')}"
        return f"Kara pozbawienia wolności za popełnienie {rng.choice(_OFFENCES)} wynosi {term}."
    if kind < 0.76:
        hour = rng.choice(list(_HOURS))
        room = f"{rng.choice(_ROOMS)} {num2words(rng.randint(1, 250), lang='pl')}"
        return (
            f"Rozprawa odbędzie się {_day(rng.randint(1, 28))} {rng.choice(_MONTHS_GEN)} "
            f"o godzinie {_HOURS[hour]} w {room}."
        )
    if kind < 0.86:
        notary = rng.choice(("Notariusz sporządził", "Notariusz odczytał", "Notariusz przygotował"))
        return f"{notary} {rng.choice(_DEEDS)}."
    if kind < 0.93:
        return f"Czy oskarżony przyznaje się do popełnienia {rng.choice(_OFFENCES)}?"
    days = rng.choice((3, 7, 14, 21, 30))
    unit = plural(days, "dzień", "dni", "dni")
    return (
        f"Termin na wniesienie {rng.choice(('apelacji', 'zażalenia', 'sprzeciwu', 'skargi'))} "
        f"wynosi {num2words(days, lang='pl')} {unit}."
    )


def legal_sentences(n: int, seed: int = 0) -> list[str]:
    """``n`` distinct legal sentences (the hand-written ones first), the same per seed."""
    return distinct_sentences(_one, n, seed, first=LEGAL_SENTENCES)
