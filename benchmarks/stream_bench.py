"""Streaming ASR benchmark: live recognition of a long Polish stream fed in simulated real time.

The stream: the 226 sentences written independently of every generator
(``speechlab/data/pl_ood_sentences.txt``, set b of the v2 recipe) spoken by Kokoro-82M
(int8, voice jm_kumo), three to an utterance (0.25 s between sentences) with 2 s pauses of
faint noise between utterances; at least 5 minutes (30 s with ``--smoke``), made once and
cached in ``.cache/stream/``. Every part feeds it in 100 ms blocks at the pace of real time
(``speechlab.asr.sources.paced``) from a feeder thread, recognition on a worker thread, with
the Silero VAD gating the audio (the same utterances for every row), in its own process.

Parts
* ``ctc_speechlab``   speechlab-pl-ctc (v2, fp32), speechlab's CTC stream engine (sliding
                      window, kept feature-encoder frames and committed frames).
* ``ctc_naive``       the same model re-decoding the whole utterance so far every hop (0.5 s):
                      the baseline the kept state is measured against.
* ``ctc_naive_window`` the naive baseline without speechlab's VAD and endpoints: a sliding
                      window of the engine's widest extent (left context + lookahead + hop,
                      6.5 s with its defaults) re-decoded whole every hop over the whole
                      stream, silence included; words committed once they are a lookahead
                      from the window's end.
* ``ctc_pipeline``    transformers' ``ffmpeg_microphone_live`` + ASR pipeline on the same
                      model and stream (5 s chunks, 0.5 s partial steps, 5/6 s strides; the
                      microphone replaced by the paced stream; no VAD: the pipeline has none).
* ``whisper_base``    whisper-base (real int8 weights), LocalAgreement-2 engine, its defaults
                      (hop 1 s, the encoder's context fitted to the buffer, at least 15 s);
                      streamed ``WHISPER_RUNS`` times (the row: the run with the median p95;
                      the target's verdict: every run).
* ``whisper_base_full``  the same with Whisper's usual 30 s context (``fit_context=False``)
                      at hop 2 s (at 1 s it fell behind on a 2-core AVX2 EPYC): what
                      the fitted context saves and what it costs in words.
* ``xlsr53_large``    the xlsr-53 large architecture, randomly initialised (speed only), on the
                      first ``--xlsr-seconds`` of the stream at each hop of ``--hops``.
* ``ctc_speechlab_continuous``, ``ctc_naive_continuous``  the first two on one continuous
                      utterance (60 s of sentences 0.25 s apart, no pause; no VAD and no
                      endpoints, one final at the end): what the kept state saves when the
                      naive baseline's utterance grows long.
* ``ctc_by_length``   compute of the first two on utterances of growing length (the first
                      2-60 s of the continuous stream, pushed as fast as decoded so that every
                      hop is decoded; no VAD, no endpoints; median of 3 alternating runs):
                      from what utterance length the kept state halves the compute.
* ``vad_batch``       batch ``transcribe()`` with and without ``vad=True`` of the paused
                      stream and of its speech regions 6 s apart (speechlab-pl-ctc: 3
                      alternating runs each; whisper-base: one run each): the time the VAD
                      saves on a file with long pauses.

Metrics: partial latency (wall time from the arrival of the last audio a partial covers to
its emission) p50/p95; RTF (wall time inside the model's decoding steps per audio second);
CPU share (process CPU time over wall time, of the ``THREADS`` cores); peak RSS; the final
text's WER/CER against offline ``transcribe()`` of the same file with the same model,
VAD-gated like the stream (and without VAD, and against the text Kokoro was given);
*keeps up*: RTF < 1 and the last Final within 3 s of the end of the audio.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import (
    RESULTS,
    THREADS,
    input_digest,
    machine_lines,
    peak_rss_mb,
    run_all,
    run_part,
    same_cpu,
    spread,
)

HERE = Path(__file__).resolve().parent
CACHE = HERE / ".cache"
#: ``--smoke`` (SPEECHLAB_BENCH_SMOKE=1 in the workers): a 30 s stream, a 2-layer xlsr model,
#: results under .cache/smoke/; checks the script runs, measures nothing.
SMOKE = os.environ.get("SPEECHLAB_BENCH_SMOKE") == "1"
STREAM_SECONDS = 30.0 if SMOKE else 300.0
CONTINUOUS_SECONDS = 20.0 if SMOKE else 60.0
SPEED = 4.0 if SMOKE else 1.0  # the smoke run feeds its stream 4x faster than real time
PARTS = [
    "ctc_speechlab",
    "ctc_naive",
    "ctc_naive_window",
    "ctc_pipeline",
    "whisper_base",
    "whisper_base_full",
    "xlsr53_large",
    "ctc_speechlab_continuous",
    "ctc_naive_continuous",
    "vad_batch",
    "ctc_by_length",
]
CTC = "speechlab-pl-ctc"
RATE = 16_000
BLOCK_S = 0.1
NAIVE_HOP_S = 0.5
SAME_WORD_S = 0.05  # a sliding window's word this close to a committed one: heard again
LONG_PAUSE_S = 6.0  # vad_batch's second file: the stream's speech regions this far apart
KEEPS_UP_LAG_S = 3.0
OUT = {"dir": RESULTS}  # --smoke writes elsewhere


# --------------------------------------------------------------------------- the stream


def stream_file(continuous: bool = False) -> tuple[Path, str]:
    """The cached stream WAV (16 kHz) and the text Kokoro was given. ``continuous``: one
    utterance of ``CONTINUOUS_SECONDS``, sentences 0.25 s apart and no pauses."""
    folder = CACHE / "stream"
    total = CONTINUOUS_SECONDS if continuous else STREAM_SECONDS
    name = f"polish-ood-{total:.0f}s" + ("-continuous" if continuous else "")
    wav, text = folder / f"{name}.wav", folder / f"{name}.json"
    if wav.is_file() and text.is_file():
        return wav, json.loads(text.read_text(encoding="utf-8"))["text"]
    import speechlab
    from speechlab.audio import Audio
    from speechlab.train.heldout_text import ood_sentences
    from speechlab.tts import load_tts

    held_out = ood_sentences()
    tts = load_tts(speechlab.store.assemble("kokoro-82m-int8"))
    rng = np.random.default_rng(0)
    parts: list[np.ndarray] = [_noise(rng, 1.0)]
    said: list[str] = []
    seconds = 1.0
    for i, sentence in enumerate(held_out):
        if seconds >= total:
            break
        speech = tts.synthesize(sentence, voice="jm_kumo", lang="pl")
        clip = Audio(speech.audio, speech.sample_rate).resample(RATE).samples
        gap = _noise(rng, 2.0 if i % 3 == 2 and not continuous else 0.25)
        parts += [clip, gap]
        said.append(sentence)
        seconds += (len(clip) + len(gap)) / RATE
        print(f"stream: {seconds:.0f} / {total:.0f} s", file=sys.stderr, flush=True)
    folder.mkdir(parents=True, exist_ok=True)
    Audio(np.concatenate(parts), RATE).save(wav)
    text.write_text(json.dumps({"text": " ".join(said)}, ensure_ascii=False), encoding="utf-8")
    return wav, " ".join(said)


def _noise(rng: np.random.Generator, seconds: float) -> np.ndarray:
    return (0.001 * rng.standard_normal(round(seconds * RATE))).astype(np.float32)


# --------------------------------------------------------------------------- measuring


class Clock:
    """Wall time spent inside an engine's decoding steps (``step`` and ``finish``:
    ``busy``) and inside a stream's VAD (``vad``)."""

    def __init__(self) -> None:
        self.busy = 0.0
        self.vad = 0.0

    def _time(self, owner: Any, names: tuple[str, ...], counter: str) -> None:
        for name in names:
            method = getattr(owner, name)

            def timed(*args: Any, _method: Callable = method) -> Any:
                began = time.perf_counter()
                try:
                    return _method(*args)
                finally:
                    setattr(self, counter, getattr(self, counter) + time.perf_counter() - began)

            setattr(owner, name, timed)

    def wrap(self, engine: Any) -> Any:
        self._time(engine, ("step", "finish"), "busy")
        return engine

    def wrap_gate(self, stream: Any) -> Any:
        """Time the VAD of ``stream`` (a RecognitionStream), if it has one."""
        if stream.gate is not None:
            self._time(stream.gate, ("feed", "flush"), "vad")
        return stream


def _scores(reference: str, hypothesis: str) -> dict:
    import jiwer

    from speechlab.textnorm import plain

    ref, hyp = plain(reference), plain(hypothesis)
    return {"wer": jiwer.wer(ref, hyp), "cer": jiwer.cer(ref, hyp)}


def _quantiles(values: list[float]) -> dict:
    if not values:
        return {"p50_ms": None, "p95_ms": None, "n": 0}
    ms = np.asarray(values) * 1000
    return {
        "p50_ms": float(np.percentile(ms, 50)),
        "p95_ms": float(np.percentile(ms, 95)),
        "n": len(ms),
    }


def measure_stream(
    recognizer: Any,
    path: Path,
    *,
    engine: Any = None,
    seconds: float | None = None,
    vad: bool = True,
    **options: Any,
) -> dict:
    """Feed ``path`` (its first ``seconds``) in real time through ``recognizer``'s stream
    (or ``engine``), VAD-gated unless ``vad=False``, and measure it."""
    import speechlab
    from speechlab.asr.sources import listen
    from speechlab.asr.streaming import Final, Partial, RecognitionStream
    from speechlab.audio import Audio

    audio = speechlab.load(path)
    if seconds is not None:
        audio = Audio(audio.samples[: round(seconds * RATE)], RATE, str(path))
    clock = Clock()
    streams: list[RecognitionStream] = []

    def open_stream(**kwargs: Any) -> RecognitionStream:
        if engine is None:
            stream = recognizer.stream(**kwargs, **options)
            clock.wrap(stream.engine)
        else:
            stream = RecognitionStream(clock.wrap(engine), **kwargs, **options)
        streams.append(stream)
        return clock.wrap_gate(stream)

    cpu0, wall0 = time.process_time(), time.monotonic()
    events = list(
        listen(open_stream, audio, realtime=True, speed=SPEED, block_seconds=BLOCK_S, vad=vad)
    )
    wall = time.monotonic() - wall0
    cpu = time.process_time() - cpu0
    print(f"streamed {audio.duration:.0f} s in {wall:.1f} s", file=sys.stderr, flush=True)
    finals = [e for e in events if isinstance(e, Final)]
    partials = [e for e in events if isinstance(e, Partial)]
    return {
        "input_sha256": input_digest(path),
        "audio_seconds": audio.duration,
        "partial_latency": _quantiles([e.latency for e in partials if e.latency is not None]),
        "final_latency": _quantiles([e.latency for e in finals if e.latency is not None]),
        "partials": len(partials),
        "finals": len(finals),
        "model_calls": streams[0].model_calls,
        "speech_seconds_heard": streams[0].engine.audio_seconds,
        "compute_seconds": clock.busy,
        "vad_seconds": clock.vad,
        "rtf": clock.busy / audio.duration,
        "cpu_seconds": cpu,
        "cpu_share": cpu / wall / THREADS,
        "end_lag_s": wall - audio.duration / SPEED,
        "keeps_up": clock.busy / audio.duration < 1 / SPEED
        and wall - audio.duration / SPEED < KEEPS_UP_LAG_S,
        "text": " ".join(f.text for f in finals),
        "peak_rss_mb": peak_rss_mb(),
    }


def _with_offline(
    result: dict, recognizer: Any, path: Path, reference: str, *, vad: bool = True
) -> dict:
    """Score the stream's text against offline ``transcribe()`` of the same file. ``vad``:
    the stream was VAD-gated, so offline decoding is too (``vad=True``: the model sees the
    same speech regions; the like-for-like comparison); offline decoding of the whole file
    without VAD is kept beside it (``vs_offline_whole``)."""
    texts = {}
    for gated in (True, False) if vad else (False,):
        began = time.perf_counter()
        texts[gated] = recognizer.transcribe(str(path), progress=False, vad=gated).text
        result["offline_vad_seconds" if gated else "offline_seconds"] = time.perf_counter() - began
    offline = texts[vad]
    result["offline_vad"] = vad
    result["vs_offline"] = _scores(offline, result["text"])
    if vad:
        result["vs_offline_whole"] = _scores(texts[False], result["text"])
    result["vs_reference"] = _scores(reference, result["text"])
    result["offline_vs_reference"] = _scores(reference, offline)
    result["peak_rss_mb"] = peak_rss_mb()
    return result


# --------------------------------------------------------------------------- workers


def _ctc() -> Any:
    import speechlab

    return speechlab.load_asr(speechlab.store.assemble(CTC), dtype="float32", threads=THREADS)


def work_ctc_speechlab(continuous: bool = False) -> dict:
    """The paused stream VAD-gated; the continuous one as one utterance (no VAD, no
    endpoints: the final comes at the end of the stream)."""
    path, reference = stream_file(continuous)
    asr = _ctc()
    if continuous:
        result = measure_stream(asr, path, vad=False, endpoint_silence_s=None)
    else:
        result = measure_stream(asr, path)
    return _with_offline(result, asr, path, reference, vad=not continuous)


def work_ctc_naive(continuous: bool = False) -> dict:
    path, reference = stream_file(continuous)
    asr = _ctc()
    result = measure_stream(asr, path, engine=naive_engine(asr), vad=not continuous)
    return _with_offline(result, asr, path, reference, vad=not continuous)


def engine_window() -> tuple[float, float]:
    """The widest window speechlab's CTC engine decodes with its defaults (left context +
    lookahead + hop) and its lookahead, in seconds."""
    import inspect

    from speechlab.asr.ctc_stream import CTCStreamEngine

    d = {k: p.default for k, p in inspect.signature(CTCStreamEngine).parameters.items()}
    return d["left_context_s"] + d["lookahead_s"] + d["hop_s"], d["lookahead_s"]


WINDOW_RUNS = 2 if SMOKE else 5


def work_ctc_naive_window() -> dict:
    """The naive baseline as the issue words it: a sliding window of the engine's widest
    extent re-decoded whole every hop over the whole paused stream (no VAD: silence is
    decoded too, no endpoints: one final at the end), in real time; then ``WINDOW_RUNS``
    alternating runs of both pushed as fast as decoded, for the compute ratio's spread."""
    import speechlab

    path, reference = stream_file()
    asr = _ctc()
    window, lookahead = engine_window()
    engine = naive_engine(asr, window_s=window, lookahead_s=lookahead)
    result = measure_stream(asr, path, engine=engine, vad=False)
    result["window_s"], result["lookahead_s"] = window, lookahead
    result = _with_offline(result, asr, path, reference, vad=False)
    # the ratio's spread: alternating runs pushed as fast as decoded (every hop decoded)
    audio = speechlab.load(path)
    busy: dict[str, list[float]] = {"speechlab": [], "naive_window": []}
    for _ in range(WINDOW_RUNS):
        busy["speechlab"].append(decode_compute(asr, audio, vad=True))
        engine = naive_engine(asr, window_s=window, lookahead_s=lookahead)
        busy["naive_window"].append(decode_compute(asr, audio, engine))
    ratios = [n / m for m, n in zip(busy["speechlab"], busy["naive_window"], strict=True)]
    result["alternating"] = {**busy, "ratio": spread(ratios)}
    print(f"naive window / speechlab: {result['alternating']['ratio']}", file=sys.stderr)
    return result


WHISPER_RUNS = 3


def work_whisper_base(runs: int = 1, **options: Any) -> dict:
    """whisper-base's stream, ``runs`` times in a row (its latency moves from run to run:
    the row is the run with the median p95, ``repeats`` keeps every run's timing)."""
    import speechlab

    path, reference = stream_file()
    asr = speechlab.load_asr("whisper-base", language="pl", threads=THREADS)
    results = [measure_stream(asr, path, language="pl", **options) for _ in range(runs)]
    order = sorted(results, key=lambda r: r["partial_latency"]["p95_ms"] or 0.0)
    result = order[(len(order) - 1) // 2]
    result["repeats"] = [
        {k: r[k] for k in ("partial_latency", "rtf", "end_lag_s", "keeps_up", "model_calls")}
        for r in results
    ]
    return _with_offline(result, asr, path, reference)


def work_xlsr53_large(hops: list[float], seconds: float) -> dict:
    from asr_bench import xlsr53_dir

    import speechlab

    path, _ = stream_file()
    asr = speechlab.load_asr(xlsr53_dir(), threads=THREADS)
    rows = {}
    for hop in hops:
        result = measure_stream(asr, path, seconds=seconds, hop_s=hop)
        result.pop("text")  # random weights: the text means nothing
        rows[f"{hop:g}"] = result
    return {"hops": rows, "seconds": seconds, "peak_rss_mb": peak_rss_mb()}


BY_LENGTH_S = (2.0, 4.0, 8.0, 16.0, 32.0, 60.0)
BY_LENGTH_RUNS = 3


def decode_compute(
    asr: Any, audio: Any, engine: Any = None, *, vad: bool = False, **options: Any
) -> float:
    """Wall seconds inside the decoding steps and the VAD (``vad=True``) of one stream of
    ``audio`` pushed as fast as it is decoded (every hop decoded): speechlab's engine
    (``engine=None``, with ``options``) or ``engine``."""
    from speechlab.asr.sources import listen
    from speechlab.asr.streaming import RecognitionStream

    clock = Clock()

    def open_stream(**kw: Any) -> Any:
        if engine is None:
            stream = asr.stream(**kw, **options)
            clock.wrap(stream.engine)
        else:
            stream = RecognitionStream(clock.wrap(engine), **kw)
        return clock.wrap_gate(stream)

    if not list(listen(open_stream, audio, block_seconds=BLOCK_S, vad=vad)):
        raise RuntimeError(f"no events for {audio.duration:.1f} s of audio")
    return clock.busy + clock.vad


def work_ctc_by_length() -> dict:
    """Compute per audio second of speechlab's engine and the naive baseline on one utterance
    of each length in ``BY_LENGTH_S`` (the continuous stream's beginning), every hop decoded
    (``realtime=False``), alternating engines, median of ``BY_LENGTH_RUNS`` runs each."""
    import speechlab
    from speechlab.audio import Audio

    path, _ = stream_file(continuous=True)
    whole = speechlab.load(path)
    asr = _ctc()
    rows = {}
    for seconds in BY_LENGTH_S if not SMOKE else (2.0, 8.0):
        clip = Audio(whole.samples[: round(seconds * RATE)], RATE)
        busy: dict[str, list[float]] = {"speechlab": [], "naive": []}
        for _ in range(BY_LENGTH_RUNS):
            busy["speechlab"].append(decode_compute(asr, clip, endpoint_silence_s=None))
            busy["naive"].append(decode_compute(asr, clip, naive_engine(asr)))
        mine, naive = (float(np.median(busy[n])) for n in ("speechlab", "naive"))
        rows[f"{seconds:g}"] = {
            "audio_seconds": clip.duration,
            "speechlab_seconds": busy["speechlab"],
            "naive_seconds": busy["naive"],
            "speechlab_per_audio_s": mine / clip.duration,
            "naive_per_audio_s": naive / clip.duration,
            "ratio": naive / mine,
        }
        print(f"{seconds:g} s: {naive / mine:.2f}x", file=sys.stderr, flush=True)
    return {
        "input_sha256": input_digest(path),
        "lengths": rows,
        "runs": BY_LENGTH_RUNS,
        "peak_rss_mb": peak_rss_mb(),
    }


def long_pause_file(regions: list[Any]) -> Path:
    """The paused stream's speech regions with 6 s of faint noise between them (cached)."""
    from speechlab.audio import Audio

    path = CACHE / "stream" / f"polish-{STREAM_SECONDS:.0f}s-long-pauses.wav"
    if not path.is_file():
        rng = np.random.default_rng(1)
        parts = [_noise(rng, 1.0)]
        for region in regions:
            parts += [region.samples, _noise(rng, LONG_PAUSE_S)]
        Audio(np.concatenate(parts), RATE).save(path)
    return path


def work_vad_batch() -> dict:
    """Batch transcription with and without the VAD: the paused stream, and its speech with
    long pauses."""
    import speechlab
    from speechlab.asr.base import BATCH_VAD
    from speechlab.asr.vad import speech_regions
    from speechlab.audio import Audio

    path, reference = stream_file()
    regions = list(speech_regions([speechlab.load(path).samples], BATCH_VAD))
    files = {"paused stream": path, "long pauses": long_pause_file(regions)}
    models = {
        CTC: (_ctc, 3),
        "whisper-base": (
            lambda: speechlab.load_asr("whisper-base", language="pl", threads=THREADS),
            1,
        ),
    }
    out: dict = {"files": {}}
    for label, file in files.items():
        audio = speechlab.load(file)
        found = list(speech_regions([audio.samples], BATCH_VAD))
        out["files"][label] = {
            "input_sha256": input_digest(file),
            "audio_seconds": audio.duration,
            "speech_seconds": sum(len(r.samples) for r in found) / RATE,
            "regions": len(found),
        }
    for name, (load, repeats) in models.items():
        asr = load()
        asr.transcribe(Audio(np.zeros(5 * RATE, np.float32) + 0.01, RATE), progress=False)
        for label, file in files.items():
            seconds: dict[bool, list[float]] = {False: [], True: []}
            texts: dict[bool, str] = {}
            for _ in range(repeats):
                for vad in (False, True):
                    began = time.perf_counter()
                    texts[vad] = asr.transcribe(str(file), progress=False, vad=vad).text
                    seconds[vad].append(time.perf_counter() - began)
            row = {
                "whole_seconds": float(np.median(seconds[False])),
                "vad_seconds": float(np.median(seconds[True])),
                "runs": repeats,
                "whole_vs_reference": _scores(reference, texts[False]),
                "vad_vs_reference": _scores(reference, texts[True]),
            }
            out["files"][label][name] = row
            print(f"vad_batch {label} {name}: {row}", file=sys.stderr, flush=True)
    out["peak_rss_mb"] = peak_rss_mb()
    return out


def naive_engine(recognizer: Any, window_s: float | None = None, lookahead_s: float = 2.0) -> Any:
    """A StreamEngine that runs ``recognizer.transcribe`` from scratch every ``NAIVE_HOP_S``
    over the whole utterance so far (``window_s=None``) or over its last ``window_s``:
    nothing kept between hops. With a window, the words whose midpoint lies between the last
    committed word's (at least ``SAME_WORD_S`` after it) and ``lookahead_s`` before the
    window's end are committed at each hop (the rest at the end): the stitching a user of a
    plain sliding window writes."""
    from speechlab.asr.streaming import Final, Partial, StreamEngine
    from speechlab.audio import Audio
    from speechlab.transcript import Segment, Transcript

    keep = None if window_s is None else round(window_s * RATE)

    class NaiveEngine(StreamEngine):
        sample_rate = RATE
        language = recognizer.language

        def begin(self, start: float) -> None:
            self.start, self.n, self.stepped = start, 0, 0
            self.samples = np.zeros(0, np.float32)
            self.committed: list[Segment] = []

        def accept(self, samples: np.ndarray) -> None:
            self.samples = np.concatenate([self.samples, samples])
            if keep is not None:
                self.samples = self.samples[-keep:]
            self.n += len(samples)

        def due(self) -> bool:
            return self.n - self.stepped >= NAIVE_HOP_S * RATE

        def _decode(self) -> tuple[list[Segment], float]:
            self.model_calls += 1
            self.stepped = self.n
            end = self.start + self.n / RATE
            offset = end - len(self.samples) / RATE
            words = recognizer.transcribe(Audio(self.samples, RATE), progress=False).words
            heard = [Segment(w.text, w.start + offset, w.end + offset) for w in words]
            if not self.committed:
                return heard, end
            last = self.committed[-1]  # words after the last committed one (by midpoint)
            return [
                w for w in heard if w.start + w.end > last.start + last.end + 2 * SAME_WORD_S
            ], end

        def step(self) -> list[Any]:
            words, end = self._decode()
            if keep is None:
                return [Partial(tuple(words), 0, self.start, end)]
            edge = end - lookahead_s
            self.committed += [w for w in words if (w.start + w.end) / 2 < edge]
            tail = [w for w in words if (w.start + w.end) / 2 >= edge]
            return [Partial((*self.committed, *tail), len(self.committed), self.start, end)]

        def finish(self) -> list[Any]:
            end = self.start + self.n / RATE
            words = self.committed + (self._decode()[0] if self.n else [])
            text = " ".join(w.text for w in words)
            transcript = Transcript(text, words, [], self.language, end - self.start)
            return [Final(transcript, self.start, end)]

    engine = NaiveEngine()
    engine.begin(0.0)
    return engine


def work_ctc_pipeline() -> dict:
    """transformers' microphone helper + pipeline, the microphone replaced by the paced stream."""
    import torch
    from transformers import pipeline
    from transformers.pipelines import audio_utils

    import speechlab

    torch.set_num_threads(THREADS)
    path, reference = stream_file()
    audio = speechlab.load(path)
    model_dir = speechlab.store.assemble(CTC)
    pipe = pipeline("automatic-speech-recognition", model=str(model_dir), dtype=torch.float32)
    schedule: list[float] = []  # wall time at which each yielded block's audio was complete

    def paced_microphone(sampling_rate: int, chunk_s: float, **_: Any) -> Iterator[bytes]:
        size = round(chunk_s * sampling_rate)
        begin = time.monotonic()
        for start in range(0, len(audio.samples), size):
            due = begin + (start + size) / sampling_rate / SPEED
            time.sleep(max(0.0, due - time.monotonic()))
            schedule.append(due)
            yield audio.samples[start : start + size].tobytes()

    audio_utils.ffmpeg_microphone = paced_microphone
    mic = audio_utils.ffmpeg_microphone_live(RATE, chunk_length_s=5.0, stream_chunk_s=0.5)
    # (audio complete at, handed to the pipeline at, partial) per item the helper let through;
    # it drops items itself when it is more than 10 steps late, as with a real microphone
    arrivals: list[tuple[float, float, bool]] = []

    def items() -> Iterator[dict]:
        for item in mic:
            arrivals.append((schedule[-1], time.monotonic(), bool(item["partial"])))
            yield item

    cpu0, wall0 = time.process_time(), time.monotonic()
    latencies, texts, busy = [], [], 0.0
    for out in pipe(items()):  # one item at a time: pulled, preprocessed, decoded, returned
        arrived, handed, partial = arrivals[len(texts)]
        now = time.monotonic()
        busy += now - handed
        latencies.append(now - arrived)
        texts.append((out["text"], partial))
    wall, cpu = time.monotonic() - wall0, time.process_time() - cpu0
    final = [text for text, partial in texts if not partial]
    if texts and texts[-1][1]:
        final.append(texts[-1][0])
    result = {
        "audio_seconds": audio.duration,
        "partial_latency": _quantiles(
            [lat for lat, (_, p) in zip(latencies, texts, strict=True) if p]
        ),
        "final_latency": _quantiles(
            [lat for lat, (_, p) in zip(latencies, texts, strict=True) if not p]
        ),
        "partials": sum(p for _, p in texts),
        "finals": sum(not p for _, p in texts),
        "model_calls": len(texts),
        "mic_blocks": len(schedule),
        "items_decoded": len(texts),
        "compute_seconds": busy,
        "rtf": busy / audio.duration,
        "cpu_seconds": cpu,
        "cpu_share": cpu / wall / THREADS,
        "end_lag_s": wall - audio.duration / SPEED,
        "keeps_up": busy / audio.duration < 1 / SPEED
        and wall - audio.duration / SPEED < KEEPS_UP_LAG_S,
        "text": " ".join(t for t in final if t),
    }
    return _with_offline(result, _ctc(), path, reference, vad=False)  # the pipeline has no VAD


# --------------------------------------------------------------------------- markdown


LABELS = {
    "ctc_speechlab": f"{CTC}, speechlab stream",
    "ctc_naive": f"{CTC}, naive (whole utterance every hop)",
    "ctc_naive_window": f"{CTC}, naive sliding window (no VAD)",
    "ctc_pipeline": f"{CTC}, transformers mic + pipeline",
    "whisper_base": "whisper-base (int8), LocalAgreement-2, hop 1 s, fitted context",
    "whisper_base_full": "whisper-base (int8), LocalAgreement-2, hop 2 s, 30 s context",
}


def _ms(q: dict) -> str:
    return "–" if q.get("p50_ms") is None else f"{q['p50_ms']:.0f} / {q['p95_ms']:.0f}"


def _row(label: str, p: dict) -> str:
    offline = p.get("vs_offline")
    vs = f"{offline['wer']:.3f} / {offline['cer']:.3f}" if offline else "–"
    ref = p.get("vs_reference")
    vr = f"{ref['wer']:.3f} / {ref['cer']:.3f}" if ref else "–"
    per_audio = p["compute_seconds"] / p["audio_seconds"]
    return (
        f"| {label} | {_ms(p['partial_latency'])} | {per_audio:.3f} | {100 * p['cpu_share']:.0f} % "
        f"| {p.get('peak_rss_mb', 0):.0f} | {vs} | {vr} | {p['model_calls']} | "
        f"{'yes' if p['keeps_up'] else 'no'} ({p['end_lag_s']:+.1f} s) |"
    )


def write_markdown(results: dict) -> None:
    r = results["parts"]
    lines = ["# Streaming ASR benchmark", "", *machine_lines(results), ""]
    if os.environ.get("SPEECHLAB_BENCH_SMOKE") == "1":
        lines += [
            "**Smoke run** (a 30 s stream fed 4× faster than real time): it checks that "
            "the script runs; its numbers mean nothing.",
            "",
        ]
    seconds = next((p["audio_seconds"] for p in r.values() if "audio_seconds" in p), None)
    lines += [
        f"A {seconds or STREAM_SECONDS:.0f} s Polish stream (Kokoro voice jm_kumo, sentences "
        "written independently of every generator, three per utterance, 2 s pauses) fed in "
        f"100 ms blocks in simulated real time, {THREADS} threads, Silero VAD gating every "
        "speechlab row. Latency: wall time from the arrival of the last audio a partial "
        "covers to its emission. RTF: wall time inside decoding steps per audio second. "
        f"CPU share: process CPU time over wall time, of {THREADS} cores. Keeps up: RTF < 1 "
        f"and the last result within {KEEPS_UP_LAG_S:g} s of the end of the audio (end lag "
        "in brackets).",
        "",
        "| row | partial latency p50 / p95 (ms) | RTF | CPU share | peak RSS (MB) | "
        "WER / CER vs offline | WER / CER vs text given | model calls | keeps up |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    lines += [_row(label, r[part]) for part, label in LABELS.items() if part in r]
    if r.get("ctc_speechlab", {}).get("vad_seconds"):
        p = r["ctc_speechlab"]
        lines += [
            "",
            f"The RTF column counts decoding only. The Silero VAD of speechlab's stream took "
            f"{p['vad_seconds']:.1f} s of the {p['audio_seconds']:.0f} s (RTF "
            f"{p['vad_seconds'] / p['audio_seconds']:.3f}); the comparisons with rows "
            "without a VAD below count it as speechlab's compute.",
        ]
    lines += [
        "",
        "WER / CER vs offline: against offline `transcribe()` of the same file by the same "
        "model, VAD-gated like the stream (`vad=True`: the model sees the same speech regions; "
        "the sliding-window and pipeline rows, which have no VAD, against offline decoding "
        "of the whole file). "
        "Against offline decoding of the whole file without VAD, which puts different context "
        "around every word (this small model's output moves with it):",
    ]
    lines += [
        f"- {label}: {r[part]['vs_offline_whole']['wer']:.3f} / "
        f"{r[part]['vs_offline_whole']['cer']:.3f}"
        for part, label in LABELS.items()
        if part in r and "vs_offline_whole" in r[part]
    ]
    continuous = [p for p in ("ctc_speechlab_continuous", "ctc_naive_continuous") if p in r]
    if continuous:
        lines += [
            "",
            f"One continuous utterance: a {r[continuous[0]]['audio_seconds']:.0f} s stream of "
            "the same kind of sentences 0.25 s apart with no pause, decoded as one utterance "
            "(no VAD, no endpoints: the final comes at the end), so the naive baseline "
            "re-decodes ever more audio every hop; WER / CER vs offline decoding of the whole "
            "file:",
            "",
            "| row | partial latency p50 / p95 (ms) | RTF | CPU share | peak RSS (MB) | "
            "WER / CER vs offline | WER / CER vs text given | model calls | keeps up |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        lines += [_row(LABELS[p.removesuffix("_continuous")], r[p]) for p in continuous]
    if "vad_batch" in r:
        lines += [
            "",
            "Batch `transcribe()` with and without `vad=True` (regions end after 1 s of "
            "silence; whisper-base decodes them joined in groups of up to 25 s, the CTC model "
            "each by itself): the paused stream above, and its speech regions with "
            f"{LONG_PAUSE_S:g} s of faint noise between them. Word error against the text "
            "Kokoro was given.",
            "",
            "| file | model | without VAD (s) | with VAD (s) | saved | WER / CER without → "
            "with | runs (median) |",
            "|---|---|---|---|---|---|---|",
        ]
        for label, f in r["vad_batch"].get("files", {}).items():
            where = (
                f"{label} ({f['audio_seconds']:.0f} s, {f['regions']} regions, "
                f"{f['speech_seconds']:.0f} s of speech)"
            )
            for name in (CTC, "whisper-base"):
                if name in f:
                    m = f[name]
                    whole, gated = m["whole_vs_reference"], m["vad_vs_reference"]
                    lines.append(
                        f"| {where} | {name} | {m['whole_seconds']:.1f} | "
                        f"{m['vad_seconds']:.1f} | "
                        f"{100 * (1 - m['vad_seconds'] / m['whole_seconds']):.0f} % | "
                        f"{whole['wer']:.3f} / {whole['cer']:.3f} → {gated['wer']:.3f} / "
                        f"{gated['cer']:.3f} | {m['runs']} |"
                    )
    if "xlsr53_large" in r:
        x = r["xlsr53_large"]
        lines += [
            "",
            f"xlsr-53 large architecture (random init, speed only), the first {x['seconds']:.0f} "
            "s of the stream:",
            "",
            "| hop (s) | partial latency p50 / p95 (ms) | RTF | CPU share | keeps up |",
            "|---|---|---|---|---|",
        ]
        for hop, p in x["hops"].items():
            lines.append(
                f"| {hop} | {_ms(p['partial_latency'])} | {p['rtf']:.2f} | "
                f"{100 * p['cpu_share']:.0f} % | {'yes' if p['keeps_up'] else 'no'} "
                f"({p['end_lag_s']:+.1f} s) |"
            )
    if "ctc_by_length" in r:
        b = r["ctc_by_length"]
        lines += [
            "",
            "Compute per audio second by utterance length: the continuous stream's first "
            "seconds as one utterance, pushed as fast as decoded (every 0.5 s hop decoded, no "
            f"VAD, no endpoints), median of {b['runs']} alternating runs (the ratio's range "
            "from the fastest and slowest runs):",
            "",
            "| utterance (s) | speechlab stream (s per audio s) | naive (s per audio s) | "
            "naive / speechlab |",
            "|---|---|---|---|",
        ]
        for length, row in b["lengths"].items():
            low = min(row["naive_seconds"]) / max(row["speechlab_seconds"])
            high = max(row["naive_seconds"]) / min(row["speechlab_seconds"])
            lines.append(
                f"| {length} | {row['speechlab_per_audio_s']:.4f} | "
                f"{row['naive_per_audio_s']:.4f} | {row['ratio']:.2f}× "
                f"({low:.2f}–{high:.2f}) |"
            )
    lines += ["", "Targets:"] + [f"- {t}" for t in _verdicts(r, results.get("part_machines"))]
    OUT["dir"].mkdir(parents=True, exist_ok=True)
    (OUT["dir"] / "stream_bench.md").write_text("\n".join(lines) + "\n")


def _verdicts(r: dict, machines: dict | None = None) -> list[str]:
    machines = machines or {}
    out = []
    if "ctc_speechlab" in r:
        p = r["ctc_speechlab"]
        p95 = p["partial_latency"]["p95_ms"] or 0
        ok = p95 < 300 and p["rtf"] < 0.3
        out.append(
            f"CTC: p95 partial latency < 300 ms and RTF < 0.3: {p95:.0f} ms, {p['rtf']:.3f} — "
            + ("met" if ok else "NOT met")
        )
    if "whisper_base" in r:
        p = r["whisper_base"]
        runs = p.get("repeats") or [p]
        p95s = [q["partial_latency"]["p95_ms"] or 0 for q in runs]
        rtfs = [q["rtf"] for q in runs]
        ok = max(rtfs) < 1 and max(p95s) < 1500
        spread = (
            f"RTF {np.median(rtfs):.2f} ({min(rtfs):.2f}–{max(rtfs):.2f}), p95 "
            f"{np.median(p95s):.0f} ms ({min(p95s):.0f}–{max(p95s):.0f}) over {len(runs)} runs"
            if len(runs) > 1
            else f"RTF {rtfs[0]:.2f}, p95 {p95s[0]:.0f} ms (one run)"
        )
        out.append(
            f"whisper-base keeps up (RTF < 1) with p95 < 1.5 s in every run: {spread} — "
            + ("met" if ok else "NOT met")
        )
    if "xlsr53_large" in r:
        hops = r["xlsr53_large"]["hops"]
        keeping = [h for h, p in hops.items() if p["keeps_up"]]
        out.append(
            "xlsr-53 large on these cores: keeps up at hop "
            + (", ".join(f"{h} s" for h in keeping) if keeping else "none of " + ", ".join(hops))
        )
    pairs = (
        (
            "ctc_naive_window",
            "the naive baseline (a sliding window re-decoded whole every hop, "
            "no VAD), the paused stream",
            "ctc_speechlab",
        ),
        (
            "ctc_naive",
            "a naive baseline given speechlab's VAD and endpoints (the whole "
            "utterance every hop: what the kept state alone saves), the paused stream",
            "ctc_speechlab",
        ),
        (
            "ctc_naive_continuous",
            "the naive baseline on one continuous utterance",
            "ctc_speechlab_continuous",
        ),
    )
    if r.get("ctc_speechlab") and r.get("ctc_pipeline"):
        mine, peer = r["ctc_speechlab"], r["ctc_pipeline"]
        total = mine["compute_seconds"] + mine.get("vad_seconds", 0.0)
        out.append(
            "(no target) transformers' mic helper + pipeline on the same stream, compute: "
            f"{peer['compute_seconds']:.1f} s vs speechlab's {total:.1f} s with its VAD, "
            f"{peer['compute_seconds'] / max(total, 1e-9):.2f}×"
            + (
                ""
                if same_cpu(machines.get("ctc_speechlab"), machines.get("ctc_pipeline"))
                else " (not comparable: measured on different CPUs)"
            )
        )
    for naive_part, against, mine_part in pairs:
        mine, naive = r.get(mine_part), r.get(naive_part)
        if not (mine and naive):
            continue
        # against a baseline without VAD, speechlab's VAD is compute too
        vad = mine.get("vad_seconds", 0.0) if not naive.get("vad_seconds") else 0.0
        ratio = naive["compute_seconds"] / max(mine["compute_seconds"] + vad, 1e-9)
        length = mine["speech_seconds_heard"] / max(mine["finals"], 1)
        claim = (
            f"compute per audio second ≥ 2× lower than {against} ({length:.1f} s of speech "
            f"per final on average): {ratio:.2f}× in real time"
        )
        if "alternating" in naive:  # the verdict: the median of alternating runs
            a = naive["alternating"]["ratio"]
            ratio = a["median"]
            claim += (
                f"; median of {a['n']} alternating runs pushed as fast as decoded "
                f"{a['median']:.2f}× ({a['min']:.2f}–{a['max']:.2f})"
            )
        if not same_cpu(machines.get(mine_part), machines.get(naive_part)):
            out.append(f"{claim} — not judged: {mine_part} and {naive_part} ran on different CPUs")
        else:
            out.append(f"{claim} — " + ("met" if ratio >= 2 else "NOT met"))
    if "ctc_by_length" in r:
        halved = [
            length for length, row in r["ctc_by_length"]["lengths"].items() if row["ratio"] >= 2
        ]
        out.append(
            "compute ≥ 2× lower than the naive baseline by utterance length: from "
            + (f"{halved[0]} s on" if halved else "none of the lengths measured")
        )
    return out


# --------------------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--worker")
    parser.add_argument("--parts", default=",".join(PARTS))
    parser.add_argument("--hops", default="1.0" if SMOKE else "0.5,1.0,2.0")
    parser.add_argument("--xlsr-seconds", type=float, default=60.0)
    parser.add_argument("--fresh", action="store_true", help="measure the named parts again")
    parser.add_argument("--smoke", action="store_true", help="a 30 s stream that measures nothing")
    parser.add_argument("--out", type=Path, help="write the results here instead")
    args = parser.parse_args()
    if args.worker:
        hops = [float(h) for h in args.hops.split(",")]
        workers: dict[str, Callable[[], dict]] = {
            "ctc_speechlab": work_ctc_speechlab,
            "ctc_naive": work_ctc_naive,
            "ctc_naive_window": work_ctc_naive_window,
            "ctc_pipeline": work_ctc_pipeline,
            "whisper_base": lambda: work_whisper_base(runs=1 if SMOKE else WHISPER_RUNS),
            "whisper_base_full": lambda: work_whisper_base(hop_s=2.0, fit_context=False),
            "xlsr53_large": lambda: work_xlsr53_large(hops, args.xlsr_seconds),
            "ctc_speechlab_continuous": lambda: work_ctc_speechlab(continuous=True),
            "ctc_naive_continuous": lambda: work_ctc_naive(continuous=True),
            "vad_batch": work_vad_batch,
            "ctc_by_length": work_ctc_by_length,
        }
        print(json.dumps(workers[args.worker]()))
        return
    import harness

    if args.smoke:
        os.environ["SPEECHLAB_BENCH_SMOKE"] = "1"
        harness.RESULTS = OUT["dir"] = CACHE / "smoke"
        if args.hops == "0.5,1.0,2.0":
            args.hops = "1.0"
    if args.out:
        harness.RESULTS = OUT["dir"] = args.out
    extra = ["--hops", args.hops, "--xlsr-seconds", str(args.xlsr_seconds)]
    run_all(
        "stream_bench",
        args.parts.split(","),
        lambda part: run_part(__file__, part, *extra),
        write_markdown,
        fresh=args.fresh,
    )


if __name__ == "__main__":
    main()
