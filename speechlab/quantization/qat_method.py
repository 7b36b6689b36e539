"""The quantization-aware methods ``qat-int8`` and ``qat-int4``: fine-tune with the target
method's rounding simulated (:mod:`speechlab.train.qat`), then write the real int8/int4 model
with that post-training method.

The training run lives in its own folder (``work_dir``, default ``<out>.qat-training``) with
the fine-tuning loop's checkpoints, so an interrupted ``speechlab quantize`` resumes where it
stopped; the manifest records the run (steps, loss, CER on ``eval``, seconds).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from speechlab.errors import SpeechlabError
from speechlab.quantization.calibration import Calibration
from speechlab.quantization.errors import QuantizationError
from speechlab.train.qat_methods import QAT_METHODS

__all__ = ["QAT_TARGETS", "check_training_data", "qat", "training_config"]

#: ``qat-*`` method -> the post-training methods it may target (the first is the default).
QAT_TARGETS = {
    "qat-int8": ("onnx-int8-dynamic", "torch-int8-dynamic"),
    "qat-int4": ("onnx-int4",),
}
assert all(t in QAT_METHODS for targets in QAT_TARGETS.values() for t in targets)


def check_training_data(method: str, settings: dict[str, Any]) -> None:
    """A :class:`QuantizationError` naming the alternatives when a QAT method has no
    training data or an unknown target."""
    if settings.get("train") is None:
        raise QuantizationError(
            f"{method} fine-tunes the model with quantization simulated, so it needs training "
            "audio with transcripts: give train=... (a .tsv/.csv manifest, a folder of audio + "
            ".txt, or a datasets Dataset; CLI: --train). Without training data use a "
            "post-training method: torch-int8-dynamic, onnx-int8-dynamic, onnx-int8-static "
            "(calibrated) or onnx-int4."
        )
    targets = QAT_TARGETS[method]
    if settings.get("target") not in targets:
        raise QuantizationError(
            f"{method} targets {' or '.join(targets)}, not {settings.get('target')!r}."
        )


def qat(
    source: Path,
    work: Path,
    calibration: Calibration | None,
    *,
    progress: bool,
    target: str,
    work_dir: str | None,
    **training: Any,
) -> dict:
    """Fine-tune ``source`` with ``target``'s rounding simulated (``training``: the method's
    fine-tuning options), then write the trained model into ``work`` with ``target``."""
    from speechlab.quantization.methods import find_method
    from speechlab.train import finetune

    if work_dir is None:
        raise QuantizationError("qat needs work_dir, the folder of its training run.")
    result = finetune(training_config(source, target, work_dir, progress=progress, **training))
    chosen = find_method(target)
    notes = chosen.write()(
        result.model_dir, work, None, progress=progress, **chosen.checked_options({})
    )
    info = json.loads((result.out_dir / "result.json").read_text(encoding="utf-8"))
    notes["qat"] = {
        "target": target,
        "training_run": str(result.out_dir),
        "steps": result.steps,
        "final_loss": result.final_loss,
        "eval_cer": info.get("best_cer"),
        "train_seconds": result.train_seconds,
        "strategy": training["strategy"],
    }
    return notes


def training_config(
    source: str | os.PathLike[str],
    target: str | None,
    work_dir: str | os.PathLike[str],
    *,
    progress: bool,
    train: Any,
    eval: Any,  # the fine-tuning config's name
    steps: int,
    learning_rate: float,
    batch_size: int,
    strategy: str,
    config: dict[str, Any],
) -> Any:
    """The ``TrainConfig`` of a qat-* run (``target=None``: the same run without quantizers,
    the control a QAT result is compared with)."""
    from speechlab.train.config import TrainConfig

    settings = {
        "learning_rate": learning_rate,
        "warmup_steps": min(50, steps // 10),
        "eval_every": 0,
        "checkpoint_every": max(50, steps // 10),
        **dict(config or {}),
        "model": str(source),
        "train": train,
        "eval": eval,
        "out_dir": str(work_dir),
        "strategy": strategy,
        "max_steps": steps,
        "batch_size": batch_size,
        "vocab": "model",  # the quantized model keeps the source's vocabulary and head
        "qat": target,
        "progress": progress,
    }
    try:
        return TrainConfig.from_dict(settings)
    except SpeechlabError as exc:  # a ConfigError names the key; say it came from qat
        raise QuantizationError(f"qat cannot fine-tune with these settings: {exc}") from exc
