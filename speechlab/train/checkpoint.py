"""Checkpoints that resume exactly, and the metrics CSV.

A checkpoint folder ``checkpoints/step-00000100/`` holds ``model.safetensors`` (every
weight, adapters included), ``optimizer.pt``, ``scheduler.pt`` (and ``scaler.pt`` with
fp16), one ``rng-rank<N>.pt`` per process (python, numpy and torch generator states) and
``trainer_state.json`` (step, data position, elapsed time, best CER, the config keys a
resume must share), written last. It is built under a ``.partial`` name and renamed into
place, so a run killed while saving leaves no folder that looks finished. Everything is
read back with ``torch.load(weights_only=True)`` or safetensors.
"""

from __future__ import annotations

import csv
import json
import random
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from speechlab.train.errors import TrainError

__all__ = [
    "METRICS_COLUMNS",
    "Checkpoint",
    "MetricsLog",
    "capture_rng",
    "latest_checkpoint",
    "prune_checkpoints",
    "restore_rng",
]

STATE_FILE = "trainer_state.json"
WEIGHTS_FILE = "model.safetensors"
METRICS_COLUMNS = ("step", "loss", "lr", "cer", "elapsed")
_PREFIX = "step-"


@dataclass
class Checkpoint:
    """A finished checkpoint folder and its ``trainer_state.json``."""

    folder: Path
    state: dict[str, Any]

    @property
    def step(self) -> int:
        return int(self.state["step"])


def checkpoint_folder(root: Path, step: int) -> Path:
    return root / f"{_PREFIX}{step:08d}"


def latest_checkpoint(root: Path) -> Checkpoint | None:
    """The finished checkpoint with the highest step under ``root``, if any."""
    found = []
    for folder in root.glob(f"{_PREFIX}*"):
        if folder.suffix == ".partial" or not (folder / STATE_FILE).is_file():
            continue
        found.append(Checkpoint(folder, json.loads((folder / STATE_FILE).read_text())))
    return max(found, key=lambda c: c.step, default=None)


def prune_checkpoints(root: Path, keep: int) -> None:
    """Delete all but the ``keep`` newest finished checkpoints (and stale partial ones)."""
    finished = sorted(
        (f for f in root.glob(f"{_PREFIX}*") if f.suffix != ".partial"), key=lambda f: f.name
    )
    for folder in finished[: max(0, len(finished) - keep)]:
        shutil.rmtree(folder)
    for partial in root.glob(f"{_PREFIX}*.partial"):
        shutil.rmtree(partial)


def save_weights(model: Any, path: Path) -> None:
    from safetensors.torch import save_file

    state = {k: v.detach().contiguous().cpu() for k, v in model.state_dict().items()}
    save_file(state, str(path))


def load_weights(model: Any, path: Path) -> None:
    from safetensors.torch import load_file

    state = load_file(str(path))
    missing, unexpected = model.load_state_dict(state, strict=False)
    if missing or unexpected:
        raise TrainError(
            f"{path} does not fit this model (missing {list(missing)[:5]}, unexpected "
            f"{list(unexpected)[:5]}): it was written by a different model or strategy. "
            "Resume with the same config, or use a new out_dir."
        )


def save_torch(obj: Any, path: Path) -> None:
    import torch

    torch.save(obj, path)


def load_torch(path: Path) -> Any:
    import torch

    return torch.load(path, map_location="cpu", weights_only=True)


def capture_rng() -> dict[str, Any]:
    """Python, numpy and torch (CPU and CUDA) generator states, in weights_only types."""
    import torch

    version, internal, gauss = random.getstate()
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    state: dict[str, Any] = {
        "python": [version, list(internal), gauss],
        "numpy": {
            "kind": kind,
            "keys": torch.from_numpy(keys.astype(np.int64)),
            "pos": int(pos),
            "has_gauss": int(has_gauss),
            "cached": float(cached),
        },
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng(state: dict[str, Any]) -> None:
    import torch

    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    n = state["numpy"]
    np.random.set_state(
        (n["kind"], n["keys"].numpy().astype(np.uint32), n["pos"], n["has_gauss"], n["cached"])
    )
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


class MetricsLog:
    """``metrics.csv`` (step, loss, lr, cer, elapsed), one row per logged step; a resumed
    run first drops the rows after its checkpoint's step."""

    def __init__(self, path: Path, resume_step: int | None) -> None:
        self.path = path
        rows: list[dict[str, str]] = []
        if resume_step is not None and path.is_file():
            with path.open(newline="", encoding="utf-8") as f:
                rows = [r for r in csv.DictReader(f) if int(r["step"]) <= resume_step]
        with path.open("w", newline="", encoding="utf-8") as f:
            writer = csv.DictWriter(f, fieldnames=METRICS_COLUMNS)
            writer.writeheader()
            writer.writerows(rows)

    def write(self, row: dict[str, Any]) -> None:
        with self.path.open("a", newline="", encoding="utf-8") as f:
            csv.DictWriter(f, fieldnames=METRICS_COLUMNS).writerow(
                {k: "" if row.get(k) is None else row[k] for k in METRICS_COLUMNS}
            )
