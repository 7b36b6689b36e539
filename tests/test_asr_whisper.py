"""Whisper base (real weights from the store) on real English speech and on Polish from Kokoro."""

from __future__ import annotations

import jiwer
import numpy as np
import pytest

from speechlab.asr import detect_backend, load_asr
from speechlab.asr.whisper import WhisperRecognizer
from speechlab.audio import Audio
from speechlab.errors import ModelNotFoundError, UnsupportedLanguageError
from speechlab.selfcheck import SELF_CHECK_TEXT
from speechlab.textnorm import plain

pytestmark = [pytest.mark.realweights, pytest.mark.timeout(600)]


@pytest.fixture(scope="module")
def whisper(real_store_home) -> WhisperRecognizer:
    return load_asr(real_store_home / "models" / "whisper-base")


def test_store_model_is_the_default_and_detected(real_store):
    assert detect_backend(real_store / "models" / "whisper-base") == "whisper"
    assert isinstance(load_asr(), WhisperRecognizer)


def test_real_english_telephone_speech(whisper, pyannote_sample):
    wav, reference = pyannote_sample
    t = whisper.transcribe(wav, language="en")
    wer = jiwer.wer(plain(reference), plain(t.text))
    assert wer < 0.35, (wer, t.text)
    assert t.language == "en" and t.duration == pytest.approx(30.0, abs=0.1)
    starts = [w.start for w in t.words]
    assert starts == sorted(starts)
    assert all(0 <= w.start <= w.end <= t.duration for w in t.words)
    assert all(0 <= w.confidence <= 1 for w in t.words)
    # the first words are heard where the transcript says (stm: "Hello?" at 6.68-7.16 s)
    assert t.words[0].text.lower().startswith("hello")
    assert 6.0 < t.words[0].start < 7.2


def test_polish_from_kokoro(whisper, polish_clip):
    t = whisper.transcribe(polish_clip, language="pl")
    assert jiwer.wer(plain(SELF_CHECK_TEXT), plain(t.text)) <= 0.25, t.text
    assert t.language == "pl"
    assert "warszaw" in plain(t.text)


def test_a_batch_keeps_input_order_and_empties(whisper, polish_clip, pyannote_sample):
    silence = Audio(np.zeros(16_000, np.float32), 16_000)
    out = whisper.transcribe([polish_clip, silence, pyannote_sample[0]], language=None)
    assert [t.language for t in out][0::2] == ["pl", "en"]
    assert out[1].text == "" and out[1].words == []
    srt = out[0].to_srt()
    assert srt.startswith("1\n00:00:0") and "Kowalski" in srt


def test_whisper_errors(real_store, tmp_path):
    with pytest.raises(UnsupportedLanguageError, match="'klingon'"):
        load_asr("whisper-base", language="klingon")
    with pytest.raises(ModelNotFoundError, match="not a CTranslate2 Whisper model"):
        load_asr(tmp_path, backend="whisper")
