"""The Whisper stream engine's buffer stays within what Whisper hears when hypotheses never
agree (a fake faster-whisper model: mechanics only; real weights: test_asr_whisper_stream)."""

from __future__ import annotations

import itertools
from types import SimpleNamespace

import numpy as np

from speechlab.asr.streaming import Final
from speechlab.asr.whisper_stream import WhisperStreamEngine

RATE = 16_000


class Disagreeing:
    """Transcribes any buffer as one word per second, different in every call, in segments
    of 5 s: LocalAgreement never agrees."""

    def __init__(self) -> None:
        self.calls = 0
        self.longest = 0.0

    def transcribe(self, audio: np.ndarray, **_: object):
        self.calls += 1
        seconds = len(audio) / RATE
        self.longest = max(self.longest, seconds)
        segments = []
        for start in np.arange(0.0, seconds, 5.0):
            end = min(start + 5.0, seconds)
            words = [
                SimpleNamespace(
                    word=f" w{self.calls}x{t:.0f}", start=t, end=t + 0.8, probability=1.0
                )
                for t in np.arange(start, end - 0.8, 1.0)
            ]
            segments.append(SimpleNamespace(end=end, words=words, compression_ratio=1.2))
        return iter(segments), SimpleNamespace(language="pl")


def test_hypotheses_that_never_agree_cannot_grow_the_buffer_past_the_limit():
    model = Disagreeing()
    recognizer = SimpleNamespace(model=model, sample_rate=RATE, language="pl", beam_size=1)
    engine = WhisperStreamEngine(recognizer, "pl", hop_s=1.0, buffer_s=15.0)
    events = []
    for _ in range(90):  # 90 s in 1 s blocks
        engine.accept(np.zeros(RATE, np.float32))
        if engine.due():
            events += engine.step()
    events += engine.finish()
    assert engine.model.longest <= 25.0 + 1.0  # buffer_s + 10 s, plus one hop
    assert engine.forced_trims >= 3
    finals = [e for e in events if isinstance(e, Final)]
    assert len(finals) >= 4  # each forced cut ends a segment
    ends = [f.end for f in finals]
    assert ends == sorted(ends) and finals[-1].end == 90.0
    words = [w for f in finals for w in f.words]
    assert all(a.end <= b.start + 1e-9 for a, b in itertools.pairwise(words))


def test_agreeing_hypotheses_never_force_a_cut():
    class Agreeing(Disagreeing):
        def transcribe(self, audio: np.ndarray, **kwargs: object):
            self.calls = 0  # the same words every call
            return super().transcribe(audio, **kwargs)

    model = Agreeing()
    recognizer = SimpleNamespace(model=model, sample_rate=RATE, language="pl", beam_size=1)
    engine = WhisperStreamEngine(recognizer, "pl", hop_s=1.0, buffer_s=15.0)
    for _ in range(60):
        engine.accept(np.zeros(RATE, np.float32))
        if engine.due():
            engine.step()
    assert engine.forced_trims == 0
    assert engine.model.longest <= 15.0 + 5.0 + 1.0  # trimmed at agreed segment ends (5 s apart)


class Looping(Disagreeing):
    """Agrees with itself, but its second segment is a repetition loop; records options."""

    def __init__(self) -> None:
        super().__init__()
        self.options: list[dict] = []

    def transcribe(self, audio: np.ndarray, **kwargs: object):
        self.options.append(kwargs)
        self.calls = 0
        segments, info = super().transcribe(audio, **kwargs)
        segments = list(segments)
        for segment in segments[1:]:
            segment.compression_ratio = 3.1
        return iter(segments), info


def test_hypotheses_skip_repetition_loops_and_are_decoded_once_with_bounded_tokens():
    model = Looping()
    recognizer = SimpleNamespace(model=model, sample_rate=RATE, language="pl", beam_size=5)
    engine = WhisperStreamEngine(recognizer, "pl", hop_s=1.0, buffer_s=15.0)
    events = []
    for _ in range(12):
        engine.accept(np.zeros(RATE, np.float32))
        if engine.due():
            events += engine.step()
    events += engine.finish()
    words = [w.text for e in events if isinstance(e, Final) for w in e.words]
    assert words == [f"w1x{t}" for t in range(5)]  # the first 5 s segment only
    assert {o["temperature"] for o in engine.model.options} == {0.0}
    caps = [o["max_new_tokens"] for o in engine.model.options]
    assert caps[0] == 20 and caps[-1] == 130 and caps == sorted(caps)  # 10/s of buffer + 10
    assert {o["beam_size"] for o in engine.model.options} == {5}


def test_streams_decode_every_second_on_a_cpu_without_a_prompt_on_a_gpu_with_one():
    def engine(on_gpu: bool) -> WhisperStreamEngine:
        recognizer = SimpleNamespace(
            model=Disagreeing(), sample_rate=RATE, language="pl", beam_size=1, on_gpu=on_gpu
        )
        return WhisperStreamEngine(recognizer, "pl")

    cpu, gpu = engine(False), engine(True)
    assert (cpu._hop, cpu._prompt_chars) == (RATE, 0)
    assert (gpu._hop, gpu._prompt_chars) == (RATE, 200)
