"""Waveform augmentation for training: speed perturbation, room reverberation, additive
noise at an SNR, telephone band-limiting and gain changes (the last three in
:mod:`speechlab.train.channel`).

Every random choice comes from a generator seeded by ``(seed, *keys)`` (e.g. the run seed,
the epoch and the item's position), never from global state: an item gets the same
augmentation whether the run went straight through or was resumed, on any number of
processes. The room and channel effects are drawn after the speed and noise choices, so
adding them leaves the speed and noise of every item as they were. SpecAugment is not
here: it is the model's own time masking (``mask_time_prob`` in the model config),
applied in its forward pass while training.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import soxr

from speechlab.train.channel import change_gain, reverberate, room_impulse_response, telephone
from speechlab.train.errors import ConfigError

__all__ = [
    "NOISE_COLORS",
    "AugmentPlan",
    "Effects",
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
    (None: no noise), noise colour, the seed of the noise samples; the room's RT60 in
    seconds (None: dry) and the seed of its impulse response; a gain in dB (0: none);
    telephone band-limiting, with or without mu-law companding."""

    speed: float = 1.0
    snr_db: float | None = None
    color: str = "white"
    noise_seed: int = 0
    rt60: float | None = None
    room_seed: int = 0
    gain_db: float = 0.0
    telephone: bool = False
    mulaw: bool = False


@dataclass(frozen=True)
class Effects:
    """How often each room/channel effect applies and its range: reverberation with RT60
    uniform in ``rt60`` (s), gain uniform in ``gain_db`` (dB), telephone band-limiting
    (mu-law companded in ``mulaw_prob`` of those items)."""

    reverb_prob: float = 0.0
    rt60: tuple[float, float] = (0.2, 0.8)
    gain_prob: float = 0.0
    gain_db: tuple[float, float] = (-10.0, 10.0)
    telephone_prob: float = 0.0
    mulaw_prob: float = 0.5

    def __post_init__(self) -> None:
        for name in ("reverb_prob", "gain_prob", "telephone_prob", "mulaw_prob"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ConfigError(f"{name} must be in [0, 1], got {getattr(self, name)}.")
        for name, low, high in (("rt60", 0.05, 3.0), ("gain_db", -40.0, 40.0)):
            pair = getattr(self, name)
            if len(pair) != 2 or not low <= pair[0] <= pair[1] <= high:
                raise ConfigError(
                    f"{name} must be a range [low, high] inside [{low}, {high}], got {pair}."
                )


def seeded(seed: int, *keys: int) -> np.random.Generator:
    """A generator that depends only on ``seed`` and ``keys`` (non-negative integers)."""
    return np.random.default_rng([int(seed), *(int(k) for k in keys)])


def choose_plan(
    rng: np.random.Generator,
    speeds: Sequence[float] = (1.0,),
    snrs_db: Sequence[float | None] = (None,),
    colors: Sequence[str] = ("white",),
    effects: Effects = Effects(),
) -> AugmentPlan:
    """Draw one plan uniformly from the choices and ``effects`` (always the same number of
    draws, the speed and noise ones first)."""
    speed = float(speeds[int(rng.integers(len(speeds)))])
    snr = snrs_db[int(rng.integers(len(snrs_db)))]
    color = colors[int(rng.integers(len(colors)))]
    noise_seed = int(rng.integers(2**31))
    reverb, rt60, room_seed = rng.random(), rng.uniform(*effects.rt60), int(rng.integers(2**31))
    gain, gain_db = rng.random(), rng.uniform(*effects.gain_db)
    phone, mulaw = rng.random(), rng.random()
    return AugmentPlan(
        speed,
        None if snr is None else float(snr),
        str(color),
        noise_seed,
        rt60=round(float(rt60), 3) if reverb < effects.reverb_prob else None,
        room_seed=room_seed,
        gain_db=round(float(gain_db), 2) if gain < effects.gain_prob else 0.0,
        telephone=bool(phone < effects.telephone_prob),
        mulaw=bool(phone < effects.telephone_prob and mulaw < effects.mulaw_prob),
    )


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
    """Speed, room, noise (its SNR measured on the reverberant speech), telephone line,
    gain: the order sound takes from a speaker through a room and a line to a recorder."""
    out = change_speed(samples, plan.speed, sample_rate)
    if plan.rt60 is not None:
        response = room_impulse_response(plan.rt60, sample_rate, seeded(plan.room_seed))
        out = reverberate(out, response)
    if plan.snr_db is not None:
        out = add_noise(out, plan.snr_db, plan.color, seeded(plan.noise_seed))
    if plan.telephone:
        out = telephone(out, sample_rate, mulaw=plan.mulaw)
    if plan.gain_db:
        out = change_gain(out, plan.gain_db)
    return out
