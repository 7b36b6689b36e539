"""Recipe plumbing: merged manifests, fp16 publishing with checksums, the recipe file."""

from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile as sf

from speechlab.asr import load_asr
from speechlab.recipes.polish_ctc import load_recipe
from speechlab.store import sha256_file
from speechlab.train.errors import ConfigError, TrainDataError
from speechlab.train.publish import CHECKSUMS, merge_manifests, publish_fp16


def test_merge_manifests_makes_paths_absolute(tmp_path):
    for name in ("a", "b"):
        (tmp_path / name / "audio").mkdir(parents=True)
        sf.write(tmp_path / name / "audio" / "0.wav", np.zeros(1600, np.float32), 16_000)
        (tmp_path / name / "manifest.tsv").write_text(
            f"path\ttext\naudio/0.wav\tzdanie {name}\n", encoding="utf-8"
        )
    rows = merge_manifests(
        tmp_path / "all.tsv", [tmp_path / "a/manifest.tsv", tmp_path / "b/manifest.tsv"]
    )
    lines = (tmp_path / "all.tsv").read_text(encoding="utf-8").splitlines()
    assert rows == 2 and lines[0] == "path\ttext"
    assert lines[1] == f"{tmp_path / 'a/audio/0.wav'}\tzdanie a"
    with pytest.raises(TrainDataError, match="make the corpus"):
        merge_manifests(tmp_path / "x.tsv", [tmp_path / "missing/manifest.tsv"])


def test_publish_fp16_halves_the_weights_and_keeps_the_transcripts(tiny_ctc_dir, tmp_path):
    out = publish_fp16(tiny_ctc_dir, tmp_path / "small")
    sums = json.loads((out / CHECKSUMS).read_text())
    assert {"model.safetensors", "config.json", "vocab.json"} <= set(sums)
    assert all(sha256_file(out / name) == digest for name, digest in sums.items())
    source = (tiny_ctc_dir / "model.safetensors").stat().st_size
    assert (out / "model.safetensors").stat().st_size < 0.6 * source
    clip = np.sin(np.linspace(0, 800, 16_000)).astype(np.float32) * 0.3
    from speechlab.audio import Audio

    audio = Audio(clip, 16_000)
    full = load_asr(tiny_ctc_dir).transcribe(audio, progress=False)
    half = load_asr(out).transcribe(audio, progress=False)
    assert half.text == full.text
    with pytest.raises(TrainDataError, match="not a trained CTC folder"):
        publish_fp16(tmp_path / "nothing", tmp_path / "out")


def test_recipe_scales(tmp_path):
    demo, full = load_recipe(scale="demo"), load_recipe(scale="full")
    assert demo.training["max_steps"] < full.training["max_steps"]
    assert full.training["model_config"]["hidden_size"] == 256  # common settings merged in
    assert len(full.corpus["kokoro_voices"]) >= 5
    with pytest.raises(ConfigError, match="demo"):
        load_recipe(scale="huge")
