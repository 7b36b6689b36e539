"""Quantization-aware training: the linear layers see their weights (and inputs) rounded the
way the chosen post-training method will round them, while the float weights learn.

``prepare_qat(model, "onnx-int8-dynamic")`` puts a fake-quantizer on every ``nn.Linear``
weight (a ``torch.nn.utils.parametrize`` parametrization: rounding in the forward pass, the
straight-through gradient in the backward pass, from torch's ``fake_quantize_*`` ops) and,
for the int8 methods, on its input (dynamic per-tensor uint8, as both int8 runtimes quantize
activations per call). Each scheme copies its runtime's arithmetic:

* ``torch-int8-dynamic``: weights int8 per output channel, symmetric (scale = max|w| / 127.5,
  [-128, 127], torch's per-channel weight observer); inputs uint8 in 7 bits (``reduce_range``
  of torch's x86/fbgemm engines);
* ``onnx-int8-dynamic``: weights int8 per tensor, symmetric (scale = max|w| / 127,
  [-127, 127], ONNX Runtime's ``quantize_dynamic``); inputs uint8;
* ``onnx-int4``: weights int4 in blocks of 32 along the input dimension, symmetric
  (``MatMulNBits``); inputs float.

:func:`strip_qat` removes the quantizers and keeps the float weights they rounded: each
scheme derives its scales from the weights exactly as its post-training method does, so that
method, run on the exported float model, rounds to the very values training saw (baking the
rounded values in instead would not survive a second rounding: torch's scale max|w| / 127.5
moves when max|w| itself is rounded). The training loop exports a stripped copy, then writes
the real quantized model with ``speechlab.quantize``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch.nn.utils import parametrize

from speechlab.train.errors import ConfigError
from speechlab.train.qat_methods import QAT_METHODS, check_qat

__all__ = [
    "QAT_SCHEMES",
    "FakeQuantScheme",
    "fake_quantize_weight",
    "is_qat",
    "prepare_qat",
    "strip_qat",
]


@dataclass(frozen=True)
class FakeQuantScheme:
    """How one runtime rounds a linear layer: weight bits and grouping, input bits."""

    weight_min: int
    weight_max: int
    weight_divisor: float  # scale = max|w| / weight_divisor
    weight_block: int | None  # None: per output channel; 0: per tensor; n: blocks of n inputs
    input_max: int | None  # uint8 inputs in [0, input_max]; None: inputs stay float


#: The post-training method a QAT run targets -> how that method rounds.
QAT_SCHEMES: dict[str, FakeQuantScheme] = {
    "torch-int8-dynamic": FakeQuantScheme(-128, 127, 127.5, None, 127),
    "onnx-int8-dynamic": FakeQuantScheme(-127, 127, 127.0, 0, 255),
    "onnx-int4": FakeQuantScheme(-8, 7, 7.0, 32, None),
}
assert tuple(QAT_SCHEMES) == QAT_METHODS


def prepare_qat(model: Any, method: str) -> list[str]:
    """Put ``method``'s fake-quantizers on every ``nn.Linear`` of ``model`` (in place);
    return the names of the layers. An unknown method is a :class:`ConfigError`."""
    scheme = _scheme(method)
    names = []
    for name, module in model.named_modules():
        if not isinstance(module, torch.nn.Linear) or parametrize.is_parametrized(module):
            continue
        block = scheme.weight_block
        if block and module.in_features % block:
            raise ConfigError(
                f"{name} has {module.in_features} inputs, not a multiple of the {block}-wide "
                f"blocks of {method}; choose another qat method."
            )
        parametrize.register_parametrization(module, "weight", _WeightFakeQuant(scheme))
        if scheme.input_max is not None:
            module.register_forward_pre_hook(_InputFakeQuant(scheme.input_max))
        names.append(name)
    if not names:
        raise ConfigError("The model has no nn.Linear layer for quantization-aware training.")
    return names


def is_qat(model: Any) -> bool:
    """Whether ``model`` carries fake-quantizers from :func:`prepare_qat`."""
    return any(
        isinstance(p, _WeightFakeQuant)
        for module in model.modules()
        for plist in getattr(module, "parametrizations", {}).values()
        for p in plist
    )


def strip_qat(model: Any) -> Any:
    """Remove the fake-quantizers of ``model`` (in place), keeping the float weights."""
    for module in model.modules():
        if parametrize.is_parametrized(module, "weight") and any(
            isinstance(p, _WeightFakeQuant) for p in module.parametrizations["weight"]
        ):
            parametrize.remove_parametrizations(module, "weight", leave_parametrized=False)
        hooks = module._forward_pre_hooks
        for key in [k for k, hook in hooks.items() if isinstance(hook, _InputFakeQuant)]:
            del hooks[key]
    return model


def _scheme(method: str) -> FakeQuantScheme:
    check_qat(method, "full")
    return QAT_SCHEMES[method]


class _WeightFakeQuant(torch.nn.Module):
    """A parametrization: the weight rounded to the scheme's grid (straight-through)."""

    def __init__(self, scheme: FakeQuantScheme) -> None:
        super().__init__()
        self.scheme = scheme

    def forward(self, weight: torch.Tensor) -> torch.Tensor:
        return fake_quantize_weight(weight, self.scheme)


def fake_quantize_weight(weight: torch.Tensor, scheme: FakeQuantScheme) -> torch.Tensor:
    """``weight`` ([out, in]) rounded as ``scheme`` rounds it, with a straight-through
    gradient."""
    w = weight
    if scheme.weight_block:
        out_features, in_features = w.shape
        w = w.reshape(out_features * in_features // scheme.weight_block, scheme.weight_block)
    if scheme.weight_block == 0:
        scale = (w.detach().abs().max() / scheme.weight_divisor).clamp_min(1e-12).reshape(1)
        rounded = torch.fake_quantize_per_tensor_affine(
            w, scale, torch.zeros(1, dtype=torch.int32), scheme.weight_min, scheme.weight_max
        )
    else:
        scale = (w.detach().abs().amax(dim=1) / scheme.weight_divisor).clamp_min(1e-12)
        zero = torch.zeros(scale.shape, dtype=torch.int32)
        rounded = torch.fake_quantize_per_channel_affine(
            w, scale.float(), zero, 0, scheme.weight_min, scheme.weight_max
        )
    return rounded.reshape(weight.shape)


class _InputFakeQuant:
    """A forward pre-hook: the layer's input rounded to uint8 per tensor, per call."""

    def __init__(self, input_max: int) -> None:
        self.input_max = input_max

    def __call__(self, module: Any, args: tuple[Any, ...]) -> tuple[Any, ...]:
        (x, *rest) = args
        low = x.detach().amin().clamp_max(0.0)
        high = x.detach().amax().clamp_min(0.0)
        scale = ((high - low) / self.input_max).clamp_min(1e-12).reshape(1).float()
        zero = torch.round(-low / scale).clamp(0, self.input_max).to(torch.int32).reshape(1)
        return (torch.fake_quantize_per_tensor_affine(x, scale, zero, 0, self.input_max), *rest)
