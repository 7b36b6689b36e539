"""``speechlab.quantize``: a CTC model to a smaller or faster model folder ``load_asr`` opens.

The folder is written under a temporary name beside ``out`` and renamed into place only when
it is complete, with its manifest (``speechlab-model.json``: method, options, the source model
and its sha256, the calibration data's summary, versions, every file's sha256), so a failure
leaves no half-written folder and ``speechlab models verify DIR`` can check it later.
"""

from __future__ import annotations

import importlib.metadata
import logging
import os
import time
from pathlib import Path
from typing import Any

from speechlab.errors import ModelNotFoundError
from speechlab.quantization.calibration import read_calibration
from speechlab.quantization.errors import AlreadyQuantizedError, QuantizationError
from speechlab.quantization.methods import METHODS, find_method
from speechlab.store import MANIFEST, model_label, resolve, sha256_file, write_folder_manifest
from speechlab.store.model_folders import read_json
from speechlab.store.written_folders import (
    copy_processor_files,
    find_weights,
    new_model_folder,
    written_atomically,
)

__all__ = ["quantize"]

log = logging.getLogger(__name__)


def quantize(
    model: str | os.PathLike[str],
    method: str,
    out: str | os.PathLike[str],
    calibration: Any = None,
    *,
    progress: bool = True,
    **options: Any,
) -> Path:
    """Write ``model`` (a store name, folder or Hub id of a wav2vec2 CTC model) quantized
    with ``method`` to the new folder ``out``; return ``out``.

    Methods (``speechlab.quantization.METHODS``): ``fp16``, ``bf16``, ``torch-int8-dynamic``,
    ``onnx-int8-dynamic``, ``onnx-int8-static`` (needs ``calibration``: a manifest, a folder
    or a datasets Dataset), ``onnx-int4``, and the quantization-aware ``qat-int8`` and
    ``qat-int4`` (need ``train=``, training audio with transcripts: they fine-tune for
    ``steps`` with the rounding simulated, then quantize; the run stays in ``work_dir``,
    default ``<out>.qat-training``, and resumes). ``options`` are the method's (an unknown one is a
    :class:`QuantizationError` listing them). ``speechlab.load_asr(out)`` opens the result.
    """
    chosen = find_method(method)
    settings = chosen.checked_options(options)
    source = resolve(model)
    _check_source(source)
    target = new_model_folder(out, what="quantized model")
    if chosen.trains:
        from speechlab.quantization.qat_method import check_training_data

        check_training_data(chosen.name, settings)
        if settings["work_dir"] is None:  # the training run, kept for resume and inspection
            settings["work_dir"] = str(target.with_name(target.name + ".qat-training"))
    calibration_summary = None
    calibration_set = None
    if chosen.calibrated:
        calibration_set = read_calibration(
            calibration,
            max_utterances=settings.pop("max_utterances"),
            language=settings.pop("language"),
            progress=progress,
        )
        calibration_summary = calibration_set.summary()
    elif calibration is not None:
        raise QuantizationError(
            f"method {chosen.name!r} uses no calibration data; leave it out, or choose "
            f"{', '.join(m.name for m in METHODS.values() if m.calibrated)}, which calibrate."
        )
    with written_atomically(target) as work:
        copy_processor_files(source, work)
        notes = chosen.write()(source, work, calibration_set, progress=progress, **settings)
        write_folder_manifest(
            work,
            {
                "name": target.name,
                "task": "asr",
                "backend": "wav2vec2",
                "description": f"{model_label(source)} quantized with {chosen.name}",
                "quantization": {
                    "method": chosen.name,
                    "options": _jsonable(settings | notes.pop("options", {})),
                    "source": _source_record(model, source),
                    "calibration": calibration_summary,
                    "notes": notes,
                },
                "packages": _versions(),
                "written_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            },
        )
    return target


def weights_file(source: Path) -> Path:
    """The single weights file of a source checkpoint."""
    found = find_weights(source)
    if found is not None:
        return found
    raise ModelNotFoundError(
        f"{source} has no model.safetensors or pytorch_model.bin; speechlab.quantize takes a "
        "transformers CTC checkpoint with its weights in one file."
    )


def _check_source(source: Path) -> None:
    manifest = source / MANIFEST
    info = read_json(manifest) if manifest.is_file() else {}
    recipe = info.get("quantization")
    if isinstance(recipe, dict):
        origin = recipe.get("source", {}).get("model", "the model it was made from")
        raise AlreadyQuantizedError(
            f"{source} is already quantized ({recipe.get('method')}, from {origin}); "
            f"quantizing it again would compound the rounding. Quantize {origin} instead "
            "with the method you want."
        )
    if info.get("task", "asr") != "asr" or info.get("backend") == "faster-whisper":
        raise ModelNotFoundError(
            f"{source} is a {info.get('task')} model ({info.get('backend')}); speechlab.quantize "
            "takes wav2vec2-family CTC models (for Whisper, pick load_asr(compute_type=...))."
        )
    config = read_json(source / "config.json") if (source / "config.json").is_file() else {}
    if not any(str(a).endswith("ForCTC") for a in config.get("architectures") or []):
        raise ModelNotFoundError(
            f"{source} is not a transformers CTC checkpoint (config.json with a *ForCTC "
            "architecture); speechlab.quantize takes wav2vec2-family CTC models."
        )
    weights_file(source)


def _source_record(spec: Any, source: Path) -> dict[str, Any]:
    weights = weights_file(source)
    return {
        "model": str(spec),
        "path": str(source),
        "weights": weights.name,
        "sha256": sha256_file(weights),
    }


def _versions() -> dict[str, str]:
    versions = {}
    for dist in ("speechlab", "torch", "transformers", "onnxruntime", "onnx"):
        try:
            versions[dist] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            continue
    return versions


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [_jsonable(v) for v in value]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value) if isinstance(value, os.PathLike) else f"<{type(value).__name__}>"
