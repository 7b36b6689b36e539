"""What the viewer draws, computed in numpy/librosa: a WAV for the player, a waveform envelope
and a log-mel spectrogram as 8-bit pixels (small enough to sync, drawn on a canvas)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from speechlab.audio import Audio

__all__ = ["Spectrogram", "envelope", "log_mel", "wav_bytes"]

#: The waveform is drawn with at most this many columns (min/max per column).
ENVELOPE_COLUMNS = 1200
#: Spectrograms wider than this many frames get a longer hop.
MAX_FRAMES = 3000
N_MELS = 80
TOP_DB = 80.0
_SILENT_POWER = 1e-10


@dataclass(frozen=True)
class Spectrogram:
    """A log-mel spectrogram as uint8 pixels, row 0 = lowest band, ``top_db`` below the peak → 0."""

    pixels: bytes  # n_mels * n_frames bytes, row-major (band, frame)
    n_mels: int
    n_frames: int
    fmax: float
    hop_seconds: float


def wav_bytes(audio: Audio) -> bytes:
    """16-bit PCM WAV at the audio's own rate (what an ``<audio>`` element plays)."""
    return audio.to_bytes("WAV", "PCM_16")


def envelope(samples: np.ndarray, columns: int = ENVELOPE_COLUMNS) -> np.ndarray:
    """Interleaved (min, max) per column, float32, at most ``columns`` columns."""
    samples = np.asarray(samples, dtype=np.float32)
    if samples.size == 0:
        return np.zeros(0, np.float32)
    columns = max(1, min(columns, samples.size))
    starts = np.linspace(0, samples.size, columns, endpoint=False).astype(np.int64)
    lows = np.minimum.reduceat(samples, starts)
    highs = np.maximum.reduceat(samples, starts)
    return np.stack([lows, highs], axis=1).reshape(-1).astype(np.float32)


def log_mel(audio: Audio, n_mels: int = N_MELS, max_frames: int = MAX_FRAMES) -> Spectrogram:
    """Log-mel power (25 ms windows, 10 ms hop or longer for long audio) scaled to 0–255."""
    import librosa

    rate = audio.sample_rate
    win = max(16, round(0.025 * rate))
    n_fft = 1 << (win - 1).bit_length()
    samples = audio.samples
    if samples.size < n_fft:
        samples = np.pad(samples, (0, n_fft - samples.size))
    hop = max(round(0.010 * rate), math.ceil(samples.size / max_frames))
    fmax = min(rate / 2, 12_000.0)
    power = librosa.feature.melspectrogram(
        y=samples,
        sr=rate,
        n_fft=n_fft,
        hop_length=hop,
        win_length=win,
        n_mels=n_mels,
        fmax=fmax,
        power=2.0,
    )
    if float(power.max()) <= _SILENT_POWER:
        pixels = np.zeros(power.shape, np.uint8)
    else:
        db = librosa.power_to_db(power, ref=np.max, top_db=TOP_DB)
        pixels = np.round((db + TOP_DB) / TOP_DB * 255).clip(0, 255).astype(np.uint8)
    return Spectrogram(
        np.ascontiguousarray(pixels).tobytes(),
        int(pixels.shape[0]),
        int(pixels.shape[1]),
        fmax,
        hop / rate,
    )
