"""Live recognition mechanics on tiny random CTC models: windows, kept state, threads, bad input.

``local_ctc_dir`` has no transformer layers, so each output frame depends only on nearby
samples: a stream with enough context must give exactly the offline frames, whatever the
block sizes, hop, caching or thread. Real-weight behaviour is in test_asr_ctc_stream.py and
test_asr_whisper_stream.py.
"""

from __future__ import annotations

import itertools
import threading

import numpy as np
import pytest

from speechlab.asr import load_asr
from speechlab.asr.base import Recognizer
from speechlab.asr.streaming import (
    Final,
    Partial,
    StreamClosedError,
    StreamError,
    StreamingUnsupportedError,
)
from speechlab.audio import Audio
from speechlab.errors import AudioError, OptionError, SpeechlabError

pytestmark = pytest.mark.timeout(120)

EXACT = {"left_context_s": 0.4, "lookahead_s": 0.4, "hop_s": 0.3, "endpoint_silence_s": None}


@pytest.fixture(scope="module")
def local(local_ctc_dir, signal):
    """The local model with its word delimiter made likelier, so that words close (a random
    head never writes ``|``): about one frame in eight of ``signal`` becomes a delimiter."""
    recognizer = load_asr(local_ctc_dir)
    delimiter = recognizer.vocab.labels.index("|")
    log_probs = recognizer.log_probs([signal])[0]
    gap = np.delete(log_probs, delimiter, axis=1).max(axis=1) - log_probs[:, delimiter]
    recognizer.model.lm_head[1][delimiter] += float(np.quantile(gap, 0.12))
    return recognizer


@pytest.fixture(scope="module")
def tiny(tiny_ctc_dir):
    return load_asr(tiny_ctc_dir)


@pytest.fixture(scope="module")
def signal() -> np.ndarray:
    """6 s of a noisy chirp with gaps: a random model writes many labels and delimiters."""
    rng = np.random.default_rng(0)
    t = np.arange(6 * 16_000) / 16_000
    wave = 0.3 * np.sin(2 * np.pi * (200 + 300 * t) * t) * (np.sin(2 * np.pi * 0.7 * t) > -0.3)
    return (wave + 0.05 * rng.standard_normal(len(t))).astype(np.float32)


def _text(events) -> str:
    return " ".join(e.text for e in events if isinstance(e, Final))


def test_a_local_model_streams_exactly_the_offline_text(local, signal):
    offline = local.transcribe(Audio(signal, 16_000), progress=False)
    assert offline.text.count(" ") >= 3  # many words: the comparison means something
    events = list(local.listen(Audio(signal, 16_000), block_seconds=0.1, **EXACT))
    assert _text(events) == offline.text
    final = [e for e in events if isinstance(e, Final)]
    assert [w.text for w in final[0].words] == [w.text for w in offline.words]
    np.testing.assert_allclose(
        [w.start for w in final[0].words], [w.start for w in offline.words], atol=1e-6
    )


def test_feature_frames_are_computed_once(local, signal):
    stream = local.stream(sample_rate=16_000, **EXACT)
    for begin in range(0, len(signal), 1234):  # odd block size
        stream.push(signal[begin : begin + 1234])
    stream.close()
    engine = stream.engine
    frames = engine._frames(len(signal))
    assert engine.cache_features
    assert engine.feature_frames_computed == frames  # each frame once (no normalisation)
    assert stream.model_calls == pytest.approx(6.0 / 0.3, abs=2)  # one per hop


def test_caching_off_and_the_background_thread_give_the_same_text(local, signal):
    reference = _text(local.listen(Audio(signal, 16_000), **EXACT))
    uncached = _text(local.listen(Audio(signal, 16_000), cache_features=False, **EXACT))
    assert uncached == reference
    threaded = _text(local.listen(Audio(signal, 16_000), realtime=True, speed=50.0, **EXACT))
    assert threaded == reference  # steps fall elsewhere; exact frames do not care


@pytest.mark.parametrize("quality", ["QQ", "VHQ"])
def test_blocks_are_resampled_incrementally_like_the_whole(local, signal, quality):
    at_44k = Audio(signal, 16_000).resample(44_100, quality=quality)
    stream = local.stream(sample_rate=44_100, quality=quality, **{**EXACT, "hop_s": 2.0})
    heard = []
    accept = stream.engine.accept
    stream.engine.accept = lambda samples: (heard.append(samples.copy()), accept(samples))
    sizes = np.random.default_rng(1).integers(1, 9000, size=200)
    bounds = np.minimum(np.cumsum(np.concatenate([[0], sizes])), len(at_44k.samples))
    for begin, end in itertools.pairwise(bounds):
        stream.push(at_44k.samples[begin:end])  # sizes from 1 to 9000 samples
    stream.push(at_44k.samples[bounds[-1] :])
    stream.close()
    whole = at_44k.resample(16_000, quality=quality).samples
    joined = np.concatenate(heard)
    assert abs(len(joined) - len(whole)) <= 1
    n = min(len(joined), len(whole))
    assert np.max(np.abs(joined[:n] - whole[:n])) < 1e-4
    assert stream.time == pytest.approx(6.0, abs=1e-3)


def test_push_from_one_thread_read_from_another(local, signal):
    stream = local.stream(sample_rate=16_000, background=True, **EXACT)

    def produce():
        for begin in range(0, len(signal), 1600):
            stream.push(signal[begin : begin + 1600])
        stream.close()

    producer = threading.Thread(target=produce)
    producer.start()
    events = list(stream.events(timeout=60))
    producer.join()
    assert isinstance(events[-1], Final)
    assert all(e.latency is not None and e.latency >= 0 for e in events)
    assert stream.transcript.text == _text(local.listen(Audio(signal, 16_000), **EXACT))


def test_partials_carry_stream_times_and_a_stable_prefix(tiny, signal):
    events = list(tiny.listen(Audio(signal[:48_000], 16_000), hop_s=0.25))
    partials = [e for e in events if isinstance(e, Partial)]
    assert len(partials) >= 10
    ends = [p.end for p in partials]
    assert ends == sorted(ends) and ends[-1] <= 3.0
    for p in partials:
        assert 0 <= p.stable <= len(p.words)
        assert p.text == " ".join(w.text for w in p.words)


# --------------------------------------------------------------------------- bad input


def test_bad_blocks_are_typed_errors_and_leave_the_stream_as_it_was(local, signal):
    clean = local.stream(sample_rate=16_000, **EXACT)
    stream = local.stream(sample_rate=16_000, **EXACT)
    bad_blocks = [
        (np.array([0.1, np.nan, 0.2], np.float32), "NaN or infinite"),
        (np.array([0.1, np.inf], np.float64), "NaN or infinite"),
        (np.array([1 + 2j, 3j]), "float or integer PCM"),
        (np.array([True, False]), "float or integer PCM"),
        (np.array(["a", "b"]), "float or integer PCM"),
        (np.zeros((10, 2, 2), np.float32), "shape"),
        (np.zeros((10, 40), np.float32), "shape"),
        ("not audio", "numpy array or an Audio"),
    ]
    half = len(signal) // 2
    for target in (clean, stream):
        target.push(signal[:half])
    for block, message in bad_blocks:
        with pytest.raises(AudioError, match=message):
            stream.push(block)
    with pytest.raises(AudioError, match="changed mid-stream"):
        stream.push(signal[:1600], sample_rate=48_000)
    with pytest.raises(AudioError, match="changed mid-stream"):
        stream.push(Audio(signal[:1600], 8_000))
    for target in (clean, stream):
        target.push(signal[half:])
    assert stream.close().text == clean.close().text  # nothing of the bad blocks got in
    with pytest.raises(StreamClosedError, match="closed"):
        stream.push(signal[:1600])


def test_int_pcm_and_channels_are_accepted(local, signal):
    as_float = local.stream(sample_rate=16_000, **EXACT)
    as_int = local.stream(sample_rate=16_000, **EXACT)
    pcm = np.round(signal * 32767).astype(np.int16)
    stereo = np.stack([pcm, pcm], axis=1)
    as_float.push(pcm / 32768.0)
    as_int.push(stereo)
    assert as_int.close().text == as_float.close().text


def test_a_stream_needs_a_rate_and_checks_its_options(local, signal):
    stream = local.stream()
    with pytest.raises(AudioError, match="sample rate"):
        stream.push(signal[:1600])
    stream.push(signal[:1600], sample_rate=16_000)  # the first rate given fixes it
    stream.close()
    with pytest.raises(OptionError, match=r"hop_seconds is not an option.*hop_s"):
        local.stream(hop_seconds=0.5)
    with pytest.raises(SpeechlabError, match="lookahead_s"):
        local.stream(lookahead_s=-1)
    with pytest.raises(AudioError, match="quality"):
        local.stream(quality="best")
    with pytest.raises(AudioError, match="plausible"):
        local.stream(sample_rate=5)


def test_a_failure_inside_recognition_closes_the_stream_keeping_its_finals(
    local, signal, monkeypatch
):
    stream = local.stream(sample_rate=16_000, endpoint_silence_s=None)
    stream.push(signal[:32_000])
    stream.engine.finish = lambda: [Final(local.transcribe(Audio(signal[:100], 16_000)), 0, 1)]
    stream.engine.begin(0.0)
    stream._end_utterance()  # a first final, as an endpoint would make
    assert len(stream.finals) == 1

    def broken():
        raise RuntimeError("out of memory")

    monkeypatch.setattr(stream.engine, "step", broken)
    with pytest.raises(StreamError, match=r"stream is closed.*1 final.*out of memory"):
        stream.push(signal[32_000:48_000])
    assert stream.closed and len(stream.finals) == 1
    with pytest.raises(StreamClosedError, match="out of memory"):
        stream.push(signal[:1600])
    with pytest.raises(StreamError, match="out of memory"):
        list(stream.events(timeout=1))


def test_a_backend_without_streaming_says_so():
    class Batch(Recognizer):
        name = "batch-only"

        def _transcribe_items(self, items, options):
            yield from ()

    with pytest.raises(StreamingUnsupportedError, match="no streaming engine"):
        Batch().stream()
