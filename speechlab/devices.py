"""Devices and thread counts, checked when a model is opened rather than at its first use.

Every backend takes ``device`` (``"cpu"``, ``"cuda"`` or ``"cuda:N"``) and ``threads``
(None for the library's default, or a whole number ≥ 1). :func:`parse_device` and
:func:`check_threads` check the values themselves, without importing any library;
:func:`check_gpus` then says, in one message for every backend, when the runtime that was
asked for sees no (or too few) CUDA GPUs.
"""

from __future__ import annotations

import numbers
import re
from dataclasses import dataclass
from typing import Any

from speechlab.errors import DeviceError

__all__ = ["DEVICES", "Device", "check_gpus", "check_threads", "parse_device"]

#: What ``device=`` accepts, as the messages list it.
DEVICES = "'cpu', 'cuda' or 'cuda:N' (N = the GPU's index)"
_DEVICE = re.compile(r"^(cpu|cuda)(?::(\d+))?$")


@dataclass(frozen=True)
class Device:
    """A checked device: ``kind`` ``"cpu"`` or ``"cuda"``, and the GPU index if one was given."""

    kind: str
    index: int | None = None

    @property
    def is_cuda(self) -> bool:
        return self.kind == "cuda"

    def __str__(self) -> str:
        return self.kind if self.index is None else f"{self.kind}:{self.index}"


def parse_device(device: Any) -> Device:
    """``device`` (a string, or a ``torch.device``) as a :class:`Device`; anything else is a
    :class:`DeviceError` listing the valid values."""
    text = str(device) if type(device).__name__ == "device" else device
    match = _DEVICE.match(text.strip().lower()) if isinstance(text, str) else None
    if match is None or (match.group(1) == "cpu" and match.group(2) not in (None, "0")):
        raise DeviceError(f"Unknown device {device!r}; use {DEVICES}.")
    kind, index = match.group(1), match.group(2)
    return Device(kind, int(index) if index is not None and kind == "cuda" else None)


def check_gpus(device: Device, gpus: int, runtime: str) -> None:
    """A :class:`DeviceError` when ``device`` is a GPU that ``runtime`` (which sees ``gpus``
    CUDA GPUs) cannot use."""
    if not device.is_cuda:
        return
    if gpus < 1:
        raise DeviceError(
            f"device={str(device)!r}, but {runtime} sees no CUDA GPU (none is visible, or this "
            "build has no CUDA support); use device='cpu'."
        )
    if device.index is not None and device.index >= gpus:
        valid = ", ".join(f"'cuda:{i}'" for i in range(gpus))
        raise DeviceError(
            f"device={str(device)!r}, but {runtime} sees {gpus} CUDA GPU(s): use {valid} or 'cpu'."
        )


def check_threads(threads: Any) -> int | None:
    """``threads`` when it is None or a whole number ≥ 1; else a :class:`DeviceError`."""
    if threads is None:
        return None
    if isinstance(threads, bool) or not isinstance(threads, numbers.Integral) or threads < 1:
        raise DeviceError(
            f"threads must be a whole number ≥ 1 (or None for the library's default), "
            f"got {threads!r}."
        )
    return int(threads)
