"""Model folders speechlab writes from another model (exports, quantized variants).

* :func:`new_model_folder` — ``out`` checked before any work: new or empty, its parent writable;
* :func:`written_atomically` — the folder is built under a temporary name beside ``out`` and
  renamed into place only when complete, so a failure leaves no half-written folder;
* :func:`copy_processor_files` — what a derived folder keeps of its source: config, vocabulary,
  tokenizer, preprocessor, ``language_model/``; not weights, graphs or the manifest.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

from speechlab.errors import OutputError
from speechlab.files import writable_folder
from speechlab.store.assembly import MANIFEST

__all__ = [
    "WEIGHT_FILES",
    "copy_processor_files",
    "find_weights",
    "new_model_folder",
    "written_atomically",
]

#: Weight files of a transformers checkpoint, in the order they are looked for.
WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")
_NOT_COPIED = {MANIFEST, *WEIGHT_FILES}


def find_weights(folder: Path) -> Path | None:
    """The checkpoint's weights file (the first of :data:`WEIGHT_FILES` there), or None."""
    return next((folder / n for n in WEIGHT_FILES if (folder / n).is_file()), None)


def new_model_folder(out: str | os.PathLike[str], *, what: str = "model") -> Path:
    """``out`` as an absolute path; an :class:`OutputError` unless it is new or an empty folder
    in a writable parent (nothing is ever written over an existing model)."""
    target = Path(out).expanduser()
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise OutputError(
            f"{target} already exists and is not an empty folder; choose a new --out folder "
            f"(the {what} is never written over an existing model)."
        )
    writable_folder(target.parent, what=f"folder for the {what}")
    return target.resolve()


@contextlib.contextmanager
def written_atomically(target: Path) -> Iterator[Path]:
    """A scratch folder beside ``target`` to build in; renamed to ``target`` when the block
    ends normally, deleted when it raises."""
    work = target.parent / f".{target.name}.{os.getpid()}.partial"
    shutil.rmtree(work, ignore_errors=True)
    try:
        work.mkdir()
        yield work
        if target.exists():  # an empty folder (see new_model_folder) is replaced
            target.rmdir()
        os.replace(work, target)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise


def copy_processor_files(source: Path, work: Path) -> None:
    """Copy everything of ``source`` but its weights, ONNX graphs, manifest and hidden files."""
    for item in sorted(source.iterdir()):
        if item.name in _NOT_COPIED or item.name.startswith(".") or item.suffix == ".onnx":
            continue
        if item.is_dir():
            shutil.copytree(item, work / item.name)
        else:
            shutil.copy2(item, work / item.name)
