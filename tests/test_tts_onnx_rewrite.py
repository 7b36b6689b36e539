"""The ConvInteger → im2col + MatMulInteger rewrite: bit-identical int32 outputs."""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from speechlab.tts import onnx_rewrite
from speechlab.tts.onnx_rewrite import convinteger_to_matmul, integer_conv1d, signed_matmul_is_exact

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
#: Weights whose signed form ``w - 128`` is within ±64: no u8×s8 kernel can overflow on them
#: (255 × 64 × 2 < 2**15), so the rewritten graph can be checked exactly on every CPU.
SEVEN_BITS = (64, 193)


def quantized_conv_model(
    cin: int, cout: int, k: int, d: int, s: int, pads, seed: int = 0, weights=(0, 256)
):
    """float input → DynamicQuantizeLinear → ConvInteger (uint8 weights) → int32 output;
    the quantized input and its zero point are outputs too."""
    rng = np.random.default_rng(seed)
    w = rng.integers(*weights, size=(cout, cin, k), dtype=np.uint8)
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
        [
            helper.make_tensor_value_info("y", TensorProto.INT32, [1, cout, None]),
            helper.make_tensor_value_info("xq", TensorProto.UINT8, [1, cin, None]),
            helper.make_tensor_value_info("xz", TensorProto.UINT8, []),
        ],
        [
            numpy_helper.from_array(w, "w"),
            numpy_helper.from_array(np.array(rng.integers(0, 256), np.uint8), "wz"),
        ],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def run(model, x: np.ndarray) -> np.ndarray:
    return run_all(model, x)[0]


def run_all(model, x: np.ndarray) -> list[np.ndarray]:
    """(y, xq, xz) of ``quantized_conv_model``."""
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(["y", "xq", "xz"], {"x": x})


def exact(model, x: np.ndarray) -> np.ndarray:
    """The exact integer convolution of ``model`` (numpy), on ONNX Runtime's quantized input."""
    _, xq, xz = run_all(model, x)
    inits = {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}
    conv = next(n for n in model.graph.node if n.op_type == "ConvInteger")
    attrs = {a.name: helper.get_attribute_value(a) for a in conv.attribute}
    return integer_conv1d(
        xq, xz, inits["w"], inits["wz"],
        dilation=attrs["dilations"][0], stride=attrs["strides"][0], pads=attrs["pads"],
    )  # fmt: skip


def copy(model):
    out = onnx.ModelProto()
    out.CopyFrom(model)
    return out


#: Every case with every length its padded, dilated kernel fits in.
RUNS = [
    (case, length)
    for case in CASES
    for length in (1, 29, 200)
    if length + sum(case[5]) - case[3] * (case[2] - 1) >= 1
]


def signal(case, length: int) -> np.ndarray:
    return np.random.default_rng(length).standard_normal((1, case[0], length)).astype(np.float32)


@pytest.mark.parametrize(("case", "length"), RUNS, ids=str)
def test_convinteger_is_the_exact_integer_convolution(case, length):
    model = quantized_conv_model(*case)
    x = signal(case, length)
    np.testing.assert_array_equal(run(model, x), exact(model, x))


@pytest.mark.parametrize(("case", "length"), RUNS, ids=str)
def test_rewritten_convs_give_bit_identical_int32(case, length):
    model = quantized_conv_model(*case, weights=SEVEN_BITS)
    x = signal(case, length)
    expected = run(model, x)
    rewritten = copy(model)
    assert convinteger_to_matmul(rewritten, force=True) == 1
    onnx.checker.check_model(rewritten)
    assert {n.op_type for n in rewritten.graph.node} >= {"MatMulInteger"}
    assert "ConvInteger" not in {n.op_type for n in rewritten.graph.node}
    got = run(rewritten, x)
    assert got.dtype == np.int32 and got.shape == expected.shape
    np.testing.assert_array_equal(got, expected)
    np.testing.assert_array_equal(got, exact(model, x))


@pytest.mark.parametrize(("case", "length"), RUNS, ids=str)
def test_full_range_weights_are_rewritten_only_where_that_is_exact(case, length):
    """On x86 without VNNI, ONNX Runtime's u8×s8 GEMM saturates 16-bit pair sums: there the
    convolutions stay as they are; elsewhere they are rewritten. Exact either way."""
    model = quantized_conv_model(*case)
    x = signal(case, length)
    rewritten = copy(model)
    assert convinteger_to_matmul(rewritten) == int(signed_matmul_is_exact())
    np.testing.assert_array_equal(run(rewritten, x), exact(model, x))


def matmul_integer_is_exact(m: int, k: int, n: int, seed: int) -> bool:
    """A full-range u8×s8 MatMulInteger with zero points, against numpy."""
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 256, (m, k), dtype=np.uint8)
    b = rng.integers(-128, 128, (k, n), dtype=np.int8)
    a_zero, b_zero = np.uint8(rng.integers(0, 256)), np.int8(rng.integers(-128, 128))
    graph = helper.make_graph(
        [helper.make_node("MatMulInteger", ["a", "b", "az", "bz"], ["y"])],
        "mm",
        [
            helper.make_tensor_value_info("a", TensorProto.UINT8, [m, k]),
            helper.make_tensor_value_info("az", TensorProto.UINT8, []),
        ],
        [helper.make_tensor_value_info("y", TensorProto.INT32, [m, n])],
        [numpy_helper.from_array(b, "b"), numpy_helper.from_array(b_zero, "bz")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    got = session.run(["y"], {"a": a, "az": np.asarray(a_zero)})[0]
    want = (a.astype(np.int64) - int(a_zero)) @ (b.astype(np.int64) - int(b_zero))
    return bool(np.array_equal(got, want))


def test_the_probe_agrees_with_the_matmul_kernel():
    shapes = [(1, 48, 8), (9, 48, 8), (64, 256, 32), (200, 1536, 64)]
    kernel_is_exact = all(
        matmul_integer_is_exact(*shape, seed) for seed, shape in enumerate(shapes)
    )
    assert signed_matmul_is_exact() == kernel_is_exact


def test_nothing_is_rewritten_where_signed_matmul_is_inexact(monkeypatch):
    monkeypatch.setattr(onnx_rewrite, "signed_matmul_is_exact", lambda: False)
    model = quantized_conv_model(*CASES[0])
    assert convinteger_to_matmul(model) == 0
    assert [n.op_type for n in model.graph.node] == ["DynamicQuantizeLinear", "ConvInteger"]


def test_grouped_and_per_channel_convs_are_left_alone():
    model = quantized_conv_model(4, 4, 3, 1, 1, (1, 1))
    conv = model.graph.node[1]
    conv.attribute.append(helper.make_attribute("group", 2))
    model.graph.initializer[0].CopyFrom(numpy_helper.from_array(np.zeros((4, 2, 3), np.uint8), "w"))
    assert convinteger_to_matmul(model, force=True) == 0
    assert [n.op_type for n in model.graph.node] == ["DynamicQuantizeLinear", "ConvInteger"]
    per_channel = quantized_conv_model(4, 4, 3, 1, 1, (1, 1))
    per_channel.graph.initializer[1].CopyFrom(
        numpy_helper.from_array(np.arange(4, dtype=np.uint8), "wz")
    )
    assert convinteger_to_matmul(per_channel, force=True) == 0


KOKORO = "kokoro-82m-int8"


@pytest.mark.realweights
def test_every_real_kokoro_conv_stays_exact(real_store):
    """Each of the real model's 87 int8 convolutions, with its own weights, on full-range
    activations: the graph ``load_tts`` runs gives the exact integer convolution."""
    proto = onnx.load(next((real_store / "models" / KOKORO).glob("*.onnx")))
    inits = {i.name: i for i in proto.graph.initializer}
    convs = [n for n in proto.graph.node if n.op_type == "ConvInteger"]
    assert len(convs) == 87
    rng = np.random.default_rng(0)
    for conv in convs:
        w = numpy_helper.to_array(inits[conv.input[1]])
        wz = numpy_helper.to_array(inits[conv.input[3]])
        attrs = {a.name: helper.get_attribute_value(a) for a in conv.attribute}
        node = helper.make_node("ConvInteger", ["x", "w", "xz", "wz"], ["y"])
        node.attribute.extend(conv.attribute)
        graph = helper.make_graph(
            [node],
            "conv",
            [
                helper.make_tensor_value_info("x", TensorProto.UINT8, [1, w.shape[1], None]),
                helper.make_tensor_value_info("xz", TensorProto.UINT8, []),
            ],
            [helper.make_tensor_value_info("y", TensorProto.INT32, None)],
            [numpy_helper.from_array(w, "w"), numpy_helper.from_array(wz, "wz")],
        )
        model = helper.make_model(graph, opset_imports=proto.opset_import)
        assert convinteger_to_matmul(model) == int(signed_matmul_is_exact())
        session = ort.InferenceSession(
            model.SerializeToString(), providers=["CPUExecutionProvider"]
        )
        x = rng.integers(0, 256, (1, w.shape[1], 40), dtype=np.uint8)
        xz = np.uint8(rng.integers(0, 256))
        got = session.run(["y"], {"x": x, "xz": np.asarray(xz)})[0]
        want = integer_conv1d(
            x, xz, w, wz, dilation=attrs.get("dilations", [1])[0],
            stride=attrs.get("strides", [1])[0], pads=attrs.get("pads", [0, 0]),
        )  # fmt: skip
        np.testing.assert_array_equal(got, want, err_msg=conv.name)


@pytest.mark.realweights
def test_the_real_int8_kokoro_speaks_the_same_after_the_rewrite(real_store):
    from speechlab.tts import load_tts

    store = real_store / "models" / KOKORO
    fast, plain = load_tts(store), load_tts(store, fast_int8=False)
    assert fast.model.rewritten_convs == (87 if signed_matmul_is_exact() else 0)
    assert plain.model.rewritten_convs == 0
    ops = {n.op_type for n in onnx.load(next(store.glob("*.onnx"))).graph.node}
    assert "ConvInteger" in ops  # the stored file is untouched
    text = "Zażółć gęślą jaźń, proszę."
    a = fast.synthesize(text, lang="pl", voice="jm_kumo").audio
    b = plain.synthesize(text, lang="pl", voice="jm_kumo").audio
    assert a.shape == b.shape and a.size > 24_000
    np.testing.assert_allclose(a, b, atol=1e-5)


def _graph_with_internal_durations(outputs: tuple[str, ...] = ("audio",)) -> onnx.ModelProto:
    """audio = x * 2; the node ``DURATIONS_NODE`` (x + 1) is computed but not an output."""
    from speechlab.tts.onnx_rewrite import DURATIONS_NODE

    nodes = [
        helper.make_node("Add", ["x", "one"], [DURATIONS_NODE]),
        helper.make_node("Mul", [DURATIONS_NODE, "two"], ["audio"]),
        helper.make_node("Identity", ["x"], ["durations_given"]),
    ]
    graph = helper.make_graph(
        nodes,
        "kokoro-like",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None])],
        [helper.make_tensor_value_info(name, TensorProto.FLOAT, [None]) for name in outputs],
        [
            numpy_helper.from_array(np.array(1, np.float32), "one"),
            numpy_helper.from_array(np.array(2, np.float32), "two"),
        ],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def test_expose_durations_makes_the_internal_node_an_output():
    from speechlab.tts.onnx_rewrite import DURATIONS_OUTPUT, expose_durations

    model = _graph_with_internal_durations()
    assert expose_durations(model)
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    audio, durations = session.run(["audio", DURATIONS_OUTPUT], {"x": np.array([1, 2], np.float32)})
    np.testing.assert_array_equal(durations, [2, 3])
    np.testing.assert_array_equal(audio, [4, 6])  # the rest of the graph is unchanged


def test_expose_durations_leaves_graphs_with_durations_or_without_the_node():
    from speechlab.tts.onnx_rewrite import expose_durations

    has_one = _graph_with_internal_durations(("audio", "durations_given"))
    assert not expose_durations(has_one) and len(has_one.graph.output) == 2
    other = _graph_with_internal_durations()
    other.graph.node[0].output[0] = other.graph.node[1].input[0] = "something_else"
    assert not expose_durations(other) and len(other.graph.output) == 1
