"""Optimiser, learning-rate schedule, device and mixed precision for fine-tuning."""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable
from typing import Any

from speechlab.train.errors import ConfigError

__all__ = ["autocast", "lr_lambda", "make_optimizer", "pick_device", "pick_precision"]

_NO_DECAY = ("bias", "layer_norm", "layernorm", "norm.weight")


def make_optimizer(model: Any, learning_rate: float, weight_decay: float) -> Any:
    """AdamW over the trainable parameters; biases and norms get no weight decay."""
    import torch

    decay, plain = [], []
    for name, param in model.named_parameters():
        if not param.requires_grad:
            continue
        (plain if any(key in name.lower() for key in _NO_DECAY) else decay).append(param)
    if not decay and not plain:
        raise ConfigError("The strategy left nothing to train: every parameter is frozen.")
    groups = [
        {"params": decay, "weight_decay": weight_decay},
        {"params": plain, "weight_decay": 0.0},
    ]
    return torch.optim.AdamW([g for g in groups if g["params"]], lr=learning_rate)


def lr_lambda(kind: str, warmup: int, total: int) -> Callable[[int], float]:
    """Multiplier of the peak rate at step ``s``: linear warm-up over ``warmup`` steps, then
    ``linear`` decay to 0 at ``total``, ``cosine`` decay to 0, or ``constant``."""

    def factor(step: int) -> float:
        if warmup and step < warmup:
            return (step + 1) / warmup
        if kind == "constant":
            return 1.0
        progress = min(1.0, (step - warmup) / max(1, total - warmup))
        if kind == "linear":
            return max(0.0, 1.0 - progress)
        return 0.5 * (1.0 + math.cos(math.pi * progress))

    return factor


def pick_device(name: str, local_rank: int = 0) -> Any:
    """``auto``: this process's CUDA device when there is one, else the CPU."""
    import torch

    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda":
        name = f"cuda:{local_rank}"
    try:
        device = torch.device(name)
    except RuntimeError as exc:
        raise ConfigError(f"Unknown device {name!r}: {exc}") from exc
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError("device is cuda but no CUDA GPU is visible; use device: cpu.")
    return device


def pick_precision(precision: str, device: Any) -> str:
    """``auto``: bf16 on CUDA GPUs that have it, fp16 on older ones, fp32 on the CPU."""
    import torch

    if precision == "auto":
        if device.type != "cuda":
            return "fp32"
        return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
    if precision == "fp16" and device.type != "cuda":
        raise ConfigError("fp16 training needs a CUDA GPU; use precision: bf16 or fp32 on CPU.")
    return precision


def autocast(precision: str, device: Any) -> contextlib.AbstractContextManager[Any]:
    """The autocast context for ``precision`` (none for fp32)."""
    import torch

    if precision == "fp32":
        return contextlib.nullcontext()
    dtype = torch.bfloat16 if precision == "bf16" else torch.float16
    return torch.autocast(device_type=device.type, dtype=dtype)
