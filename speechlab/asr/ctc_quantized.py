"""Open CTC model folders written by ``speechlab.quantize`` with int8 torch weights.

Such a folder's manifest (``speechlab-model.json``) holds a ``quantization`` recipe. The
``torch-int8-dynamic`` method stores ``model-int8.safetensors``: every quantized ``nn.Linear``
as its int8 weight with per-channel (or per-tensor) scales and zero points, everything else
as float32 tensors. No pickles: the module is built from ``config.json`` and the tensors are
put back into ``torch.ao.nn.quantized.dynamic.Linear`` layers exactly as they were written.
fp16/bf16 folders need nothing here (their ``config.json`` names the dtype).
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from speechlab.asr.ctc_runtime import TransformersCTC
from speechlab.asr.feature_chunks import chunk_feature_encoder
from speechlab.errors import DeviceError, ModelFileError
from speechlab.store.assembly import MANIFEST
from speechlab.store.model_folders import check_safetensors, read_json

__all__ = [
    "INT8_WEIGHTS",
    "Int8DynamicCTC",
    "quantization_recipe",
    "quantized_engine",
    "set_quantized_linear",
    "torch_ao_notices_quiet",
]

#: The weights file of a ``torch-int8-dynamic`` folder.
INT8_WEIGHTS = "model-int8.safetensors"


def quantization_recipe(model_dir: Path) -> dict[str, Any] | None:
    """The ``quantization`` entry of a folder's manifest, or None for an ordinary model."""
    manifest = Path(model_dir) / MANIFEST
    if not manifest.is_file():
        return None
    recipe = read_json(manifest).get("quantization")
    return recipe if isinstance(recipe, dict) else None


@contextlib.contextmanager
def torch_ao_notices_quiet() -> Iterator[None]:
    """Silence torch 2.13's notices that torch.ao quantization moves to torchao (it works)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"torch\.ao\.quantization is deprecated")
        warnings.filterwarnings("ignore", message=".*quantized tensor creation functions.*")
        yield


@contextlib.contextmanager
def quantized_engine(engine: str | None) -> Iterator[None]:
    """torch's quantized engine set to ``engine`` (weights are packed for it), then restored."""
    import torch

    before = torch.backends.quantized.engine
    if engine and engine != before:
        if engine not in torch.backends.quantized.supported_engines:
            raise DeviceError(
                f"This torch build has no {engine!r} quantized engine (it has "
                f"{', '.join(torch.backends.quantized.supported_engines)}); quantize the model "
                "again with one of those (engine=...)."
            )
        torch.backends.quantized.engine = engine
    try:
        yield
    finally:
        torch.backends.quantized.engine = before


def set_quantized_linear(module: Any, name: str, tensors: dict[str, Any]) -> None:
    """Replace the ``nn.Linear`` called ``name`` inside ``module`` by a dynamic int8 Linear
    holding the stored int8 weight, scales, zero points and bias (exactly, no re-rounding)."""
    import torch
    from torch.ao.nn.quantized.dynamic import Linear as DynamicLinear

    parent_name, _, child = name.rpartition(".")
    parent = module.get_submodule(parent_name) if parent_name else module
    float_linear = getattr(parent, child)
    weight = tensors[name + ".weight"]
    scale, zero = tensors[name + ".weight_scale"], tensors[name + ".weight_zero_point"]
    if scale.ndim == 0:
        qweight = torch._make_per_tensor_quantized_tensor(weight, float(scale), int(zero))
    else:
        qweight = torch._make_per_channel_quantized_tensor(weight, scale.double(), zero, 0)
    linear = DynamicLinear(float_linear.in_features, float_linear.out_features, dtype=torch.qint8)
    linear.set_weight_bias(qweight, tensors.get(name + ".bias"))
    setattr(parent, child, linear)


class Int8DynamicCTC(TransformersCTC):
    """A ``torch-int8-dynamic`` folder: transformers' CTC module with int8 dynamic Linears."""

    name = "torch-int8"
    set_weight = None  # its Linears hold packed int8 weights, which adapters cannot change

    def __init__(
        self,
        model_dir: Path,
        config: Any,
        recipe: dict[str, Any],
        device: Any,
        feature_chunk_frames: int,
    ) -> None:
        import torch
        from safetensors.torch import load_file
        from transformers import AutoModelForCTC

        if torch.device(device).type != "cpu":
            raise DeviceError(
                f"{model_dir} holds int8 weights for torch's CPU kernels; open it with "
                "device='cpu', or quantize for the GPU with method='fp16'."
            )
        path = Path(model_dir) / INT8_WEIGHTS
        if not path.is_file():
            raise ModelFileError(
                f"{model_dir} is a torch-int8-dynamic folder without {INT8_WEIGHTS}; write it "
                "again with speechlab.quantize(..., method='torch-int8-dynamic')."
            )
        check_safetensors(path)
        tensors = load_file(path)
        linears = list(recipe.get("options", {}).get("modules") or [])
        config.dtype = torch.float32
        module = AutoModelForCTC.from_config(config, dtype=torch.float32)
        quantized = {f"{n}.{s}" for n in linears for s in ("weight", "weight_scale")}
        quantized |= {f"{n}.{s}" for n in linears for s in ("weight_zero_point", "bias")}
        rest = {k: v for k, v in tensors.items() if k not in quantized}
        missing, unexpected = module.load_state_dict(rest, strict=False)  # float parts first
        missing = [k for k in missing if k not in quantized]
        if missing or unexpected or not linears:
            raise ModelFileError(
                f"{path} does not match {model_dir / 'config.json'} (missing "
                f"{missing[:3]}, unexpected {unexpected[:3]}); write the folder again."
            )
        with torch_ao_notices_quiet(), quantized_engine(recipe["options"].get("engine")):
            for name in linears:
                set_quantized_linear(module, name, tensors)
        self.module = module.eval()
        self.config = module.config
        self.dtype = torch.float32
        self.chunked_features = chunk_feature_encoder(self.module, feature_chunk_frames)
