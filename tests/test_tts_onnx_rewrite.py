"""The ConvInteger → im2col + MatMulInteger rewrite: bit-identical int32 outputs."""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from speechlab.tts.onnx_rewrite import convinteger_to_matmul

#: (in channels, out channels, kernel, dilation, stride, pads): Kokoro's kinds of conv.
CASES = [
    (16, 8, 3, 1, 1, (1, 1)),
    (16, 8, 7, 3, 1, (9, 9)),
    (8, 4, 11, 5, 1, (25, 25)),
    (12, 6, 1, 1, 1, (0, 0)),
    (1, 4, 3, 1, 2, (1, 1)),
    (6, 3, 12, 1, 6, (3, 3)),
    (5, 7, 4, 2, 3, (0, 2)),
]


def quantized_conv_model(cin: int, cout: int, k: int, d: int, s: int, pads, seed: int = 0):
    """float input → DynamicQuantizeLinear → ConvInteger (uint8 weights) → int32 output."""
    rng = np.random.default_rng(seed)
    weights = rng.integers(0, 256, size=(cout, cin, k), dtype=np.uint8)
    nodes = [
        helper.make_node("DynamicQuantizeLinear", ["x"], ["xq", "xs", "xz"]),
        helper.make_node(
            "ConvInteger", ["xq", "w", "xz", "wz"], ["y"],
            dilations=[d], strides=[s], pads=list(pads), kernel_shape=[k],
        ),
    ]  # fmt: skip
    graph = helper.make_graph(
        nodes,
        "conv",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, cin, None])],
        [helper.make_tensor_value_info("y", TensorProto.INT32, [1, cout, None])],
        [
            numpy_helper.from_array(weights, "w"),
            numpy_helper.from_array(np.array(rng.integers(0, 256), np.uint8), "wz"),
        ],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def run(model, x: np.ndarray) -> np.ndarray:
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(["y"], {"x": x})[0]


#: Every case with every length its padded, dilated kernel fits in.
RUNS = [
    (case, length)
    for case in CASES
    for length in (1, 29, 200)
    if length + sum(case[5]) - case[3] * (case[2] - 1) >= 1
]


@pytest.mark.parametrize(("case", "length"), RUNS, ids=str)
def test_rewritten_convs_give_bit_identical_int32(case, length):
    model = quantized_conv_model(*case)
    x = np.random.default_rng(length).standard_normal((1, case[0], length)).astype(np.float32)
    expected = run(model, x)
    rewritten = onnx.ModelProto()
    rewritten.CopyFrom(model)
    assert convinteger_to_matmul(rewritten) == 1
    onnx.checker.check_model(rewritten)
    assert {n.op_type for n in rewritten.graph.node} >= {"MatMulInteger"}
    assert "ConvInteger" not in {n.op_type for n in rewritten.graph.node}
    got = run(rewritten, x)
    assert got.dtype == np.int32 and got.shape == expected.shape
    np.testing.assert_array_equal(got, expected)


def test_grouped_and_per_channel_convs_are_left_alone():
    model = quantized_conv_model(4, 4, 3, 1, 1, (1, 1))
    conv = model.graph.node[1]
    conv.attribute.append(helper.make_attribute("group", 2))
    model.graph.initializer[0].CopyFrom(numpy_helper.from_array(np.zeros((4, 2, 3), np.uint8), "w"))
    assert convinteger_to_matmul(model) == 0
    assert [n.op_type for n in model.graph.node] == ["DynamicQuantizeLinear", "ConvInteger"]


@pytest.mark.realweights
def test_the_real_int8_kokoro_speaks_the_same_after_the_rewrite(real_store):
    from speechlab.tts import load_tts

    store = real_store / "models" / "kokoro-82m-int8"
    fast, plain = load_tts(store), load_tts(store, fast_int8=False)
    assert fast.model.rewritten_convs == 87 and plain.model.rewritten_convs == 0
    ops = {n.op_type for n in onnx.load(next(store.glob("*.onnx"))).graph.node}
    assert "ConvInteger" in ops  # the stored file is untouched
    text = "Zażółć gęślą jaźń, proszę."
    a = fast.synthesize(text, lang="pl", voice="jm_kumo").audio
    b = plain.synthesize(text, lang="pl", voice="jm_kumo").audio
    assert a.shape == b.shape and a.size > 24_000
    np.testing.assert_allclose(a, b, atol=1e-5)
