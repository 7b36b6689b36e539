"""Per-item voices for synthetic corpora: blend specs, random blends that keep away from a
held-out blend, espeak-ng variants, continuous speeds, and synthesis of explicit plans."""

from __future__ import annotations

import json

import numpy as np
import pytest
from train_fixtures import FakeTTS

from speechlab.train.augment import seeded
from speechlab.train.errors import ConfigError
from speechlab.train.synth import synth_plans
from speechlab.train.voice_plan import (
    KOKORO_VOICES,
    VoicePlanner,
    blend_distance,
    blend_spec,
    blend_weights,
    random_blend,
)
from speechlab.tts.voices import parse_blend

HELD = "jf_alpha:0.20,jf_nezumi:0.20,jm_kumo:0.60"
TEXTS = [f"Zdanie numer {i}." for i in range(300)]


def test_blend_specs_round_trip_through_the_synthesizers_parser():
    spec = blend_spec({"jm_kumo": 0.333, "jf_alpha": 0.333, "jf_nezumi": 0.334, "jf_tebukuro": 0})
    assert spec == "jf_alpha:0.33,jf_nezumi:0.34,jm_kumo:0.33"
    assert sum(parse_blend(spec).values()) == pytest.approx(1.0)
    assert blend_spec({"jm_kumo": 0.996, "jf_alpha": 0.004}) == "jm_kumo"
    assert blend_distance(HELD, "jm_kumo", KOKORO_VOICES) == pytest.approx(np.sqrt(0.24))
    with pytest.raises(ConfigError, match="not among"):
        blend_weights("jm_kumo:0.5,af_heart:0.5", KOKORO_VOICES)


def test_random_blends_stay_away_from_the_held_out_blend():
    planner = VoicePlanner.kokoro(KOKORO_VOICES, avoid=HELD, min_distance=0.35)
    plans = planner.plan(TEXTS, seed=10)
    held = blend_weights(HELD, KOKORO_VOICES)
    distances = [np.linalg.norm(blend_weights(p.voice, KOKORO_VOICES) - held) for p in plans]
    assert min(distances) >= 0.35
    assert HELD not in {p.voice for p in plans}
    pure = [p.voice for p in plans if "," not in p.voice]
    assert 0.15 < len(pure) / len(plans) < 0.35  # pure_prob 0.25
    assert set(pure) <= set(KOKORO_VOICES)
    speeds = [p.speed for p in plans]
    assert 0.8 <= min(speeds) < 0.85 and 1.2 < max(speeds) <= 1.25
    assert len(set(speeds)) > 30  # continuous (two decimals), not a few choices
    assert all(p.snr_db is None for p in plans)  # noise is added at training time


def test_plans_depend_only_on_seed_and_index():
    planner = VoicePlanner.kokoro(avoid=HELD, min_distance=0.35)
    assert planner.plan(TEXTS, 3) == planner.plan(TEXTS, 3)
    assert planner.plan(TEXTS[:5], 3) == planner.plan(TEXTS, 3)[:5]
    assert planner.plan(TEXTS, 3) != planner.plan(TEXTS, 4)


def test_espeak_planner_never_uses_the_held_out_variant():
    planner = VoicePlanner.espeak(["pl+m1", "pl+f2", "pl+klatt"], avoid=["pl+f4"])
    voices = {p.voice for p in planner.plan(TEXTS, 11)}
    assert voices == {"pl+m1", "pl+f2", "pl+klatt"}
    with pytest.raises(ConfigError, match="held-out"):
        VoicePlanner.espeak(["pl+m1", "pl+f4"], avoid=["pl+f4"])


def test_impossible_distances_and_bad_settings_are_refused():
    with pytest.raises(ConfigError, match="min_distance"):
        random_blend(seeded(0), KOKORO_VOICES, avoid=HELD, min_distance=2.0)
    with pytest.raises(ConfigError, match="speed_range"):
        VoicePlanner.kokoro(speed_range=(0.2, 1.0))
    with pytest.raises(ConfigError, match="min_distance"):
        VoicePlanner.kokoro(avoid=HELD, min_distance=0.0)


def test_synth_plans_writes_and_resumes_explicit_plans(tmp_path):
    planner = VoicePlanner.espeak(["pl+m1", "pl+f2"])
    plans = planner.plan(TEXTS[:4], 1)
    recipe = {"planner": planner.describe(), "seed": 1}
    first = synth_plans(plans, tmp_path, recipe=recipe, tts=FakeTTS(), progress=False)
    assert (first.total, first.written) == (4, 4)
    rows = (tmp_path / "manifest.tsv").read_text().splitlines()[1:]
    assert [r.split("\t")[2] for r in rows] == [p.voice for p in plans]
    assert [float(r.split("\t")[3]) for r in rows] == [p.speed for p in plans]
    meta = json.loads((tmp_path / "metadata.json").read_text())
    assert meta["synthetic"] is True and meta["recipe"]["planner"]["engine"] == "espeak"
    again = synth_plans(plans, tmp_path, recipe=recipe, tts=FakeTTS(), progress=False)
    assert (again.written, again.skipped) == (0, 4)
    with pytest.raises(ConfigError, match="different"):
        synth_plans(plans, tmp_path, recipe={**recipe, "seed": 2}, tts=FakeTTS(), progress=False)


def test_the_first_plans_of_a_corpus_are_its_first_items_and_keep_a_longer_runs_rows(tmp_path):
    """make_corpora(limits=...) speaks the first N plans; a longer corpus already in the
    folder keeps every manifest row, and a later full run only finishes what is missing."""
    planner = VoicePlanner.espeak(["pl+m1", "pl+f2"])
    plans = planner.plan(TEXTS[:4], 1)
    recipe = {"planner": planner.describe(), "seed": 1}
    head = synth_plans(plans[:2], tmp_path / "a", recipe=recipe, tts=FakeTTS(), progress=False)
    assert (head.total, head.written) == (2, 2)
    full = synth_plans(plans, tmp_path / "a", recipe=recipe, tts=FakeTTS(), progress=False)
    assert (full.written, full.skipped) == (2, 2)
    rows = (tmp_path / "a" / "manifest.tsv").read_text().splitlines()
    again = synth_plans(plans[:2], tmp_path / "a", recipe=recipe, tts=FakeTTS(), progress=False)
    assert (again.written, again.skipped) == (0, 2)
    assert (tmp_path / "a" / "manifest.tsv").read_text().splitlines() == rows  # all 4 kept
    straight = synth_plans(plans, tmp_path / "b", recipe=recipe, tts=FakeTTS(), progress=False)
    assert (tmp_path / "b" / "manifest.tsv").read_text().splitlines() == rows
    assert straight.total == 4
