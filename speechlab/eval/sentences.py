"""Short everyday sentences per language, for small synthetic test sets and round trips.

Polish is ``speechlab.samples.POLISH_SENTENCES`` (every Polish diacritic); Czech, Slovak
and Ukrainian are the same kind of sentence with their own letters (ř ů, ô ľ, ї й). No
digits or abbreviations, so no number expansion can differ between TTS and reference.
"""

from __future__ import annotations

from speechlab.samples import POLISH_SENTENCES

__all__ = ["SENTENCES"]

SENTENCES: dict[str, tuple[str, ...]] = {
    "pl": POLISH_SENTENCES,
    "cs": (
        "Dobrý den, jak se máte?",
        "Jdu do obchodu pro chleba a mléko.",
        "Včera pršelo, ale dnes svítí slunce.",
        "Můj bratr bydlí v Brně už deset let.",
        "Zavřete prosím okno, je tu zima.",
        "Vlak přijede na nádraží za pět minut.",
    ),
    "sk": (
        "Dobrý deň, ako sa máte?",
        "Idem do obchodu po chlieb a mlieko.",
        "Včera pršalo, ale dnes svieti slnko.",
        "Môj brat býva v Košiciach už desať rokov.",
        "Zatvorte prosím okno, je tu zima.",
        "Ľudia čakajú na stanici na vlak.",
    ),
    "uk": (
        "Добрий день, як справи?",
        "Я йду до магазину по хліб і молоко.",
        "Вчора йшов дощ, а сьогодні світить сонце.",
        "Мій брат живе у Львові вже десять років.",
        "Зачиніть, будь ласка, вікно, бо холодно.",
        "Її дочка грає на гітарі щовечора.",
    ),
}
