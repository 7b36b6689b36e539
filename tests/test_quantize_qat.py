"""Quantization-aware training: the fake-quantizers round like the runtimes, training under
them exports a real quantized model, and the qat-* methods of speechlab.quantize."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file
from train_fixtures import NO_DROPOUT, TEXTS, config, make_manifest

from speechlab.quantization import QuantizationError, quantize
from speechlab.train import finetune
from speechlab.train.errors import ConfigError
from speechlab.train.qat import QAT_SCHEMES, fake_quantize_weight, is_qat, prepare_qat, strip_qat

pytestmark = pytest.mark.timeout(300)


@pytest.fixture(scope="module")
def manifest(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_manifest(tmp_path_factory.mktemp("qat-data"), TEXTS)


def _linear(out_features: int = 8, in_features: int = 64, seed: int = 0) -> torch.nn.Linear:
    torch.manual_seed(seed)
    layer = torch.nn.Linear(in_features, out_features)
    with torch.no_grad():
        layer.weight.mul_(torch.linspace(0.1, 3.0, out_features)[:, None])  # rows differ in range
    return layer


def test_torch_scheme_lands_on_the_grid_torch_int8_dynamic_stores():
    from torch.ao.quantization import per_channel_dynamic_qconfig, quantize_dynamic

    layer = _linear()
    rounded = fake_quantize_weight(layer.weight.detach(), QAT_SCHEMES["torch-int8-dynamic"])
    quantized = quantize_dynamic(
        torch.nn.Sequential(layer), {"0": per_channel_dynamic_qconfig}, torch.qint8
    )
    weight, _ = quantized[0]._weight_bias()
    # torch's own int8 weights of the same float weights, dequantized, are the fake-quantized
    # ones (same scales; an element exactly between two levels may round the other way)
    scales = weight.q_per_channel_scales().float()
    torch.testing.assert_close(scales, layer.weight.detach().abs().amax(dim=1) / 127.5)
    off = (weight.dequantize() - rounded).abs() > 1e-7
    assert int(off.sum()) <= 2
    # and differ from the float weights (the rounding is real, at most half a step per row)
    steps = layer.weight.detach().abs().amax(dim=1, keepdim=True) / 127.5
    error = (rounded - layer.weight.detach()).abs()
    assert error.max() > 0
    assert bool((error <= steps / 2 + 1e-7).all())


@pytest.mark.parametrize(
    ("method", "low", "high", "block"),
    [("onnx-int8-dynamic", -127, 127, None), ("onnx-int4", -8, 7, 32)],
)
def test_onnx_schemes_use_their_grids(method, low, high, block):
    weight = _linear().weight.detach()
    rounded = fake_quantize_weight(weight, QAT_SCHEMES[method])
    groups = rounded.reshape(-1, block) if block else rounded.reshape(1, -1)
    source = weight.reshape(-1, block) if block else weight.reshape(1, -1)
    scale = source.abs().amax(dim=1, keepdim=True) / QAT_SCHEMES[method].weight_divisor
    levels = groups / scale
    torch.testing.assert_close(levels, levels.round(), rtol=0, atol=1e-4)
    assert levels.min() >= low - 1e-4 and levels.max() <= high + 1e-4
    distinct = {len(torch.unique(row.round())) for row in levels}
    assert max(distinct) <= high - low + 1
    assert max(distinct) > (8 if block else 100)  # the grid is used, not collapsed


def test_gradients_pass_straight_through_and_strip_keeps_the_rounded_weights():
    model = torch.nn.Sequential(_linear(8, 64), torch.nn.ReLU(), _linear(4, 8, seed=1))
    names = prepare_qat(model, "torch-int8-dynamic")
    assert names == ["0", "2"] and is_qat(model)
    x = torch.randn(5, 64)
    model(x).sum().backward()
    original = model[0].parametrizations.weight.original
    assert original.grad is not None and original.grad.abs().sum() > 0
    rounded = model[0].weight.detach().clone()
    out_qat = model(x).detach()
    strip_qat(model)
    assert not is_qat(model)
    assert not model[0]._forward_pre_hooks
    # the float weights stay (the post-training method rounds them as training did)
    torch.testing.assert_close(model[0].weight.detach(), original.detach(), rtol=0, atol=0)
    assert (model[0].weight.detach() - rounded).abs().max() > 0
    # without the quantizers the output moves, but only by rounding
    assert 0 < (model(x).detach() - out_qat).abs().max() < 0.2


def test_qat_config_errors_name_the_choices(manifest, tmp_path):
    with pytest.raises(ConfigError, match="onnx-int8-dynamic"):
        config(tmp_path / "a", manifest, qat="int3")
    with pytest.raises(ConfigError, match="strategy encoder, full or head"):
        config(tmp_path / "b", manifest, qat="onnx-int4", strategy="adapter")
    odd = torch.nn.Sequential(torch.nn.Linear(40, 8))
    with pytest.raises(ConfigError, match="multiple of the 32"):
        prepare_qat(odd, "onnx-int4")


def test_finetune_with_qat_exports_plain_and_quantized_models(manifest, tmp_path):
    import speechlab

    run = config(
        tmp_path / "run",
        manifest,
        model_config=dict(NO_DROPOUT),
        qat="onnx-int8-dynamic",
        max_steps=3,
        checkpoint_every=2,
    )
    result = finetune(run)
    weights = load_file(str(result.model_dir / "model.safetensors"))
    # no fake-quantizer in the file (transformers' own weight norm of pos_conv stays)
    assert not [k for k in weights if "parametrizations" in k and "pos_conv" not in k]
    assert "wav2vec2.encoder.layers.0.attention.q_proj.weight" in weights
    quantized_dir = quantize(result.model_dir, "onnx-int8-dynamic", tmp_path / "q", progress=False)
    assert (quantized_dir / "model.onnx").is_file()
    manifest_info = json.loads((quantized_dir / "speechlab-model.json").read_text())
    assert manifest_info["quantization"]["method"] == "onnx-int8-dynamic"
    wave = np.random.default_rng(0).standard_normal(16_000).astype(np.float32) * 0.1
    plain = speechlab.load_asr(result.model_dir).log_probs([wave])[0]
    quantized = speechlab.load_asr(quantized_dir).log_probs([wave])[0]
    assert plain.shape == quantized.shape
    assert np.abs(plain - quantized).max() < 0.5


class _Interrupt(Exception):
    pass


def test_qat_resumes_exactly(manifest, tmp_path):
    options = {
        "model_config": dict(NO_DROPOUT),
        "qat": "torch-int8-dynamic",
        "max_steps": 4,
        "checkpoint_every": 2,
    }
    whole = finetune(config(tmp_path / "whole", manifest, **options))

    def crash_at_3(info) -> None:
        if info.step == 3:
            raise _Interrupt

    with pytest.raises(_Interrupt):
        finetune(config(tmp_path / "parts", manifest, **options), on_step=crash_at_3)
    parts = finetune(config(tmp_path / "parts", manifest, **options))
    assert parts.resumed_from == 2
    a = load_file(str(whole.model_dir / "model.safetensors"))
    b = load_file(str(parts.model_dir / "model.safetensors"))
    assert a.keys() == b.keys()
    for key in a:
        torch.testing.assert_close(a[key], b[key], rtol=0, atol=1e-6)
    before = load_file(
        str(tmp_path / "whole" / "checkpoints" / "step-00000002" / "model.safetensors")
    )
    assert any("parametrizations.weight.original" in k and "pos_conv" not in k for k in before)


def test_quantize_qat_without_training_data_names_the_alternatives(tiny_ctc_dir, tmp_path):
    with pytest.raises(QuantizationError, match="onnx-int8-static") as caught:
        quantize(tiny_ctc_dir, "qat-int8", tmp_path / "q")
    assert "train=" in str(caught.value)
    with pytest.raises(QuantizationError, match="onnx-int4"):
        quantize(tiny_ctc_dir, "qat-int4", tmp_path / "q", train="x.tsv", target="onnx-int8")
    assert not (tmp_path / "q").exists()


def test_quantize_qat_int4_fine_tunes_then_writes_matmulnbits(tiny_ctc_dir, manifest, tmp_path):
    import onnx

    import speechlab

    out = quantize(
        tiny_ctc_dir,
        "qat-int4",
        tmp_path / "q4",
        train=str(manifest),
        steps=2,
        batch_size=2,
        progress=False,
        config={"min_seconds": 0.1, "threads": 1, "group_batches": 2, "device": "cpu"},
    )
    info = json.loads((out / "speechlab-model.json").read_text())
    notes = info["quantization"]["notes"]["qat"]
    assert notes["steps"] == 2 and notes["target"] == "onnx-int4"
    assert info["quantization"]["options"]["train"] == str(manifest)
    ops = {node.op_type for node in onnx.load(str(out / "model.onnx")).graph.node}
    assert "MatMulNBits" in ops
    assert (tmp_path / "q4.qat-training" / "model" / "model.safetensors").is_file()
    wave = np.random.default_rng(1).standard_normal(16_000).astype(np.float32) * 0.1
    trained = tmp_path / "q4.qat-training" / "model"
    plain = speechlab.load_asr(trained).log_probs([wave])[0]
    int4 = speechlab.load_asr(out).log_probs([wave])[0]
    assert plain.shape == int4.shape
    assert 0 < np.abs(plain - int4).max() < 0.5
