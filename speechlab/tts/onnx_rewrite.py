"""Exact graph rewrites that make dynamically quantized Kokoro exports faster on CPU.

ONNX Runtime runs ``ConvInteger`` with unsigned 8-bit weights through its u8×u8 integer
GEMM. ``convinteger_to_matmul`` turns each 1-D, ungrouped ``ConvInteger`` into an im2col
(transpose, pad with the input's zero point, one strided slice per kernel tap, concat) and a
``MatMulInteger`` whose weights are shifted to signed 8 bits (``w - 128`` with zero point
``zp - 128``), which runs on the u8×s8 kernels (VNNI / AMX). The integer arithmetic is the
same, so the int32 outputs are bit-identical; only the speed changes.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from onnx import helper, numpy_helper

__all__ = ["convinteger_to_matmul"]

_INT64_MAX = np.iinfo(np.int64).max


def convinteger_to_matmul(model: Any) -> int:
    """Rewrite the eligible ``ConvInteger`` nodes of ``model`` (an ``onnx.ModelProto``, in
    place); returns how many were rewritten. Others (2-D, grouped, non-constant weights,
    per-channel zero points) are left as they are."""
    graph = model.graph
    inits = {i.name: i for i in graph.initializer}
    new_nodes, new_inits, replaced, done = [], [], set(), 0
    for node in graph.node:
        plan = _plan(node, inits)
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
