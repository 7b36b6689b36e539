"""Room and channel augmentation: reverberation, gain, telephone; seeded plans that add them
without moving the speed and noise draws of existing runs."""

from __future__ import annotations

import numpy as np
import pytest

from speechlab.train.augment import AugmentPlan, Effects, apply_plan, choose_plan, seeded
from speechlab.train.channel import (
    TELEPHONE_BAND,
    change_gain,
    measure_rt60,
    mu_law,
    reverberate,
    room_impulse_response,
    telephone,
)
from speechlab.train.config import TrainConfig
from speechlab.train.errors import ConfigError

RATE = 16_000


def _speechlike(seconds: float = 1.0, seed: int = 0) -> np.ndarray:
    """Broadband bursts (white noise gated at 4 Hz) at about -20 dBFS."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * RATE)) / RATE
    gate = (np.sin(2 * np.pi * 4 * t) > 0).astype(np.float64)
    return (0.1 * rng.standard_normal(len(t)) * gate).astype(np.float32)


def _band_share(samples: np.ndarray, low: float, high: float) -> float:
    """Share of the signal's energy between ``low`` and ``high`` Hz."""
    power = np.abs(np.fft.rfft(samples.astype(np.float64))) ** 2
    freqs = np.fft.rfftfreq(len(samples), 1 / RATE)
    return float(power[(freqs >= low) & (freqs < high)].sum() / power.sum())


@pytest.mark.parametrize("rt60", [0.2, 0.5, 0.9])
def test_room_response_decays_in_the_asked_rt60(rt60):
    for seed in range(3):
        response = room_impulse_response(rt60, RATE, seeded(seed))
        # measured: within 3.3 % of the asked value for these nine responses
        assert measure_rt60(response, RATE) == pytest.approx(rt60, rel=0.10)
        assert response[0] == 1.0 and response.dtype == np.float32
        assert len(response) >= rt60 * RATE  # long enough for the 60 dB of decay


def test_room_response_is_seeded_and_refuses_odd_rooms():
    a = room_impulse_response(0.4, RATE, seeded(1))
    assert np.array_equal(a, room_impulse_response(0.4, RATE, seeded(1)))
    assert not np.array_equal(a, room_impulse_response(0.4, RATE, seeded(2)))
    with pytest.raises(ConfigError, match="rt60"):
        room_impulse_response(5.0, RATE, seeded(1))


def test_reverberation_keeps_length_and_level_and_smears_time():
    dry = _speechlike()
    wet = reverberate(dry, room_impulse_response(0.6, RATE, seeded(0)))
    assert wet.shape == dry.shape and wet.dtype == np.float32
    assert np.sqrt(np.mean(wet**2)) == pytest.approx(np.sqrt(np.mean(dry**2)), rel=1e-3)
    gaps = np.flatnonzero(dry == 0)  # the gated-off halves: silent when dry
    # measured: 0 dry, 0.25 of the mean square once reverberant (the tail fills the gaps)
    assert np.mean(wet[gaps] ** 2) > 0.1 * np.mean(wet**2)


def test_gain_scales_and_clips_at_full_scale():
    x = _speechlike()
    assert np.allclose(change_gain(x, -6.0), x * 10 ** (-6 / 20), atol=1e-7)
    loud = change_gain(x, 20.0)
    assert np.abs(loud).max() == 1.0  # 10x a 0.39 peak clips
    assert np.mean(np.abs(loud) == 1.0) > 0.05  # measured: 15.7 % of the samples


def test_telephone_removes_energy_outside_its_band():
    x = _speechlike()
    assert _band_share(x, 4000, 8000) > 0.45  # white bursts: half their energy above 4 kHz
    for mulaw in (False, True):
        y = telephone(x, RATE, mulaw=mulaw)
        assert y.shape == x.shape and y.dtype == np.float32
        # measured: 9.4e-7 of the energy above 4 kHz (plain and mu-law), 2.8e-4 below
        # 200 Hz, 0.959 inside 300-3400 Hz
        assert _band_share(y, 4000, 8000) < 1e-4
        assert _band_share(y, 0, 200) < 0.005
        assert _band_share(y, *TELEPHONE_BAND) > 0.9


def test_mu_law_quantises_to_256_levels_with_small_relative_error():
    x = np.linspace(-1, 1, 10_001, dtype=np.float32)
    y = mu_law(x)
    assert len(np.unique(y)) <= 255
    big = np.abs(x) > 0.01
    assert np.max(np.abs(y[big] - x[big]) / np.abs(x[big])) < 0.05  # measured 0.029


def test_plans_add_effects_after_the_speed_and_noise_draws():
    choices = ([0.9, 1.0, 1.1], [None, 20.0, 10.0], ["white", "pink"])
    effects = Effects(reverb_prob=0.5, gain_prob=0.5, telephone_prob=0.5)
    plain = [choose_plan(seeded(3, 0, i), *choices) for i in range(200)]
    rich = [choose_plan(seeded(3, 0, i), *choices, effects) for i in range(200)]
    for a, b in zip(plain, rich, strict=True):  # an existing run's draws are unchanged
        assert (a.speed, a.snr_db, a.color, a.noise_seed) == (
            b.speed,
            b.snr_db,
            b.color,
            b.noise_seed,
        )
        assert a.rt60 is None and a.gain_db == 0.0 and not a.telephone
    assert rich == [choose_plan(seeded(3, 0, i), *choices, effects) for i in range(200)]
    rt60s = [p.rt60 for p in rich if p.rt60 is not None]
    assert 70 < len(rt60s) < 130 and all(0.2 <= r <= 0.8 for r in rt60s)
    assert 70 < sum(p.telephone for p in rich) < 130
    assert 0 < sum(p.mulaw for p in rich) < sum(p.telephone for p in rich)
    assert all(-10 <= p.gain_db <= 10 for p in rich)


def test_apply_plan_is_deterministic_and_each_effect_changes_the_audio():
    x = _speechlike()
    base = AugmentPlan()
    assert np.array_equal(apply_plan(x, base, RATE), x)
    for change in (
        {"rt60": 0.5, "room_seed": 4},
        {"gain_db": 15.0},
        {"telephone": True},
        {"telephone": True, "mulaw": True},
    ):
        plan = AugmentPlan(speed=1.1, snr_db=20.0, noise_seed=2, **change)
        out = apply_plan(x, plan, RATE)
        assert np.array_equal(out, apply_plan(x, plan, RATE))
        assert not np.allclose(out, apply_plan(x, AugmentPlan(1.1, 20.0, "white", 2), RATE))


def test_effects_are_validated_and_reach_the_training_config(tmp_path):
    with pytest.raises(ConfigError, match="reverb_prob"):
        Effects(reverb_prob=1.5)
    with pytest.raises(ConfigError, match="rt60"):
        Effects(rt60=(0.9, 0.2))
    cfg = TrainConfig(
        out_dir=str(tmp_path),
        train="x.tsv",
        model="m",
        reverb_prob="0.3",
        reverb_rt60=[0.15, 0.8],
        telephone_prob=0.1,
        gain_prob=0.2,
        gain_db=[-6, 12],
    )
    assert cfg.effects() == Effects(0.3, (0.15, 0.8), 0.2, (-6.0, 12.0), 0.1, 0.5)
    with pytest.raises(ConfigError, match="gain_db"):
        TrainConfig(out_dir=str(tmp_path), train="x.tsv", model="m", gain_db=[-50, 0])
