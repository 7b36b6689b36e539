"""Exact graph rewrites that make dynamically quantized Kokoro exports faster on CPU.

ONNX Runtime runs ``ConvInteger`` with unsigned 8-bit weights through its u8×u8 integer
GEMM. ``convinteger_to_matmul`` turns each 1-D, ungrouped ``ConvInteger`` into an im2col
(transpose, pad with the input's zero point, one strided slice per kernel tap, concat) and a
``MatMulInteger`` whose weights are shifted to signed 8 bits (``w - 128`` with zero point
``zp - 128``), which runs on the u8×s8 kernels (VNNI / AMX). The integer arithmetic is the
same, so the int32 outputs are bit-identical; only the speed changes.

That holds only where ONNX Runtime's u8×s8 GEMM is exact. On x86 CPUs without VNNI (AVX2,
AVX-512 without VNNI) it adds pairs of u8×s8 products in saturating 16-bit lanes
(``vpmaddubsw``), which overflow for full-range signed weights (255 × 127 × 2 > 32767; the
export's own ``MatMulInteger`` weights stay within ±64 to avoid this). There the rewrite
would change the outputs (and an exact u8×u8 variant is no faster than ``ConvInteger``),
so ``signed_matmul_is_exact`` checks the rewrite once per process on a small convolution
against the exact integer convolution, and nothing is rewritten where it differs.

``expose_durations`` adds an output: the kokoro-onnx export (the store's
``kokoro-82m-int8``) has no durations output, but computes the rounded per-token durations
internally (``DURATIONS_NODE``; their sum × 600 is the audio's sample count), which give
word times. Making that node output a graph output changes nothing else.
"""

from __future__ import annotations

import functools
import logging
from typing import Any

import numpy as np
from onnx import TensorProto, helper, numpy_helper

__all__ = [
    "DURATIONS_NODE",
    "DURATIONS_OUTPUT",
    "convinteger_to_matmul",
    "expose_durations",
    "integer_conv1d",
    "signed_matmul_is_exact",
]

#: The kokoro-onnx graph's internal per-token durations (rounded, clipped to ≥ 1, in frames
#: of 600 samples, BOS and EOS included).
DURATIONS_NODE = "/encoder/Clip_output_0"
#: The graph output ``expose_durations`` adds.
DURATIONS_OUTPUT = "durations"

_INT64_MAX = np.iinfo(np.int64).max
_log = logging.getLogger(__name__)


def convinteger_to_matmul(model: Any, *, force: bool = False) -> int:
    """Rewrite the eligible ``ConvInteger`` nodes of ``model`` (an ``onnx.ModelProto``, in
    place); returns how many were rewritten. Others (2-D, grouped, non-constant weights,
    per-channel zero points) are left as they are, and so is everything when this CPU's
    u8×s8 ``MatMulInteger`` is not exact (``signed_matmul_is_exact``), unless ``force``."""
    graph = model.graph
    inits = {i.name: i for i in graph.initializer}
    plans = [_plan(node, inits) for node in graph.node]
    if not any(plans) or not (force or signed_matmul_is_exact()):
        return 0
    new_nodes, new_inits, replaced, done = [], [], set(), 0
    for node, plan in zip(graph.node, plans, strict=True):
        if plan is None:
            new_nodes.append(node)
            continue
        nodes, initializers = _im2col_matmul(node, *plan)
        new_nodes.extend(nodes)
        new_inits.extend(initializers)
        replaced.update((node.input[1], node.input[3]))
        done += 1
    if done:
        del graph.node[:]
        graph.node.extend(new_nodes)
        used = {name for n in new_nodes for name in n.input}
        kept = [i for i in graph.initializer if i.name in used or i.name not in replaced]
        del graph.initializer[:]
        graph.initializer.extend(kept + new_inits)
    return done


def expose_durations(model: Any) -> bool:
    """Add the output ``durations`` (= ``DURATIONS_NODE``) to ``model`` (an
    ``onnx.ModelProto``, in place) when it has no durations output but computes that node;
    returns whether it was added."""
    graph = model.graph
    if any("duration" in output.name for output in graph.output):
        return False
    if not any(DURATIONS_NODE in node.output for node in graph.node):
        return False
    graph.node.append(helper.make_node("Identity", [DURATIONS_NODE], [DURATIONS_OUTPUT]))
    graph.output.append(helper.make_tensor_value_info(DURATIONS_OUTPUT, TensorProto.FLOAT, None))
    return True


@functools.cache
def signed_matmul_is_exact() -> bool:
    """Whether the rewrite of a small full-range int8 convolution (3 taps, padding, zero
    points) gives the exact integer convolution on this ONNX Runtime and CPU; checked once."""
    import onnxruntime as ort

    rng = np.random.default_rng(0)
    cin, cout, taps, length, pads = 64, 16, 3, 24, (1, 1)
    x = rng.integers(0, 256, (1, cin, length), dtype=np.uint8)
    weights = rng.integers(0, 256, (cout, cin, taps), dtype=np.uint8)
    x[0, :, :4], weights[0], weights[1] = 255, 255, 0  # where 16-bit pair sums overflow
    x_zero, w_zero = np.uint8(131), np.uint8(122)
    conv = helper.make_node(
        "ConvInteger", ["x", "w", "xz", "wz"], ["y"], kernel_shape=[taps], pads=list(pads)
    )
    graph = helper.make_graph(
        [conv],
        "probe",
        [
            helper.make_tensor_value_info("x", TensorProto.UINT8, [1, cin, None]),
            helper.make_tensor_value_info("xz", TensorProto.UINT8, []),
        ],
        [helper.make_tensor_value_info("y", TensorProto.INT32, [1, cout, None])],
        [numpy_helper.from_array(weights, "w"), numpy_helper.from_array(w_zero, "wz")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8  # readable by older onnxruntime releases too
    convinteger_to_matmul(model, force=True)
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(
        model.SerializeToString(), options, providers=["CPUExecutionProvider"]
    )
    got = session.run(["y"], {"x": x, "xz": np.asarray(x_zero)})[0]
    exact = bool(np.array_equal(got, integer_conv1d(x, x_zero, weights, w_zero, pads=pads)))
    if not exact:
        _log.info(
            "onnxruntime %s: u8×s8 MatMulInteger is inexact on this CPU (x86 without VNNI); "
            "int8 convolutions run as stored, fast_int8 has no effect",
            ort.__version__,
        )
    return exact


def integer_conv1d(
    x: np.ndarray,
    x_zero: int,
    weights: np.ndarray,
    w_zero: int,
    *,
    dilation: int = 1,
    stride: int = 1,
    pads: tuple[int, int] | list[int] = (0, 0),
) -> np.ndarray:
    """The exact 1-D ``ConvInteger`` in numpy, the ground truth for the rewrite: (N, C, L)
    uint8 input, (M, C, K) uint8 weights → (N, M, L') int32, padding worth ``x_zero``."""
    xs = np.pad(x.astype(np.int64) - int(x_zero), ((0, 0), (0, 0), tuple(pads)))
    ws = weights.astype(np.int64) - int(w_zero)
    taps = ws.shape[2]
    steps = (xs.shape[2] - dilation * (taps - 1) - 1) // stride + 1
    if steps < 1:
        raise ValueError(f"a length-{x.shape[2]} input is shorter than the padded kernel")
    out = np.zeros((xs.shape[0], ws.shape[0], steps), np.int64)
    for tap in range(taps):
        start = tap * dilation
        window = xs[:, :, start : start + stride * (steps - 1) + 1 : stride]
        out += np.einsum("mc,ncl->nml", ws[:, :, tap], window)
    return out.astype(np.int32)


def _plan(node: Any, inits: dict[str, Any]) -> tuple | None:
    """(weights, weight zero point, dilation, stride, pads) when ``node`` can be rewritten."""
    if node.op_type != "ConvInteger" or len(node.input) < 4 or node.input[1] not in inits:
        return None
    if node.input[3] not in inits or not node.input[2]:
        return None
    weights = numpy_helper.to_array(inits[node.input[1]])
    zero = numpy_helper.to_array(inits[node.input[3]])
    attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
    if weights.dtype != np.uint8 or weights.ndim != 3 or zero.size != 1:
        return None
    if attrs.get("group", 1) != 1 or attrs.get("auto_pad", b"NOTSET") not in (b"NOTSET", "NOTSET"):
        return None
    dilation = int(attrs.get("dilations", [1])[0])
    stride = int(attrs.get("strides", [1])[0])
    pads = [int(p) for p in attrs.get("pads", [0, 0])]
    return weights, int(zero.reshape(())), dilation, stride, pads


def _im2col_matmul(
    node: Any,
    weights: np.ndarray,
    zero: int,
    dilation: int,
    stride: int,
    pads: list[int],
) -> tuple[list[Any], list[Any]]:
    _, in_channels, taps = weights.shape
    base = node.output[0] + "_mm"
    x, x_zero = node.input[0], node.input[2]
    # column j * C + c of the im2col holds tap j of channel c
    signed = (weights.astype(np.int16) - 128).astype(np.int8)
    matrix = np.ascontiguousarray(signed.transpose(2, 1, 0).reshape(taps * in_channels, -1))
    inits = [
        numpy_helper.from_array(matrix, base + "_w"),
        numpy_helper.from_array(np.array(zero - 128, dtype=np.int8), base + "_wzp"),
    ]
    nodes = [helper.make_node("Transpose", [x], [base + "_xt"], perm=[0, 2, 1])]
    current = base + "_xt"
    if any(pads):
        inits.append(
            numpy_helper.from_array(np.array([0, pads[0], 0, 0, pads[1], 0], np.int64), base + "_p")
        )
        nodes.append(helper.make_node("Pad", [current, base + "_p", x_zero], [base + "_xp"]))
        current = base + "_xp"
    span = dilation * (taps - 1)
    columns = [current]
    if span or stride != 1:
        inits += [
            numpy_helper.from_array(np.array([1], np.int64), base + "_axes"),
            numpy_helper.from_array(np.array([stride], np.int64), base + "_steps"),
        ]
        columns = []
        for tap in range(taps):  # tap j reads x[j*d + t*s] for every output step t
            start, end = tap * dilation, tap * dilation - span
            name = f"{base}_s{tap}"
            inits += [
                numpy_helper.from_array(np.array([start], np.int64), name + "_start"),
                numpy_helper.from_array(
                    np.array([end if end < 0 else _INT64_MAX], np.int64), name + "_end"
                ),
            ]
            nodes.append(
                helper.make_node(
                    "Slice",
                    [current, name + "_start", name + "_end", base + "_axes", base + "_steps"],
                    [name],
                )
            )
            columns.append(name)
    if len(columns) > 1:
        nodes.append(helper.make_node("Concat", columns, [base + "_col"], axis=2))
        columns = [base + "_col"]
    nodes.append(
        helper.make_node(
            "MatMulInteger",
            [columns[0], base + "_w", x_zero, base + "_wzp"],
            [base + "_y"],
        )
    )
    nodes.append(helper.make_node("Transpose", [base + "_y"], [node.output[0]], perm=[0, 2, 1]))
    return nodes, inits
