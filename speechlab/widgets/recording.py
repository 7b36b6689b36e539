"""The recorder's memory: microphone frames from the browser kept as 16 kHz int16 chunks.

A frame is a binary buffer of mono PCM (``int16`` or ``float32``) at the rate the browser
captured; frames at another rate are resampled to 16 kHz here (soxr, incrementally). 16 kHz
int16 costs 32 kB per second: **one hour is 115.2 MB**, and :data:`MAX_SECONDS` (one hour by
default) caps a recording, so memory stays bounded however long the Record button is left on.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from speechlab.audio import Audio, Seconds, StreamResampler
from speechlab.widgets.errors import WidgetError

__all__ = ["MAX_SECONDS", "RATE", "RecordingBuffer", "frame_samples"]

#: The rate recordings are kept at (and the recognizers' rate).
RATE = 16_000
#: The longest recording kept by default: 3600 s x 16 kHz x 2 bytes = 115.2 MB.
MAX_SECONDS: Seconds = 3600.0
_DTYPES = {"int16": np.int16, "float32": np.float32}


def frame_samples(content: dict[str, Any], buffers: list[Any]) -> np.ndarray:
    """The PCM samples of one audio message from the browser (``{"dtype": "int16"}`` plus
    one binary buffer), as an int16 or float32 array; a :class:`WidgetError` otherwise."""
    dtype = _DTYPES.get(content.get("dtype", "int16"))
    if dtype is None:
        raise WidgetError(
            f"An audio frame must be int16 or float32 PCM, got dtype {content.get('dtype')!r}."
        )
    if len(buffers) != 1:
        raise WidgetError(f"An audio frame carries one binary buffer, got {len(buffers)}.")
    raw = memoryview(buffers[0]).cast("B")
    if len(raw) % np.dtype(dtype).itemsize:
        raise WidgetError(
            f"An audio frame of {len(raw)} bytes is not a whole number of {content['dtype']} "
            "samples; the browser sent a broken frame."
        )
    samples = np.frombuffer(raw, dtype=dtype)
    if dtype is np.float32 and not np.isfinite(samples).all():
        raise WidgetError("An audio frame has NaN or infinite samples; it was dropped.")
    return samples


class RecordingBuffer:
    """The audio recorded so far, as 16 kHz int16 chunks (one per frame), at most
    ``max_seconds`` long (``add`` returns False once the limit is reached)."""

    def __init__(self, max_seconds: Seconds = MAX_SECONDS) -> None:
        if not isinstance(max_seconds, int | float) or not 0 < max_seconds < math.inf:
            raise WidgetError(f"max_seconds must be a positive number, got {max_seconds!r}.")
        self.max_samples = round(max_seconds * RATE)
        self._chunks: list[np.ndarray] = []
        self._samples = 0
        self._rate: int | None = None
        self._resampler: StreamResampler | None = None

    @property
    def seconds(self) -> Seconds:
        return self._samples / RATE

    @property
    def nbytes(self) -> int:
        return self._samples * 2

    @property
    def full(self) -> bool:
        return self._samples >= self.max_samples

    def add(self, samples: np.ndarray, sample_rate: int) -> bool:
        """Keep ``samples`` (int16 or float PCM at ``sample_rate``); False when the buffer
        is full (what did not fit is dropped)."""
        if self._rate is None:
            self._rate = sample_rate
            if sample_rate != RATE:
                self._resampler = StreamResampler(sample_rate, RATE)
        elif sample_rate != self._rate:
            raise WidgetError(
                f"The browser changed the sample rate mid-recording ({self._rate} Hz, then "
                f"{sample_rate} Hz); stop and record again."
            )
        if self.full:
            return False
        if self._resampler is not None:
            samples = self._resampler(_as_float(samples))
        pcm = _as_int16(samples)[: self.max_samples - self._samples]
        if len(pcm):
            self._chunks.append(pcm)
            self._samples += len(pcm)
        return not self.full

    def finish(self) -> None:
        """The take is over: keep what the resampler still holds (its filter delay)."""
        if self._resampler is not None:
            tail = self._resampler(np.zeros(0, np.float32), last=True)
            self._resampler = None
            pcm = _as_int16(tail)[: max(0, self.max_samples - self._samples)]
            if len(pcm):
                self._chunks.append(pcm)
                self._samples += len(pcm)

    def to_audio(self, source: str | None = None) -> Audio:
        """The whole recording as a float32 16 kHz :class:`~speechlab.audio.Audio`."""
        pcm = np.concatenate(self._chunks) if self._chunks else np.zeros(0, np.int16)
        return Audio(pcm.astype(np.float32) / 32768.0, RATE, source)


def _as_float(samples: np.ndarray) -> np.ndarray:
    if samples.dtype == np.int16:
        return samples.astype(np.float32) / 32768.0
    return samples.astype(np.float32, copy=False)


def _as_int16(samples: np.ndarray) -> np.ndarray:
    if samples.dtype == np.int16:
        return samples.copy()  # the message's buffer is not ours to keep
    return (np.clip(samples, -1.0, 32767 / 32768) * 32768.0).astype(np.int16)
