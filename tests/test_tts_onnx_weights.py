"""speechlab.tts.onnx_weights: a dynamically quantized graph's weights read back as floats."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from speechlab.tts.onnx_weights import GraphError, dequantize, graph_weights


def test_dequantize_per_tensor_and_per_channel():
    q = np.array([[0, 10, 255], [128, 129, 127]], np.uint8)
    assert dequantize(q, np.float32(0.5), np.uint8(128)).tolist() == [
        [-64.0, -59.0, 63.5],
        [0.0, 0.5, -0.5],
    ]
    q = np.array([[-2, 4], [6, -8]], np.int8)
    per_column = dequantize(q, np.array([1.0, 0.25], np.float32), np.zeros(2, np.int8), axis=1)
    assert per_column.tolist() == [[-2.0, 1.0], [6.0, -2.0]]
    per_row = dequantize(q, np.array([1.0, 0.25], np.float32), np.array([1, -2], np.int8))
    assert per_row.tolist() == [[-3.0, 3.0], [2.0, -1.5]]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> tuple[object, Path]:
    """A torch model with every weight kind Kokoro has, exported and dynamically quantized
    the way the store's int8 file was (``onnxruntime.quantization.quantize_dynamic``)."""
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic

    class Tiny(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.embedding = torch.nn.Embedding(12, 8)
            self.linear = torch.nn.Linear(8, 6)
            self.conv = torch.nn.Conv1d(6, 5, 3, padding=1)
            self.lstm = torch.nn.LSTM(5, 4, batch_first=True, bidirectional=True)

        def forward(self, ids: torch.Tensor) -> torch.Tensor:
            x = self.linear(self.embedding(ids))
            x = self.conv(x.transpose(1, 2)).transpose(1, 2)
            return self.lstm(x)[0]

    torch.manual_seed(0)
    model = Tiny().eval()
    folder = tmp_path_factory.mktemp("tiny-onnx")
    fp32, int8 = folder / "tiny.onnx", folder / "tiny_int8.onnx"
    with torch.no_grad():
        torch.onnx.export(
            model, (torch.zeros(1, 7, dtype=torch.long),), str(fp32), dynamo=False, opset_version=17
        )
    quantize_dynamic(
        str(fp32),
        str(int8),
        weight_type=QuantType.QInt8,
        op_types_to_quantize=["MatMul", "Conv", "LSTM", "Gather"],
    )
    return model, int8


def test_every_weight_comes_back_within_half_a_quantization_step(tiny):
    model, path = tiny
    weights = graph_weights(onnx.load(str(path)))
    by_kind: dict[tuple[str, str], np.ndarray] = {(w.kind, w.role): w.value for w in weights}
    quantized = {(w.kind, w.role): w.quantization for w in weights}
    biases = [quantized.pop(("lstm", "B")), quantized.pop(("constant", "weight"))]
    assert biases == ["none", "none"]  # biases stay float
    assert set(quantized.values()) == {"per-tensor"}, quantized

    def close(value: np.ndarray, reference: np.ndarray) -> None:
        # one 8-bit step: of the range over 0..255 (asymmetric), or of ±max|w| over -127..127
        # (symmetric int8 weights, onnxruntime's default)
        step = max(np.ptp(reference) / 255, 2 * np.abs(reference).max() / 254)
        assert value.shape == reference.shape
        assert np.abs(value - reference).max() <= 0.5 * step + 1e-6

    sd = {k: v.detach().numpy() for k, v in model.state_dict().items()}
    close(by_kind[("gather", "weight")], sd["embedding.weight"])
    close(by_kind[("matmul", "weight")], sd["linear.weight"].T)  # MatMul reads (in, out)
    close(by_kind[("conv", "weight")], sd["conv.weight"])
    # ONNX LSTM layout, gates i, o, f, c (torch: i, f, g, o)
    order = [0, 3, 1, 2]
    for role, name in (("W", "lstm.weight_ih_l0"), ("R", "lstm.weight_hh_l0")):
        for direction, suffix in enumerate(("", "_reverse")):
            gates = np.split(sd[name + suffix], 4)
            close(by_kind[("lstm", role)][direction], np.concatenate([gates[i] for i in order]))
    bias = by_kind[("lstm", "B")]
    gates = np.split(sd["lstm.bias_ih_l0"], 4)
    assert np.allclose(bias[0][:16], np.concatenate([gates[i] for i in order]))


def test_scales_and_zero_points_are_not_reported_as_weights(tiny):
    _, path = tiny
    names = {w.tensor for w in graph_weights(onnx.load(str(path)))}
    assert not [n for n in names if n.endswith(("_scale", "_zero_point"))]


def test_an_unknown_quantization_layout_names_the_tensor():
    q = numpy_helper.from_array(np.ones((2, 2), np.int8), "mystery_quantized")
    node = helper.make_node("Add", ["x", "mystery_quantized"], ["y"])
    graph = helper.make_graph(
        [node],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.INT8, [2, 2])],
        [helper.make_tensor_value_info("y", TensorProto.INT8, [2, 2])],
        [q],
    )
    with pytest.raises(GraphError, match=r"'mystery_quantized'.*Add"):
        graph_weights(helper.make_model(graph))
