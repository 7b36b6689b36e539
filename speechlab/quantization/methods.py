"""The quantization methods ``speechlab.quantize`` knows: what each does, takes and needs."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from speechlab.quantization.errors import QuantizationError

__all__ = ["METHODS", "Method", "find_method"]


@dataclass(frozen=True)
class Method:
    """One method: its name, what it writes, the options it takes (with defaults), whether
    it needs calibration audio or training data, and the ``"module:function"`` that writes
    the folder."""

    name: str
    summary: str
    writer: str
    options: dict[str, Any] = field(default_factory=dict)
    calibrated: bool = False
    trains: bool = False  # fine-tunes on training data before quantizing (qat-*)

    def write(self) -> Callable[..., dict[str, Any]]:
        """The function that writes this method's folder (imported on first use)."""
        module, _, function = self.writer.partition(":")
        return getattr(importlib.import_module(module), function)

    def checked_options(self, given: dict[str, Any]) -> dict[str, Any]:
        """``given`` over the defaults; an option the method does not take is an error."""
        unknown = sorted(set(given) - set(self.options))
        if unknown:
            takes = ", ".join(f"{k}={v!r}" for k, v in self.options.items()) or "no options"
            raise QuantizationError(
                f"method {self.name!r} takes no option {', '.join(unknown)}; it takes {takes}."
            )
        return {**self.options, **given}


_TORCH = "speechlab.quantization.torch_methods"
_ONNX = "speechlab.quantization.onnx_methods"
_QAT = "speechlab.quantization.qat_method"
_CALIBRATION_OPTIONS = {"max_utterances": 32, "language": None}
#: The fine-tuning settings of the qat-* methods (``config``: any other TrainConfig key).
_QAT_OPTIONS = {
    "train": None,
    "eval": None,
    "steps": 500,
    "learning_rate": 2e-5,
    "batch_size": 8,
    "strategy": "encoder",
    "work_dir": None,
    "config": {},
}

#: Every method, by name, in the order ``speechlab quantize --help`` lists them.
METHODS: dict[str, Method] = {
    m.name: m
    for m in (
        Method("fp16", "weights and compute in float16 (GPUs; half the size)", f"{_TORCH}:fp16"),
        Method(
            "bf16",
            "weights and compute in bfloat16 (fast on CPUs with AMX/AVX512-BF16)",
            f"{_TORCH}:bf16",
            {"measure": True},
        ),
        Method(
            "torch-int8-dynamic",
            "torch dynamic int8 on every nn.Linear (fbgemm/x86 or onednn), CPU",
            f"{_TORCH}:int8_dynamic",
            {"engine": None, "per_channel": True, "skip": ()},
        ),
        Method(
            "onnx-int8-dynamic",
            "ONNX Runtime dynamic int8 (MatMul weights; convs stay float)",
            f"{_ONNX}:int8_dynamic",
            {"per_channel": False, "op_types": ("MatMul",)},
        ),
        Method(
            "onnx-int8-static",
            "ONNX Runtime static int8 (QDQ), calibrated on audio you give",
            f"{_ONNX}:int8_static",
            {
                "calibrate_method": "minmax",
                "percentile": 99.999,
                "per_channel": True,
                "op_types": ("MatMul",),
                **_CALIBRATION_OPTIONS,
            },
            calibrated=True,
        ),
        Method(
            "onnx-int4",
            "ONNX Runtime int4 weight-only (MatMulNBits, block-wise)",
            f"{_ONNX}:int4",
            {"block_size": 32, "symmetric": True, "accuracy_level": 4},
        ),
        Method(
            "qat-int8",
            "quantization-aware fine-tuning on audio you give (train=...), then int8",
            f"{_QAT}:qat",
            {"target": "onnx-int8-dynamic", **_QAT_OPTIONS},
            trains=True,
        ),
        Method(
            "qat-int4",
            "quantization-aware fine-tuning on audio you give (train=...), then int4",
            f"{_QAT}:qat",
            {"target": "onnx-int4", **_QAT_OPTIONS},
            trains=True,
        ),
    )
}


def find_method(name: str) -> Method:
    """The method called ``name``; an unknown name is an error listing them all."""
    try:
        return METHODS[name]
    except KeyError:
        listed = "\n".join(f"  {m.name}: {m.summary}" for m in METHODS.values())
        raise QuantizationError(
            f"Unknown quantization method {name!r}. Methods:\n{listed}"
        ) from None
