"""Silero VAD (real ONNX weights from the silero-vad wheel): gating, endpoints, batch regions.

Speech is Kokoro's (real int8 weights) Polish sentence between stretches of faint noise, so
the true boundaries are known to the sample.
"""

from __future__ import annotations

import numpy as np
import pytest

from speechlab.asr import load_asr
from speechlab.asr.speech_groups import JOIN_GAP_SECONDS, group_regions
from speechlab.asr.streaming import Final
from speechlab.asr.vad import (
    SileroVAD,
    SpeechAudio,
    SpeechEnd,
    SpeechGate,
    SpeechRegion,
    SpeechStart,
    VadOptions,
    silero_vad_path,
    speech_regions,
)
from speechlab.audio import Audio, load
from speechlab.errors import SpeechlabError

pytestmark = pytest.mark.timeout(300)

LEAD, GAP, TAIL = 2.0, 3.0, 2.0  # seconds of faint noise around and between the sentences


def _noise(seconds: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (1e-3 * rng.standard_normal(round(seconds * 16_000))).astype(np.float32)


@pytest.fixture(scope="module")
def sentence(polish_clip) -> np.ndarray:
    return load(polish_clip).samples  # 16 kHz


@pytest.fixture(scope="module")
def padded(sentence) -> tuple[np.ndarray, list[tuple[float, float]]]:
    """noise, sentence, noise, sentence, noise; and the sentences' true (start, end)."""
    voiced = np.flatnonzero(np.abs(sentence) > 0.01)
    parts, truth, at = [_noise(LEAD, 0)], [], LEAD
    for i in range(2):
        truth.append((at + voiced[0] / 16_000, at + voiced[-1] / 16_000))
        parts += [sentence, _noise(GAP if i == 0 else TAIL, i + 1)]
        at += len(sentence) / 16_000 + GAP
    return np.concatenate(parts), truth


def test_the_model_comes_from_the_wheel_checked():
    path = silero_vad_path()
    assert path.name == "silero_vad.onnx" and "silero_vad" in path.parts
    vad = SileroVAD()
    assert vad(np.zeros(512, np.float32)) < 0.1
    with pytest.raises(SpeechlabError, match="threshold"):
        VadOptions(threshold=1.5)
    with pytest.raises(SpeechlabError, match="min_silence_s"):
        VadOptions(min_silence_s=-1)


@pytest.mark.realweights
def test_the_gate_passes_speech_and_holds_silence(padded):
    samples, truth = padded
    gate = SpeechGate()
    events = []
    for begin in range(0, len(samples), 1000):  # blocks that do not fit VAD frames
        events += gate.feed(samples[begin : begin + 1000])
    events += gate.flush()
    starts = [e.time for e in events if isinstance(e, SpeechStart)]
    ends = [e.time for e in events if isinstance(e, SpeechEnd)]
    passed = sum(len(e.samples) for e in events if isinstance(e, SpeechAudio))
    assert len(starts) == len(ends) >= 2
    # measured: starts 0.15-0.16 s before, ends 0.25-0.26 s after the true boundaries
    assert abs(starts[0] - truth[0][0]) <= 0.3 and abs(ends[-1] - truth[-1][1]) <= 0.3
    speech = sum(end - start for start, end in truth)
    assert passed / 16_000 <= speech + len(starts) * 0.7  # silence held back


@pytest.mark.realweights
def test_silence_never_reaches_the_model_and_endpoints_are_finals(real_store_home, padded):
    samples, truth = padded
    asr = load_asr(real_store_home / "models" / "speechlab-pl-ctc-small", dtype="float32")
    stream = asr.stream(sample_rate=16_000, vad=True, endpoint_silence_s=None, hop_s=1.0)
    calls_at: list[tuple[float, int, int]] = []
    for begin in range(0, len(samples), 1600):
        stream.push(samples[begin : begin + 1600])
        calls_at.append(((begin + 1600) / 16_000, stream.model_calls, len(stream.finals)))
    stream.close()
    assert all(calls == 0 for t, calls, _ in calls_at if t <= LEAD)
    # after the first endpoint, the gap's silence costs no model call
    first_final = next(t for t, _, finals in calls_at if finals == 1)
    gap_end = truth[1][0] - 0.4
    during_gap = {calls for t, calls, _ in calls_at if first_final <= t <= gap_end}
    assert len(during_gap) == 1
    finals = stream.finals
    assert len(finals) >= 2 and all(isinstance(f, Final) and f.text for f in finals)
    # measured: within 0.13-0.26 s of the true boundaries
    assert abs(finals[0].start - truth[0][0]) <= 0.3
    assert abs(finals[-1].end - truth[-1][1]) <= 0.3
    assert stream.engine.audio_seconds <= sum(e - s for s, e in truth) + len(finals) * 0.7


def test_speech_that_piles_up_is_decoded_in_one_step(real_store_home, padded):
    """An engine that falls behind gets the speech that arrived meanwhile in one go: the
    whole input pushed at once costs one step per utterance, not one per hop of it (that
    would never catch up with a slow model such as Whisper)."""
    samples, _ = padded
    asr = load_asr(real_store_home / "models" / "speechlab-pl-ctc-small", dtype="float32")
    stream = asr.stream(sample_rate=16_000, vad=True, endpoint_silence_s=None, hop_s=0.5)
    stream.push(samples)
    stream.close()
    assert len(stream.finals) == 2
    # one step per sentence (each endpoint decodes nothing new); it was 18 when every
    # hop of the backlog was its own step
    assert stream.model_calls == 2


@pytest.mark.realweights
def test_batch_transcription_skips_the_silence(real_store_home, padded):
    samples, truth = padded
    asr = load_asr(real_store_home / "models" / "speechlab-pl-ctc-small", dtype="float32")
    heard: list[int] = []
    log_probs = asr.log_probs
    asr.log_probs = lambda waves: (heard.extend(len(w) for w in waves), log_probs(waves))[1]
    audio = Audio(samples, 16_000)
    whole = asr.transcribe(audio, progress=False)
    whole_samples, heard[:] = sum(heard), []
    gated = asr.transcribe(audio, vad=True, progress=False)
    assert sum(heard) < 0.6 * whole_samples  # only the speech (and its pads) was decoded
    regions = list(speech_regions([samples]))
    assert len(regions) == 2 and abs(regions[0].start - truth[0][0]) <= 0.3
    first, last = gated.words[0], gated.words[-1]
    assert truth[0][0] - 0.3 <= first.start and last.end <= truth[-1][1] + 0.3
    assert gated.duration == pytest.approx(len(samples) / 16_000)
    alone = asr.transcribe([Audio(r.samples, 16_000) for r in regions], progress=False)
    assert gated.text == " ".join(t.text for t in alone)  # CTC: each region by itself
    assert whole.text  # (the model hears these sentences poorly: the texts differ)


def test_regions_join_into_groups_and_times_map_back_to_the_input():
    def region(start: float, seconds: float) -> SpeechRegion:
        return SpeechRegion(start, np.ones(round(seconds * 16_000), np.float32))

    regions = [region(1.0, 4.0), region(9.0, 6.0), region(30.0, 10.0), region(50.0, 30.0)]
    groups = group_regions(regions, max_seconds=25.0)
    # 4 + 0.3 + 6 + 0.3 + 10 = 20.6 s fit one group; the 30 s region is a group by itself
    assert [len(g.input_starts) for g in groups] == [3, 1]
    first = groups[0]
    assert len(first.samples) == round((20.0 + 2 * JOIN_GAP_SECONDS) * 16_000)
    assert first.group_starts == pytest.approx((0.0, 4.3, 10.6))
    assert first.to_input(2.0) == pytest.approx(3.0)  # inside the first region
    assert first.to_input(4.1) == pytest.approx(5.0)  # in the join: the first region's end
    assert first.to_input(5.3) == pytest.approx(10.0)  # 1 s into the second region
    assert first.to_input(12.6) == pytest.approx(32.0)  # 2 s into the third
    assert groups[1].to_input(29.0) == pytest.approx(79.0)
    silence = first.samples[round(4.0 * 16_000) : round(4.3 * 16_000)]
    assert not silence.any()  # the joins are digital silence
    assert group_regions([]) == []


def test_whisper_decodes_the_regions_joined_in_one_call(real_store_home, padded):
    samples, truth = padded
    asr = load_asr(real_store_home / "models" / "whisper-base", language="pl")
    decoded: list[float] = []
    items = asr._transcribe_items

    def recorded(parts, options):
        parts = list(parts)
        decoded.extend(p.duration for p in parts)
        return items(iter(parts), options)

    asr._transcribe_items = recorded
    gated = asr.transcribe(Audio(samples, 16_000), vad=True, progress=False)
    regions = list(speech_regions([samples]))
    speech = sum(len(r.samples) for r in regions) / 16_000
    # the two regions joined by 0.3 s of silence: one call, the pauses never decoded
    assert decoded == [pytest.approx(speech + JOIN_GAP_SECONDS, abs=0.01)]
    assert gated.words and truth[0][0] - 0.3 <= gated.words[0].start
    assert gated.words[-1].end <= truth[-1][1] + 0.3
    # every word at its input time, inside a sentence, none in the pause between them
    # (Whisper writes this sentence, said twice with 0.3 s between, once)
    pause = (truth[0][1] + 0.3, truth[1][0] - 0.3)
    assert not [w for w in gated.words if pause[0] < w.start < pause[1]]
