"""Rooms and channels for training-time augmentation: reverberation, gain, telephone.

Pure numpy/scipy functions of a waveform (float32 mono) and, where random, of a
``numpy.random.Generator`` the caller seeds (see :mod:`speechlab.train.augment`):

* :func:`room_impulse_response`: a synthetic room, a direct path followed by exponentially
  decaying Gaussian noise whose energy falls 60 dB in ``rt60`` seconds (the standard
  statistical model of a diffuse late field), with a direct-to-reverberant ratio;
  :func:`reverberate` convolves speech with it; :func:`measure_rt60` reads a response's
  RT60 back by Schroeder backward integration (T20, extrapolated to 60 dB).
* :func:`change_gain`: a level change in dB, hard-clipped at full scale. The model
  normalises every input to zero mean and unit variance, so a gain alone changes
  nothing it sees; what it learns from is the clipping of loud inputs.
* :func:`telephone`: narrowband telephony, a 300-3400 Hz band-pass, a round trip
  through 8 kHz and, optionally, G.711-style 8-bit mu-law companding.
"""

from __future__ import annotations

import numpy as np
import soxr

from speechlab.train.errors import ConfigError

__all__ = [
    "TELEPHONE_BAND",
    "change_gain",
    "measure_rt60",
    "mu_law",
    "reverberate",
    "room_impulse_response",
    "telephone",
]

#: The pass band of narrowband telephony, Hz.
TELEPHONE_BAND = (300.0, 3400.0)
TELEPHONE_RATE = 8_000
_DECAY_60DB = 3.0 * np.log(10.0)  # amplitude envelope exp(-_DECAY_60DB * t / rt60)
_PREDELAY_S = 0.003  # first reflection after the direct path
_CLIP = 1.0


def room_impulse_response(
    rt60: float, sample_rate: int, rng: np.random.Generator, *, drr_db: float = 3.0
) -> np.ndarray:
    """A synthetic room impulse response: ``1`` at t = 0, then Gaussian noise under an
    envelope that loses 60 dB of energy in ``rt60`` seconds, scaled so that the direct
    path has ``drr_db`` dB more energy than the tail. Long enough for the tail to fall
    70 dB."""
    if not 0.05 <= rt60 <= 3.0:
        raise ConfigError(f"rt60 must lie in [0.05, 3.0] s, got {rt60}.")
    start = max(1, round(_PREDELAY_S * sample_rate))
    length = start + int(np.ceil(rt60 * 70 / 60 * sample_rate))
    t = np.arange(length - start) / sample_rate
    tail = rng.standard_normal(length - start) * np.exp(-_DECAY_60DB * t / rt60)
    energy = float(np.sum(tail**2))
    tail *= np.sqrt(10 ** (-drr_db / 10) / energy) if energy > 0 else 0.0
    response = np.zeros(length, dtype=np.float64)
    response[0] = 1.0
    response[start:] = tail
    return response.astype(np.float32)


def reverberate(samples: np.ndarray, response: np.ndarray) -> np.ndarray:
    """``samples`` heard in the room of ``response``: convolved, cut to the input's length
    (the direct path stays aligned with the transcript's timing) and rescaled to the
    input's RMS."""
    from scipy.signal import fftconvolve

    if not len(samples):
        return samples
    wet = fftconvolve(samples.astype(np.float64), response.astype(np.float64))[: len(samples)]
    return _match_rms(wet, samples)


def measure_rt60(response: np.ndarray, sample_rate: int) -> float:
    """RT60 of an impulse response by Schroeder backward integration: the slope of the
    energy decay curve between -5 and -25 dB (T20), extrapolated to 60 dB."""
    energy = np.cumsum((response.astype(np.float64) ** 2)[::-1])[::-1]
    curve = 10 * np.log10(np.maximum(energy / energy[0], 1e-300))
    band = np.flatnonzero((curve <= -5.0) & (curve >= -25.0))
    if len(band) < 2:
        raise ConfigError("The response decays too little to measure its RT60 (need 25 dB).")
    slope, _ = np.polyfit(band / sample_rate, curve[band], 1)
    return float(-60.0 / slope)


def change_gain(samples: np.ndarray, gain_db: float) -> np.ndarray:
    """``samples`` ``gain_db`` dB louder (or quieter), clipped to [-1, 1]."""
    out = samples.astype(np.float32) * np.float32(10 ** (gain_db / 20))
    return np.clip(out, -_CLIP, _CLIP)


def mu_law(samples: np.ndarray, bits: int = 8, mu: float = 255.0) -> np.ndarray:
    """Mu-law compand ``samples`` (clipped to [-1, 1]) to ``bits`` bits and expand back."""
    x = np.clip(samples.astype(np.float64), -1.0, 1.0)
    compressed = np.sign(x) * np.log1p(mu * np.abs(x)) / np.log1p(mu)
    levels = 2 ** (bits - 1) - 1
    quantised = np.round(compressed * levels) / levels
    expanded = np.sign(quantised) * np.expm1(np.abs(quantised) * np.log1p(mu)) / mu
    return expanded.astype(np.float32)


def telephone(samples: np.ndarray, sample_rate: int, *, mulaw: bool = False) -> np.ndarray:
    """``samples`` as a narrowband telephone line carries them: band-passed to
    :data:`TELEPHONE_BAND` (4th-order Butterworth), resampled to 8 kHz, mu-law companded
    when ``mulaw`` (levels first brought to a -20 dBFS RMS, as a codec sees them), and
    resampled back to ``sample_rate`` with the input's RMS and length."""
    from scipy.signal import butter, sosfilt

    if not len(samples):
        return samples
    sos = butter(4, TELEPHONE_BAND, btype="bandpass", fs=sample_rate, output="sos")
    narrow = soxr.resample(sosfilt(sos, samples.astype(np.float64)), sample_rate, TELEPHONE_RATE)
    if mulaw:
        rms = float(np.sqrt(np.mean(narrow**2)))
        level = 0.1 / rms if rms > 0 else 1.0
        narrow = mu_law(narrow * level) / level
    back = soxr.resample(narrow, TELEPHONE_RATE, sample_rate)
    out = np.zeros(len(samples), dtype=np.float64)
    out[: min(len(back), len(out))] = back[: len(out)]
    return _match_rms(out, samples)


def _match_rms(out: np.ndarray, reference: np.ndarray) -> np.ndarray:
    want = float(np.sqrt(np.mean(reference.astype(np.float64) ** 2)))
    have = float(np.sqrt(np.mean(out**2)))
    scaled = out * (want / have) if have > 0 else out
    return scaled.astype(np.float32)
