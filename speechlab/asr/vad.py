"""Voice activity detection with Silero VAD on ONNX Runtime: which audio is speech.

The model is ``silero_vad/data/silero_vad.onnx`` from the ``silero-vad`` wheel (MIT): read
from the installed package's folder (the package itself, which imports torch, is never
imported), its sha256 checked once per process like the store's weights. No torch.hub, no
network.

The model takes 512 samples at 16 kHz (32 ms) plus the 64 samples before them and a
recurrent state, and gives the probability that the frame is speech. :class:`SpeechGate`
turns those probabilities into speech starts, speech audio and speech ends for a stream
of blocks of any size (live recognition uses it so that silence never reaches the ASR
model); :func:`speech_regions` collects the same decisions into regions for batch
transcription (``transcribe(..., vad=True)``).
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from speechlab.audio import Seconds
from speechlab.errors import AudioError, ChecksumError, ModelNotFoundError, SpeechlabError

__all__ = [
    "VAD_RATE",
    "GateEvent",
    "SileroVAD",
    "SpeechAudio",
    "SpeechEnd",
    "SpeechGate",
    "SpeechRegion",
    "SpeechStart",
    "VadOptions",
    "silero_vad_path",
    "speech_regions",
]

#: The one sample rate the VAD runs at (speechlab's ASR models hear 16 kHz too).
VAD_RATE = 16_000
_FRAME = 512  # samples per decision at 16 kHz (32 ms)
_CONTEXT = 64  # samples of the previous frame the model sees with each frame
_PACKAGE = "silero-vad==6.2.3"
_FILE = ("data", "silero_vad.onnx")
_SHA256 = "1a153a22f4509e292a94e67d6f9b85e8deb25b4988682b7e174c65279d8788e3"


@dataclass(frozen=True)
class VadOptions:
    """How speech probabilities become speech and silence.

    ``threshold``: a frame at or above it is speech; once in speech, frames stay speech
    until they fall below ``neg_threshold`` (default ``threshold - 0.15``, Silero's
    hysteresis). ``min_silence_s``: silence this long ends the speech (an endpoint).
    ``pad_s``: audio kept before the first speech frame and after the last one.
    ``min_speech_s``: shorter regions are dropped by :func:`speech_regions` (batch).
    """

    threshold: float = 0.5
    neg_threshold: float | None = None
    min_silence_s: Seconds = 0.5
    pad_s: Seconds = 0.2
    min_speech_s: Seconds = 0.25

    def __post_init__(self) -> None:
        if not 0.0 < self.threshold < 1.0:
            raise SpeechlabError(f"VAD threshold must be in (0, 1), got {self.threshold!r}.")
        low = self.neg_threshold
        if low is not None and not 0.0 < low <= self.threshold:
            raise SpeechlabError(
                f"VAD neg_threshold must be in (0, threshold={self.threshold}], got {low!r}."
            )
        for name in ("min_silence_s", "pad_s", "min_speech_s"):
            value = getattr(self, name)
            if not isinstance(value, int | float) or not 0.0 <= value < 60.0:
                raise SpeechlabError(f"VAD {name} must be seconds in [0, 60), got {value!r}.")

    @property
    def low(self) -> float:
        """The probability below which speech turns into silence."""
        return (
            self.neg_threshold
            if self.neg_threshold is not None
            else max(self.threshold - 0.15, 0.01)
        )


@functools.cache
def silero_vad_path() -> Path:
    """The Silero VAD ONNX file inside the installed ``silero-vad`` wheel, sha256-checked."""
    spec = importlib.util.find_spec("silero_vad")  # finds the folder without importing it
    folders = list(spec.submodule_search_locations or []) if spec is not None else []
    path = Path(folders[0]).joinpath(*_FILE) if folders else None
    if path is None or not path.is_file():
        raise ModelNotFoundError(
            f"Voice activity detection needs the Silero VAD model from the silero-vad wheel: "
            f"pip install {_PACKAGE}"
        )
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != _SHA256:
        raise ChecksumError(
            f"{path} has sha256 {digest}, not the {_PACKAGE} file ({_SHA256}); reinstall it: "
            f"pip install --force-reinstall --no-deps {_PACKAGE}"
        )
    return path


class SileroVAD:
    """Speech probability of each 32 ms frame of a 16 kHz stream (recurrent: in order)."""

    def __init__(self) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = 1  # a tiny recurrent model: threads only cost
        options.inter_op_num_threads = 1
        self.session = ort.InferenceSession(
            str(silero_vad_path()), options, providers=["CPUExecutionProvider"]
        )
        self._rate = np.array(VAD_RATE, dtype=np.int64)
        self.frames = 0  # frames scored since creation
        self.reset()

    def reset(self) -> None:
        """Forget the stream: the next frame starts a new one."""
        self._state = np.zeros((2, 1, 128), dtype=np.float32)
        self._context = np.zeros(_CONTEXT, dtype=np.float32)

    def __call__(self, frame: np.ndarray) -> float:
        """The probability that ``frame`` (512 float32 samples at 16 kHz) is speech."""
        x = np.concatenate([self._context, frame]).astype(np.float32, copy=False)[None, :]
        out, self._state = self.session.run(
            None, {"input": x, "state": self._state, "sr": self._rate}
        )
        self._context = x[0, -_CONTEXT:]
        self.frames += 1
        return float(out[0, 0])


@dataclass(frozen=True)
class SpeechStart:
    """Speech begins at ``time`` (stream seconds, ``pad_s`` before the first speech frame)."""

    time: Seconds


@dataclass(frozen=True)
class SpeechAudio:
    """The next samples of the current speech (contiguous from its start)."""

    samples: np.ndarray


@dataclass(frozen=True)
class SpeechEnd:
    """The current speech ends at ``time`` (stream seconds): an endpoint."""

    time: Seconds


GateEvent = SpeechStart | SpeechAudio | SpeechEnd


class SpeechGate:
    """Let speech through and hold silence back, for a 16 kHz stream in blocks of any size.

    ``feed(samples)`` returns what happened in them, in order: a :class:`SpeechStart`, the
    speech's samples as :class:`SpeechAudio` (from ``pad_s`` before the first speech frame),
    and a :class:`SpeechEnd` once ``min_silence_s`` of silence has passed. Silence inside
    speech is let through up to ``pad_s``; the rest is held and only let through when speech
    resumes before ``min_silence_s`` (a pause), else dropped. Decisions lag the audio by at
    most one 32 ms frame.
    """

    def __init__(self, options: VadOptions | None = None, model: SileroVAD | None = None) -> None:
        self.options = options or VadOptions()
        self.model = model or SileroVAD()
        self.model.reset()
        self._pad = round(self.options.pad_s * VAD_RATE)
        self._min_silence = round(self.options.min_silence_s * VAD_RATE)
        self._leftover = np.zeros(0, dtype=np.float32)
        self._position = 0  # samples framed so far (stream index of the next frame)
        self._preroll = np.zeros(0, dtype=np.float32)  # the last pad samples outside speech
        self.in_speech = False
        self._start = 0  # stream sample where the current speech starts (pad included)
        self._sent = 0  # samples of the current speech let through
        self._silence_from: int | None = None  # stream sample where the current pause began
        self._held: list[np.ndarray] = []

    def feed(self, samples: np.ndarray) -> list[GateEvent]:
        """What the next ``samples`` (float32, 16 kHz) hold; see the class docstring."""
        data = np.concatenate([self._leftover, np.asarray(samples, dtype=np.float32)])
        whole = len(data) // _FRAME * _FRAME
        self._leftover = data[whole:].copy()
        events: list[GateEvent] = []
        for begin in range(0, whole, _FRAME):
            self._frame(data[begin : begin + _FRAME], events)
        return events

    def flush(self) -> list[GateEvent]:
        """The end of the stream: the last partial frame is scored (zero-padded) and open
        speech ends where its audio ends."""
        events: list[GateEvent] = []
        if len(self._leftover):
            n = len(self._leftover)
            frame = np.zeros(_FRAME, dtype=np.float32)
            frame[:n] = self._leftover
            self._leftover = np.zeros(0, dtype=np.float32)
            self._frame(frame, events, valid=n)
        if self.in_speech:
            events.append(self._end())
        return events

    # ------------------------------------------------------------------ frames

    def _frame(self, frame: np.ndarray, events: list[GateEvent], valid: int = _FRAME) -> None:
        audio = frame[:valid]
        start = self._position
        self._position += valid
        prob = self.model(frame)
        if not self.in_speech:
            if prob >= self.options.threshold:
                self.in_speech = True
                self._start = start - len(self._preroll)
                self._sent = 0
                self._silence_from = None
                events.append(SpeechStart(self._start / VAD_RATE))
                self._send(np.concatenate([self._preroll, audio]), events)
                self._preroll = np.zeros(0, dtype=np.float32)
            else:
                self._preroll = (
                    np.concatenate([self._preroll, audio])[-self._pad :]
                    if self._pad
                    else self._preroll
                )
            return
        if prob >= self.options.threshold or (
            self._silence_from is None and prob >= self.options.low
        ):
            if self._held:  # a pause, not the end: what was held back goes through
                self._send(np.concatenate(self._held), events)
                self._held = []
            self._silence_from = None
            self._send(audio, events)
            return
        if self._silence_from is None:
            self._silence_from = start
        keep_until = self._silence_from + self._pad  # silence let through after speech
        through = max(0, min(valid, keep_until - start))
        if through:
            self._send(audio[:through], events)
        if through < valid:
            self._held.append(audio[through:])
        if self._position - self._silence_from >= self._min_silence:
            tail = np.concatenate([np.zeros(0, np.float32), *self._held])
            events.append(self._end())
            self._preroll = tail[-self._pad :] if self._pad else self._preroll

    def _send(self, samples: np.ndarray, events: list[GateEvent]) -> None:
        if len(samples):
            events.append(SpeechAudio(samples))
            self._sent += len(samples)

    def _end(self) -> SpeechEnd:
        self.in_speech = False
        self._held = []
        self._silence_from = None
        return SpeechEnd((self._start + self._sent) / VAD_RATE)


@dataclass(frozen=True)
class SpeechRegion:
    """A stretch of speech: its samples (16 kHz) and where it starts in the stream."""

    start: Seconds
    samples: np.ndarray

    @property
    def end(self) -> Seconds:
        return self.start + len(self.samples) / VAD_RATE


def speech_regions(
    blocks: Iterable[np.ndarray], options: VadOptions | None = None, model: SileroVAD | None = None
) -> Iterator[SpeechRegion]:
    """The speech regions of a 16 kHz stream of blocks, each as soon as it has ended.

    Regions shorter than ``options.min_speech_s`` are dropped. Memory: one region.
    """
    gate = SpeechGate(options, model)
    minimum = gate.options.min_speech_s
    start: Seconds | None = None
    pieces: list[np.ndarray] = []

    def handle(events: list[GateEvent]) -> Iterator[SpeechRegion]:
        nonlocal start, pieces
        for event in events:
            if isinstance(event, SpeechStart):
                start, pieces = event.time, []
            elif isinstance(event, SpeechAudio):
                pieces.append(event.samples)
            else:
                region = SpeechRegion(float(start or 0.0), np.concatenate(pieces))
                start, pieces = None, []
                if region.end - region.start >= minimum:
                    yield region

    for block in blocks:
        samples = np.asarray(block, dtype=np.float32)
        if samples.ndim != 1:
            raise AudioError(f"VAD blocks must be 1-D 16 kHz samples, got shape {samples.shape}.")
        yield from handle(gate.feed(samples))
    yield from handle(gate.flush())
