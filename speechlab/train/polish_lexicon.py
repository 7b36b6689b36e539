"""Real Polish words and their inflections: wordfreq's ``large_pl`` list and Morfeusz 2 (SGJP).

:func:`lexicon` reads the word-frequency list that the ``wordfreq`` wheel ships
(``wordfreq/data/large_pl.msgpack.gz``, read offline through ``wordfreq.get_frequency_list``;
code Apache-2.0, data CC BY-SA 4.0) and keeps the words that are spelled with the model's
alphabet (:data:`ALPHABET`) and that Morfeusz 2 recognises (its SGJP dictionary ships inside
the ``morfeusz2`` wheel; BSD-2-Clause), which drops English, abbreviations, typos and vulgar
forms. From the same analyses it collects lemmas of common nouns, adjectives, verbs and
adverbs; :func:`noun_forms`, :func:`adjective_forms`, :func:`verb_forms` and
:func:`proper_forms` generate their inflected forms with Morfeusz.

Tags follow the NKJP tagset: numbers ``sg``/``pl``; cases ``nom gen dat acc inst loc voc``;
genders ``m1`` (personal masculine), ``m2`` (animate), ``m3`` (inanimate), ``f``, ``n``.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from speechlab.errors import SpeechlabError

__all__ = [
    "ALPHABET",
    "CASES",
    "GENDERS",
    "Lexicon",
    "LexiconError",
    "adjective_forms",
    "agreeing_adjective",
    "in_alphabet",
    "is_word",
    "lexicon",
    "noun_forms",
    "proper_forms",
    "verb_forms",
]

#: The letters of speechlab's Polish CTC vocabulary (``speechlab-pl-ctc-small/vocab.json``).
ALPHABET = "aąbcćdeęfghijklłmnńoóprsśtuwyzźż"
CASES = ("nom", "gen", "dat", "acc", "inst", "loc", "voc")
GENDERS = ("m1", "m2", "m3", "f", "n")

_WORD = re.compile(f"^[{ALPHABET}]+$")
_VOWELS = set("aąeęioóuy")
_NOT_WORDS = {"ign", "brev", "interp", "xxx", "dig", "romandig", "burk"}
#: Word classes whose homographs make a poor noun lemma (``dzięki``, ``polski``, ``była``).
_NOT_NOUNS = {"adj", "adja", "adjp", "adv", "prep", "conj", "comp", "qub", "part", "interj",
              "ppron12", "ppron3", "num", "pred", "fin", "praet", "impt"}  # fmt: skip
#: Morfeusz qualifiers of forms a training corpus should not teach (archaic, rare, dialect,
#: incorrect), and of words it leaves out altogether (vulgar, contemptuous).
_AVOID = {"daw.", "przest.", "rzad.", "reg.", "gwar.", "niepopr.", "slang"}
_OFFENSIVE = {"wulg.", "pogard."}
#: Slurs SGJP does not mark as such.
_BLOCKED = {"murzyn", "murzynka", "żydek", "żydówa"}


class LexiconError(SpeechlabError, RuntimeError):
    """The Polish word list or the morphological dictionary cannot be used."""


@dataclass(frozen=True)
class Lexicon:
    """Polish words in frequency order with their relative frequencies, and lemma pools.

    Lemmas are Morfeusz lemma ids (``kot:Sm2``), most frequent first; ``noun_genders``
    gives each noun lemma's gender with SGJP's subclass where it has one (``m3``,
    ``n:col`` for nouns counted with collective numerals, ``m1:pt`` for plural-only ones).
    """

    words: tuple[str, ...]
    frequencies: tuple[float, ...]
    nouns: tuple[str, ...]
    noun_genders: dict[str, str]
    adjectives: tuple[str, ...]
    verbs: tuple[str, ...]
    adverbs: tuple[str, ...]


def is_word(word: str) -> bool:
    """True when Morfeusz recognises ``word`` (any capitalisation) as a Polish word form."""
    return any(a[2][2] != "ign" for a in _morfeusz().analyse(word))


def in_alphabet(word: str) -> bool:
    """True when ``word`` (lower-cased) uses only letters of :data:`ALPHABET`."""
    return bool(_WORD.match(word.lower()))


@functools.cache
def lexicon(size: int = 60_000) -> Lexicon:
    """The ``size`` most frequent usable Polish words of wordfreq's large list (cached).

    About 4 s for 60,000 words on one core (one Morfeusz analysis per word).
    """
    words: list[str] = []
    frequencies: list[float] = []
    nouns: dict[str, str] = {}
    adjectives: dict[str, None] = {}
    verbs: dict[str, None] = {}
    adverbs: dict[str, None] = {}
    morfeusz = _morfeusz()
    for word, frequency in _frequency_list():
        if len(words) >= size:
            break
        if not _WORD.match(word) or not (_VOWELS & set(word) or word in {"w", "z"}):
            continue
        analyses = [a[2] for a in morfeusz.analyse(word)]
        if any(_OFFENSIVE & _marks(a[4]) or a[1].split(":")[0] in _BLOCKED for a in analyses):
            continue
        known = [a for a in analyses if _usable(a)]
        if not known or all(_foreign_looking(word, a[1].split(":")[0]) for a in known):
            continue
        words.append(word)
        frequencies.append(frequency)
        classes = {a[2].split(":")[0] for a in known}
        for _form, lemma, tag, names, qualifiers in known:
            # a lemma counts once its own base form is on the list: homographs of frequent
            # words (``tak`` as the plural genitive of ``taka``) do not bring in rare lemmas
            if qualifiers or lemma.split(":")[0] != word:
                continue
            pos = tag.split(":")
            if pos[0] == "subst" and "nazwa_pospolita" in names and len(word) > 2:
                if not classes & _NOT_NOUNS:
                    nouns.setdefault(lemma, ":".join(pos[3:]))
            elif pos[0] == "adj" and pos[-1] == "pos":
                adjectives.setdefault(lemma)
            elif pos[0] == "inf":
                verbs.setdefault(lemma)
            elif pos[0] == "adv" and pos[-1] == "pos":
                adverbs.setdefault(lemma)
    return Lexicon(
        tuple(words),
        tuple(frequencies),
        tuple(nouns),
        nouns,
        tuple(adjectives),
        tuple(verbs),
        tuple(adverbs),
    )


@functools.lru_cache(maxsize=65_536)
def noun_forms(lemma: str) -> dict[tuple[str, str], str]:
    """``{(number, case): form}`` of a noun lemma (unmarked forms preferred)."""
    forms: dict[tuple[str, str], str] = {}
    for form, tag in _generated(lemma, "subst"):
        for number, case in _number_cases(tag):
            forms.setdefault((number, case), form)
    return forms


@functools.lru_cache(maxsize=16_384)
def adjective_forms(lemma: str) -> dict[tuple[str, str, str], str]:
    """``{(number, case, gender): form}`` of an adjective lemma, positive degree."""
    forms: dict[tuple[str, str, str], str] = {}
    for form, tag in _generated(lemma, "adj"):
        pos = tag.split(":")
        if pos[-1] != "pos":
            continue
        for number, case in _number_cases(tag):
            for gender in pos[3].split("."):
                forms.setdefault((number, case, gender), form)
    return forms


@functools.lru_cache(maxsize=16_384)
def verb_forms(lemma: str) -> dict[tuple[str, ...], str]:
    """Finite forms of a verb lemma.

    Keys: ``("fin", number, person)`` (present, or future of a perfective verb),
    ``("praet", number, gender)`` (past, third person; ``gender`` one of GENDERS),
    ``("praet-agl", "sg", "m")`` (the masculine stem persons attach to: ``niosł-em``),
    ``("impt", number, person)`` and ``("inf",)``.
    """
    forms: dict[tuple[str, ...], str] = {}
    for form, tag in _generated(lemma, None):
        pos = tag.split(":")
        kind = pos[0]
        if kind in {"fin", "impt"}:
            forms.setdefault((kind, pos[1], pos[2]), form)
        elif kind == "praet":
            if pos[-1] == "agl":
                forms.setdefault(("praet-agl", pos[1], "m"), form)
                continue
            for gender in pos[2].split("."):
                forms.setdefault(("praet", pos[1], gender), form)
        elif kind == "inf":
            forms.setdefault(("inf",), form)
    if ("praet", "sg", "m1") in forms:
        forms.setdefault(("praet-agl", "sg", "m"), forms[("praet", "sg", "m1")])
    return forms


@functools.lru_cache(maxsize=8_192)
def proper_forms(name: str, kind: str, gender: str | None = None) -> dict[str, str] | None:
    """``{case: form}`` of a proper name (one or more words), or None when Morfeusz cannot
    inflect every word.

    ``kind`` is the SGJP name class: ``imię``, ``nazwisko`` or ``nazwa_geograficzna``;
    ``gender`` (``m1`` or ``f`` for people) picks the person's paradigm. In a place name
    of several words (``Ruda Śląska``, ``Gorzów Wielkopolski``) the adjectives agree with
    the noun.
    """
    parts = name.split()
    heads = [_proper_head(part, kind, gender) for part in parts]
    head = next((h for h in heads if h is not None), None)
    if head is None:
        return None
    number, head_gender = head[1], head[2]
    out: dict[str, list[str]] = {case: [] for case in CASES}
    for part, found in zip(parts, heads, strict=True):
        forms = None if found is head else agreeing_adjective(part, number, head_gender)
        if forms is None and found is not None:
            forms = _proper_paradigm(found[0], found[1], gender or found[2])
        if forms is None:
            return None
        for case in CASES:
            out[case].append(forms[case])
    return {case: " ".join(words) for case, words in out.items()}


def _proper_head(word: str, kind: str, gender: str | None) -> tuple[str, str, str] | None:
    """(lemma id, number, gender) of ``word`` as a nominative proper noun of ``kind``."""
    classes = {kind, "człon_nazwy_geograficznej"} if kind == "nazwa_geograficzna" else {kind}
    for _form, lemma, tag, names, _qualifiers in (a[2] for a in _morfeusz().analyse(word)):
        pos = tag.split(":")
        if pos[0] != "subst" or not classes & set(names) or "nom" not in pos[2].split("."):
            continue
        if gender is not None and gender not in pos[3].split("."):
            continue
        return lemma, pos[1].split(".")[0], pos[3].split(".")[0]
    return None


def _proper_paradigm(lemma: str, number: str, gender: str) -> dict[str, str] | None:
    forms: dict[str, str] = {}
    for form, tag in _generated(lemma, "subst"):
        if gender not in tag.split(":")[3].split("."):
            continue
        for n, case in _number_cases(tag):
            if n == number:
                forms.setdefault(case, form)
    return forms if all(case in forms for case in CASES) else None


def agreeing_adjective(word: str, number: str, gender: str) -> dict[str, str] | None:
    """``{case: form}`` of the adjective ``word`` (a nominative, any capitalisation) in
    ``number`` and ``gender``, capitalised like ``word``; None when it is no adjective."""
    for _form, lemma, tag, _names, _qualifiers in (a[2] for a in _morfeusz().analyse(word)):
        pos = tag.split(":")
        if pos[0] != "adj" or "nom" not in pos[2].split("."):
            continue
        forms = adjective_forms(lemma)
        found = {case: forms.get((number, case, gender)) for case in CASES}
        if all(found.values()):
            if word[:1].isupper():
                return {case: form[:1].upper() + form[1:] for case, form in found.items() if form}
            return {case: form for case, form in found.items() if form}
    return None


def _number_cases(tag: str) -> Iterator[tuple[str, str]]:
    pos = tag.split(":")
    for number in pos[1].split("."):
        for case in pos[2].split("."):
            yield number, case


def _generated(lemma: str, kind: str | None) -> list[tuple[str, str]]:
    """(form, tag) pairs of ``lemma``, forms without usage qualifiers first, then the rest;
    forms carrying a qualifier in ``_AVOID`` and negated forms are left out."""
    plain: list[tuple[str, str]] = []
    marked: list[tuple[str, str]] = []
    for form, _lemma, tag, _names, qualifiers in _morfeusz().generate(lemma):
        if kind is not None and not tag.startswith(kind + ":"):
            continue
        if (_AVOID | _OFFENSIVE) & _marks(qualifiers) or tag.endswith(":neg"):
            continue
        (marked if qualifiers else plain).append((form, tag))
    return plain + marked


def _usable(analysis: tuple[Any, ...]) -> bool:
    """An analysis (form, lemma, tag, names, qualifiers) of a real, current word form."""
    return analysis[2].split(":")[0] not in _NOT_WORDS and not _AVOID & _marks(analysis[4])


def _foreign_looking(word: str, lemma: str) -> bool:
    """A proper-name reading that is probably a foreign word: an acronym (``IS`` for ``is``)
    or an inflected form of a name (``and`` as the genitive plural of ``Anda``)."""
    return lemma[:1].isupper() and (lemma.isupper() or lemma.lower() != word)


def _marks(qualifiers: list[str]) -> set[str]:
    """Morfeusz usage qualifiers, which come comma-joined (``pogard.,wulg.``), as a set."""
    return {mark for qualifier in qualifiers for mark in qualifier.split(",")}


def _frequency_list() -> Iterator[tuple[str, float]]:
    """(word, relative frequency) of wordfreq's large Polish list, most frequent first."""
    try:
        import wordfreq
    except ImportError as exc:
        raise LexiconError(
            f"The Polish word list needs wordfreq (pip install speechlab); import failed: {exc}"
        ) from exc
    for centibels, words in enumerate(wordfreq.get_frequency_list("pl", wordlist="large")):
        frequency = 10.0 ** (-centibels / 100)
        for word in words:
            yield word, frequency


@functools.cache
def _morfeusz() -> Any:
    try:
        import morfeusz2
    except ImportError as exc:
        raise LexiconError(
            "Polish inflection needs morfeusz2 (pip install speechlab; its wheel carries the "
            f"SGJP dictionary); import failed: {exc}"
        ) from exc
    return morfeusz2.Morfeusz(generate=True, expand_tags=False)
