"""A model folder's files checked before a library opens them: no custom code, readable JSON,
whole weights. Damage becomes a :class:`ModelFileError` and code a :class:`UnsafeModelError`,
each naming the file and what to do, instead of a library's traceback.

* :func:`refuse_custom_code` — a ``config.json`` (or tokenizer / feature-extractor config)
  with ``auto_map`` names Python that transformers would import from the folder; speechlab
  never runs it (and always passes ``trust_remote_code=False`` as well);
* :func:`read_json` — a JSON object, or an error naming the file;
* :func:`check_safetensors` — the header read and checked against the file's size, so a
  truncated download is caught without reading the weights;
* :func:`load_tensors` — ``torch.load(weights_only=True)``, whose refusal of pickled code is
  reported as such;
* :func:`check_model_folder` — the first and third for every file of a folder;
  :func:`pickled_code_refused` turns a library's refusal into the same error.
"""

from __future__ import annotations

import contextlib
import json
import pickle
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from speechlab.errors import ModelFileError, UnsafeModelError
from speechlab.store.assembly import MANIFEST
from speechlab.store.catalogue import STORE

__all__ = [
    "CONFIG_FILES",
    "check_model_folder",
    "check_safetensors",
    "how_to_replace",
    "load_tensors",
    "pickled_code_refused",
    "read_json",
    "refuse_custom_code",
    "safetensors_problem",
]

#: The JSON files in which transformers looks for ``auto_map`` (custom code).
CONFIG_FILES = (
    "config.json",
    "tokenizer_config.json",
    "preprocessor_config.json",
    "processor_config.json",
    "feature_extractor_config.json",
)
_MAX_HEADER = 100 * 1024 * 1024  # safetensors refuses larger headers too
_REFUSED = "Weights only load failed"  # how torch.load(weights_only=True) starts its refusal


def how_to_replace(folder: Path) -> str:
    """What to do about a damaged file in ``folder``: re-assemble a store model, else copy again
    (folders speechlab wrote, such as exports, carry a manifest too, under their own name)."""
    name = None
    manifest = folder / MANIFEST
    if manifest.is_file():  # a damaged manifest leaves the general advice
        with contextlib.suppress(OSError, ValueError, AttributeError):
            name = json.loads(manifest.read_text(encoding="utf-8")).get("name")
    if name and name in STORE:
        return f"re-assemble it with `speechlab models fetch {name} --force`"
    return "copy or download the model folder again"


def read_json(path: Path, *, fix: str | None = None) -> dict[str, Any]:
    """The JSON object in ``path``; a :class:`ModelFileError` naming the file when it cannot be
    read, is not UTF-8 JSON, or holds something other than an object."""
    fix = fix or how_to_replace(path.parent)
    try:
        data = json.loads(path.read_bytes().decode("utf-8"))
    except OSError as exc:
        raise ModelFileError(f"{path} cannot be read ({exc.strerror or exc}); {fix}.") from exc
    except UnicodeDecodeError as exc:
        raise ModelFileError(
            f"{path} is not UTF-8 text (byte {exc.start}), so not JSON: the file is damaged; {fix}."
        ) from exc
    except json.JSONDecodeError as exc:
        raise ModelFileError(
            f"{path} is not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno}): "
            f"the file is damaged or incomplete; {fix}."
        ) from exc
    if not isinstance(data, dict):
        raise ModelFileError(
            f"{path} holds a JSON {type(data).__name__}, not an object: it is not a model's "
            f"{path.name}; {fix}."
        )
    return data


def refuse_custom_code(folder: Path) -> None:
    """An :class:`UnsafeModelError` when a config of ``folder`` names custom code (``auto_map``)."""
    for name in CONFIG_FILES:
        path = folder / name
        if not path.is_file():
            continue
        auto_map = read_json(path).get("auto_map")
        if auto_map:
            targets = sorted(
                {str(v) for v in (auto_map.values() if isinstance(auto_map, dict) else [auto_map])}
            )
            raise UnsafeModelError(
                f"{path} names custom code (auto_map: {', '.join(targets)}), which "
                "transformers would import and run from the model folder; speechlab never runs "
                "code from a model. Use a checkpoint of a built-in architecture (e.g. "
                "Wav2Vec2ForCTC), or, if this one is built-in and you trust it, delete the "
                f"'auto_map' entry from {name}."
            )


def check_safetensors(path: Path, *, fix: str | None = None) -> None:
    """A :class:`ModelFileError` unless ``path``'s header is whole and its tensors end exactly
    at the end of the file (what a truncated or padded download fails)."""
    problem = safetensors_problem(path)
    if problem is not None:
        raise ModelFileError(f"{path} {problem}; {fix or how_to_replace(path.parent)}.")


def safetensors_problem(path: Path) -> str | None:
    """Why ``path`` is not a whole safetensors file (read from its header), or None."""
    size = path.stat().st_size
    with open(path, "rb") as source:
        prefix = source.read(8)
        length = int.from_bytes(prefix, "little") if len(prefix) == 8 else -1
        if not 0 < length <= min(_MAX_HEADER, size - 8):
            return (
                f"is not a whole safetensors file ({size:,} bytes, no complete header): it is "
                "damaged or truncated"
            )
        raw = source.read(length)
    try:
        header = json.loads(raw.decode("utf-8"))
        ends = [
            int(entry["data_offsets"][1]) for key, entry in header.items() if key != "__metadata__"
        ]
    except (UnicodeDecodeError, ValueError, TypeError, KeyError, IndexError, AttributeError):
        return "has a damaged safetensors header"
    expected = 8 + length + max(ends, default=0)
    if expected == size:
        return None
    state = "truncated" if size < expected else "longer than its header says"
    return (
        f"is {state}: {size:,} bytes where its header describes {expected:,}. The file is "
        "damaged or was not copied completely"
    )


def check_model_folder(folder: Path) -> None:
    """Custom code refused and every ``*.safetensors`` file of ``folder`` checked whole."""
    refuse_custom_code(folder)
    for weights in sorted(folder.glob("*.safetensors")):
        check_safetensors(weights)


def load_tensors(path: Path, *, mmap: bool | None = None) -> Any:
    """``torch.load(path, weights_only=True)`` on the CPU, with typed errors: pickled code is an
    :class:`UnsafeModelError`, a damaged or truncated file a :class:`ModelFileError`.
    ``mmap`` (default: for zip-format files) maps the file's pages lazily."""
    import torch

    if mmap is None:
        mmap = zipfile.is_zipfile(path)
    with pickled_code_refused(path):
        try:
            return torch.load(path, map_location="cpu", weights_only=True, mmap=mmap)
        except (RuntimeError, EOFError, KeyError, ValueError, pickle.UnpicklingError) as exc:
            if isinstance(exc, pickle.UnpicklingError) and str(exc).startswith(_REFUSED):
                raise
            reason = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
            raise ModelFileError(
                f"{path} cannot be read as torch tensors ({reason}): the file is damaged or "
                f"truncated; {how_to_replace(path.parent)}."
            ) from exc


@contextlib.contextmanager
def pickled_code_refused(where: Path) -> Iterator[None]:
    """Turn torch's refusal to unpickle code (inside any library) into an UnsafeModelError."""
    try:
        yield
    except pickle.UnpicklingError as exc:
        if not str(exc).startswith(_REFUSED):
            raise
        raise UnsafeModelError(
            f"{where}: this file contains code, not only tensors; convert it to safetensors on "
            "a machine where you trust it (e.g. transformers' `model.save_pretrained(folder, "
            "safe_serialization=True)`), or use a copy that holds only tensors. speechlab reads "
            "pickles with torch.load(weights_only=True), which refused to run this one."
        ) from exc
