"""Synthetic corpora: a reproducible plan, resumable writing, labelled SYNTHETIC."""

from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile as sf
from train_fixtures import FakeTTS

from speechlab.corpus import read_data
from speechlab.train import finetune
from speechlab.train.errors import ConfigError, TrainDataError
from speechlab.train.synth import MANIFEST_COLUMNS, plan_corpus, synth_corpus
from speechlab.tts import VoiceError

pytestmark = pytest.mark.timeout(120)

TEXTS = ["Dzień dobry.", "Ala ma kota.", "Żółw pije\twodę.", "Idę do domu.", "Gęś i kot."]
RECIPE = {
    "voices": ["jm_kumo", "jf_alpha", "jm_kumo:0.7,jf_alpha:0.3"],
    "speeds": [0.9, 1.0, 1.1],
    "noise_snr_db": [None, 20, 10],
    "seed": 3,
}


def _manifest(folder) -> list[list[str]]:
    return [line.split("\t") for line in (folder / "manifest.tsv").read_text().splitlines()]


def test_plan_depends_only_on_seed_and_item_index():
    plan = plan_corpus(TEXTS * 4, **RECIPE)
    assert plan == plan_corpus(TEXTS * 4, **RECIPE)
    assert plan[:3] == plan_corpus(TEXTS[:3], **RECIPE)  # more texts do not move earlier items
    assert plan != plan_corpus(TEXTS * 4, **{**RECIPE, "seed": 4})
    assert {p.voice for p in plan} == set(RECIPE["voices"])
    assert {p.speed for p in plan} == {0.9, 1.0, 1.1}
    assert {p.snr_db for p in plan} == {None, 20.0, 10.0}
    assert plan[2].text == "Żółw pije wodę."  # whitespace (a tab!) collapsed for the TSV


def test_corpus_has_audio_manifest_and_synthetic_metadata(tmp_path):
    corpus = synth_corpus(TEXTS, tmp_path, tts=FakeTTS(), progress=False, **RECIPE)
    assert (corpus.total, corpus.written, corpus.skipped) == (5, 5, 0)
    rows = _manifest(tmp_path)
    assert tuple(rows[0]) == MANIFEST_COLUMNS
    plan = plan_corpus(TEXTS, **RECIPE)
    for row, item in zip(rows[1:], plan, strict=True):
        path, text, voice, speed, snr, duration = row
        info = sf.info(tmp_path / path)
        assert path.endswith(".flac") and info.samplerate == 16_000
        assert abs(info.duration - float(duration)) < 1e-3
        assert (text, voice, float(speed)) == (item.text, item.voice, item.speed)
        assert snr == ("" if item.snr_db is None else f"{item.snr_db:g}")
    meta = json.loads((tmp_path / "metadata.json").read_text())
    assert meta["synthetic"] is True and meta["complete"] is True
    assert meta["recipe"]["voices"] == RECIPE["voices"] and meta["recipe"]["seed"] == 3
    assert "random" in meta["reproducibility"]
    data = read_data(corpus.manifest)
    assert data.synthetic and data.total == 5


def test_a_synthetic_corpus_trains_and_its_texts_are_normalised(tmp_path):
    from train_fixtures import config

    corpus = synth_corpus(TEXTS, tmp_path / "synth", tts=FakeTTS(), progress=False, **RECIPE)
    result = finetune(config(tmp_path / "out", corpus.manifest, max_steps=3))
    vocab = json.loads((result.model_dir / "vocab.json").read_text())
    assert "." not in vocab and "D" not in vocab and "ż" in vocab  # model-card normaliser
    assert result.data == "epoch 0: 5 kept"  # 3 batches of 2 plan both groups (4 + 1)


def test_noise_is_added_at_the_planned_snr(tmp_path):
    synth_corpus(["Ala ma kota."], tmp_path / "clean", tts=FakeTTS(), progress=False,
                 audio_format="wav")  # fmt: skip
    synth_corpus(["Ala ma kota."], tmp_path / "noisy", tts=FakeTTS(), progress=False,
                 noise_snr_db=[10], audio_format="wav")  # fmt: skip
    clean, _ = sf.read(tmp_path / "clean" / "audio" / "000000.wav")
    noisy, _ = sf.read(tmp_path / "noisy" / "audio" / "000000.wav")
    snr = 10 * np.log10(np.mean(clean**2) / np.mean((noisy - clean) ** 2))
    assert abs(snr - 10) < 0.3


def test_an_interrupted_run_resumes_to_the_same_corpus(tmp_path):
    straight = tmp_path / "straight"
    synth_corpus(TEXTS, straight, tts=FakeTTS(), progress=False, **RECIPE)
    resumed = tmp_path / "resumed"
    with pytest.raises(KeyboardInterrupt):
        synth_corpus(TEXTS, resumed, tts=FakeTTS(fail_after=2), progress=False, **RECIPE)
    assert len(_manifest(resumed)) == 3  # header + 2 finished items
    assert json.loads((resumed / "metadata.json").read_text())["complete"] is False
    again = synth_corpus(TEXTS, resumed, tts=FakeTTS(), progress=False, **RECIPE)
    assert (again.written, again.skipped) == (3, 2)
    assert _manifest(resumed) == _manifest(straight)
    for row in _manifest(straight)[1:]:
        assert (straight / row[0]).read_bytes() == (resumed / row[0]).read_bytes()
    tts = FakeTTS()
    assert synth_corpus(TEXTS, resumed, tts=tts, progress=False, **RECIPE).written == 0
    assert tts.calls == 0


def test_a_torn_manifest_row_is_dropped_and_its_item_redone(tmp_path):
    synth_corpus(TEXTS[:2], tmp_path, tts=FakeTTS(), progress=False)
    with (tmp_path / "manifest.tsv").open("a") as f:
        f.write("audio/000002.flac\tŻółw")  # killed mid-write: no newline
    again = synth_corpus(TEXTS[:3], tmp_path, tts=FakeTTS(), progress=False)
    assert (again.written, again.skipped) == (1, 2)
    rows = _manifest(tmp_path)
    assert [r[0] for r in rows[1:]] == [f"audio/00000{i}.flac" for i in range(3)]
    assert rows[3][1] == "Żółw pije wodę."


def test_a_different_recipe_or_texts_in_the_same_folder_are_refused(tmp_path):
    synth_corpus(TEXTS[:2], tmp_path, tts=FakeTTS(), progress=False, **RECIPE)
    with pytest.raises(ConfigError, match="seed"):
        synth_corpus(TEXTS[:2], tmp_path, tts=FakeTTS(), progress=False, **{**RECIPE, "seed": 9})
    with pytest.raises(ConfigError, match="text"):
        synth_corpus(["Inny tekst.", *TEXTS[1:2]], tmp_path, tts=FakeTTS(), progress=False,
                     **RECIPE)  # fmt: skip


def test_bad_inputs_are_typed_errors(tmp_path):
    with pytest.raises(TrainDataError, match="No texts"):
        synth_corpus([], tmp_path, tts=FakeTTS())
    with pytest.raises(TrainDataError, match="empty"):
        synth_corpus(["Tak.", "  "], tmp_path, tts=FakeTTS())
    with pytest.raises(ConfigError, match="Speed"):
        synth_corpus(["Tak."], tmp_path, tts=FakeTTS(), speeds=[3.0])
    with pytest.raises(ConfigError, match="audio_format"):
        synth_corpus(["Tak."], tmp_path, tts=FakeTTS(), audio_format="mp3")


@pytest.mark.realweights
@pytest.mark.timeout(300)
def test_kokoro_int8_speaks_a_tiny_corpus_with_a_reproducible_plan(real_store, tmp_path):
    texts = ["Dzień dobry.", "Mam kota."]
    recipe = {"voices": ["jm_kumo", "jm_kumo:0.6,jf_alpha:0.4"], "speeds": [1.0, 1.2],
              "noise_snr_db": [None, 20], "seed": 1}  # fmt: skip
    corpus = synth_corpus(texts, tmp_path / "a", tts="kokoro-82m-int8", progress=False, **recipe)
    rows = _manifest(tmp_path / "a")[1:]
    assert len(rows) == 2 and corpus.written == 2
    for row in rows:
        audio, rate = sf.read(tmp_path / "a" / row[0])
        assert rate == 16_000 and 0.3 < len(audio) / rate < 5 and np.abs(audio).max() > 0.01
    # the same plan again (item 1 redone after its row and file are lost): same choices
    (tmp_path / "a" / rows[1][0]).unlink()
    synth_corpus(texts, tmp_path / "a", tts="kokoro-82m-int8", progress=False, **recipe)
    again = _manifest(tmp_path / "a")[1:]
    assert len(again) == 2 and again[0] == rows[0] and again[1][:5] == rows[1][:5]
    with pytest.raises(VoiceError, match="nobody"):
        synth_corpus(texts, tmp_path / "b", tts="kokoro-82m-int8", progress=False,
                     voices=["nobody"])  # fmt: skip
