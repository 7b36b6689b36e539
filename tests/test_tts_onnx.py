"""The official Kokoro ONNX layout (input_ids -> waveform + durations), on a tiny graph."""

from __future__ import annotations

import inspect
import itertools
import json
import shutil

import numpy as np
import onnx  # a core dependency (speechlab rewrites Kokoro graphs with it)
import pytest

from speechlab.tts import KokoroRuntime, Output, load_tts
from speechlab.tts.kokoro_onnx import SAMPLES_PER_DURATION_FRAME, KokoroOnnx


def _official_layout_graph(path):
    """waveform = 0.1 for (sum of durations) * 600 samples; every token lasts 2 frames."""
    from onnx import TensorProto, helper

    two = helper.make_tensor("two", TensorProto.INT64, [1], [2])
    zero = helper.make_tensor("zero", TensorProto.INT64, [1], [0])
    hop = helper.make_tensor("hop", TensorProto.INT64, [1], [SAMPLES_PER_DURATION_FRAME])
    nodes = [
        helper.make_node("Mul", ["input_ids", "zero"], ["zeros"]),
        helper.make_node("Add", ["zeros", "two"], ["durations"]),
        helper.make_node("ReduceSum", ["durations"], ["total"], keepdims=1),
        helper.make_node("Mul", ["total", "hop"], ["samples2d"]),
        helper.make_node("Reshape", ["samples2d", "one"], ["samples"]),
        helper.make_node(
            "ConstantOfShape",
            ["samples"],
            ["waveform"],
            value=helper.make_tensor("v", TensorProto.FLOAT, [1], [0.1]),
        ),
    ]
    one = helper.make_tensor("one", TensorProto.INT64, [1], [1])
    graph = helper.make_graph(
        nodes,
        "kokoro-like",
        [
            helper.make_tensor_value_info("input_ids", TensorProto.INT64, [1, "n"]),
            helper.make_tensor_value_info("style", TensorProto.FLOAT, [1, 256]),
            helper.make_tensor_value_info("speed", TensorProto.FLOAT, [1]),
        ],
        [
            helper.make_tensor_value_info("waveform", TensorProto.FLOAT, ["s"]),
            helper.make_tensor_value_info("durations", TensorProto.INT64, [1, "n"]),
        ],
        initializer=[two, zero, hop, one],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    onnx.save(model, path)


@pytest.mark.realweights
def test_official_layout_gives_word_times(real_store, tmp_path):
    store = real_store / "models" / "kokoro-82m-int8"
    folder = tmp_path / "kokoro-official"
    (folder / "onnx").mkdir(parents=True)
    _official_layout_graph(folder / "onnx" / "model.onnx")
    vocab = json.loads((store / "vocab.json").read_text())["vocab"]
    (folder / "config.json").write_text(json.dumps({"vocab": vocab}))
    (folder / "voices").mkdir()
    pack = np.load(store / "voices.npz")["jm_kumo"]
    pack.astype(np.float32).tofile(folder / "voices" / "pm_test.bin")  # raw float32 layout
    shutil.copy(store / "voices.npz", folder / "voices-extra.npz")

    tts = load_tts(folder, voice="pm_test")
    assert tts.model.ids_name == "input_ids" and tts.model.durations_name == "durations"
    assert "pm_test" in tts.voices and "jm_kumo" in tts.voices
    speech = tts.synthesize("Ala ma kota.", lang="pl")
    (chunk,) = speech.chunks
    n = len(chunk.phonemes)
    assert len(speech.audio) == (n + 2) * 2 * SAMPLES_PER_DURATION_FRAME
    words = speech.words
    assert [w.text for w in words] == ["Ala", "ma", "kota."]
    token = 2 * SAMPLES_PER_DURATION_FRAME / 24_000
    assert words[0].start == pytest.approx(token)  # after the BOS pad
    assert all(a.end <= b.start for a, b in itertools.pairwise(words))
    assert words[-1].end == pytest.approx((n + 1) * token)


@pytest.mark.realweights
def test_the_onnx_runtime_meets_the_contract(real_store):
    tts = load_tts(real_store / "models" / "kokoro-82m-int8")
    assert isinstance(tts.model, KokoroOnnx) and isinstance(tts.model, KokoroRuntime)
    assert inspect.signature(KokoroOnnx.__call__) == inspect.signature(KokoroRuntime.__call__)
    out = tts.model([0, 1, 2, 0], tts.voice_bank.style(tts.default_voice, 2), 1.0)
    assert isinstance(out, Output) and out.audio.dtype == np.float32 and out.audio.ndim == 1
    # the export has no durations output; speechlab exposes its internal durations node
    assert out.durations is not None and out.durations.sum() * 600 == out.audio.size
