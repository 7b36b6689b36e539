"""Where live audio comes from: files and arrays cut into blocks (optionally paced in
simulated real time), generators of blocks, and a microphone (``sounddevice``, optional).

:func:`listen` drives a :class:`~speechlab.asr.streaming.RecognitionStream` with any of
them and yields its events; ``Recognizer.listen`` is the same with the recognizer's
``stream()``.
"""

from __future__ import annotations

import os
import queue
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import numpy as np

from speechlab import audio as audio_io
from speechlab.asr.streaming import RecognitionStream, StreamError, StreamEvent
from speechlab.audio import Audio, Seconds
from speechlab.errors import AudioError

__all__ = ["MicrophoneError", "listen", "microphone_blocks", "paced", "source_blocks"]

Block = tuple[np.ndarray, int | None]  # samples and their rate (None: the stream's)


class MicrophoneError(StreamError):
    """No microphone can be opened: sounddevice/PortAudio missing, or no input device."""


def source_blocks(source: Any, block_seconds: Seconds = 0.1) -> tuple[Iterator[Block], str | None]:
    """``(blocks, label)`` for a path, encoded bytes, an Audio, a ``(samples, rate)`` tuple,
    or an iterable of blocks (arrays or Audio). Files are decoded block by block at their
    own rate (the stream resamples); nothing is resampled here."""
    if not isinstance(block_seconds, int | float) or not 0.001 <= block_seconds <= 60:
        raise AudioError(f"block_seconds must be in [0.001, 60], got {block_seconds!r}.")
    if isinstance(source, str | os.PathLike | bytes):
        label = str(source) if not isinstance(source, bytes) else "audio bytes"
        blocks = audio_io.iter_blocks(source, seconds=block_seconds, sample_rate=None)
        return ((b.samples, b.sample_rate) for b in blocks), label
    if isinstance(source, tuple) and len(source) == 2 and not isinstance(source[1], np.ndarray):
        source = audio_io.load(source, sample_rate=None)
    if isinstance(source, Audio):
        return _slices(source, block_seconds), source.source
    if isinstance(source, np.ndarray):
        raise AudioError(
            "A bare array has no sample rate: pass (samples, rate), an Audio, or a list of "
            "blocks with stream(sample_rate=...)."
        )
    if isinstance(source, Iterable) and not isinstance(source, dict | str):
        return (_block(b) for b in source), None
    raise AudioError(
        f"Cannot stream from a {type(source).__name__}: pass a path, bytes, an Audio, "
        "(samples, rate), or an iterable of blocks."
    )


def paced(blocks: Iterable[Block], speed: float = 1.0, rate: int | None = None) -> Iterator[Block]:
    """``blocks`` released in simulated real time: each once its last sample would have been
    recorded (``speed`` 2.0 is twice as fast as real time)."""
    if not isinstance(speed, int | float) or not 0.01 <= speed <= 1000:
        raise AudioError(f"speed must be in [0.01, 1000], got {speed!r}.")
    begin = time.monotonic()
    heard = 0.0
    for samples, block_rate in blocks:
        block_rate = block_rate or rate
        if block_rate is None:
            raise AudioError("Pacing blocks in real time needs their sample rate.")
        heard += len(samples) / block_rate
        delay = begin + heard / speed - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        yield samples, block_rate


def listen(
    open_stream: Callable[..., RecognitionStream],
    source: Any,
    *,
    block_seconds: Seconds = 0.1,
    realtime: bool = False,
    speed: float = 1.0,
    sample_rate: int | None = None,
    **options: Any,
) -> Iterator[StreamEvent]:
    """Stream ``source`` (see :func:`source_blocks`) through ``open_stream(**options)`` and
    yield every event; the stream is closed at the end (or when the caller stops early).

    ``realtime=False``: blocks are pushed as fast as they are decoded, in this thread
    (deterministic). ``realtime=True``: a feeder thread pushes while this one reads, the
    stream decodes in the background (partials are skipped when it falls behind, audio
    never), and sources with a known length (paths, Audio, arrays) are paced as if recorded
    live, ``speed`` times faster than real time; iterables are pushed as they come.
    """
    blocks, label = source_blocks(source, block_seconds)
    if isinstance(source, str | os.PathLike | bytes | Audio | tuple) and realtime:
        blocks = paced(blocks, speed, sample_rate)
    stream = open_stream(sample_rate=sample_rate, source=label, background=realtime, **options)
    if not realtime:
        try:
            for samples, rate in blocks:
                stream.push(samples, rate)
                yield from stream.poll()
            stream.close()
            yield from stream.poll()
        finally:
            stream.close()
        return
    yield from _fed(stream, blocks)


def _fed(stream: RecognitionStream, blocks: Iterator[Block]) -> Iterator[StreamEvent]:
    """Events of ``stream`` while a feeder thread pushes ``blocks`` into it."""
    stop = threading.Event()
    failure: list[BaseException] = []

    def feed() -> None:
        try:
            for samples, rate in blocks:
                if stop.is_set():
                    break
                stream.push(samples, rate)
        except Exception as exc:  # noqa: BLE001 - handed to the reading thread below
            failure.append(exc)
        finally:
            stream.close()

    feeder = threading.Thread(target=feed, name="speechlab-feeder", daemon=True)
    feeder.start()
    try:
        yield from stream.events()
    finally:
        stop.set()
        feeder.join()
        stream.close()
    if failure:
        raise failure[0]


def microphone_blocks(
    block_seconds: Seconds = 0.1,
    *,
    device: int | str | None = None,
    sample_rate: int | None = None,
    seconds: Seconds | None = None,
) -> Iterator[Block]:
    """Blocks recorded from an audio input device (``sounddevice``), mono float32 at the
    device's rate, as they come; ``seconds`` stops after that long (None: never). The device
    is checked here, at once: a :class:`MicrophoneError` when sounddevice, PortAudio or an
    input device is missing."""
    try:
        import sounddevice as sd
    except (ImportError, OSError) as exc:
        raise MicrophoneError(
            "Recording needs the sounddevice package and the PortAudio library: "
            "pip install 'speechlab[mic]' (and e.g. apt-get install libportaudio2). "
            f"({type(exc).__name__}: {exc})"
        ) from exc
    try:
        info = sd.query_devices(device, kind="input")
    except (sd.PortAudioError, ValueError) as exc:
        named = f" {device!r}" if device is not None else ""
        raise MicrophoneError(
            f"No audio input device{named} is available ({exc}); connect a microphone or "
            "pick one listed by `python -m sounddevice`."
        ) from exc
    rate = int(sample_rate or info["default_samplerate"])
    captured: queue.Queue[np.ndarray] = queue.Queue()

    def callback(indata: np.ndarray, frames: int, when: Any, status: Any) -> None:
        captured.put(indata.mean(axis=1, dtype=np.float32))  # keep it tiny: a queue

    try:
        recorder = sd.InputStream(
            samplerate=rate,
            channels=max(1, min(2, int(info["max_input_channels"]))),
            dtype="float32",
            blocksize=max(1, round(block_seconds * rate)),
            device=device,
            callback=callback,
        )
    except sd.PortAudioError as exc:
        raise MicrophoneError(f"The input device cannot be opened: {exc}") from exc

    def record() -> Iterator[Block]:
        limit = None if seconds is None else round(seconds * rate)
        taken = 0
        with recorder:
            while limit is None or taken < limit:
                block = captured.get()
                taken += len(block)
                yield block, rate

    return record()


def _slices(audio: Audio, block_seconds: Seconds) -> Iterator[Block]:
    size = max(1, round(block_seconds * audio.sample_rate))
    for begin in range(0, len(audio.samples), size):
        yield audio.samples[begin : begin + size], audio.sample_rate


def _block(element: Any) -> Block:
    if isinstance(element, Audio):
        return element.samples, element.sample_rate
    return element, None
