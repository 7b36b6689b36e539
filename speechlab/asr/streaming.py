"""Live recognition: push audio blocks, read partial and final results.

```python
stream = asr.stream(sample_rate=48_000, vad=True)   # a RecognitionStream
stream.push(block)                                    # any size; from any thread
for event in stream.poll():                           # or: for event in stream (blocks)
    if isinstance(event, Partial):
        event.stable_text, event.unstable_text        # committed words never change again
    else:                                             # a Final at each endpoint
        event.transcript                              # a Transcript segment (stream times)
transcript = stream.close()                           # the finals joined
```

A stream has three parts. The *session* (:class:`RecognitionStream`, this module) checks
each block (typed :class:`AudioError` / :class:`StreamError` before any state changes),
resamples it incrementally (:class:`~speechlab.audio.StreamResampler`), optionally gates it
with the VAD (:class:`~speechlab.asr.vad.SpeechGate`: silence never reaches the model),
measures latency, and queues events for readers in other threads. The *engine*
(:class:`StreamEngine`, one per backend: ``ctc_stream.py``, ``whisper_stream.py``) turns
16 kHz speech into hypotheses and decides what is committed. With ``background=True`` the
engine runs on a worker thread: ``push`` only queues audio, never waits for the model, and
when recognition falls behind, the audio that piled up is decoded in one step (partials
are skipped, audio never).
"""

from __future__ import annotations

import bisect
import queue
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from speechlab.asr.vad import (
    VAD_RATE,
    GateEvent,
    SpeechAudio,
    SpeechGate,
    SpeechStart,
    VadOptions,
)
from speechlab.audio import (
    DEFAULT_RESAMPLE_QUALITY,
    MAX_SAMPLE_RATE,
    MIN_SAMPLE_RATE,
    Audio,
    ResampleQuality,
    Seconds,
    StreamResampler,
    check_quality,
)
from speechlab.errors import AudioError, SpeechlabError
from speechlab.transcript import Segment, Transcript

__all__ = [
    "Final",
    "Partial",
    "RecognitionStream",
    "StreamClosedError",
    "StreamEngine",
    "StreamError",
    "StreamEvent",
    "StreamingUnsupportedError",
    "join_finals",
]

_MAX_CHANNELS = 8  # a (samples, channels) block with more columns is taken for a mistake


class StreamError(SpeechlabError, RuntimeError):
    """A live-recognition stream cannot do what was asked (the message says what to do)."""


class StreamClosedError(StreamError):
    """Audio was pushed into a stream that is closed (by ``close()`` or after a failure)."""


class StreamingUnsupportedError(StreamError):
    """The recognizer's backend has no streaming engine."""


@dataclass(frozen=True)
class Partial:
    """The current hypothesis of the utterance in progress.

    ``words`` carry stream times (seconds since the first pushed sample); the first
    ``stable`` of them are committed: they appear, unchanged, in every later partial of
    this utterance and in its :class:`Final`. ``start`` is where the utterance began and
    ``end`` the stream time of the last audio this hypothesis has heard. ``latency``: wall
    seconds from the arrival (``push``) of that audio to this event.
    """

    words: tuple[Segment, ...]
    stable: int
    start: Seconds
    end: Seconds
    latency: Seconds | None = None

    @property
    def text(self) -> str:
        return " ".join(w.text for w in self.words)

    @property
    def stable_text(self) -> str:
        return " ".join(w.text for w in self.words[: self.stable])

    @property
    def unstable_text(self) -> str:
        return " ".join(w.text for w in self.words[self.stable :])


@dataclass(frozen=True)
class Final:
    """A finished utterance (an endpoint): ``transcript`` covers stream time ``start`` to
    ``end``; its word (and character) times are stream times, its ``duration`` is
    ``end - start``. ``latency`` as for :class:`Partial`."""

    transcript: Transcript
    start: Seconds
    end: Seconds
    latency: Seconds | None = None

    @property
    def text(self) -> str:
        return self.transcript.text

    @property
    def words(self) -> list[Segment]:
        return self.transcript.words


StreamEvent = Partial | Final


class StreamEngine(ABC):
    """A backend's recognition of one stream of 16 kHz speech, split into utterances.

    The session calls ``begin(start)`` when an utterance starts at stream time ``start``,
    ``accept(samples)`` with its audio (contiguous), ``step()`` whenever ``due()``, and
    ``finish()`` at its end (a VAD endpoint or the end of the stream). Engines are used by
    one thread at a time. ``model_calls`` counts forward passes of the ASR model.
    """

    sample_rate: int = 16_000
    language: str | None = None

    def __init__(self) -> None:
        self.model_calls = 0
        self.audio_seconds = 0.0  # audio given to the engine (what the model may hear)

    @abstractmethod
    def begin(self, start: Seconds) -> None:
        """A new utterance starts at stream time ``start``."""

    @abstractmethod
    def accept(self, samples: np.ndarray) -> None:
        """The next samples of the current utterance."""

    @abstractmethod
    def due(self) -> bool:
        """Whether enough new audio has arrived for a decoding step."""

    @abstractmethod
    def step(self) -> list[StreamEvent]:
        """Decode what is new: a Partial (and a Final where the engine finds an endpoint)."""

    @abstractmethod
    def finish(self) -> list[StreamEvent]:
        """The utterance is over: commit everything, end with a Final."""


@dataclass
class _Arrivals:
    """When each pushed sample arrived: (model-rate sample count after a push, wall time)."""

    ends: list[int] = field(default_factory=list)
    times: list[float] = field(default_factory=list)

    def add(self, end: int, when: float) -> None:
        self.ends.append(end)
        self.times.append(when)

    def of(self, sample: int) -> float | None:
        """The arrival time of the sample just before ``sample`` (the last one heard)."""
        i = bisect.bisect_left(self.ends, sample)
        return self.times[i] if i < len(self.times) else None

    def forget_before(self, sample: int) -> None:
        i = bisect.bisect_left(self.ends, sample)
        if i > 64:  # drop in batches: a list slice per event would cost more
            del self.ends[:i], self.times[:i]


class RecognitionStream:
    """One live-recognition session; open it with ``recognizer.stream(...)``.

    ``push(block)`` takes float or integer-PCM samples (``(n,)`` or ``(n, channels)``,
    mixed down) or an :class:`~speechlab.audio.Audio`; it is safe to call from one thread
    while others read events (``poll()``, ``events()`` / iteration, ``wait()``). A bad
    block raises :class:`~speechlab.errors.AudioError` and leaves the stream as it was; a
    failure inside recognition closes the stream, keeping every Final already made
    (``finals``), and raises :class:`StreamError`.
    """

    def __init__(
        self,
        engine: StreamEngine,
        *,
        sample_rate: int | None,
        vad: bool | VadOptions = False,
        quality: ResampleQuality = DEFAULT_RESAMPLE_QUALITY,
        background: bool = False,
        source: str | None = None,
    ) -> None:
        self.engine = engine
        self.quality = check_quality(quality)
        self.source = source
        self.rate = engine.sample_rate  # the model's rate: what the engine hears
        self.sample_rate = None if sample_rate is None else _rate(sample_rate, "sample_rate")
        self._resampler: StreamResampler | None = None
        self.gate: SpeechGate | None = None
        if vad:
            if self.rate != VAD_RATE:
                raise StreamError(
                    f"The VAD runs at {VAD_RATE} Hz but this model hears {self.rate} Hz; "
                    "open the stream with vad=False."
                )
            self.gate = SpeechGate(vad if isinstance(vad, VadOptions) else None)
        self.finals: list[Final] = []
        self._events: queue.Queue[StreamEvent | None] = queue.Queue()
        self._lock = threading.RLock()  # engine and gate: one thread at a time
        self._input = threading.Lock()  # rate, resampler, arrival times: held only briefly
        self._samples = 0  # model-rate samples received (stream time * rate)
        self._in_utterance = False
        self._arrivals = _Arrivals()
        self._closed = False
        self._failure: BaseException | None = None
        self._background = background
        self._pending: list[np.ndarray] = []
        self._wake = threading.Condition()
        self._worker: threading.Thread | None = None
        if background:
            self._worker = threading.Thread(
                target=self._work_loop, name="speechlab-stream", daemon=True
            )
            self._worker.start()

    # ------------------------------------------------------------------ state

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def time(self) -> Seconds:
        """Stream time: seconds of audio received so far (at the model's rate)."""
        return self._samples / self.rate

    @property
    def model_calls(self) -> int:
        """Forward passes of the ASR model so far."""
        return self.engine.model_calls

    @property
    def transcript(self) -> Transcript:
        """Every Final so far joined into one Transcript (stream times)."""
        return join_finals(self.finals, self.time, self.engine.language, self.source)

    # ------------------------------------------------------------------ input

    def push(self, block: Any, sample_rate: int | None = None) -> None:
        """Add the next audio block (see the class docstring). ``sample_rate``: the block's
        rate, needed once unless the stream was opened with one; it may not change."""
        if self._closed:
            raise StreamClosedError(
                "This stream is closed; open a new one with recognizer.stream()."
                + (f" It closed after an error: {self._failure}" if self._failure else "")
            )
        samples, rate = _check_block(block, sample_rate)
        with self._input:
            if rate is None:
                rate = self.sample_rate
            if rate is None:
                raise AudioError(
                    "The stream does not know the blocks' sample rate: pass "
                    "push(block, sample_rate=...) or recognizer.stream(sample_rate=...)."
                )
            if self.sample_rate is None:
                self.sample_rate = rate
            elif rate != self.sample_rate:
                raise AudioError(
                    f"The sample rate changed mid-stream ({self.sample_rate} Hz, then {rate} "
                    "Hz). A stream has one rate: close it and open a new one for the new "
                    "device."
                )
            if self._resampler is None:
                self._resampler = StreamResampler(rate, self.rate, quality=self.quality)
            resampled = self._resampler(samples)
            self._arrive(resampled)
        if not self._background:
            with self._lock:
                self._guarded(self._process, resampled)
            return
        with self._wake:
            self._pending.append(resampled)
            self._wake.notify()

    def close(self) -> Transcript:
        """End the stream: the audio still held is decoded, the open utterance ends with a
        Final, readers see the end. Returns :attr:`transcript`. Calling it again is harmless."""
        with self._lock:
            if self._closed:
                return self.transcript
            self._closed = True
        if self._worker is not None:
            with self._wake:
                self._wake.notify()
            self._worker.join()
        else:
            with self._lock:
                self._guarded(self._finish_stream)
        return self.transcript

    def __enter__(self) -> RecognitionStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ output

    def poll(self) -> list[StreamEvent]:
        """Every event made since the last read, without waiting."""
        found: list[StreamEvent] = []
        while True:
            try:
                event = self._events.get_nowait()
            except queue.Empty:
                return found
            if event is None:  # the end marker stays for other readers
                self._events.put(None)
                self._raise_failure()
                return found
            found.append(event)

    def events(self, timeout: Seconds | None = None) -> Iterator[StreamEvent]:
        """Events as they come, until the stream is closed and drained. ``timeout``: give up
        waiting (a :class:`StreamError`) after that many seconds without an event."""
        while True:
            try:
                event = self._events.get(timeout=timeout)
            except queue.Empty:
                raise StreamError(
                    f"No stream event for {timeout} s; is audio still being pushed?"
                ) from None
            if event is None:
                self._events.put(None)
                self._raise_failure()
                return
            yield event

    def __iter__(self) -> Iterator[StreamEvent]:
        return self.events()

    # ------------------------------------------------------------------ work

    def _arrive(self, resampled: np.ndarray) -> None:
        self._samples += len(resampled)
        self._arrivals.add(self._samples, time.monotonic())

    def _guarded(self, work: Any, *args: Any) -> None:
        """Run ``work``; a failure closes the stream cleanly (finals kept) and is raised as
        a StreamError (the worker thread keeps it for the readers instead)."""
        try:
            work(*args)
        except Exception as exc:  # any failure closes the stream; re-raised below
            self._closed = True
            self._failure = exc
            self._events.put(None)
            error = StreamError(
                f"Recognition failed and the stream is closed; the {len(self.finals)} final "
                f"result(s) made before are kept in stream.finals. The error: {exc}"
            )
            if threading.current_thread() is self._worker:
                self._failure = error
                return
            raise error from exc

    def _process(self, samples: np.ndarray) -> None:
        """Give new model-rate samples to the engine (through the gate), step when due."""
        if self.gate is None:
            if not self._in_utterance:
                self.engine.begin(0.0)
                self._in_utterance = True
            self._accept(samples)
            return
        self._gated(self.gate.feed(samples))

    def _gated(self, events: list[GateEvent]) -> None:
        """Act on what the VAD found: utterances begin, hear speech, and end. Consecutive
        speech frames reach the engine together, so audio that piled up while the engine
        was busy is decoded in one step, not one step per hop of it."""
        speech: list[np.ndarray] = []
        for event in events:
            if isinstance(event, SpeechAudio):
                speech.append(event.samples)
                continue
            if speech:
                self._accept(np.concatenate(speech))
                speech = []
            if isinstance(event, SpeechStart):
                self.engine.begin(event.time)
                self._in_utterance = True
            elif self._in_utterance:
                self._end_utterance()
        if speech:
            self._accept(np.concatenate(speech))

    def _accept(self, samples: np.ndarray) -> None:
        self.engine.accept(samples)
        self.engine.audio_seconds += len(samples) / self.rate
        while self.engine.due():
            self._emit(self.engine.step())

    def _end_utterance(self) -> None:
        self._emit(self.engine.finish())
        self._in_utterance = False

    def _finish_stream(self) -> None:
        with self._input:
            rest = np.zeros(0, np.float32)
            if self._resampler is not None:
                rest = self._resampler(rest, last=True)
                self._arrive(rest)
        if len(rest):
            self._process(rest)
        if self.gate is not None:
            self._gated(self.gate.flush())
        if self._in_utterance:
            self._end_utterance()
        self._events.put(None)

    def _emit(self, events: list[StreamEvent]) -> None:
        now = time.monotonic()
        for event in events:
            heard = round(event.end * self.rate)
            with self._input:
                arrived = self._arrivals.of(heard)
                self._arrivals.forget_before(heard - 30 * self.rate)  # finals look back
            latency = None if arrived is None else max(0.0, now - arrived)
            event = replace(event, latency=latency)
            if isinstance(event, Final):
                self.finals.append(event)
            self._events.put(event)

    def _work_loop(self) -> None:
        """The background worker: decode whatever audio has piled up, in one go."""
        while True:
            with self._wake:
                while not self._pending and not self._closed:
                    self._wake.wait()
                pending, self._pending = self._pending, []
                closing = self._closed and not pending
            if pending:
                with self._lock:
                    if self._failure is None:
                        self._guarded(self._process, np.concatenate(pending))
                continue
            if closing:
                with self._lock:
                    if self._failure is None:
                        self._guarded(self._finish_stream)
                return

    def _raise_failure(self) -> None:
        if self._failure is not None:
            failure = self._failure
            if isinstance(failure, StreamError):
                raise failure
            raise StreamError(f"Recognition failed and the stream is closed: {failure}")


def join_finals(
    finals: list[Final], duration: Seconds, language: str | None, source: str | None = None
) -> Transcript:
    """One Transcript of a stream's finals (stream times)."""
    texts = [f.text for f in finals if f.text]
    return Transcript(
        " ".join(texts),
        [w for f in finals for w in f.transcript.words],
        [c for f in finals for c in f.transcript.chars],
        language,
        duration,
        source,
    )


# --------------------------------------------------------------------------- blocks


def _check_block(block: Any, sample_rate: int | None) -> tuple[np.ndarray, int | None]:
    """(mono float32 samples, the block's rate or None); AudioError for anything else."""
    rate = None if sample_rate is None else _rate(sample_rate, "sample_rate")
    if isinstance(block, Audio):
        if rate is not None and rate != block.sample_rate:
            raise AudioError(
                f"push(audio, sample_rate={rate}) but the Audio is at {block.sample_rate} Hz; "
                "leave sample_rate out for Audio blocks."
            )
        rate, block = block.sample_rate, block.samples
    if hasattr(block, "detach"):  # a torch tensor, without importing torch
        block = block.detach().cpu().numpy()
    if not isinstance(block, np.ndarray | list | tuple):
        raise AudioError(
            f"An audio block must be a numpy array or an Audio, got {type(block).__name__}."
        )
    arr = np.asarray(block)
    kind = arr.dtype.kind
    if kind == "f":
        arr = arr.astype(np.float32, copy=False)
    elif kind in "iu":  # integer PCM, scaled to [-1, 1) as soundfile does
        mid = 2.0 ** (8 * arr.dtype.itemsize - 1)
        arr = ((arr - mid) / mid if kind == "u" else arr / mid).astype(np.float32)
    else:
        raise AudioError(
            f"Audio blocks must be float or integer PCM samples, got dtype {arr.dtype}; "
            "convert them, e.g. np.asarray(block, dtype=np.float32)."
        )
    if arr.ndim == 2 and 1 <= arr.shape[1] <= _MAX_CHANNELS:
        arr = arr.mean(axis=1, dtype=np.float32) if arr.shape[1] > 1 else arr[:, 0]
    if arr.ndim != 1:
        raise AudioError(
            f"An audio block must have shape (samples,) or (samples, channels) with at most "
            f"{_MAX_CHANNELS} channels, got {arr.shape}."
        )
    if not np.isfinite(arr).all():
        bad = int(arr.size - np.count_nonzero(np.isfinite(arr)))
        raise AudioError(
            f"The block has {bad} NaN or infinite sample(s); it was not added (the stream is "
            "unchanged). Clean it first, e.g. np.nan_to_num(block)."
        )
    return np.ascontiguousarray(arr), rate


def _rate(rate: Any, name: str) -> int:
    if isinstance(rate, bool) or not isinstance(rate, int | float | np.integer | np.floating):
        raise AudioError(f"{name} must be a number of Hz, got {type(rate).__name__} {rate!r}.")
    if not np.isfinite(rate) or int(rate) != rate or not MIN_SAMPLE_RATE <= rate <= MAX_SAMPLE_RATE:
        raise AudioError(
            f"{name}={rate!r} is not a plausible audio rate ({MIN_SAMPLE_RATE}-"
            f"{MAX_SAMPLE_RATE} Hz)."
        )
    return int(rate)
