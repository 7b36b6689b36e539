"""Export a torch Kokoro (``KModel``) to ONNX: fp32, fp16 and dynamic int8 variants.

The graph has the official layout: inputs ``input_ids`` (1, n) int64, ``style`` (1, 256)
float32, ``speed`` (1,) **float32** (kokoro-onnx#155 cast it to int); outputs ``waveform``
(samples,) and ``duration`` (n,) int64 frames, from which speechlab derives word times.
The output folder opens with ``load_tts(folder)`` (fp32) or
``load_tts(folder, model_file="model_int8.onnx")``.

Kokoro's vocoder adds random noise and a random initial phase to its sine source on every
call, so two runs never match sample for sample; ``deterministic_noise()`` replaces both by a
fixed pseudo-noise, for parity checks of torch against ONNX Runtime.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from speechlab.errors import SpeechlabError
from speechlab.store import resolve, sha256_file
from speechlab.tts.kokoro_torch import load_kmodel
from speechlab.tts.voices import VoiceBank

__all__ = ["VARIANT_FILES", "ExportError", "deterministic_noise", "export_onnx", "parity"]

VARIANT_FILES = {"fp32": "model.onnx", "fp16": "model_fp16.onnx", "int8": "model_int8.onnx"}
OPSET = 17


class ExportError(SpeechlabError):
    """A model that cannot be exported, or an export that does not match its source."""


@contextlib.contextmanager
def deterministic_noise() -> Iterator[None]:
    """Inside the block Kokoro's vocoder draws a fixed pseudo-noise instead of random numbers.

    The stand-in is a linear congruential sequence over the element index, in int64 (so an
    fp16 conversion leaves it alone), scaled to [0, 1) or to unit variance. Not zeros: an
    all-zero source makes the STFT phase ``atan2(0, 0)``, which torch and ONNX Runtime
    resolve differently.
    """
    import torch
    from kokoro import istftnet

    def uniform(index: Any) -> Any:  # a linear congruential draw in int64, then [0, 1)
        return ((index * 1_103_515_245 + 12_345) % 65_536).float() / 65_536

    class _Pseudo:  # the module's view of torch, with the two random draws replaced
        def __getattr__(self, name: str) -> Any:
            return getattr(torch, name)

        @staticmethod
        def rand(*size: Any, device: Any = None, **kwargs: Any) -> Any:
            # (batch, harmonics): fixed sizes, so a constant index is fine
            index = torch.arange(int(np.prod(size)), device=device)
            return uniform(index).reshape(size)

        @staticmethod
        def randn_like(x: Any, **kwargs: Any) -> Any:
            # the index follows x's (dynamic) shape so the exported graph stays dynamic
            index = torch.cumsum(torch.ones_like(x, dtype=torch.int64).reshape(-1), 0)
            return ((uniform(index) * 2 - 1) * 3**0.5).reshape(x.shape).to(x.dtype)

    istftnet.torch = _Pseudo()
    try:
        yield
    finally:
        istftnet.torch = torch


def export_onnx(
    spec: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    variants: Sequence[str] = ("fp32", "fp16", "int8"),
    deterministic: bool = False,
) -> dict[str, Path]:
    """Export the torch Kokoro at ``spec`` into folder ``out``; returns variant → file.

    The folder also gets ``config.json`` (vocabulary), ``voices.npz`` (the source's voices)
    and ``speechlab-export.json`` with every file's sha256. ``deterministic=True`` bakes
    a fixed pseudo-noise in place of the vocoder's random draws (for parity tests only).
    """
    unknown = [v for v in variants if v not in VARIANT_FILES]
    if unknown or not variants:
        raise ExportError(f"Unknown variants {unknown}; choose from {list(VARIANT_FILES)}.")
    source = resolve(spec)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    kmodel = load_kmodel(source, disable_complex=True)  # ONNX has no complex STFT
    fp32 = out / VARIANT_FILES["fp32"]
    _export_fp32(kmodel, fp32, deterministic)
    files = {"fp32": fp32}
    keep: list[str] | None = None  # the duration path, kept in fp32 by both reduced variants
    if "fp16" in variants:
        files["fp16"], keep = _to_fp16(fp32, out / VARIANT_FILES["fp16"])
    if "int8" in variants:
        files["int8"] = _to_int8(fp32, out / VARIANT_FILES["int8"], keep)
    if "fp32" not in variants:
        fp32.unlink()
        del files["fp32"]
    shutil.copyfile(source / "config.json", out / "config.json")
    _write_voices(source, out / "voices.npz")
    manifest = {
        "source": str(spec),
        "opset": OPSET,
        "deterministic_noise": deterministic,
        "files": {p.name: sha256_file(p) for p in sorted(out.iterdir()) if p.is_file()},
    }
    (out / "speechlab-export.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    return files


def parity(
    spec: str | os.PathLike[str],
    onnx_file: str | os.PathLike[str],
    ids: Sequence[int],
    style: np.ndarray,
    speed: float = 1.0,
) -> dict[str, float]:
    """Torch vs ONNX Runtime on the same ids/style/speed, both without vocoder noise.

    Returns ``durations_equal`` (1.0/0.0), ``max_abs`` (largest sample difference), ``peak``
    (the torch output's peak), ``correlation`` of the two waveforms and ``log_mel_db``, their
    mean log-mel spectral distance (``import_check.log_mel_distance``), which unlike the
    correlation does not punish a slow phase drift of the vocoder's sine source.
    """
    import torch

    from speechlab.tts.import_check import log_mel_distance
    from speechlab.tts.kokoro_onnx import KokoroOnnx

    kmodel = load_kmodel(resolve(spec), disable_complex=True)
    with deterministic_noise(), torch.inference_mode():
        audio, durations = kmodel.forward_with_tokens(
            torch.as_tensor([list(ids)]),
            torch.as_tensor(style, dtype=torch.float32).reshape(1, -1),
            speed,
        )
    reference = audio.reshape(-1).numpy()
    result = KokoroOnnx(Path(onnx_file))(list(ids), style, speed)
    if result.audio.shape != reference.shape:
        raise ExportError(
            f"ONNX gives {result.audio.size} samples, torch {reference.size}: the export "
            "does not match its source."
        )
    diff = np.abs(result.audio - reference)
    return {
        "durations_equal": float(np.array_equal(result.durations, durations.numpy())),
        "max_abs": float(diff.max()),
        "peak": float(np.abs(reference).max()),
        "correlation": float(np.corrcoef(result.audio, reference)[0, 1]),
        "log_mel_db": log_mel_distance(result.audio, reference),
    }


def _export_fp32(kmodel: Any, path: Path, deterministic: bool) -> None:
    import torch
    from kokoro.model import KModelForONNX

    wrapper = KModelForONNX(kmodel).eval()
    ids = torch.zeros((1, 16), dtype=torch.long)
    ids[0, 1:-1] = torch.arange(16, 30)
    example = (ids, torch.zeros((1, 256)), torch.ones(1))
    noise = deterministic_noise() if deterministic else contextlib.nullcontext()
    tmp = path.with_suffix(".onnx.partial")
    with noise, torch.no_grad(), _quiet_exporter():
        torch.onnx.export(
            wrapper,
            example,
            str(tmp),
            input_names=["input_ids", "style", "speed"],
            output_names=["waveform", "duration"],
            dynamic_axes={
                "input_ids": {1: "tokens"},
                "waveform": {0: "samples"},
                "duration": {0: "tokens"},
            },
            opset_version=OPSET,
            dynamo=False,  # Kokoro's data-dependent alignment traces cleanly this way
        )
    os.replace(tmp, path)


def _to_fp16(fp32: Path, path: Path) -> tuple[Path, list[str]]:
    import onnx
    from onnxruntime.transformers.float16 import convert_float_to_float16

    model = onnx.load(str(fp32))
    # Everything the `duration` output depends on stays in fp32: durations are rounded to
    # whole frames, and in fp16 a sum near x.5 flips and the speech changes length. The
    # vocoder (most of the weights and compute) and the text encoder go to fp16.
    keep = sorted(_ancestors(model.graph, "duration"))
    model = convert_float_to_float16(model, keep_io_types=True, node_block_list=keep)
    _skip_round_trips(model)
    onnx.save(model, str(path))
    return path, keep


def _ancestors(graph: Any, output: str) -> set[str]:
    """Names of the nodes that ``output`` depends on."""
    producer = {out: node for node in graph.node for out in node.output}
    seen: set[str] = set()
    stack = [output]
    while stack:
        node = producer.get(stack.pop())
        if node is None or node.name in seen:
            continue
        seen.add(node.name)
        stack.extend(node.input)
    return seen


def _skip_round_trips(model: Any) -> None:
    """Nodes that read a value through fp32 → fp16 → fp32 casts read the fp32 value directly.

    The converter puts such round trips at the graph's inputs (``style``, ``speed``) and
    between blocked nodes (``Div`` → ``Round`` of the durations), rounding values that were
    meant to stay fp32.
    """
    import onnx

    def casts_to(node: Any, dtype: int) -> bool:
        return (
            node.op_type == "Cast" and onnx.helper.get_attribute_value(node.attribute[0]) == dtype
        )

    graph = model.graph
    half = {n.output[0]: n.input[0] for n in graph.node if casts_to(n, onnx.TensorProto.FLOAT16)}
    back = {
        n.output[0]: half[n.input[0]]
        for n in graph.node
        if casts_to(n, onnx.TensorProto.FLOAT) and n.input[0] in half
    }
    for output in graph.output:  # a graph output keeps its producer
        back.pop(output.name, None)
    kept = [n for n in graph.node if n.output[0] not in back]
    for node in kept:
        for i, name in enumerate(node.input):
            if name in back:
                node.input[i] = back[name]
    del graph.node[:]
    graph.node.extend(kept)


def _to_int8(fp32: Path, path: Path, keep: list[str] | None = None) -> Path:
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    # as for fp16, the duration path stays in fp32 so the int8 speech keeps its timing;
    # ``keep`` comes from the fp16 conversion when there was one (no second graph load)
    if keep is None:
        graph = onnx.load(str(fp32), load_external_data=False).graph
        keep = sorted(_ancestors(graph, "duration"))
    quantize_dynamic(str(fp32), str(path), weight_type=QuantType.QInt8, nodes_to_exclude=keep)
    return path


def _write_voices(source: Path, path: Path) -> None:
    candidates = [source / "voices"] if (source / "voices").is_dir() else []
    candidates += sorted(source.glob("voices*.npz")) + sorted(source.glob("voices*.bin"))
    if not candidates:
        raise ExportError(f"{source} holds no voices (voices/*.pt, voices*.npz or voices*.bin).")
    bank = VoiceBank.load(*candidates)
    np.savez(path, **{name: bank.pack(name) for name in bank.names})


@contextlib.contextmanager
def _quiet_exporter() -> Iterator[None]:
    """The TorchScript exporter warns about every LSTM and deprecated path; not user news."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield
