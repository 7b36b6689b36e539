"""espeak-ng as a speech engine (a second, very different voice for synthetic corpora)."""

from __future__ import annotations

import numpy as np
import pytest

from speechlab.errors import SpeechlabError, UnsupportedLanguageError
from speechlab.tts.espeak_speech import EspeakSynthesizer
from speechlab.tts.g2p import get_g2p

TEXT = "Dzień dobry, jak się masz? Idę do sklepu po chleb."


@pytest.fixture(scope="module")
def espeak() -> EspeakSynthesizer:
    return EspeakSynthesizer()


def test_speaks_polish_in_several_variants(espeak):
    voices = {}
    for voice in ("pl", "pl+m3", "pl+f2"):
        speech = espeak.synthesize(TEXT, voice=voice)
        assert speech.sample_rate == 22_050
        assert 1.5 < speech.duration < 6.0
        assert np.isfinite(speech.audio).all() and 0.05 < np.abs(speech.audio).max() <= 1.0
        voices[voice] = speech.audio
    assert not np.array_equal(voices["pl+m3"][:20_000], voices["pl+f2"][:20_000])


def test_speed_changes_duration(espeak):
    slow = espeak.synthesize(TEXT, voice="pl", speed=1.0).duration
    fast = espeak.synthesize(TEXT, voice="pl", speed=1.5).duration
    assert fast / slow == pytest.approx(1 / 1.5, rel=0.2)


def test_phonemes_still_work_beside_it(espeak):
    before = get_g2p("pl").phonemize("Dzień dobry")
    espeak.synthesize(TEXT, voice="pl")
    assert get_g2p("pl").phonemize("Dzień dobry") == before


def test_bad_input(espeak):
    with pytest.raises(UnsupportedLanguageError, match="pl\\+m3"):
        espeak.synthesize(TEXT, voice="qq+zz")
    with pytest.raises(SpeechlabError, match="empty"):
        espeak.synthesize("   ")
