"""LoRA adapters saved on their own (peft format), loaded onto a base model and switched."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from train_fixtures import config, make_manifest

import speechlab
from speechlab.asr.adapters import AdapterError, read_adapter
from speechlab.errors import ModelNotFoundError, SpeechlabError
from speechlab.train import finetune

pytestmark = pytest.mark.timeout(300)

RUNTIMES = ["speechlab", "transformers"]


@pytest.fixture(scope="module")
def runs(tiny_ctc_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Two adapter runs from the tiny base: different seeds and learning rates."""
    root = tmp_path_factory.mktemp("adapter-runs")
    manifest = make_manifest(root / "data")
    out = {}
    for name, seed, rate in (("first", 1, 3e-2), ("second", 2, 1e-2)):
        result = finetune(
            config(root / name, manifest, model=str(tiny_ctc_dir), model_config=None,
                   vocab="auto", strategy="adapter", max_steps=4, learning_rate=rate,
                   seed=seed, lora_r=4)
        )  # fmt: skip
        out[name] = result.model_dir
    return out


def _wave() -> np.ndarray:
    rng = np.random.default_rng(7)
    return (0.1 * rng.standard_normal(16_000)).astype(np.float32)


def _logp(asr) -> np.ndarray:
    return asr.log_probs([_wave()])[0]


def test_an_adapter_run_saves_its_adapter_in_peft_format(runs):
    folder = runs["first"] / "adapter"
    assert (folder / "adapter_config.json").is_file()
    assert (folder / "adapter_model.safetensors").is_file()
    assert (folder / "vocab.json").is_file()
    saved = json.loads((folder / "adapter_config.json").read_text())
    assert saved["peft_type"] == "LORA" and saved["r"] == 4
    assert saved["modules_to_save"] == ["lm_head"]
    adapter = read_adapter(folder)
    assert adapter.name == "adapter" and adapter.rank == 4
    assert "lm_head.weight" in adapter.replaced and "lm_head.bias" in adapter.replaced
    assert "wav2vec2.encoder.layers.0.attention.q_proj.weight" in adapter.deltas
    # it is much smaller than the merged model it stands for
    assert adapter.stored_parameters < 0.5 * sum(
        t.numel() for t in speechlab.load_asr(runs["first"]).model.parameters()
    )


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_base_plus_adapter_equals_the_merged_model(runs, tiny_ctc_dir, runtime):
    merged = _logp(speechlab.load_asr(runs["first"], runtime=runtime))
    asr = speechlab.load_asr(tiny_ctc_dir, runtime=runtime, adapter=runs["first"] / "adapter")
    assert asr.active_adapter == "adapter"
    np.testing.assert_allclose(_logp(asr), merged, atol=2e-5)


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_switching_adapters_does_not_reload_the_base(runs, tiny_ctc_dir, runtime, monkeypatch):
    base = _logp(speechlab.load_asr(tiny_ctc_dir, runtime=runtime))
    expected = {n: _logp(speechlab.load_asr(runs[n], runtime=runtime)) for n in runs}
    asr = speechlab.load_asr(
        tiny_ctc_dir,
        runtime=runtime,
        adapter={name: folder / "adapter" for name, folder in runs.items()},
    )
    assert asr.adapters == ["first", "second"] and asr.active_adapter == "first"

    def no_reading(*args, **kwargs):
        raise AssertionError("the base checkpoint was read again")

    monkeypatch.setattr("speechlab.asr.ctc_runtime._read_weights", no_reading)
    monkeypatch.setattr("transformers.AutoModelForCTC.from_pretrained", no_reading)
    for name in ("first", "second", "first"):
        asr.use_adapter(name)
        np.testing.assert_allclose(_logp(asr), expected[name], atol=2e-5)
    asr.use_adapter(None)
    assert asr.active_adapter is None
    np.testing.assert_array_equal(_logp(asr), base)  # the base weights exactly, not re-derived
    assert not np.allclose(expected["first"], expected["second"], atol=1e-3)


def test_peft_loads_the_saved_adapter_to_the_same_model(runs, tiny_ctc_dir):
    from peft import PeftModel
    from transformers import AutoModelForCTC

    model = PeftModel.from_pretrained(
        AutoModelForCTC.from_pretrained(tiny_ctc_dir), runs["first"] / "adapter"
    ).eval()
    ours = speechlab.load_asr(tiny_ctc_dir, runtime="transformers")
    ours.load_adapter(runs["first"] / "adapter")
    asr = speechlab.load_asr(runs["first"], runtime="transformers")
    with torch.no_grad():
        wave = torch.from_numpy(_wave())[None]
        wave = (wave - wave.mean()) / torch.sqrt(wave.var() + 1e-7)  # the feature extractor's
        theirs = model(wave).logits
        merged = asr.model.module(wave).logits
        mine = ours.model.module(wave).logits
    torch.testing.assert_close(theirs, merged, atol=2e-5, rtol=0)
    torch.testing.assert_close(mine, merged, atol=2e-5, rtol=0)


# --------------------------------------------------------------------------- bad input


def test_missing_and_foreign_folders_are_typed_errors(tmp_path, runs, tiny_ctc_dir):
    with pytest.raises(ModelNotFoundError, match="No adapter folder"):
        read_adapter(tmp_path / "nowhere")
    with pytest.raises(AdapterError, match=r"no adapter_config\.json"):
        read_adapter(tiny_ctc_dir)
    broken = shutil.copytree(runs["first"] / "adapter", tmp_path / "dora")
    settings = json.loads((broken / "adapter_config.json").read_text())
    (broken / "adapter_config.json").write_text(json.dumps(settings | {"use_dora": True}))
    with pytest.raises(AdapterError, match="DoRA"):
        read_adapter(broken)
    (broken / "adapter_config.json").write_text(json.dumps(settings | {"peft_type": "IA3"}))
    with pytest.raises(AdapterError, match="IA3 adapter; only LoRA"):
        read_adapter(broken)
    (broken / "adapter_config.json").write_text("{not json")
    with pytest.raises(SpeechlabError, match="not valid JSON"):
        read_adapter(broken)


def test_an_adapter_of_another_base_model_is_refused(runs, tmp_path):
    from conftest import build_tiny_ctc

    other = build_tiny_ctc(tmp_path / "wider", hidden_size=48, intermediate_size=96)
    asr = speechlab.load_asr(other)
    with pytest.raises(AdapterError, match="trained on another base model"):
        asr.load_adapter(runs["first"] / "adapter")
    assert asr.adapters == [] and asr.active_adapter is None


def test_unknown_names_runtimes_without_float_weights_and_whisper_are_refused(
    runs, tiny_ctc_dir, tmp_path
):
    asr = speechlab.load_asr(tiny_ctc_dir, adapter=runs["first"] / "adapter")
    with pytest.raises(AdapterError, match=r"No adapter named 'third'.*\['adapter'\]"):
        asr.use_adapter("third")
    assert asr.active_adapter == "adapter"  # unchanged
    with pytest.raises(SpeechlabError, match="mapping of names to folders"):
        speechlab.load_asr(tiny_ctc_dir, adapter=3)
    int8 = speechlab.quantize(tiny_ctc_dir, "torch-int8-dynamic", tmp_path / "int8")
    with pytest.raises(AdapterError, match="not to the torch-int8 runtime"):
        speechlab.load_asr(int8, adapter=runs["first"] / "adapter")
