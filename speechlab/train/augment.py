"""Waveform augmentation for training: speed perturbation and additive noise at an SNR.

Every random choice comes from a generator seeded by ``(seed, *keys)`` (e.g. the run seed,
the epoch and the item's position), never from global state: an item gets the same
augmentation whether the run went straight through or was resumed, on any number of
processes. SpecAugment is not here: it is the model's own time masking
(``mask_time_prob`` in the model config), applied in its forward pass while training.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import soxr

from speechlab.train.errors import ConfigError

__all__ = [
    "NOISE_COLORS",
    "AugmentPlan",
    "add_noise",
    "apply_plan",
    "change_speed",
    "check_choices",
    "choose_plan",
    "make_noise",
    "seeded",
]

NOISE_COLORS = ("white", "pink")
MIN_SPEED, MAX_SPEED = 0.5, 2.0


@dataclass(frozen=True)
class AugmentPlan:
    """What to do to one item: speed factor (>1 is faster and shorter), noise SNR in dB
    (None: no noise), noise colour, and the seed of the noise samples."""

    speed: float = 1.0
    snr_db: float | None = None
    color: str = "white"
    noise_seed: int = 0


def seeded(seed: int, *keys: int) -> np.random.Generator:
    """A generator that depends only on ``seed`` and ``keys`` (non-negative integers)."""
    return np.random.default_rng([int(seed), *(int(k) for k in keys)])


def choose_plan(
    rng: np.random.Generator,
    speeds: Sequence[float] = (1.0,),
    snrs_db: Sequence[float | None] = (None,),
    colors: Sequence[str] = ("white",),
) -> AugmentPlan:
    """Draw one plan uniformly from the choices (always the same number of draws)."""
    speed = float(speeds[int(rng.integers(len(speeds)))])
    snr = snrs_db[int(rng.integers(len(snrs_db)))]
    color = colors[int(rng.integers(len(colors)))]
    noise_seed = int(rng.integers(2**31))
    return AugmentPlan(speed, None if snr is None else float(snr), str(color), noise_seed)


def check_choices(
    speeds: Sequence[float], snrs_db: Sequence[float | None], colors: Sequence[str]
) -> None:
    """A ConfigError for empty choice lists, speeds out of range or unknown colours."""
    if not speeds or not snrs_db or not colors:
        raise ConfigError("Speed, SNR and noise-colour choices need at least one value each.")
    bad = [s for s in speeds if not MIN_SPEED <= float(s) <= MAX_SPEED]
    if bad:
        raise ConfigError(f"Speed factors must lie in [{MIN_SPEED}, {MAX_SPEED}], got {bad}.")
    unknown = [c for c in colors if c not in NOISE_COLORS]
    if unknown:
        raise ConfigError(f"Unknown noise colour(s) {unknown}; choose from {NOISE_COLORS}.")


def change_speed(samples: np.ndarray, factor: float, sample_rate: int) -> np.ndarray:
    """Play ``samples`` ``factor`` times faster (tempo and pitch, as Kaldi's speed
    perturbation): resampled with soxr to ``sample_rate / factor`` and read at
    ``sample_rate``."""
    if factor == 1.0:
        return samples
    out = soxr.resample(samples, sample_rate, sample_rate / factor, quality="HQ")
    return np.ascontiguousarray(out, dtype=np.float32)


def make_noise(n: int, color: str, rng: np.random.Generator) -> np.ndarray:
    """``n`` samples of unit-RMS white or pink (1/f power) noise."""
    white = rng.standard_normal(n)
    if color == "pink":
        spectrum = np.fft.rfft(white)
        freqs = np.arange(len(spectrum), dtype=np.float64)
        spectrum[1:] /= np.sqrt(freqs[1:])
        spectrum[0] = 0.0
        white = np.fft.irfft(spectrum, n)
    elif color != "white":
        raise ConfigError(f"Unknown noise colour {color!r}; choose from {NOISE_COLORS}.")
    rms = float(np.sqrt(np.mean(white**2))) if n else 0.0
    return (white / rms if rms > 0 else white).astype(np.float32)


def add_noise(
    samples: np.ndarray, snr_db: float, color: str, rng: np.random.Generator
) -> np.ndarray:
    """``samples`` plus noise whose power is the signal's divided by ``10**(snr_db/10)``.

    Digital silence is returned as it is (no SNR is defined for it).
    """
    power = float(np.mean(samples.astype(np.float64) ** 2)) if len(samples) else 0.0
    if power == 0.0:
        return samples
    noise = make_noise(len(samples), color, rng)
    scale = np.sqrt(power / 10 ** (snr_db / 10))
    return (samples + scale * noise).astype(np.float32)


def apply_plan(samples: np.ndarray, plan: AugmentPlan, sample_rate: int) -> np.ndarray:
    """Speed first, then noise (so the SNR holds on the audio the model hears)."""
    out = change_speed(samples, plan.speed, sample_rate)
    if plan.snr_db is not None:
        out = add_noise(out, plan.snr_db, plan.color, seeded(plan.noise_seed))
    return out
