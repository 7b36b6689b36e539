"""Checkpoints that resume exactly, and the metrics CSV.

A checkpoint folder ``checkpoints/step-00000100/`` holds ``model.safetensors`` (every
weight, adapters included), ``optimizer.pt``, ``scheduler.pt`` (and ``scaler.pt`` with
fp16), one ``rng-rank<N>.pt`` per process (python, numpy and torch generator states) and
``trainer_state.json`` (step, data position, elapsed time, best CER, the config keys a
resume must share), written last. It is built under a ``.partial`` name, every file and the
folder are fsynced, and only then is it renamed into place (a folder it replaces is moved
aside first and deleted after), so neither a killed run nor a power cut leaves a folder that
looks finished but is not. Everything is read back with ``torch.load(weights_only=True)``
or safetensors.

A resume takes the newest checkpoint whose files are whole: one with a truncated
``trainer_state.json``, weights or optimizer state is skipped with a warning (it stays on
disk) and the previous complete one is used.
"""

from __future__ import annotations

import csv
import json
import logging
import random
import shutil
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from speechlab.files import ASIDE_SUFFIX as _ASIDE
from speechlab.store.model_folders import check_safetensors, load_tensors, safetensors_problem
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

log = logging.getLogger(__name__)

STATE_FILE = "trainer_state.json"
WEIGHTS_FILE = "model.safetensors"
METRICS_COLUMNS = ("step", "loss", "lr", "cer", "elapsed")
_PREFIX = "step-"
_TORCH_FILES = ("optimizer.pt", "scheduler.pt")  # besides the weights, the RNG and the state


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
    """The newest finished checkpoint under ``root`` whose files are whole, if any.

    A newer one that is damaged (a truncated ``trainer_state.json``, weights or optimizer
    state, a missing file) is skipped with a warning and left on disk; when every finished
    checkpoint is damaged, a :class:`TrainError` lists them.
    """
    skipped: list[str] = []
    for folder in sorted(_finished(root), key=_step_of, reverse=True):
        state, problem = _read_state(folder)
        if problem is None:
            problem = checkpoint_problem(folder)
        if problem is None and state is not None:
            if skipped:
                log.warning(
                    "Resuming from %s: the newer checkpoint(s) are damaged and were skipped "
                    "(kept on disk): %s",
                    folder.name,
                    "; ".join(skipped),
                )
            return Checkpoint(folder, state)
        skipped.append(f"{folder.name}: {problem}")
    if skipped:
        raise TrainError(
            f"No checkpoint in {root} can be resumed: {'; '.join(skipped)}. Delete "
            f"{root} to train from the start, or use a new out_dir."
        )
    return None


def checkpoint_problem(folder: Path) -> str | None:
    """Why the checkpoint ``folder`` cannot be resumed (a missing or truncated file), or None.
    Cheap: the weights' header and the torch files' zip directories are read, not the data."""
    try:
        problem = safetensors_problem(folder / WEIGHTS_FILE)
    except FileNotFoundError:
        return f"{WEIGHTS_FILE} is missing"
    if problem is not None:
        return f"{WEIGHTS_FILE} {problem}"
    names = [*_TORCH_FILES, *(p.name for p in folder.glob("rng-rank*.pt"))]
    if not any(name.startswith("rng-rank") for name in names):
        return "it has no rng-rank<N>.pt"
    if (folder / "scaler.pt").exists():
        names.append("scaler.pt")
    for name in names:
        path = folder / name
        if not path.is_file():
            return f"{name} is missing"
        try:
            with zipfile.ZipFile(path) as archive:
                members = archive.infolist()
        except (zipfile.BadZipFile, OSError) as exc:
            return f"{name} is damaged or truncated ({exc})"
        size = path.stat().st_size
        if any(m.header_offset + m.compress_size > size for m in members):
            return f"{name} is truncated"
    return None


def _read_state(folder: Path) -> tuple[dict[str, Any] | None, str | None]:
    path = folder / STATE_FILE
    try:
        state = json.loads(path.read_bytes().decode("utf-8"))
    except FileNotFoundError:
        return None, f"{STATE_FILE} is missing"
    except (OSError, ValueError) as exc:  # UnicodeDecodeError and JSONDecodeError included
        return None, f"{STATE_FILE} is damaged or truncated ({exc})"
    if not isinstance(state, dict) or not isinstance(state.get("step"), int):
        return None, f"{STATE_FILE} has no step"
    missing = [key for key in ("position", "elapsed") if key not in state]
    if missing:
        return None, f"{STATE_FILE} lacks {', '.join(missing)}"
    return state, None


def _finished(root: Path) -> list[Path]:
    """Finished checkpoint folders: ``step-N``, and ``step-N.old`` where its replacement
    never arrived (a crash between the two renames of :func:`replace_folder`)."""
    plain = {f.name for f in root.glob(f"{_PREFIX}*") if f.is_dir() and not f.suffix}
    found = [root / name for name in plain]
    for aside in root.glob(f"{_PREFIX}*{_ASIDE}"):
        if aside.is_dir() and aside.name.removesuffix(_ASIDE) not in plain:
            found.append(aside)
    return found


def _step_of(folder: Path) -> int:
    digits = folder.name.removeprefix(_PREFIX).split(".")[0]
    return int(digits) if digits.isdigit() else -1


def prune_checkpoints(root: Path, keep: int) -> None:
    """Delete all but the ``keep`` newest finished checkpoints, stale partial ones, and
    folders moved aside whose replacement is in place."""
    finished = sorted(_finished(root), key=_step_of)
    for folder in finished[: max(0, len(finished) - keep)]:
        shutil.rmtree(folder)
    for partial in root.glob(f"{_PREFIX}*.partial"):
        shutil.rmtree(partial)
    for aside in root.glob(f"{_PREFIX}*{_ASIDE}"):
        if (root / aside.name.removesuffix(_ASIDE)).is_dir():
            shutil.rmtree(aside)


def save_weights(model: Any, path: Path) -> None:
    from safetensors.torch import save_file

    state = {k: v.detach().contiguous().cpu() for k, v in model.state_dict().items()}
    save_file(state, str(path))


def load_weights(model: Any, path: Path) -> None:
    from safetensors.torch import load_file

    check_safetensors(path, fix="delete this checkpoint folder to resume from an earlier one")
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
    """A checkpoint's torch file (tensors, numbers, lists, dicts only): pickled code is an
    UnsafeModelError, a damaged file a ModelFileError."""
    return load_tensors(path, mmap=False)


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
