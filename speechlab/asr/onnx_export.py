"""Export a wav2vec2-family CTC checkpoint to ONNX: a model folder ``load_asr`` opens.

The folder holds ``model.onnx`` (inputs ``input_values`` float32 ``[batch, time]`` and, where
the model uses one, ``attention_mask`` int64 ``[batch, time]``; output ``logits``
``[batch, frames, vocab]``; batch and time dynamic), the source's ``config.json``, vocabulary,
tokenizer and preprocessor files (and its ``language_model/`` folder, if any), and a manifest
(``speechlab-model.json``) with the source model, the sha256 of its weights and of every file
written, which ``speechlab models verify DIR`` checks. ``load_asr(folder)`` runs it on ONNX
Runtime (:mod:`speechlab.asr.ctc_onnx`).

The graph is traced from transformers' ``AutoModelForCTC`` in float32 (whatever the source's
stored dtype) with the TorchScript exporter; ``dtype="float16"`` converts the weights and
arithmetic to float16 afterwards, keeping float32 inputs and logits. The folder is written
under a temporary name and renamed into place only when complete.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import json
import os
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from speechlab.asr.ctc_checkpoint import ctc_config
from speechlab.asr.ctc_onnx import ONNX_MODEL, onnx_model_file
from speechlab.errors import ModelNotFoundError, SpeechlabError
from speechlab.store import model_label, resolve, sha256_file, write_folder_manifest
from speechlab.store.model_folders import pickled_code_refused, read_json
from speechlab.store.written_folders import (
    copy_processor_files,
    find_weights,
    new_model_folder,
    written_atomically,
)

__all__ = ["DTYPES", "OPSETS", "ExportError", "export_ctc_onnx"]

#: ONNX opsets the export is made and tested for: 14 brings the attention's ops, 17 layer
#: normalisation as one op (the default); ONNX Runtime runs up to 21 and more.
OPSETS = range(14, 21)
DTYPES = ("float32", "float16")
_EXAMPLE_SAMPLES = 16_000  # the traced example: two rows of 1 s, the second half padded


class ExportError(SpeechlabError):
    """A CTC model that cannot be exported as asked (opset, dtype, source); the message names
    the values that work."""


def export_ctc_onnx(
    model: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    opset: int = 17,
    dtype: str = "float32",
    progress: bool = True,
) -> Path:
    """Export the CTC model ``model`` (store name, folder or Hub id) to the new folder ``out``;
    returns ``out``. See the module docstring for the folder's layout."""
    if not isinstance(opset, int) or opset not in OPSETS:
        raise ExportError(
            f"opset {opset!r} is not supported; choose one of {OPSETS.start}-{OPSETS.stop - 1} "
            "(17, the default, has layer normalisation as one op)."
        )
    if dtype not in DTYPES:
        raise ExportError(
            f"dtype {dtype!r} cannot be exported; choose {' or '.join(DTYPES)} (int8 and int4: "
            "speechlab.quantize)."
        )
    source = resolve(model)
    if not source.is_dir():
        raise ModelNotFoundError(f"{source} is a file; a CTC model is a folder (config.json ...).")
    if onnx_model_file(source) is not None:
        raise ExportError(
            f"{source} already holds an ONNX graph; export the torch checkpoint it came from."
        )
    config = ctc_config(source)  # not CTC, custom code, damaged files: typed errors here
    if not any(str(a).endswith("ForCTC") for a in config.architectures or []):
        raise ModelNotFoundError(
            f"{source}'s config.json names no *ForCTC architecture; export_ctc_onnx takes "
            "wav2vec2-family CTC checkpoints."
        )
    weights = find_weights(source)
    if weights is None:
        raise ModelNotFoundError(
            f"{source} has no model.safetensors or pytorch_model.bin; export_ctc_onnx takes a "
            "transformers CTC checkpoint with its weights in one file."
        )
    target = new_model_folder(out, what="exported model")
    steps = 5 if dtype == "float16" else 4
    with (
        _steps(progress, steps, f"export {model_label(source)} to ONNX") as step,
        written_atomically(target) as work,
    ):
        step("load")
        module = _float32_module(source, config)
        uses_mask = _uses_attention_mask(source, config)
        step("trace")
        _export_graph(module, work / ONNX_MODEL, opset, uses_mask)
        del module
        if dtype == "float16":
            step("float16")
            _to_float16(work / ONNX_MODEL)
        step("copy")
        copy_processor_files(source, work)
        _record_dtype(work / "config.json", dtype)
        step("manifest")
        write_folder_manifest(work, _manifest(model, source, weights, target, opset, dtype))
    return target


def _float32_module(source: Path, config: Any) -> Any:
    import torch
    from transformers import AutoModelForCTC

    try:
        with pickled_code_refused(source), _quiet():
            module = AutoModelForCTC.from_pretrained(
                source, dtype=torch.float32, trust_remote_code=False
            )
    except (ValueError, OSError) as exc:
        raise ModelNotFoundError(
            f"{source} ({config.model_type}) cannot be loaded as a CTC model: {exc}"
        ) from exc
    return module.eval()


def _uses_attention_mask(source: Path, config: Any) -> bool:
    """What the recognizer feeds: the preprocessor's ``return_attention_mask``, else whether
    the conv encoder has per-frame layer norms (models with group norm are run unpadded)."""
    path = source / "preprocessor_config.json"
    features = read_json(path) if path.is_file() else {}
    return bool(features.get("return_attention_mask", config.feat_extract_norm == "layer"))


def _logits_module(module: Any, uses_mask: bool) -> Any:
    """``input_values[, attention_mask] -> logits`` around a ``*ForCTC`` module, in eval mode
    (the exporter afterwards restores the wrapper's mode on every submodule)."""
    import torch

    class Logits(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = module

        def forward(self, values: Any, mask: Any = None) -> Any:
            return self.model(values, attention_mask=mask).logits

    class LogitsNoMask(Logits):
        def forward(self, values: Any) -> Any:  # type: ignore[override]
            return self.model(values).logits

    return (Logits() if uses_mask else LogitsNoMask()).eval()


def _export_graph(module: Any, path: Path, opset: int, uses_mask: bool) -> None:
    import torch

    values = torch.randn(2, _EXAMPLE_SAMPLES)
    mask = torch.ones(2, _EXAMPLE_SAMPLES, dtype=torch.long)
    mask[1, _EXAMPLE_SAMPLES // 2 :] = 0  # a padded row, so the masking path is traced
    values = values * mask
    names = ["input_values", "attention_mask"] if uses_mask else ["input_values"]
    axes = {name: {0: "batch", 1: "time"} for name in names}
    axes["logits"] = {0: "batch", 1: "frames"}
    example = (values, mask) if uses_mask else (values,)
    partial = path.with_suffix(".onnx.partial")
    with torch.no_grad(), _quiet():
        torch.onnx.export(
            _logits_module(module, uses_mask),
            example,
            str(partial),
            input_names=names,
            output_names=["logits"],
            dynamic_axes=axes,
            opset_version=opset,
            dynamo=False,  # the TorchScript exporter: no onnxscript, dynamic axes as given
        )
    os.replace(partial, path)


def _to_float16(path: Path) -> None:
    import onnx
    from onnxruntime.transformers.float16 import convert_float_to_float16

    graph = onnx.load(str(path))
    with _quiet():
        graph = convert_float_to_float16(graph, keep_io_types=True)
    onnx.save(graph, str(path))


def _record_dtype(config_path: Path, dtype: str) -> None:
    """The copied ``config.json`` names the exported dtype, not the source's stored one."""
    config = read_json(config_path)
    config["dtype"] = dtype
    config_path.write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")


def _manifest(
    spec: Any, source: Path, weights: Path, target: Path, opset: int, dtype: str
) -> dict[str, Any]:
    return {
        "name": target.name,
        "task": "asr",
        "backend": "wav2vec2",
        "runtime": "onnx",
        "description": f"{model_label(source)} exported to ONNX ({dtype}, opset {opset})",
        "export": {
            "format": "onnx",
            "opset": opset,
            "dtype": dtype,
            "source": {
                "model": str(spec),
                "path": str(source),
                "weights": weights.name,
                "sha256": sha256_file(weights),
            },
        },
        "packages": _versions(),
        "written_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


def _versions() -> dict[str, str]:
    versions = {}
    for dist in ("speechlab", "torch", "transformers", "onnx", "onnxruntime"):
        with contextlib.suppress(importlib.metadata.PackageNotFoundError):
            versions[dist] = importlib.metadata.version(dist)
    return versions


@contextlib.contextmanager
def _steps(show: bool, total: int, description: str) -> Iterator[Any]:
    """``step(name)`` advances a tqdm bar over the export's stages (when ``show``)."""
    if not show:
        yield lambda name: None
        return
    from tqdm.auto import tqdm

    bar = tqdm(total=total, desc=description, unit="step")
    started = False

    def step(name: str) -> None:
        nonlocal started
        if started:
            bar.update(1)
        started = True
        bar.set_postfix_str(name)

    try:
        yield step
        bar.update(bar.total - bar.n)
    finally:
        bar.close()


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """The TorchScript exporter's deprecation notice and tracer warnings are not user news."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield
