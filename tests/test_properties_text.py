"""Property-based tests of the text path (issue 14): normalisers, Polish G2P with number
expansion, TTS chunking. On arbitrary Unicode nothing raises but the documented typed errors,
and chunking loses no character. No model weights: the synthesizer runs on a silent runtime.

Examples are few and derandomised (the same ones every run), so the file runs in seconds
and never flakes; the strategies mix arbitrary code points with the characters the code
treats specially (Polish letters, digits, separators, sentence and clause punctuation).
"""

from __future__ import annotations

import re

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from speechlab.errors import SpeechlabError, UnsupportedLanguageError
from speechlab.textnorm import CHARS_TO_IGNORE, NORMALIZERS, NormalizerError, get_normalizer, plain
from speechlab.tts.base import Output
from speechlab.tts.chunking import TextChunk, clean_text, split_first, split_text
from speechlab.tts.g2p import G2P, LANGUAGES, resolve_language, to_vocab
from speechlab.tts.synthesizer import Synthesizer, TextError
from speechlab.tts.voices import PACK_SHAPE, VoiceBank, VoiceError, parse_blend

pytestmark = pytest.mark.timeout(120)

_FAST = settings(
    max_examples=100,
    deadline=None,  # shared CPUs: time per example is not a property
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
_ESPEAK = settings(_FAST, max_examples=30)  # espeak-ng runs per example

#: What the code treats specially, mixed into arbitrary code points.
_SPECIAL = [
    *"ąćęłńóśźżĄĆĘŁŃÓŚŹŻ0123456789 \n\t.,;:!?…—–-'\"()[]<>«»„”",
    "\u00a0",  # no-break space
    "\u2028",  # line separator
    "\u0301",  # combining acute
    "\x00",
    "\ufeff",
    "٣",  # Arabic-Indic three (a \d that is not ASCII)
    "３",  # fullwidth three
    "²",
    "İ",  # lower-cases to two code points
    "ß",
    "ﬁ",
]
_CHARS = st.one_of(st.characters(), st.sampled_from(_SPECIAL))
TEXT = st.text(_CHARS, max_size=120)
NUMBERS = st.text(st.sampled_from(list("0123456789,. ")), min_size=1, max_size=90)


# --------------------------------------------------------------------------- normalisers


@_FAST
@given(TEXT)
def test_every_normaliser_returns_collapsed_text(text):
    for name, normalize in {**NORMALIZERS, "plain": plain}.items():
        out = normalize(text)
        assert isinstance(out, str), name
        if name != "none":
            assert out == " ".join(out.split()), name  # no doubled, leading or trailing space
    assert not set(NORMALIZERS["model-card"](text)) & set("".join(CHARS_TO_IGNORE))
    assert all(c.isalnum() or c.isspace() or c == "'" for c in plain(text))


@_FAST
@given(TEXT)
def test_model_card_and_plain_are_idempotent(text):
    for normalize in (NORMALIZERS["model-card"], plain):
        once = normalize(text)
        assert normalize(once) == once


@_FAST
@given(st.one_of(TEXT, st.integers(), st.none()))
def test_unknown_normaliser_names_are_typed_errors(name):
    if isinstance(name, str) and name in NORMALIZERS:
        assert callable(get_normalizer(name))
        return
    with pytest.raises(NormalizerError, match="Unknown normaliser"):
        get_normalizer(name)


# --------------------------------------------------------------------------- G2P


@_FAST
@given(st.one_of(TEXT, st.lists(TEXT, max_size=2), st.integers(), st.none()))
def test_language_codes_resolve_or_are_typed_errors(lang):
    try:
        language, message = resolve_language(lang), ""
    except UnsupportedLanguageError as exc:
        language, message = None, str(exc)
    assert language in LANGUAGES.values() or "Supported:" in message


@_FAST
@given(NUMBERS)
def test_polish_number_expansion_leaves_no_digit(text):
    out = G2P("pl").expand_numbers(text)
    assert re.search(r"\d", out) is None, out


@_FAST
@given(TEXT)
def test_number_expansion_keeps_every_non_digit(text):
    for lang in ("pl", "uk"):
        out = G2P(lang).expand_numbers(text)
        assert re.search(r"\d", out) is None
        kept = [c for c in text if not re.match(r"[\d\s]", c)]
        assert all(c in out for c in kept)


@_ESPEAK
@given(TEXT)
def test_polish_phonemes_map_onto_the_vocabulary(text):
    vocab = {symbol: i for i, symbol in enumerate("abdefijklmnoprstuwxzɕʑʂʐɲŋɔɛɨʲˈˌʨʥʦʣ ")}
    raw = G2P("pl").phonemize(clean_text(text))
    mapped, dropped = to_vocab(raw, vocab)
    assert set(mapped) <= set(vocab)
    assert mapped == " ".join(mapped.split())
    assert all(symbol not in vocab for symbol in dropped)


# --------------------------------------------------------------------------- chunking


def _non_space(text: str) -> str:
    return "".join(c for c in text if not c.isspace())


def _expanding(factor: int):
    """A stand-in phonemizer: each character gives ``factor`` symbols (spaces stay one)."""
    return lambda text: "".join(c if c.isspace() else c * factor for c in text)


@_FAST
@given(TEXT, st.integers(1, 40), st.integers(1, 3))
def test_chunking_loses_no_character_and_every_chunk_fits(text, max_tokens, factor):
    phonemize = _expanding(factor)
    chunks = list(split_text(text, phonemize, max_tokens))
    assert _non_space("".join(c.graphemes for c in chunks)) == _non_space(clean_text(text))
    for chunk in chunks:
        assert isinstance(chunk, TextChunk) and chunk.phonemes.strip()
        assert len(chunk.phonemes) <= max_tokens


@_FAST
@given(TEXT, st.integers(1, 5))
def test_splitting_off_the_first_words_loses_nothing(text, words):
    phonemize = _expanding(1)
    whole = "".join(c.graphemes for c in split_text(text, phonemize, 30))
    first = split_first(split_text(text, phonemize, 30), phonemize, words)
    assert _non_space("".join(c.graphemes for c in first)) == _non_space(whole)


@_FAST
@given(TEXT)
def test_clean_text_has_no_control_characters_and_single_spaces(text):
    out = clean_text(text)
    assert not any(c in out for c in "\r\t\x00\u2028")
    assert all(line == " ".join(line.split()) and line for line in out.split("\n")) or out == ""


# --------------------------------------------------------------------------- the synthesizer


class _Silent:
    def __call__(self, ids: list[int], style: np.ndarray, speed: float) -> Output:
        assert len(ids) <= 512 and np.isfinite(style).all()
        return Output(np.zeros(len(ids), np.float32), None)


def _synthesizer() -> Synthesizer:
    rng = np.random.default_rng(0)
    voices = VoiceBank({"a": rng.normal(0, 0.3, PACK_SHAPE), "b": rng.normal(0, 0.3, PACK_SHAPE)})
    vocab = {s: i + 1 for i, s in enumerate("abdefijklmnoprstuwxzɕʑʂʐɲŋɔɛɨʲˈˌʨʥʦʣ .,!?")}
    return Synthesizer(_Silent(), vocab, voices, voice="a")


_TTS = _synthesizer()


@_ESPEAK
@given(TEXT, st.sampled_from(["pl", "uk", "sk", "cs"]))
def test_synthesis_of_arbitrary_text_speaks_or_says_why(text, lang):
    if not text.strip():
        with pytest.raises(TextError, match="empty"):
            _TTS.synthesize(text, lang=lang)
        return
    speech = _TTS.synthesize(text, lang=lang)
    assert np.isfinite(speech.audio).all()
    spoken = _non_space("".join(c.graphemes for c in speech.chunks))
    assert set(spoken) <= set(_non_space(clean_text(text)))


_WEIGHT = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(["1e308", "-0", "nan", "x", "", "1e-320"]),
)


@_FAST
@given(st.lists(st.tuples(st.sampled_from(["a", "b", "c", ""]), _WEIGHT), max_size=4))
def test_blend_specs_give_finite_weights_summing_to_one_or_a_voice_error(entries):
    spec = ",".join(f"{name}:{weight}" for name, weight in entries)
    try:
        weights = parse_blend(spec)
        pack = _TTS.voice_bank.pack(spec)
    except VoiceError:
        return
    assert all(np.isfinite(w) and w > 0 for w in weights.values())
    assert sum(weights.values()) == pytest.approx(1.0)
    assert np.isfinite(pack).all()


def test_the_typed_errors_are_speechlab_errors():
    for cls in (TextError, UnsupportedLanguageError, VoiceError, NormalizerError):
        assert issubclass(cls, SpeechlabError)
