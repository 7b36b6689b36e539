"""The torch methods: fp16 and bf16 casts, and dynamic int8 on every ``nn.Linear``.

Each writes safetensors only (no pickles) into the work folder and returns notes for the
manifest. ``torch-int8-dynamic`` stores int8 weights with their scales and zero points
(``model-int8.safetensors``), which :mod:`speechlab.asr.ctc_quantized` puts back into
torch's dynamic int8 Linear layers when ``load_asr`` opens the folder.
"""

from __future__ import annotations

import json
import logging
import statistics
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from speechlab.quantization.calibration import Calibration
from speechlab.quantization.errors import QuantizationError

__all__ = ["bf16", "cpu_has_fast_bf16", "fp16", "int8_dynamic", "read_source_tensors"]

log = logging.getLogger(__name__)
_INT8_WEIGHTS = "model-int8.safetensors"  # what speechlab.asr.ctc_quantized reads
_ENGINES = ("x86", "fbgemm", "onednn")


def read_source_tensors(source: Path) -> dict[str, Any]:
    """Every tensor of a source checkpoint (safetensors, or a pickle read weights-only)."""
    from speechlab.quantization.quantizing import weights_file
    from speechlab.store.model_folders import check_safetensors, load_tensors

    path = weights_file(source)
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        check_safetensors(path)
        return load_file(path)
    return dict(load_tensors(path, mmap=False))


def fp16(source: Path, work: Path, calibration: Calibration | None, *, progress: bool) -> dict:
    """Weights in float16; the model runs in float16 (``config.json`` names the dtype)."""
    _cast(source, work, "float16")
    return {}


def bf16(
    source: Path, work: Path, calibration: Calibration | None, *, progress: bool, measure: bool
) -> dict:
    """Weights in bfloat16; on a CPU without fast bf16 the notes (and a warning) give the
    measured slowdown against float32."""
    _cast(source, work, "bfloat16")
    notes: dict[str, Any] = {"cpu_fast_bf16": cpu_has_fast_bf16()}
    if measure:
        seconds = _forward_seconds(source, "float32"), _forward_seconds(work, None)
        notes["forward_seconds_fp32_bf16"] = [round(s, 4) for s in seconds]
        notes["bf16_speed_vs_fp32"] = round(seconds[0] / seconds[1], 2)
        if not notes["cpu_fast_bf16"]:
            message = (
                f"This CPU has no fast bf16 (no AMX or AVX512-BF16): the bf16 model ran "
                f"{seconds[1] / seconds[0]:.2f}x the time of fp32 on a 4 s clip. It still "
                "works; for speed here choose torch-int8-dynamic or onnx-int8-dynamic."
            )
            notes["warning"] = message
            warnings.warn(message, RuntimeWarning, stacklevel=3)
    return notes


def int8_dynamic(
    source: Path,
    work: Path,
    calibration: Calibration | None,
    *,
    progress: bool,
    engine: str | None,
    per_channel: bool,
    skip: Any,
) -> dict:
    """Dynamic int8 (weights int8, activations quantized per batch) on every ``nn.Linear``
    whose name contains none of ``skip``; the rest runs in float32."""
    import torch
    from safetensors.torch import save_file
    from torch.ao.quantization import (
        default_dynamic_qconfig,
        per_channel_dynamic_qconfig,
        quantize_dynamic,
    )
    from tqdm.auto import tqdm
    from transformers import AutoModelForCTC

    from speechlab.asr.ctc_quantized import torch_ao_notices_quiet
    from speechlab.store.model_folders import pickled_code_refused

    engine = engine or torch.backends.quantized.engine
    supported = [e for e in _ENGINES if e in torch.backends.quantized.supported_engines]
    if engine not in supported:
        raise QuantizationError(
            f"engine {engine!r} is not one of this torch's int8 CPU engines: "
            f"{', '.join(supported)}."
        )
    skip = (skip,) if isinstance(skip, str) else tuple(skip)
    with pickled_code_refused(source):
        model = AutoModelForCTC.from_pretrained(source, dtype=torch.float32).eval()
    names = [
        name
        for name, module in model.named_modules()
        if isinstance(module, torch.nn.Linear) and not any(s in name for s in skip)
    ]
    if not names:
        raise QuantizationError(f"skip={skip!r} leaves no Linear layer to quantize.")
    qconfig = per_channel_dynamic_qconfig if per_channel else default_dynamic_qconfig
    before = torch.backends.quantized.engine
    torch.backends.quantized.engine = engine
    try:
        with torch_ao_notices_quiet():
            quantized = quantize_dynamic(model, dict.fromkeys(names, qconfig), dtype=torch.qint8)
    finally:
        torch.backends.quantized.engine = before
    # the float rest in the source's own precision when every float tensor there is float16
    # (lossless: the values came from float16); the loader widens them to float32 again
    stored = {t.dtype for t in read_source_tensors(source).values() if t.is_floating_point()}
    rest_dtype = torch.float16 if stored == {torch.float16} else torch.float32
    tensors = {
        k: (v.to(rest_dtype) if v.is_floating_point() else v).contiguous()
        for k, v in model.state_dict().items()
        if not any(k in (f"{n}.weight", f"{n}.bias") for n in names)
    }
    for name in tqdm(names, desc="int8 weights", disable=not progress):
        weight, bias = quantized.get_submodule(name)._weight_bias()
        tensors[name + ".weight"] = weight.int_repr().contiguous()
        if weight.qscheme() in (torch.per_channel_affine, torch.per_channel_symmetric):
            tensors[name + ".weight_scale"] = weight.q_per_channel_scales().double()
            tensors[name + ".weight_zero_point"] = weight.q_per_channel_zero_points().long()
        else:
            tensors[name + ".weight_scale"] = torch.tensor(weight.q_scale(), dtype=torch.float64)
            tensors[name + ".weight_zero_point"] = torch.tensor(weight.q_zero_point())
        if bias is not None:
            tensors[name + ".bias"] = bias.detach().float().contiguous()
    save_file(tensors, work / _INT8_WEIGHTS, metadata={"format": "pt"})
    _set_config_dtype(work, "float32")
    return {"options": {"engine": engine, "modules": names}, "float_rest": str(rest_dtype)}


# ------------------------------------------------------------------------ helpers


def cpu_has_fast_bf16() -> bool:
    """Whether this CPU computes bf16 natively (AMX or AVX512-BF16, from /proc/cpuinfo)."""
    try:
        flags = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace").split()
    except OSError:
        return False
    return "amx_bf16" in flags or "avx512_bf16" in flags


def _cast(source: Path, work: Path, dtype: str) -> None:
    import torch
    from safetensors.torch import save_file

    target = getattr(torch, dtype)
    tensors = {
        name: (t.to(target) if t.is_floating_point() else t).contiguous()
        for name, t in read_source_tensors(source).items()
    }
    save_file(tensors, work / "model.safetensors", metadata={"format": "pt"})
    _set_config_dtype(work, dtype)


def _set_config_dtype(work: Path, dtype: str) -> None:
    path = work / "config.json"
    config = json.loads(path.read_text(encoding="utf-8"))
    config.pop("torch_dtype", None)
    config["dtype"] = dtype
    path.write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")


def _forward_seconds(folder: Path, dtype: str | None, seconds: float = 4.0) -> float:
    """Median time of three forwards of a ``seconds`` clip (after one warm-up)."""
    from speechlab.asr import load_asr

    kwargs = {"dtype": dtype} if dtype else {}
    recognizer = load_asr(folder, **kwargs)
    wave = np.random.default_rng(0).standard_normal(int(seconds * 16_000)).astype(np.float32)
    recognizer.log_probs([wave])
    times = []
    for _ in range(3):
        start = time.perf_counter()
        recognizer.log_probs([wave])
        times.append(time.perf_counter() - start)
    return statistics.median(times)
