"""speechlab-pl-ctc-small: real learned wav2vec2 weights for the CTC paths.

The model (speechlab/store/models/speechlab-pl-ctc-small, trained by
notebooks/04_finetune.ipynb) has never heard the held-out sentences used here; the speech is
synthetic (Kokoro int8, espeak-ng).
"""

from __future__ import annotations

import jiwer
import numpy as np
import pytest
from conftest import require

from speechlab.asr import load_asr
from speechlab.asr.inputs import AudioItem
from speechlab.audio import Audio
from speechlab.store import STORE, resolve, verify
from speechlab.textnorm import model_card
from speechlab.train.sentences import polish_sentences, split_sentences
from speechlab.tts import load_tts
from speechlab.tts.espeak_speech import EspeakSynthesizer

NAME = "speechlab-pl-ctc-small"
pytestmark = pytest.mark.realweights
HELD_OUT = split_sentences(polish_sentences(2000, seed=0), held_out=0.06, seed=0)[1]
SILENCE = 0.4  # seconds between the separately spoken words


@pytest.fixture(autouse=True, scope="module")
def _trained() -> None:
    """Not in the store yet: skipped here, failed in CI (``CI=true``)."""
    require(NAME in STORE, f"{NAME} not trained yet")


@pytest.fixture(scope="module")
def kokoro(real_store_home):
    return load_tts(real_store_home / "models" / "kokoro-82m-int8")


@pytest.fixture(scope="module")
def small(real_store_home):
    return load_asr(real_store_home / "models" / NAME)


def _speak(tts, text: str, voice: str) -> Audio:
    speech = tts.synthesize(text, voice=voice, lang="pl")
    return Audio(speech.audio, speech.sample_rate).resample(16_000)


def test_the_store_serves_it_verified_and_small(real_store):
    folder = resolve(NAME)
    verify(NAME)
    assert (folder / "model.safetensors").is_file()
    assert sum(p.stat().st_size for p in folder.iterdir()) <= 25 * 2**20


def test_held_out_sentences_with_a_training_voice(kokoro, small):
    texts = HELD_OUT[:6]
    clips = [_speak(kokoro, text, "jm_kumo") for text in texts]
    hypotheses = [t.text for t in small.transcribe(clips, progress=False)]
    references = [model_card(t) for t in texts]
    cer = jiwer.cer(references, [model_card(h) for h in hypotheses])
    print(f"\nheld-out CER {cer:.3f}\n" + "\n".join(hypotheses))
    # The target: CER <= 0.10. This model measures 0.043 here and 0.075 on all 120
    # held-out utterances (speechlab/store/models/speechlab-pl-ctc-small/README.md).
    assert cer <= 0.10


def test_timestamps_fall_inside_the_spoken_words(small):
    """Words spoken one by one with silences between (the spans are known from where the
    audio was joined): every recognized character, and every word's start and end, lies in
    a spoken span, never in a silence."""
    espeak = EspeakSynthesizer()
    words = ["dzień", "dobry", "marek", "kupił", "chleb"]
    rate = 16_000
    pieces, spans, t = [], [], SILENCE
    gap = np.zeros(int(SILENCE * rate), np.float32)
    pieces.append(gap)
    for word in words:
        speech = espeak.synthesize(word, voice="pl+m1")
        audio = Audio(speech.audio, speech.sample_rate).resample(rate).samples
        loud = np.flatnonzero(np.abs(audio) > 0.02)
        audio = audio[loud[0] : loud[-1] + 1]
        spans.append((t, t + len(audio) / rate))
        pieces += [audio, gap]
        t += len(audio) / rate + SILENCE
    transcript = small.transcribe(Audio(np.concatenate(pieces), rate), progress=False)
    print(f"\n{transcript.text!r}", [(w.text, w.start, w.end) for w in transcript.words])

    def spoken(t: float) -> bool:
        return any(a - 0.1 <= t <= b + 0.1 for a, b in spans)

    assert len(transcript.chars) >= 15
    for char in transcript.chars:
        assert spoken(char.start) and spoken(char.end), (char, spans)
    for word in transcript.words:
        assert spoken(word.start) and spoken(word.end), (word, spans)
        assert word.confidence is not None and 0 < word.confidence <= 1


def test_chunked_equals_unchunked_on_learned_weights(kokoro, real_store_home):
    folder = real_store_home / "models" / NAME
    chunked = load_asr(folder, chunk_length_s=8.0, stride_length_s=2.0)
    whole = load_asr(folder, chunk_length_s=60.0, stride_length_s=1.0)
    clip = _speak(kokoro, " ".join(HELD_OUT[6:9]), "jf_gongitsune")
    assert clip.duration > 10.0  # several windows
    item = AudioItem(0, None, clip.duration, audio=clip)
    stitched = chunked._long_log_probs(item, batch_size=4).argmax(1)
    full = whole.log_probs([clip.samples])[0].argmax(1)
    assert stitched.shape == full.shape
    agreement = float((stitched == full).mean())
    a, b = chunked.transcribe(clip, progress=False), whole.transcribe(clip, progress=False)
    print(f"\nframe agreement {agreement:.4f}\n{a.text}\n{b.text}")
    # 8 s windows with 2 s context on each side: global attention sees less than the whole
    # clip, so a few frames differ; the text barely changes.
    assert agreement >= 0.95
    assert jiwer.cer(b.text, a.text) <= 0.08  # a few uncertain frames move letters (0.05 here)
