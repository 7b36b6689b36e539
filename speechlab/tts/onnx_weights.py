"""The weights of an ONNX graph as float arrays, each with the node that reads it.

A dynamically quantized export (onnxruntime's ``quantize_dynamic``) keeps its weights as
8-bit integers with a scale and a zero point, and many of them lose their torch names on the
way (``onnx::MatMul_6547``, ``onnx::LSTM_6930``, ``/decoder/.../Mul_2_output_0``).
``graph_weights`` walks the graph once and returns every constant weight with:

* its float value, dequantized as ``w = (q - zero_point) × scale`` (per tensor or per output
  channel), in the layout the node reads it;
* the consuming node's kind (``matmul``, ``conv``, ``conv_transpose``, ``lstm``, ``gather``
  or ``constant`` for any other reader) and its name, whose scope path (``/encoder/bert/
  .../attention/query_3/MatMul_quant``) tells which module the tensor belongs to.

This module knows ONNX, not Kokoro: ``onnx_import`` maps the result onto ``KModel``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from speechlab.errors import SpeechlabError

__all__ = ["GraphError", "GraphWeight", "dequantize", "graph_weights"]

_INTEGER_OPS = {"MatMulInteger": "matmul", "ConvInteger": "conv"}
_FLOAT_OPS = {
    "MatMul": "matmul",
    "Gemm": "matmul",
    "Conv": "conv",
    "ConvTranspose": "conv_transpose",
}
_FLOATS = (np.float32, np.float16, np.float64)


class GraphError(SpeechlabError):
    """An ONNX graph whose weights cannot be read back (an unknown quantization layout)."""


@dataclass(frozen=True)
class GraphWeight:
    """One constant weight of the graph, as the node reading it sees it (in float32).

    ``matmul`` values are (in, out) (ONNX ``MatMul``'s right-hand side); ``conv`` and
    ``conv_transpose`` values have the ONNX/torch kernel layout; ``lstm`` values follow the
    ONNX ``LSTM`` spec (``W`` [directions, 4·hidden, input], ``R`` [directions, 4·hidden,
    hidden], ``B`` [directions, 8·hidden], gates in i, o, f, c order) whatever the
    quantized node stored.
    """

    tensor: str  # the initializer's name (the integer one for quantized weights)
    kind: str  # matmul | conv | conv_transpose | lstm | gather | constant
    node: str  # the name of the first node that reads it
    value: np.ndarray
    role: str = "weight"  # lstm: "W", "R" or "B"
    quantization: str = "none"  # none | per-tensor | per-channel


def dequantize(q: np.ndarray, scale: np.ndarray, zero_point: Any, axis: int = 0) -> np.ndarray:
    """``(q - zero_point) × scale`` in float32; a 1-D ``scale`` runs along ``axis``."""
    scale = np.asarray(scale, np.float32)
    zero = np.asarray(0 if zero_point is None else zero_point).astype(np.float32)
    if scale.ndim == 1 and scale.size > 1:
        shape = [1] * q.ndim
        shape[axis] = scale.size
        scale, zero = scale.reshape(shape), np.broadcast_to(zero, scale.shape).reshape(shape)
    return ((q.astype(np.float32) - zero) * scale).astype(np.float32)


def graph_weights(model: Any) -> list[GraphWeight]:
    """Every constant weight of ``model`` (an ``onnx.ModelProto``) in node order.

    Integer initializers must be read by a node whose quantization speechlab understands
    (``MatMulInteger``, ``ConvInteger``, ``DynamicQuantizeLSTM``, ``Gather`` +
    ``DequantizeLinear``, ``DequantizeLinear``); anything else raises :class:`GraphError`
    naming the tensor. Float initializers of any size are returned too (kind ``constant``
    unless a weight-bearing node reads them); integer-typed shapes and indices are not.
    """
    return list(_Walker(model).weights())


class _Walker:
    def __init__(self, model: Any) -> None:
        from onnx import numpy_helper

        graph = model.graph
        self.nodes = list(graph.node)
        self.inits = {i.name: numpy_helper.to_array(i) for i in graph.initializer}
        self.quantization_params: set[str] = set()  # scales and zero points read so far
        self.consumers: dict[str, list[Any]] = {}
        self.producer: dict[str, Any] = {}
        for node in self.nodes:
            for name in node.input:
                self.consumers.setdefault(name, []).append(node)
            for name in node.output:
                self.producer[name] = node

    def weights(self) -> Iterator[GraphWeight]:
        seen: set[str] = set()
        for node in self.nodes:
            for weight in self._read(node):
                if weight.tensor not in seen:
                    seen.add(weight.tensor)
                    yield weight
        for name, value in self.inits.items():  # floats no weight-bearing node read
            if name in seen or name in self.quantization_params:
                continue
            if not np.issubdtype(value.dtype, np.floating):
                continue
            readers = self.consumers.get(name, [])
            yield GraphWeight(
                name, "constant", readers[0].name if readers else "", value.astype(np.float32)
            )
        for name, value in self.inits.items():  # integers nobody dequantized
            if name in seen or value.dtype not in (np.int8, np.uint8):
                continue
            readers = self.consumers.get(name, [])
            if any(self._reads_as_zero_point(node, name) for node in readers):
                continue
            raise GraphError(
                f"Tensor {name!r} holds {value.dtype} weights read by "
                f"{[n.op_type for n in readers] or 'no node'}, a quantization layout "
                "speechlab cannot dequantize."
            )

    # ------------------------------------------------------------------ per node kind

    def _read(self, node: Any) -> list[GraphWeight]:
        op = node.op_type
        if op in _INTEGER_OPS:
            return self._integer_op(node, _INTEGER_OPS[op])
        if op in _FLOAT_OPS:
            return self._float_op(node, _FLOAT_OPS[op])
        if op == "DynamicQuantizeLSTM":
            return self._quantized_lstm(node)
        if op == "LSTM":
            return self._float_lstm(node)
        if op == "Gather" and self._is_init(node.input[0]):
            return self._gather(node)
        if op == "DequantizeLinear" and self._is_init(node.input[0]):
            q = self.inits[node.input[0]]
            scale = self._quantization_param(node, 1)
            value = dequantize(q, scale, self._quantization_param(node, 2), _axis(node))
            return [GraphWeight(node.input[0], "constant", node.name, value, "weight", _per(scale))]
        return []

    def _integer_op(self, node: Any, kind: str) -> list[GraphWeight]:
        name = node.input[1]
        if not self._is_init(name):
            return []
        q = self.inits[name]
        scale = self._weight_scale(node)
        axis = q.ndim - 1 if kind == "matmul" else 0  # per output channel
        value = dequantize(q, scale, self._quantization_param(node, 3), axis)
        return [GraphWeight(name, kind, node.name, value, quantization=_per(scale))]

    def _float_op(self, node: Any, kind: str) -> list[GraphWeight]:
        name = node.input[1]
        if not self._is_init(name) or not np.issubdtype(self.inits[name].dtype, np.floating):
            return []
        value = self.inits[name].astype(np.float32)
        if node.op_type == "Gemm" and _attribute(node, "transB", 0):
            value = value.T  # Gemm stores (out, in) with transB; report (in, out)
        return [GraphWeight(name, kind, node.name, np.ascontiguousarray(value))]

    def _quantized_lstm(self, node: Any) -> list[GraphWeight]:
        # com.microsoft DynamicQuantizeLSTM: X, W, R, B, seq, h0, c0, P, W_scale, W_zp,
        # R_scale, R_zp; W is [dirs, input, 4h] and R [dirs, hidden, 4h] (transposed).
        out = []
        for role, index, scale_index in (("W", 1, 8), ("R", 2, 10)):
            q = self.inits[node.input[index]]
            scale, zero = (
                self._quantization_param(node, scale_index),
                self._quantization_param(node, scale_index + 1),
            )
            scale = scale.reshape(q.shape[0], -1)[:, None, :]  # per direction (or channel)
            zero = np.asarray(zero).reshape(q.shape[0], -1)[:, None, :]
            value = ((q.astype(np.float32) - zero.astype(np.float32)) * scale).astype(np.float32)
            quant = "per-tensor" if scale.shape[-1] == 1 else "per-channel"
            out.append(
                GraphWeight(
                    node.input[index],
                    "lstm",
                    node.name,
                    np.ascontiguousarray(value.transpose(0, 2, 1)),
                    role,
                    quant,
                )
            )
        if len(node.input) > 3 and self._is_init(node.input[3]):
            bias = self.inits[node.input[3]].astype(np.float32)
            out.append(GraphWeight(node.input[3], "lstm", node.name, bias, "B"))
        return out

    def _float_lstm(self, node: Any) -> list[GraphWeight]:
        out = []
        for role, index in (("W", 1), ("R", 2), ("B", 3)):
            if len(node.input) > index and self._is_init(node.input[index]):
                value = self.inits[node.input[index]].astype(np.float32)
                out.append(GraphWeight(node.input[index], "lstm", node.name, value, role))
        return out

    def _gather(self, node: Any) -> list[GraphWeight]:
        name = node.input[0]
        data = self.inits[name]
        if np.issubdtype(data.dtype, np.floating):
            return [GraphWeight(name, "gather", node.name, data.astype(np.float32))]
        readers = self.consumers.get(node.output[0], [])
        dequant = [n for n in readers if n.op_type == "DequantizeLinear"]
        if dequant:  # gathered rows dequantized at once
            scale = self._quantization_param(dequant[0], 1)
            zero, axis = self._quantization_param(dequant[0], 2), _axis(dequant[0])
        else:  # rows fed, still quantized, to an integer op: the quantizer's own names
            base = name.removesuffix("_quantized")
            if f"{base}_scale" not in self.inits:
                raise GraphError(f"Tensor {name!r} is gathered as integers with no scale.")
            scale, zero, axis = self.inits[f"{base}_scale"], self.inits.get(f"{base}_zero_point"), 0
            self.quantization_params.update({f"{base}_scale", f"{base}_zero_point"})
        value = dequantize(data, scale, zero, axis)
        return [GraphWeight(name, "gather", node.name, value, "weight", _per(scale))]

    # ------------------------------------------------------------------ helpers

    def _weight_scale(self, node: Any) -> np.ndarray:
        """The weight's scale of an integer op: its output goes (through Add/Cast) to a Mul
        by ``input_scale × weight_scale``; the initializer of that product is the weight's."""
        frontier, hops = list(node.output), 0
        while frontier and hops < 4:
            hops += 1
            nxt = []
            for name in frontier:
                for reader in self.consumers.get(name, []):
                    if reader.op_type in ("Add", "Cast", "Reshape"):
                        nxt.extend(reader.output)
                    elif reader.op_type == "Mul":
                        others = [i for i in reader.input if i != name]
                        found = self._scale_in(others[0], node.input[1]) if others else None
                        if found is not None:
                            return found
            frontier = nxt
        raise GraphError(
            f"Cannot find the weight scale of {node.op_type} {node.name!r} (input "
            f"{node.input[1]!r}): not a dynamic-quantization layout speechlab knows."
        )

    def _scale_in(self, name: str, weight: str) -> np.ndarray | None:
        """The weight's scale among the factors of the Mul producing ``name``: the only
        constant one, or (both constant: the input came quantized from a Gather) the one
        the quantizer named after the weight."""
        producer = self.producer.get(name)
        if producer is None or producer.op_type != "Mul":
            return None
        scales = [i for i in producer.input if i in self.inits]
        if len(scales) > 1:
            scales = [i for i in scales if i == weight.removesuffix("_quantized") + "_scale"]
        if len(scales) != 1:
            return None
        self.quantization_params.add(scales[0])
        return self.inits[scales[0]].astype(np.float32)

    def _reads_as_zero_point(self, node: Any, name: str) -> bool:
        positions = {"MatMulInteger": (2, 3), "ConvInteger": (2, 3), "DequantizeLinear": (2,)}
        positions["DynamicQuantizeLSTM"] = (9, 11)
        return any(
            len(node.input) > i and node.input[i] == name for i in positions.get(node.op_type, ())
        )

    def _is_init(self, name: str) -> bool:
        return bool(name) and name in self.inits

    def _quantization_param(self, node: Any, index: int) -> Any:
        if len(node.input) <= index or not node.input[index]:
            return None
        name = node.input[index]
        if name not in self.inits:
            raise GraphError(f"{node.op_type} {node.name!r} reads {name!r}, which is not constant.")
        self.quantization_params.add(name)
        return self.inits[name]


def _per(scale: np.ndarray) -> str:
    return "per-channel" if np.asarray(scale).size > 1 else "per-tensor"


def _axis(node: Any) -> int:
    return int(_attribute(node, "axis", 1))


def _attribute(node: Any, name: str, default: Any) -> Any:
    from onnx import helper

    for attribute in node.attribute:
        if attribute.name == name:
            return helper.get_attribute_value(attribute)
    return default
