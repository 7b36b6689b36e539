"""The contract between ``Synthesizer`` and a Kokoro runtime (ONNX Runtime, torch, …).

A runtime takes padded token ids (BOS and EOS pads of id 0 included), one style row of the
voice pack and a speed, and returns 24 kHz float32 audio with, when the model gives them,
per-token durations. A new backend implements :class:`KokoroRuntime` (copy
``kokoro_torch.KokoroTorch``) and gets a branch in ``loading.load_tts``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np

__all__ = ["SAMPLES_PER_DURATION_FRAME", "SAMPLE_RATE", "KokoroRuntime", "Output"]

#: Kokoro's output sample rate, for every runtime.
SAMPLE_RATE = 24_000
#: One unit of Kokoro's predicted duration is 600 samples at 24 kHz (25 ms).
SAMPLES_PER_DURATION_FRAME = 600


@dataclass
class Output:
    """What a runtime returns for one chunk."""

    audio: np.ndarray  # float32 mono at SAMPLE_RATE
    durations: np.ndarray | None  # per input position (BOS and EOS included), in frames


@runtime_checkable
class KokoroRuntime(Protocol):
    """Kokoro behind one call: ``runtime(ids, style, speed) -> Output``.

    ``ids`` are vocabulary ids with the BOS/EOS pads (``[0, *ids, 0]``), ``style`` the
    (1, 256) row of the voice pack for that many tokens, ``speed`` a float (1.0 = normal).
    ``Output.durations`` is None when the model gives none; word times are then None too.
    """

    def __call__(self, ids: list[int], style: np.ndarray, speed: float) -> Output: ...
