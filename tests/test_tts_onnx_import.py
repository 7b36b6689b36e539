"""speechlab.tts.onnx_import (+ import_check, import_stages): the store's int8 Kokoro ONNX
imported into torch's KModel, on the real weights.

Bounds are set from measurements on this machine (benchmarks/kokoro_import.py; the measured
value is next to each bound)."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from speechlab import store
from speechlab.tts import load_tts
from speechlab.tts.import_check import GraphProbe, compare
from speechlab.tts.import_stages import stage_errors
from speechlab.tts.kokoro_torch import kokoro_config, load_kmodel
from speechlab.tts.onnx_import import (
    SOURCES_FILE,
    WEIGHTS_FILE,
    OnnxImportError,
    import_onnx,
    kokoro_state_dict,
)
from speechlab.tts.onnx_weights import graph_weights

pytestmark = [pytest.mark.realweights, pytest.mark.slow, pytest.mark.timeout(1800)]

ONNX_NAME = "kokoro-v1.0.int8.onnx"


@pytest.fixture(scope="module")
def onnx_dir(real_store_home: Path) -> Path:
    return real_store_home / "models" / "kokoro-82m-int8"


@pytest.fixture(scope="module")
def kmodel(real_torch_kokoro: Path):
    return load_kmodel(real_torch_kokoro)


@pytest.fixture(scope="module")
def graph(onnx_dir: Path) -> onnx.ModelProto:
    return onnx.load(str(onnx_dir / ONNX_NAME))


@pytest.fixture(scope="module")
def config(onnx_dir: Path) -> dict:
    return kokoro_config(json.loads((onnx_dir / "vocab.json").read_text())["vocab"])


def _utterance(onnx_dir: Path, text: str, lang: str) -> tuple[list[int], np.ndarray]:
    tts = load_tts(onnx_dir, threads=2)
    ids = [0, *[tts.vocab[p] for p in tts.phonemize(text, lang=lang) if p in tts.vocab], 0]
    return ids, tts.voice_bank.style("jm_kumo", len(ids) - 2)


# --------------------------------------------------------------------------- the store model


def test_store_model_comes_from_the_same_packages_with_checksums(real_torch_kokoro, real_store):
    model = store.STORE["kokoro-82m-int8-torch"]
    assert model.requirements == store.STORE["kokoro-82m-int8"].requirements  # no new download
    manifest = json.loads((real_torch_kokoro / store.MANIFEST).read_text())
    assert set(manifest["files"]) == {f.name for f in model.files}
    assert store.verify("kokoro-82m-int8-torch") == real_torch_kokoro  # every sha256 re-hashed
    sources = json.loads((real_torch_kokoro / SOURCES_FILE).read_text())
    assert sources["source_sha256"] == store.STORE["kokoro-82m-int8"].files[0].sha256


def test_every_parameter_has_exactly_one_source(real_torch_kokoro, kmodel):
    from safetensors.numpy import load_file

    sources = json.loads((real_torch_kokoro / SOURCES_FILE).read_text())["parameters"]
    names = [name for name, _ in kmodel.named_parameters()]
    assert len(names) == len(set(names)) == 688
    assert list(sources) == names  # each parameter once, in KModel's order
    assert set(load_file(str(real_torch_kokoro / WEIGHTS_FILE))) == set(names)
    not_in_graph = [p for p, (tensor, _) in sources.items() if not tensor]
    assert len(not_in_graph) == 142  # 70 instance norms x (scale, shift) + ALBERT's pooler
    assert {p.rsplit(".", 2)[-2] for p in not_in_graph} == {"norm", "pooler"}
    anonymous = {t for t, _ in sources.values() if t.startswith(("onnx::", "/"))}
    assert len({t for t in anonymous if t.startswith("onnx::LSTM")}) == 18  # 6 LSTMs x W, R, B
    # ALBERT's 7 matrices, bert_encoder, duration_proj and the harmonic source's l_linear
    assert len({t for t in anonymous if t.startswith("onnx::MatMul")}) == 10


def test_weight_norm_reproduces_the_exported_weight(real_torch_kokoro, kmodel, graph):
    import torch

    sources = json.loads((real_torch_kokoro / SOURCES_FILE).read_text())["parameters"]
    weights = {w.tensor: w.value for w in graph_weights(graph)}
    worst, layers = 0.0, 0
    with torch.no_grad():
        for param, (tensor, _) in sources.items():
            if param.endswith(".weight_v"):
                module = kmodel.get_submodule(param.removesuffix(".weight_v"))
                effective = torch._weight_norm(module.weight_v, module.weight_g, 0).numpy()
                error = np.abs(effective - weights[tensor]).max() / np.abs(weights[tensor]).max()
                worst, layers = max(worst, float(error)), layers + 1
    assert layers == 89
    assert worst < 2e-6  # measured 6.7e-7: float32 rounding of g / ‖v‖


def test_each_stage_reproduces_the_graph_on_its_own_input(kmodel, onnx_dir):
    """Wrongly mapped weights (a swapped gate, a transposed matrix) give errors near 1."""
    ids, style = _utterance(onnx_dir, "Dzień dobry. Nazywam się Jan Kowalski.", "pl")
    errors = stage_errors(kmodel, onnx_dir / ONNX_NAME, ids, style, threads=2)
    assert errors["albert_layer"] < 0.015  # measured 3.2e-3 (pl), 4.8e-3 (en)
    assert errors["duration_lstm"] < 0.03  # measured 8.8e-3
    assert errors["f0"] < 0.015 and errors["n"] < 0.015  # measured 4.8e-3, 2.8e-3
    assert errors["decoder_correlation"] > 0.94  # measured 0.974 (pl), 0.965 (en)
    assert errors["decoder_log_mel_db"] < 3.0  # measured 2.31, 2.35 dB


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("Zamknij drzwi, bo jest zimno.", "pl"),  # measured: 1 of 34 tokens differs
        ("She sells sea shells by the sea shore.", "en-us"),  # measured: all 37 equal
    ],
)
def test_durations_and_audio_match_the_graph(kmodel, onnx_dir, text, lang):
    ids, style = _utterance(onnx_dir, text, lang)
    result = compare(kmodel, GraphProbe(onnx_dir / ONNX_NAME, threads=2), ids, style)
    # The int8 graph rounds every activation to 8 bits, so the unrounded durations differ a
    # little (measured: at most 0.27 and 0.13 frames here, 1.78 over 16 sentences); a token
    # differs only when its two values fall on either side of a half frame.
    for diff in result.differing:
        assert abs(diff.onnx - diff.torch) == 1
        assert round(diff.onnx_raw) != round(diff.torch_raw)
        assert abs(diff.onnx_raw - diff.torch_raw) < 0.6
    assert len(result.differing) <= 3  # measured 1 and 0 (worst of 16 sentences: 5 of 52)
    assert result.max_raw_diff < 0.6  # measured 0.27, 0.13 frames
    # Same durations on both sides: log-mel distance measured 2.32 and 2.30 dB (2.25-2.71
    # over 16 sentences; torch against itself with Kokoro's vocoder noise: 0.41-0.47 dB)
    assert result.log_mel_db < 2.8


# --------------------------------------------------------------------------- bad input


def test_a_graph_that_is_not_kokoro_names_its_first_input(config):
    node = helper.make_node("Relu", ["x"], ["y"])
    graph = helper.make_graph(
        [node],
        "not-kokoro",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])],
    )
    with pytest.raises(OnnxImportError, match=r"Graph input 'x' does not fit a Kokoro export"):
        kokoro_state_dict(helper.make_model(graph), config)


def _replace_initializer(model: onnx.ModelProto, name: str, value: np.ndarray) -> None:
    index = next(i for i, init in enumerate(model.graph.initializer) if init.name == name)
    model.graph.initializer[index].CopyFrom(numpy_helper.from_array(value, name))


def test_another_kokoro_version_names_the_first_tensor_that_does_not_fit(graph, config):
    other = copy.deepcopy(graph)  # e.g. a bigger phoneme vocabulary
    name = "encoder.bert.embeddings.word_embeddings.weight_quantized"
    _replace_initializer(other, name, np.zeros((200, 128), np.int8))
    with pytest.raises(OnnxImportError, match=rf"Tensor '{name}' does not fit .*\(200, 128\)"):
        kokoro_state_dict(other, config)


def test_a_parameter_claimed_twice_is_named_with_both_tensors(graph, config):
    other = copy.deepcopy(graph)
    extra = numpy_helper.from_array(np.zeros(512, np.float32), "kmodel.bert_encoder.bias")
    other.graph.initializer.append(extra)
    with pytest.raises(
        OnnxImportError,
        match=r"'bert_encoder\.bias' is claimed twice: by 'encoder\.bert_encoder\.bias' and by "
        r"'kmodel\.bert_encoder\.bias'",
    ):
        kokoro_state_dict(other, config)


def test_a_missing_parameter_is_named_and_nothing_is_written(graph, config, onnx_dir, tmp_path):
    other = copy.deepcopy(graph)
    kept = [i for i in other.graph.initializer if i.name != "encoder.bert_encoder.bias"]
    del other.graph.initializer[:]
    other.graph.initializer.extend(kept)
    with pytest.raises(OnnxImportError, match=r"1 KModel parameter.*'bert_encoder\.bias' \(512,\)"):
        kokoro_state_dict(other, config)
    broken = tmp_path / "broken.onnx"
    onnx.save(other, str(broken))
    out = tmp_path / "out"
    with pytest.raises(OnnxImportError, match="bert_encoder"):
        import_onnx(broken, out, vocab=config["vocab"], voices=onnx_dir / "voices.npz")
    assert not out.exists() or not any(out.iterdir())
