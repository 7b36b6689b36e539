"""Audio in and out: one ``load()`` for files, bytes and arrays, block reads for long files.

Everything in speechlab that reads audio goes through this module, so that every
model sees mono float32 at the rate it expects, and every bad input becomes an
:class:`~speechlab.errors.AudioError` that says what to do.

Decoding is done by soundfile (libsndfile: WAV, FLAC, OGG Vorbis/Opus, MP3 and the
other formats libsndfile knows), resampling by soxr.
"""

from __future__ import annotations

import errno
import io
import logging
import math
import os
import stat
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Literal

import numpy as np
import soundfile as sf
import soxr

from speechlab.errors import AudioError
from speechlab.files import name_max, output_error, writable_file

__all__ = [
    "DEFAULT_MAX_DURATION",
    "DEFAULT_RESAMPLE_QUALITY",
    "MAX_SAMPLE_RATE",
    "MIN_SAMPLE_RATE",
    "Audio",
    "AudioInfo",
    "ResampleQuality",
    "Seconds",
    "StreamResampler",
    "check_quality",
    "info",
    "iter_blocks",
    "load",
    "output_format",
]

log = logging.getLogger(__name__)

Seconds = float

MIN_SAMPLE_RATE = 1_000
MAX_SAMPLE_RATE = 768_000
#: ``load()`` refuses files longer than this (4 h) unless told otherwise; use ``iter_blocks``.
DEFAULT_MAX_DURATION: Seconds = 4 * 3600.0
_MAX_CHANNELS = 64
#: Float samples beyond this are refused: no audio is this loud, and float32 would overflow.
_MAX_FLOAT_SAMPLE = 1e30
_CONVERT_HINT = (
    "speechlab reads WAV, FLAC, OGG (Vorbis/Opus), MP3 and the other formats libsndfile "
    "knows; convert anything else first, e.g. `ffmpeg -i INPUT -ac 1 -ar 16000 out.wav`."
)
Normalization = Literal["peak", "rms"]
#: soxr's quality presets, fastest first: quick, low, medium, high, very high.
ResampleQuality = Literal["QQ", "LQ", "MQ", "HQ", "VHQ"]
#: The quality every resampling in speechlab uses unless told otherwise (``load``,
#: ``iter_blocks``, ``Audio.resample`` and the streaming resampler of live recognition).
DEFAULT_RESAMPLE_QUALITY: ResampleQuality = "HQ"
_QUALITIES = ("QQ", "LQ", "MQ", "HQ", "VHQ")
_DEFAULT_TARGET_DB = {"peak": -1.0, "rms": -20.0}


@dataclass(frozen=True)
class AudioInfo:
    """What a file's header says, read without decoding the samples."""

    sample_rate: int
    channels: int
    frames: int
    format: str
    subtype: str

    @property
    def duration(self) -> Seconds:
        return self.frames / self.sample_rate


@dataclass(eq=False)
class Audio:
    """Mono float32 samples with their rate.

    ``offset`` is where these samples start in ``source`` (seconds); it is non-zero for
    blocks produced by :func:`iter_blocks`.
    """

    samples: np.ndarray
    sample_rate: int
    source: str | None = None
    offset: Seconds = 0.0

    def __post_init__(self) -> None:
        self.sample_rate = _check_rate(self.sample_rate, "sample_rate")
        samples = np.asarray(self.samples)
        if samples.ndim != 1:
            raise AudioError(
                f"Audio.samples must be 1-D (mono), got shape {samples.shape}; "
                "use speechlab.audio.load(array, source_rate=...) to mix channels down."
            )
        self.samples = np.ascontiguousarray(samples, dtype=np.float32)

    @property
    def duration(self) -> Seconds:
        """Length in seconds."""
        return len(self.samples) / self.sample_rate

    def __len__(self) -> int:
        return len(self.samples)

    def __repr__(self) -> str:
        src = f", source={self.source!r}" if self.source else ""
        off = f", offset={self.offset:.2f}s" if self.offset else ""
        return f"Audio({self.duration:.2f} s, {self.sample_rate} Hz{src}{off})"

    def resample(
        self, sample_rate: int, *, quality: ResampleQuality = DEFAULT_RESAMPLE_QUALITY
    ) -> Audio:
        """Return a copy at ``sample_rate`` (soxr; ``quality`` as in :func:`load`)."""
        sample_rate = _check_rate(sample_rate, "sample_rate")
        return Audio(
            _resample(self.samples, self.sample_rate, sample_rate, quality),
            sample_rate,
            self.source,
            self.offset,
        )

    def normalize(self, mode: Normalization = "peak", target_db: float | None = None) -> Audio:
        """Return a copy scaled to a peak (default -1 dBFS) or RMS (default -20 dBFS) level.

        RMS normalisation never clips: the gain is limited so the peak stays at 0 dBFS.
        Silence is returned unchanged.
        """
        return Audio(
            _normalize(self.samples, mode, target_db), self.sample_rate, self.source, self.offset
        )

    def save(
        self, path: str | os.PathLike[str], *, format: str | None = None, subtype: str | None = None
    ) -> Path:
        """Write to ``path`` (format from the extension unless given), atomically.

        The location is checked first (:func:`speechlab.files.writable_file`): an unwritable
        one is an :class:`~speechlab.errors.OutputError`, an unknown format an AudioError.
        """
        path = Path(path).expanduser()
        fmt = output_format(path, format)
        if subtype is None and path.suffix.lower() == ".opus":
            subtype = "OPUS"
        writable_file(path, what="audio file")
        # the temporary name stays short, so a name near the file system's limit still fits
        prefix = f".{path.name[:40]}."
        try:
            fd, tmp = tempfile.mkstemp(prefix=prefix, suffix=".partial", dir=path.parent)
        except OSError as exc:
            raise output_error(exc, path, "audio file") from exc
        os.close(fd)
        try:
            sf.write(tmp, self.samples, self.sample_rate, format=fmt, subtype=subtype)
            os.replace(tmp, path)
        except (sf.LibsndfileError, ValueError, TypeError) as exc:
            raise AudioError(
                f"Could not write {path} as {fmt}{'/' + subtype if subtype else ''} at "
                f"{self.sample_rate} Hz: {exc}. MP3 and Opus accept only some sample rates; "
                "resample first or save as WAV/FLAC."
            ) from exc
        except OSError as exc:  # the disk filled up, the folder went away, ...
            raise output_error(exc, path, "audio file") from exc
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        return path

    def to_bytes(self, format: str = "WAV", subtype: str | None = None) -> bytes:
        """Encode to an in-memory file (WAV float by default)."""
        buf = io.BytesIO()
        try:
            sf.write(buf, self.samples, self.sample_rate, format=format, subtype=subtype)
        except (sf.LibsndfileError, ValueError, TypeError) as exc:
            raise AudioError(f"Could not encode audio as {format}: {exc}") from exc
        return buf.getvalue()


def output_format(path: str | os.PathLike[str], format: str | None = None) -> str:
    """The libsndfile format :meth:`Audio.save` writes ``path`` in (from the extension
    unless ``format`` is given); an AudioError for an unknown one, before any work."""
    path = Path(path)
    fmt = (format or path.suffix.lstrip(".")).upper()
    fmt = {"OGA": "OGG", "OPUS": "OGG"}.get(fmt, fmt)
    if fmt not in sf.available_formats():
        raise AudioError(
            f"Cannot save {path.name!r}: unknown audio format {fmt or '(no extension)'!r}. "
            "Use a .wav, .flac, .ogg or .mp3 extension (in Python, or pass format='WAV')."
        )
    return fmt


def load(
    source: Any,
    sample_rate: int | None = 16_000,
    *,
    source_rate: int | None = None,
    normalize: Normalization | None = None,
    target_db: float | None = None,
    max_duration: Seconds | None = DEFAULT_MAX_DURATION,
    quality: ResampleQuality = DEFAULT_RESAMPLE_QUALITY,
) -> Audio:
    """Load audio as mono float32 at ``sample_rate`` (``None`` keeps the native rate).

    ``source`` is a path, encoded bytes, a binary file object, an :class:`Audio`, a
    ``(array, rate)`` tuple, or an array/tensor with ``source_rate=`` (shape ``(n,)``,
    ``(n, channels)`` or ``(channels, n)``; integer PCM is scaled to [-1, 1]).
    Multi-channel audio is mixed down by averaging. ``normalize`` is ``"peak"`` or
    ``"rms"`` (see :meth:`Audio.normalize`). Files longer than ``max_duration`` seconds
    are refused before decoding; read those with :func:`iter_blocks`. ``quality`` is soxr's
    resampling preset (``"QQ"``, ``"LQ"``, ``"MQ"``, ``"HQ"``, ``"VHQ"``; default
    :data:`DEFAULT_RESAMPLE_QUALITY`).
    """
    if sample_rate is not None:
        sample_rate = _check_rate(sample_rate, "sample_rate")
    quality = check_quality(quality)
    audio = _decode(source, source_rate, max_duration)
    if sample_rate is not None and audio.sample_rate != sample_rate:
        audio = audio.resample(sample_rate, quality=quality)
    if normalize is not None:
        audio = audio.normalize(normalize, target_db)
    return audio


def info(source: str | os.PathLike[str] | bytes | BinaryIO) -> AudioInfo:
    """Read a file's header (rate, channels, length) without decoding its samples."""
    with _open(source) as (f, _label):
        return AudioInfo(f.samplerate, f.channels, f.frames, f.format, f.subtype)


def iter_blocks(
    source: str | os.PathLike[str] | bytes | BinaryIO,
    seconds: Seconds = 30.0,
    *,
    sample_rate: int | None = 16_000,
    quality: ResampleQuality = DEFAULT_RESAMPLE_QUALITY,
) -> Iterator[Audio]:
    """Yield consecutive mono blocks of ``seconds`` each (the last may be shorter).

    The file is decoded and resampled incrementally (a :class:`StreamResampler`, so
    block edges carry no artefacts): memory stays proportional to one block, whatever
    the file's length. Each block's ``offset`` is its start time in the file.
    """
    quality = check_quality(quality)
    if not isinstance(seconds, int | float) or not math.isfinite(seconds) or seconds <= 0:
        raise AudioError(f"iter_blocks needs seconds > 0, got {seconds!r}.")
    with _open(source) as (f, label):
        in_rate = f.samplerate
        out_rate = in_rate if sample_rate is None else _check_rate(sample_rate, "sample_rate")
        block = max(1, round(seconds * out_rate))
        resampler = StreamResampler(in_rate, out_rate, quality=quality)
        pending: list[np.ndarray] = []
        n_pending = 0
        emitted = 0
        read_frames = max(1, math.ceil(seconds * in_rate))
        raw_blocks = f.blocks(blocksize=read_frames, dtype="float32", always_2d=True)
        while True:
            try:
                raw = next(raw_blocks, None)
            except (sf.LibsndfileError, RuntimeError) as exc:
                at = (emitted + n_pending) / out_rate
                raise AudioError(
                    f"Could not decode {label} after {at:.1f} s: {_reason(exc, label)}; the file "
                    f"is corrupt there. {_CONVERT_HINT}"
                ) from exc
            last = raw is None
            chunk = np.zeros(0, np.float32) if last else _mixdown(raw)
            if not last and not np.isfinite(chunk).all():
                raise AudioError(
                    f"{label} contains NaN or infinite samples near "
                    f"{emitted / out_rate + n_pending / out_rate:.1f} s; the file is corrupt."
                )
            chunk = resampler(chunk, last=last)
            if len(chunk):
                pending.append(chunk)
                n_pending += len(chunk)
            while n_pending >= block or (last and n_pending):
                joined = np.concatenate(pending) if len(pending) > 1 else pending[0]
                out, rest = joined[:block], joined[block:]
                pending, n_pending = ([rest], len(rest)) if len(rest) else ([], 0)
                yield Audio(out, out_rate, label, emitted / out_rate)
                emitted += len(out)
            if last:
                break
        if emitted == 0:
            raise AudioError(f"{label} contains no audio samples (0 frames).")


# --------------------------------------------------------------------------- decoding


def _decode(source: Any, source_rate: int | None, max_duration: Seconds | None) -> Audio:
    if isinstance(source, Audio):
        _check_finite(source.samples, source.source or "Audio")
        return Audio(source.samples.copy(), source.sample_rate, source.source, source.offset)
    if isinstance(source, tuple):
        if len(source) != 2:
            raise AudioError(
                f"A tuple source must be (samples, sample_rate), got a tuple of {len(source)}."
            )
        samples, source_rate = source
        return _from_array(samples, source_rate, "array")
    if isinstance(source, str | os.PathLike | bytes | bytearray | memoryview) or hasattr(
        source, "read"
    ):
        return _read_whole(source, max_duration)
    if isinstance(source, np.ndarray | list) or hasattr(source, "__array__"):
        return _from_array(source, source_rate, "array")
    raise AudioError(
        f"Cannot load audio from an object of type {type(source).__name__}. Pass a path, "
        "bytes, a binary file object, an Audio, a (samples, rate) tuple, or an array with "
        "source_rate=."
    )


def _read_whole(source: Any, max_duration: Seconds | None) -> Audio:
    with _open(source) as (f, label):
        if max_duration is not None and f.frames > max_duration * f.samplerate:
            raise AudioError(
                f"{label} is {f.frames / f.samplerate / 3600:.1f} h long, more than "
                f"max_duration={max_duration:.0f} s. Read it in pieces with "
                "speechlab.audio.iter_blocks(path, seconds=...), or pass a larger max_duration."
            )
        try:
            data = f.read(dtype="float32", always_2d=True)
        except (sf.LibsndfileError, RuntimeError) as exc:
            raise AudioError(
                f"Could not decode {label}: {_reason(exc, label)}; the file is corrupt after its "
                f"header. {_CONVERT_HINT}"
            ) from exc
        rate = f.samplerate
    if data.shape[0] == 0:
        raise AudioError(f"{label} contains no audio samples (0 frames).")
    samples = _mixdown(data)
    _check_finite(samples, label)
    return Audio(samples, rate, label)


@contextmanager
def _open(source: Any) -> Iterator[tuple[sf.SoundFile, str]]:
    """Open ``source`` with soundfile, turning every failure into an AudioError."""
    label, obj = _describe(source)
    try:
        handle = sf.SoundFile(obj)
    except (sf.LibsndfileError, RuntimeError, TypeError, ValueError) as exc:
        raise AudioError(
            f"Could not decode {label}: {_reason(exc, label)}. {_CONVERT_HINT}"
        ) from exc
    with handle as f:
        if not MIN_SAMPLE_RATE <= f.samplerate <= MAX_SAMPLE_RATE:
            raise AudioError(
                f"{label} declares a sample rate of {f.samplerate} Hz, outside "
                f"{MIN_SAMPLE_RATE}-{MAX_SAMPLE_RATE} Hz: the header is corrupt or this is "
                "not audio. Re-encode it, e.g. `ffmpeg -i INPUT -ar 16000 out.wav`."
            )
        if not 1 <= f.channels <= _MAX_CHANNELS:
            raise AudioError(f"{label} declares {f.channels} channels; the header is corrupt.")
        yield f, label


def _describe(source: Any) -> tuple[str, Any]:
    """A label for messages, and the object soundfile should open; checks paths first."""
    if isinstance(source, bytes | bytearray | memoryview):
        data = bytes(source)
        if not data:
            raise AudioError("The audio bytes are empty (0 bytes); nothing to decode.")
        return f"audio bytes ({len(data)} bytes)", io.BytesIO(data)
    if isinstance(source, str | os.PathLike):
        path = Path(source).expanduser()
        _check_audio_file(path)
        return str(path), str(path)
    if hasattr(source, "read"):
        label = f"file object {getattr(source, 'name', type(source).__name__)!r}"
        mode = getattr(source, "mode", "b")
        if isinstance(source, io.TextIOBase) or (isinstance(mode, str) and "b" not in mode):
            raise AudioError(
                f"The {label} is open in text mode; audio is bytes. Open it in binary "
                "mode, e.g. open(path, 'rb'), or pass the path itself."
            )
        return label, source
    raise AudioError(
        f"Cannot read audio from a {type(source).__name__}; pass a path, bytes or a binary file."
    )


def _check_audio_file(path: Path) -> None:
    """An AudioError naming the problem for anything but a non-empty regular file.

    Pipes, character devices (``/dev/zero``), sockets and block devices are refused without
    opening them: reading one could block forever or never end.
    """
    try:
        status = path.stat()
    except FileNotFoundError:
        raise AudioError(
            f"Audio file not found: {path}. Check the path and the working dir."
        ) from None
    except OSError as exc:
        if exc.errno == errno.ENAMETOOLONG:
            name = max(path.parts, key=lambda part: len(os.fsencode(part)))
            raise AudioError(
                f"Cannot read {str(path)[:60]}…: the name {name[:40]}… is "
                f"{len(os.fsencode(name))} bytes long, more than the file system allows "
                f"({name_max(path.parent)} bytes), so no such file can exist. Check the path."
            ) from None
        if exc.errno == errno.ENOTDIR:
            raise AudioError(
                f"Audio file not found: {path} (a part of the path is a file, not a folder)."
            ) from None
        raise AudioError(f"Cannot read {path}: {exc.strerror or exc}.") from exc
    kind = stat.S_IFMT(status.st_mode)
    if kind == stat.S_IFDIR:
        raise AudioError(f"{path} is a directory, not an audio file.")
    if kind != stat.S_IFREG:
        what = _SPECIAL_FILES.get(kind, "not a regular file")
        raise AudioError(
            f"{path} is {what}, not an audio file; speechlab does not read from it (it could "
            "block or never end). Record or copy the audio into a file first, or pass its "
            "bytes: speechlab.load(data)."
        )
    if status.st_size == 0:
        raise AudioError(f"Audio file {path} is empty (0 bytes); re-record or re-export it.")


_SPECIAL_FILES = {
    stat.S_IFIFO: "a named pipe (FIFO)",
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
    stat.S_IFSOCK: "a socket",
}


def _reason(exc: Exception, label: str) -> str:
    text = str(exc).strip().rstrip(".")
    text = text.split(": ", 1)[-1] if text.startswith("Error opening") else text
    if "possibly a pipe" in text and not label.startswith(("audio bytes", "file object")):
        # libsndfile's words for a regular file whose bytes its MPEG decoder rejects
        suffix = Path(label).suffix.lstrip(".").upper() or "audio"
        return (
            f"the bytes are not {suffix} audio that libsndfile can decode (the file is corrupt "
            "or in another format)"
        )
    return text


def _from_array(samples: Any, source_rate: Any, label: str) -> Audio:
    if source_rate is None:
        raise AudioError(
            "An array has no sample rate: pass source_rate= (e.g. load(x, source_rate=44100)) "
            "or a (samples, rate) tuple."
        )
    rate = _check_rate(source_rate, "source_rate")
    if hasattr(samples, "detach"):  # torch tensor, without importing torch
        samples = samples.detach().cpu().numpy()
    try:
        arr = np.asarray(samples)
    except (ValueError, TypeError) as exc:
        raise AudioError(f"Could not turn the given samples into an array: {exc}") from exc
    arr = _to_float(arr)
    if arr.size == 0:
        raise AudioError(f"The audio array is empty (shape {arr.shape}, 0 samples).")
    if arr.ndim not in (1, 2):
        raise AudioError(
            f"Audio arrays must be 1-D or 2-D (samples x channels), got shape {arr.shape}."
        )
    _check_finite(arr, label)  # before mixing: NaNs are counted per sample, inf never averaged
    if arr.ndim == 2:
        arr = _mixdown(_channels_last(arr))
    return Audio(arr, rate, None)


def _to_float(arr: np.ndarray) -> np.ndarray:
    kind = arr.dtype.kind
    if kind == "f":
        peak = float(np.max(np.abs(arr), initial=0.0))  # NaN/inf: _check_finite says so
        if math.isfinite(peak) and peak > _MAX_FLOAT_SAMPLE:
            raise AudioError(
                f"Float audio samples are expected in [-1, 1], but these reach {peak:.3g}; "
                "they are not audio, or need scaling first (e.g. x / np.abs(x).max())."
            )
        with np.errstate(over="ignore"):  # only beside NaN/inf, which _check_finite reports
            return arr.astype(np.float32, copy=False)
    if kind == "i":
        return (arr / float(2 ** (8 * arr.dtype.itemsize - 1))).astype(np.float32)
    if kind == "u":
        mid = float(2 ** (8 * arr.dtype.itemsize - 1))
        return ((arr - mid) / mid).astype(np.float32)
    raise AudioError(
        f"Audio samples must be float or integer PCM, got dtype {arr.dtype}. "
        "Convert them first, e.g. np.asarray(x, dtype=np.float32)."
    )


def _channels_last(arr: np.ndarray) -> np.ndarray:
    rows, cols = arr.shape
    if cols <= _MAX_CHANNELS and cols <= rows:
        return arr
    if rows <= _MAX_CHANNELS:
        return arr.T
    raise AudioError(
        f"Cannot tell channels from samples in an array of shape {arr.shape}; "
        "pass shape (samples, channels) with at most 64 channels."
    )


def _mixdown(data: np.ndarray) -> np.ndarray:
    if data.ndim == 1:
        return data
    if data.shape[1] == 1:
        return data[:, 0]
    return data.mean(axis=1, dtype=np.float32)


def _check_finite(samples: np.ndarray, label: str) -> None:
    finite = np.isfinite(samples)
    if not finite.all():
        bad = int(finite.size - np.count_nonzero(finite))
        raise AudioError(
            f"{label} contains {bad} NaN or infinite sample(s); the audio is corrupt. "
            "Clean it first (e.g. np.nan_to_num) if you know the rest is usable."
        )


def _check_rate(rate: Any, name: str) -> int:
    if isinstance(rate, bool) or not isinstance(rate, int | float | np.integer | np.floating):
        raise AudioError(f"{name} must be a number of Hz, got {type(rate).__name__} {rate!r}.")
    if not math.isfinite(rate) or int(rate) != rate:
        raise AudioError(f"{name} must be a whole number of Hz, got {rate!r}.")
    rate = int(rate)
    if not MIN_SAMPLE_RATE <= rate <= MAX_SAMPLE_RATE:
        raise AudioError(
            f"{name}={rate} Hz is not a plausible audio rate "
            f"({MIN_SAMPLE_RATE}-{MAX_SAMPLE_RATE} Hz). Speech models here use 16000 or 24000."
        )
    return rate


# --------------------------------------------------------------------------- processing


class StreamResampler:
    """Resample a stream of mono float32 blocks of any size, block by block (soxr's
    ``ResampleStream``): the joined output equals resampling the joined input, without
    artefacts at block edges. The output lags the input by the filter's delay; pass
    ``last=True`` with the final block to flush it. Equal rates pass blocks through."""

    def __init__(
        self, in_rate: int, out_rate: int, *, quality: ResampleQuality = DEFAULT_RESAMPLE_QUALITY
    ) -> None:
        self.in_rate = _check_rate(in_rate, "in_rate")
        self.out_rate = _check_rate(out_rate, "out_rate")
        self.quality = check_quality(quality)
        self._stream = (
            soxr.ResampleStream(self.in_rate, self.out_rate, 1, dtype="float32", quality=quality)
            if self.in_rate != self.out_rate
            else None
        )

    def __call__(self, samples: np.ndarray, *, last: bool = False) -> np.ndarray:
        samples = np.ascontiguousarray(samples, dtype=np.float32)
        if self._stream is None:
            return samples.copy()
        return np.asarray(self._stream.resample_chunk(samples, last=last), dtype=np.float32)


def check_quality(quality: Any) -> ResampleQuality:
    """``quality`` if it is one of soxr's presets, else an :class:`AudioError` listing them."""
    if quality not in _QUALITIES:
        raise AudioError(
            f"Resampling quality must be one of {', '.join(_QUALITIES)} (soxr's presets, "
            f"fastest first), got {quality!r}."
        )
    return quality


def _resample(
    samples: np.ndarray, in_rate: int, out_rate: int, quality: ResampleQuality
) -> np.ndarray:
    if in_rate == out_rate:
        return samples.copy()
    quality = check_quality(quality)
    return np.asarray(soxr.resample(samples, in_rate, out_rate, quality=quality), dtype=np.float32)


def _normalize(samples: np.ndarray, mode: str, target_db: float | None) -> np.ndarray:
    if mode not in _DEFAULT_TARGET_DB:
        raise AudioError(f"normalize must be 'peak' or 'rms', got {mode!r}.")
    target = _DEFAULT_TARGET_DB[mode] if target_db is None else float(target_db)
    if not math.isfinite(target) or target > 0:
        raise AudioError(f"target_db must be a finite level <= 0 dBFS, got {target_db!r}.")
    peak = float(np.max(np.abs(samples))) if len(samples) else 0.0
    if peak == 0.0:
        return samples.copy()
    level = (
        peak if mode == "peak" else float(np.sqrt(np.mean(np.square(samples, dtype=np.float64))))
    )
    gain = 10 ** (target / 20) / level
    if peak * gain > 1.0:
        log.info("RMS normalisation limited to avoid clipping (gain %.2f -> %.2f)", gain, 1 / peak)
        gain = 1.0 / peak
    return (samples * gain).astype(np.float32)
