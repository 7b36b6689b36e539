"""Live recognition with speechlab's own Polish CTC model (real learned weights).

Kokoro (real int8 weights) speaks held-out sentences of the model's domain; each stream is
fed in 100 ms blocks and compared with offline ``transcribe()`` of the same audio.
"""

from __future__ import annotations

import itertools

import jiwer
import numpy as np
import pytest

from speechlab.asr import load_asr
from speechlab.asr.streaming import Final, Partial
from speechlab.audio import Audio
from speechlab.store import STORE
from speechlab.train.sentences import polish_sentences, split_sentences
from speechlab.tts import load_tts

NAME = "speechlab-pl-ctc-small"
pytestmark = [
    pytest.mark.realweights,
    pytest.mark.timeout(600),
    pytest.mark.skipif(NAME not in STORE, reason="speechlab-pl-ctc-small not trained yet"),
]
HELD_OUT = split_sentences(polish_sentences(2000, seed=0), held_out=0.06, seed=0)[1]


@pytest.fixture(scope="module")
def small(real_store_home):
    # fp32: the stored fp16 runs 6.6x slower on CPUs without fp16 arithmetic
    return load_asr(real_store_home / "models" / NAME, dtype="float32")


@pytest.fixture(scope="module")
def clips(real_store_home) -> list[Audio]:
    """Two clips of two held-out sentences each (about 7 s), 16 kHz."""
    tts = load_tts(real_store_home / "models" / "kokoro-82m-int8")
    spoken = []
    for text in HELD_OUT[:4]:
        speech = tts.synthesize(text, voice="jm_kumo", lang="pl")
        spoken.append(Audio(speech.audio, speech.sample_rate).resample(16_000).samples)
    pause = np.zeros(4000, np.float32)
    return [Audio(np.concatenate([spoken[i], pause, spoken[i + 1]]), 16_000) for i in (0, 2)]


def _finals(events) -> list[Final]:
    return [e for e in events if isinstance(e, Final)]


def test_streamed_text_matches_offline_up_to_window_effects(small, clips):
    offline = [t.text for t in small.transcribe(clips, progress=False)]
    default = [" ".join(f.text for f in _finals(small.listen(c))) for c in clips]
    wide = [" ".join(f.text for f in _finals(small.listen(c, lookahead_s=4.0))) for c in clips]
    cer_default, cer_wide = jiwer.cer(offline, default), jiwer.cer(offline, wide)
    print(f"\nstreamed vs offline CER: {cer_default:.4f} (lookahead 2 s), {cer_wide:.4f} (4 s)")
    assert cer_default <= 0.05  # measured 0.020 (0.036 over eight such sentences)
    assert cer_wide <= 0.02  # measured 0.0067 (0.0098 over eight)


def test_committed_words_never_change_and_finals_cover_every_word(small, clips):
    audio = Audio(np.concatenate([c.samples for c in clips]), 16_000)
    events = list(small.listen(audio, block_seconds=0.1))
    finals = _finals(events)
    assert finals and finals[0].start == 0.0
    assert finals[-1].end == pytest.approx(audio.duration, abs=0.02)
    for before, after in itertools.pairwise(finals):
        assert before.end == pytest.approx(after.start)  # segments tile the stream
    checked = 0
    segment: list[Partial] = []
    for event in events:
        if isinstance(event, Partial):
            segment.append(event)
            continue
        later = [*segment, event]
        for i, partial in enumerate(segment):
            committed = list(partial.words[: partial.stable])
            for successor in later[i + 1 :]:
                assert list(successor.words[: len(committed)]) == committed
                checked += len(committed)
        for word in event.words:
            assert event.start - 1e-6 <= word.start <= word.end <= event.end + 1e-6
        segment = []
    assert checked > 50  # many committed words were followed through the stream
    streamed = " ".join(f.text for f in finals)
    assert streamed.split() == [w.text for f in finals for w in f.words]
