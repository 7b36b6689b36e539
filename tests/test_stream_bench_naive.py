"""benchmarks/stream_bench.py's naive baselines: what they decode and how they stitch words."""

from __future__ import annotations

import importlib.util
import itertools
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from speechlab.transcript import Segment

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location(
    "stream_bench", ROOT / "benchmarks" / "stream_bench.py"
)
assert _spec is not None and _spec.loader is not None
stream_bench = importlib.util.module_from_spec(_spec)
sys.modules["stream_bench"] = stream_bench
_spec.loader.exec_module(stream_bench)

RATE = stream_bench.RATE
SCALE = 100.0  # sample i holds i / RATE / SCALE: every clip knows where it starts


class TimeReadingRecognizer:
    """Hears the words of ``spoken`` (text, start, end in stream seconds) that lie wholly
    inside the clip it is given, at clip-relative times; counts the audio it decoded."""

    language = "pl"

    def __init__(self, spoken: list[tuple[str, float, float]]) -> None:
        self.spoken, self.decoded = spoken, []

    def transcribe(self, audio, progress: bool = False):
        begin = float(audio.samples[0]) * SCALE
        end = begin + audio.duration
        self.decoded.append(audio.duration)
        words = [
            Segment(text, s - begin, e - begin)
            for text, s, e in self.spoken
            if s >= begin - 1e-3 and e <= end + 1e-3
        ]
        return SimpleNamespace(words=words)


def _spoken(seconds: float) -> list[tuple[str, float, float]]:
    return [(f"w{i}", t, t + 0.4) for i, t in enumerate(np.arange(0.3, seconds - 0.5, 0.7))]


def _run(engine, seconds: float):
    ramp = (np.arange(round(seconds * RATE)) / RATE / SCALE).astype(np.float32)
    partials = []
    for block in np.array_split(ramp, round(seconds / 0.1)):
        engine.accept(block)
        if engine.due():
            partials += engine.step()
    return partials, engine.finish()[0]


def test_the_sliding_window_decodes_only_its_window_and_stitches_every_word_once():
    spoken = _spoken(20.0)
    asr = TimeReadingRecognizer(spoken)
    engine = stream_bench.naive_engine(asr, window_s=6.5, lookahead_s=2.0)
    partials, final = _run(engine, 20.0)
    assert [w.text for w in final.words] == [text for text, _, _ in spoken]
    assert max(asr.decoded) == pytest.approx(6.5)  # never more than the window
    assert engine.model_calls == len(partials) + 1 == 41  # every 0.5 s hop, then the end
    for earlier, later in itertools.pairwise(partials):  # committed stays put
        assert later.words[: earlier.stable] == earlier.words[: earlier.stable]
        assert later.stable >= earlier.stable
    assert partials[-1].stable > 0
    # a word is committed only once a lookahead of audio follows it
    for p in partials:
        assert all((w.start + w.end) / 2 < p.end - 2.0 for w in p.words[: p.stable])


def test_the_whole_utterance_baseline_redecodes_everything_every_hop():
    spoken = _spoken(5.0)
    asr = TimeReadingRecognizer(spoken)
    partials, final = _run(stream_bench.naive_engine(asr), 5.0)
    assert [w.text for w in final.words] == [text for text, _, _ in spoken]
    assert asr.decoded == pytest.approx([0.5 * k for k in range(1, 11)] + [5.0])
    assert all(p.stable == 0 for p in partials)


def test_the_window_the_baseline_takes_is_the_engines_widest():
    assert stream_bench.engine_window() == (6.5, 2.0)  # 4 s left + 2 s lookahead + 0.5 s hop


def _part(compute: float, vad: float, **extra) -> dict:
    return {
        "compute_seconds": compute,
        "vad_seconds": vad,
        "speech_seconds_heard": 30.0,
        "finals": 10,
        "partial_latency": {"p50_ms": 20.0, "p95_ms": 40.0},
        "rtf": compute / 300.0,
        **extra,
    }


def test_the_verdict_counts_speechlabs_vad_against_a_baseline_without_one():
    parts = {
        "ctc_speechlab": _part(10.0, 6.0),
        "ctc_naive_window": _part(30.0, 0.0),  # no VAD: 30 / (10 + 6) in real time
        "ctc_naive": _part(12.0, 6.5),  # VAD on both sides: 12 / 10
    }

    def compute_verdicts() -> list[str]:
        return [v for v in stream_bench._verdicts(parts) if v.startswith("compute per")]

    window, gated = compute_verdicts()
    assert "1.88× in real time" in window and window.endswith("NOT met")
    assert "1.20× in real time" in gated and gated.endswith("NOT met")
    ratio = {"median": 2.9, "min": 2.8, "max": 3.4, "n": 5}
    parts["ctc_naive_window"]["alternating"] = {"ratio": ratio}
    window = compute_verdicts()[0]
    assert "median of 5 alternating runs pushed as fast as decoded 2.90× (2.80–3.40)" in window
    assert window.endswith("— met")


def test_a_ratio_of_parts_measured_on_different_cpus_is_not_judged():
    parts = {"ctc_speechlab": _part(10.0, 0.0), "ctc_naive": _part(40.0, 1.0)}
    machines = {
        "ctc_speechlab": {"cpu": "AMD EPYC", "cpu_flags": ["avx2"]},
        "ctc_naive": {"cpu": "Intel Xeon", "cpu_flags": ["avx2", "amx_int8"]},
    }
    verdict = stream_bench._verdicts(parts, machines)[-1]
    assert "not judged" in verdict and "met" not in verdict.split("—")[-1]
    machines["ctc_naive"] = machines["ctc_speechlab"]
    assert stream_bench._verdicts(parts, machines)[-1].endswith("4.00× in real time — met")
