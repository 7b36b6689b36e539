"""An n-gram LM built by speechlab from the small model's training text, decoding real
speechlab-pl-ctc-small output: beam search + LM beats greedy on sentences it never saw."""

from __future__ import annotations

import jiwer
import pytest
from conftest import require, require_module

from speechlab.asr import load_asr
from speechlab.asr.lm_builder import build_lm
from speechlab.audio import Audio
from speechlab.store import STORE
from speechlab.textnorm import model_card
from speechlab.train.sentences import polish_sentences, split_sentences
from speechlab.tts.espeak_speech import EspeakSynthesizer

NAME = "speechlab-pl-ctc-small"
pytestmark = pytest.mark.realweights


def test_beam_search_with_a_built_lm_lowers_the_wer(real_store_home, tmp_path):
    require(NAME in STORE, f"{NAME} not in the store")
    require_module("kenlm")
    trained, held_out = split_sentences(polish_sentences(2000, seed=0), held_out=0.06, seed=0)
    built = build_lm(trained, tmp_path / "lm", order=3)  # the held-out sentences are not in it
    espeak = EspeakSynthesizer()
    clips, references = [], []
    for i, text in enumerate(held_out[:40]):
        speech = espeak.synthesize(text, voice=("pl+m3", "pl+f2")[i % 2])
        clips.append(Audio(speech.audio, speech.sample_rate).resample(16_000))
        references.append(model_card(text))
    model = real_store_home / "models" / NAME
    wer = {}
    for name, asr in (
        ("greedy", load_asr(model, decoder="greedy")),
        ("lm", load_asr(model, lm=built.folder)),
    ):
        hypotheses = [model_card(asr.transcribe(c, progress=False).text) for c in clips]
        wer[name] = jiwer.wer(references, hypotheses)
    print(f"\n{built.describe()}\nWER greedy {wer['greedy']:.3f}, beam + LM {wer['lm']:.3f}")
    # measured: greedy 0.070-0.074, beam + LM 0.018 (40 sentences, 271 words)
    assert 0.035 <= wer["greedy"] <= 0.14
    assert wer["lm"] <= 0.6 * wer["greedy"]
