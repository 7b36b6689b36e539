"""Polish clinical sentences: a domain for adaptation experiments (``notebooks/05_adapt``).

Complaints, diagnoses, prescriptions with doses, examinations, vital signs, wards and the
questions a doctor asks, from hand-written, already inflected fragments; numbers written
out in words with the right plural forms. The vocabulary (drug, disease and examination
names) is what an everyday-Polish model has not heard. Only letters of the Polish
alphabet are used (no q, v, x), so a model's character vocabulary covers every sentence.
"""

from __future__ import annotations

import random

from num2words import num2words

from speechlab.train.sentences import distinct_sentences, plural

__all__ = ["CLINICAL_SENTENCES", "medical_sentences"]

_SYMPTOMS = ["silny ból głowy", "duszność wysiłkową", "kłujący ból w klatce piersiowej",
             "zawroty głowy", "nudności i wymioty", "uporczywy suchy kaszel",
             "ból brzucha po jedzeniu", "kołatanie serca", "drętwienie lewej ręki",
             "bezsenność", "przewlekłe zmęczenie", "świąd skóry", "obrzęki kończyn dolnych",
             "ból stawów kolanowych", "szumy uszne", "gorączkę i dreszcze",
             "pieczenie przy oddawaniu moczu", "zaburzenia widzenia"]  # fmt: skip
_SINCE = ["od dwóch dni", "od tygodnia", "od kilku miesięcy", "od wczoraj", "od rana",
          "od pięciu dni", "od dwóch tygodni", "od pół roku"]  # fmt: skip
#: Accusative: after "Rozpoznano", "Wykluczono", "podejrzewa się".
_DIAGNOSES = ["zapalenie płuc", "nadciśnienie tętnicze", "cukrzycę typu drugiego",
              "migotanie przedsionków", "niedoczynność tarczycy",
              "przewlekłą obturacyjną chorobę płuc", "zapalenie wyrostka robaczkowego",
              "kamicę żółciową", "niewydolność serca", "astmę oskrzelową",
              "niedokrwistość z niedoboru żelaza", "zapalenie oskrzeli",
              "chorobę wrzodową żołądka", "udar niedokrwienny mózgu",
              "złamanie kości promieniowej", "zapalenie zatok przynosowych", "osteoporozę",
              "łuszczycę", "zakrzepicę żył głębokich", "zapalenie pęcherza moczowego",
              "półpaśca", "boreliozę"]  # fmt: skip
#: Accusative drug names and their usual single doses in milligrams.
_DRUGS = {"amoksycylinę": [500, 875, 1000], "ibuprofen": [200, 400, 600],
          "paracetamol": [500, 1000], "metforminę": [500, 850, 1000], "ramipryl": [2.5, 5, 10],
          "bisoprolol": [2.5, 5, 10], "atorwastatynę": [10, 20, 40, 80],
          "omeprazol": [20, 40], "lewotyroksynę": [25, 50, 75, 100], "metoprolol": [25, 50, 100],
          "klopidogrel": [75], "furosemid": [20, 40], "pantoprazol": [20, 40],
          "deksametazon": [4, 8], "cetyryzynę": [10], "diklofenak": [50, 75, 100],
          "azytromycynę": [250, 500], "prednizon": [5, 10, 20], "amlodypinę": [5, 10]}  # fmt: skip
_FREQUENCIES = ["raz dziennie", "dwa razy dziennie", "trzy razy dziennie", "co osiem godzin",
                "co dwanaście godzin", "wieczorem przed snem", "rano na czczo",
                "po posiłku"]  # fmt: skip
#: Accusative: after "Zlecono", "skierowany na".
_EXAMS = ["tomografię komputerową jamy brzusznej", "rezonans magnetyczny kręgosłupa",
          "morfologię krwi", "badanie ogólne moczu", "elektrokardiogram", "echokardiografię",
          "gastroskopię", "kolonoskopię", "spirometrię", "densytometrię", "próbę wysiłkową",
          "biopsję tarczycy", "posiew krwi", "lipidogram", "oznaczenie poziomu glukozy",
          "zdjęcie rentgenowskie klatki piersiowej", "ultrasonografię jamy brzusznej",
          "holter ciśnieniowy", "koronarografię"]  # fmt: skip
#: Genitive: after "oddział".
_WARDS = ["kardiologii", "neurologii", "chirurgii ogólnej", "pediatrii", "ortopedii",
          "gastroenterologii", "endokrynologii", "chorób wewnętrznych", "intensywnej terapii",
          "pulmonologii", "nefrologii", "onkologii", "ginekologii", "urologii",
          "dermatologii", "okulistyki"]  # fmt: skip
_ALLERGENS = ["penicylinę", "aspirynę", "jod", "orzechy", "lateks", "pyłki traw",
              "sierść kota", "środki kontrastowe"]  # fmt: skip
#: Nominative: after "Od kiedy boli pana/panią".
_PAINS = ["głowa", "brzuch", "kręgosłup", "gardło", "ucho", "kolano", "ząb", "biodro"]

#: Hand-written sentences (instructions, reports) the templates do not make.
CLINICAL_SENTENCES = [
    "Proszę głęboko oddychać i nie ruszać się.",
    "Zabieg odbędzie się w znieczuleniu ogólnym.",
    "Pacjent jest przytomny i w pełni zorientowany.",
    "Rana goi się prawidłowo, szwy zdejmiemy za tydzień.",
    "Przed badaniem należy być na czczo przez osiem godzin.",
    "Wypisano pacjenta do domu w stanie ogólnym dobrym.",
    "Zaleca się kontrolę w poradni kardiologicznej za miesiąc.",
    "Skierowanie do specjalisty jest ważne przez trzy miesiące.",
    "Proszę zgłosić się na szpitalny oddział ratunkowy, jeśli ból się nasili.",
    "Osłuchowo nad płucami szmer pęcherzykowy prawidłowy.",
    "Brzuch miękki, niebolesny, bez objawów otrzewnowych.",
    "Po podaniu leku przeciwbólowego nastąpiła wyraźna poprawa.",
]


def _patient(rng: random.Random) -> tuple[str, str, str, str]:
    """(nominative, accusative, "was sent" past form, "pan"/"pani" in questions)."""
    if rng.random() < 0.5:
        return "Pacjent", "pacjenta", "został skierowany", "pan"
    return "Pacjentka", "pacjentkę", "została skierowana", "pani"


def _milligrams(dose: float) -> str:
    if dose != int(dose):  # 2.5: "dwa i pół miligrama"
        return f"{num2words(int(dose), lang='pl')} i pół miligrama"
    dose = int(dose)
    return f"{num2words(dose, lang='pl')} {plural(dose, 'miligram', 'miligramy', 'miligramów')}"


def _vitals(rng: random.Random) -> str:
    kind = rng.random()
    if kind < 0.3:
        systolic, diastolic = rng.randrange(100, 185, 5), rng.randrange(60, 115, 5)
        unit = plural(diastolic, "milimetr", "milimetry", "milimetrów")
        return (
            f"Ciśnienie tętnicze wynosi {num2words(systolic, lang='pl')} na "
            f"{num2words(diastolic, lang='pl')} {unit} słupa rtęci."
        )
    if kind < 0.55:
        pulse = rng.randint(48, 130)
        beats = plural(pulse, "uderzenie", "uderzenia", "uderzeń")
        return f"Tętno wynosi {num2words(pulse, lang='pl')} {beats} na minutę."
    if kind < 0.8:
        degrees = rng.randint(35, 41)
        unit = plural(degrees, "stopień", "stopnie", "stopni")
        return f"Temperatura ciała wynosi {num2words(degrees, lang='pl')} {unit} Celsjusza."
    return f"Saturacja krwi wynosi {num2words(rng.randint(85, 99), lang='pl')} procent."


def _one(rng: random.Random) -> str:
    who, whom, sent, you = _patient(rng)
    kind = rng.random()
    if kind < 0.16:
        return f"{who} skarży się na {rng.choice(_SYMPTOMS)} {rng.choice(_SINCE)}."
    if kind < 0.3:
        verb = rng.choice(("Rozpoznano", "Wykluczono", "U pacjenta podejrzewa się"))
        return f"{verb} {rng.choice(_DIAGNOSES)}."
    if kind < 0.46:
        drug = rng.choice(list(_DRUGS))
        dose, when = _milligrams(rng.choice(_DRUGS[drug])), rng.choice(_FREQUENCIES)
        return f"Zalecono {drug} w dawce {dose} {when}."
    if kind < 0.58:
        if rng.random() < 0.5:
            return f"Zlecono {rng.choice(_EXAMS)}."
        return f"{who} {sent} na {rng.choice(_EXAMS)}."
    if kind < 0.74:
        return _vitals(rng)
    if kind < 0.84:
        return f"{whom.capitalize()} przyjęto na oddział {rng.choice(_WARDS)}."
    if kind < 0.9:
        return f"Czy przyjmuje {you} {rng.choice(list(_DRUGS))} regularnie?"
    if kind < 0.95:
        return f"Czy ma {you} uczulenie na {rng.choice(_ALLERGENS)}?"
    whom_you = "pana" if you == "pan" else "panią"
    return f"Od kiedy boli {whom_you} {rng.choice(_PAINS)}?"


def medical_sentences(n: int, seed: int = 0) -> list[str]:
    """``n`` distinct clinical sentences (the hand-written ones first), the same per seed."""
    return distinct_sentences(_one, n, seed, first=CLINICAL_SENTENCES)
