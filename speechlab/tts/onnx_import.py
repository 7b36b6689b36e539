"""Kokoro-82M for torch from its int8 ONNX export: every ``KModel`` parameter, once.

The store's ``kokoro-82m-int8`` is Kokoro-82M v1.0 exported to ONNX and dynamically
quantized. Its weights, dequantized (``onnx_weights``), are a real Kokoro-82M rounded to
8 bits. ``import_onnx`` maps them onto ``kokoro.KModel``'s parameters and writes a folder of
the ``hexgrad/Kokoro-82M`` layout (``config.json``, ``kokoro-v1_0.safetensors``, the voices)
that ``load_tts(folder, backend="torch")`` opens:

* tensors that kept their torch name (``encoder.bert.embeddings.word_embeddings.weight``,
  ``decoder.decoder.encode.norm1.fc.weight``) map by name, after dropping the export's
  wrapper prefixes; ``MatMul`` right-hand sides are (in, out) and are transposed;
* anonymous tensors (``onnx::MatMul_6548``, ``onnx::LSTM_6930``, ``/decoder/.../Mul_2``)
  map to the module whose scope names the node that reads them (``/encoder/bert/…/
  attention/query_3/MatMul_quant`` → ``bert.….attention.query``);
* LSTMs go from ONNX's gate order (i, o, f, c; input and recurrent biases side by side) to
  torch's (i, f, g, o; ``bias_ih`` and ``bias_hh``);
* weight-normalised convolutions were folded by the export into one weight ``w``; the
  import sets ``weight_v = w`` and ``weight_g = ‖w‖`` (per output row, summed in a fixed
  order so the file is the same on every machine), so ``g · v / ‖v‖`` is ``w`` to float32
  rounding;
* parameters the graph cannot have are filled and say why: the affine scale and shift of
  AdaIN's instance norms (1 and 0: Kokoro normalises without them) and the ALBERT pooler
  (zeros: ``KModel`` never calls it).

Every parameter is assigned exactly once; a missing or doubly claimed parameter, a tensor
that maps nowhere or has the wrong shape raise :class:`OnnxImportError` naming it, before
anything is written.
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from speechlab.errors import SpeechlabError
from speechlab.tts.kokoro_torch import HUB_ID, kokoro_config
from speechlab.tts.onnx_weights import GraphError, GraphWeight, graph_weights

__all__ = [
    "SOURCES_FILE",
    "WEIGHTS_FILE",
    "Assignment",
    "OnnxImportError",
    "build_store_model",
    "import_onnx",
    "kokoro_state_dict",
]

#: The state dict's file name in an imported folder (``hexgrad/Kokoro-82M`` has a .pth).
WEIGHTS_FILE = "kokoro-v1_0.safetensors"
#: Where each parameter came from: the ONNX tensor and what was done to it.
SOURCES_FILE = "import-sources.json"
_GATES_ONNX_TO_TORCH = (0, 2, 3, 1)  # ONNX i, o, f, c  ->  torch i, f, g(c), o
_ABOUT = (
    "speechlab imports Kokoro-82M v1.0's int8 ONNX export (the store's kokoro-82m-int8); "
    "for another model use its own torch weights (a hexgrad/Kokoro-82M folder)."
)


class OnnxImportError(SpeechlabError):
    """An ONNX file that does not map onto Kokoro-82M v1.0's ``KModel``, tensor by tensor."""


@dataclass(frozen=True)
class Assignment:
    """Where one ``KModel`` parameter came from."""

    tensor: str  # the ONNX tensor, or "" for a parameter the graph cannot have
    how: str  # what was done to it


def import_onnx(
    onnx_file: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    vocab: Mapping[str, int],
    voices: str | os.PathLike[str],
    progress: bool = True,
    report: Callable[[int], None] | None = None,
) -> Path:
    """Write a torch Kokoro folder into ``out`` from a Kokoro-82M v1.0 int8 ONNX file.

    ``vocab`` is the phoneme vocabulary (the store's ``vocab.json``), ``voices`` a voice
    file the folder gets a copy of (``voices.npz``). Files appear under their final names
    only once everything mapped. ``report(n)`` is called with bytes of output as they are
    produced (for a store progress bar).
    """
    out = Path(out)
    config = kokoro_config(vocab, size="full")
    state, sources = kokoro_state_dict(onnx_file, config, progress=progress, report=report)
    out.mkdir(parents=True, exist_ok=True)
    written = [
        _write(out / "config.json", _json_bytes(config)),
        _write(out / WEIGHTS_FILE, _safetensors_bytes(state)),
        _write(out / SOURCES_FILE, _json_bytes(_provenance(Path(onnx_file), sources))),
        _copy(Path(voices), out / "voices.npz"),
    ]
    if report is not None:
        report(sum(written) - sum(v.nbytes for v in state.values()))
    return out


def build_store_model(source: Path, out: Path, report: Callable[[int], None] | None = None) -> None:
    """The store's builder of ``kokoro-82m-int8-torch``: import the assembled
    ``kokoro-82m-int8`` folder ``source`` into ``out``."""
    vocab = json.loads((source / "vocab.json").read_text(encoding="utf-8"))["vocab"]
    import_onnx(
        source / "kokoro-v1.0.int8.onnx",
        out,
        vocab=vocab,
        voices=source / "voices.npz",
        progress=False,
        report=report,
    )


def kokoro_state_dict(
    onnx_model: str | os.PathLike[str] | Any,
    config: Mapping[str, Any],
    *,
    progress: bool = False,
    report: Callable[[int], None] | None = None,
) -> tuple[dict[str, np.ndarray], dict[str, Assignment]]:
    """``KModel``'s state dict (flat names, float32) from an ONNX file (or a loaded
    ``onnx.ModelProto``), and each parameter's source. Raises :class:`OnnxImportError` on
    the first tensor that does not fit, on a parameter claimed twice, and on any parameter
    left unassigned."""
    import onnx

    model = onnx_model
    if not isinstance(onnx_model, onnx.ModelProto):
        try:
            model = onnx.load(str(onnx_model))
        except Exception as exc:  # protobuf raises its own DecodeError family
            raise OnnxImportError(
                f"{onnx_model} is not a readable ONNX file ({exc}). {_ABOUT}"
            ) from exc
    _check_inputs(model)
    ledger = _Ledger(_skeleton(config), report)
    try:
        weights = graph_weights(model)
    except GraphError as exc:
        raise OnnxImportError(f"{exc} {_ABOUT}") from exc
    from tqdm.auto import tqdm

    for weight in tqdm(weights, desc="importing Kokoro", unit="tensor", disable=not progress):
        ledger.take(weight)
    ledger.fill_defaults()
    return ledger.finish()


# --------------------------------------------------------------------------- the mapping


class _Skeleton:
    """``KModel``'s parameter names, shapes and modules (built on the meta device)."""

    def __init__(self, kmodel: Any) -> None:
        self.shapes = {n: tuple(p.shape) for n, p in kmodel.named_parameters()}
        modules = dict(kmodel.named_modules())
        self.kinds = {name: type(m).__name__ for name, m in modules.items()}
        self.owners = {  # modules that own parameters directly
            name for name, m in modules.items() if any(True for _ in m.parameters(False))
        }
        self.parameter_free = {
            name for name, m in modules.items() if name and not any(True for _ in m.parameters())
        }


class _Ledger:
    """Assigns parameters from graph weights, exactly once each."""

    def __init__(self, skeleton: _Skeleton, report: Callable[[int], None] | None) -> None:
        self.sk = skeleton
        self.values: dict[str, np.ndarray] = {}
        self.sources: dict[str, Assignment] = {}
        self.report = report

    # ---- one graph tensor

    def take(self, weight: GraphWeight) -> None:
        anonymous = weight.tensor.startswith(("/", "onnx::"))
        if anonymous:
            if weight.kind == "constant":
                return  # derived constants (1/alpha, shapes): not parameters
            module = _module_for(weight.node, self.sk.owners)
            if module is None:
                raise OnnxImportError(
                    f"Tensor {weight.tensor!r} (read by {weight.node!r}) belongs to no "
                    f"module of Kokoro-82M v1.0. {_ABOUT}"
                )
            self._module_weight(module, weight)
            return
        base = re.sub(r"_quantized$", "", weight.tensor)
        param = self._param_named(base)
        if param is not None:
            self._named(param, weight)
            return
        module = self._module_named(base)
        if module is not None and weight.kind in ("conv", "conv_transpose", "matmul"):
            self._module_weight(module, weight)
        elif not self._export_buffer(base):
            raise OnnxImportError(
                f"Tensor {weight.tensor!r} {weight.value.shape} does not fit Kokoro-82M v1.0: "
                f"KModel has no parameter {base!r} (nor one under a shorter prefix). {_ABOUT}"
            )

    def _named(self, param: str, weight: GraphWeight) -> None:
        how = _dequantized(weight)
        value = weight.value
        if weight.kind == "matmul":
            value, how = value.T, f"{how}, transposed from MatMul's (in, out)"
        self.assign(param, value, weight.tensor, how)

    def _module_weight(self, module: str, weight: GraphWeight) -> None:
        how = _dequantized(weight)
        if weight.kind == "lstm":
            self._lstm(module, weight, how)
        elif weight.kind == "matmul":
            value = weight.value.T
            self.assign(f"{module}.weight", value, weight.tensor, f"{how}, transposed")
        elif f"{module}.weight_g" in self.sk.shapes:
            v, g, dead = _weight_norm(weight.value)
            zeros = f" ({dead} all-zero rows: v = 1, g = 0)" if dead else ""
            self.assign(f"{module}.weight_v", v, weight.tensor, f"{how}, weight-norm v = w{zeros}")
            self.assign(f"{module}.weight_g", g, weight.tensor, f"{how}, weight-norm g = ‖w‖")
        else:
            self.assign(f"{module}.weight", weight.value, weight.tensor, how)

    def _lstm(self, module: str, weight: GraphWeight, how: str) -> None:
        names = {"W": "weight_ih_l0", "R": "weight_hh_l0"}
        for direction, suffix in enumerate(("", "_reverse")):
            if direction >= weight.value.shape[0]:
                raise OnnxImportError(
                    f"Tensor {weight.tensor!r} has {weight.value.shape[0]} direction(s); "
                    f"{module} is bidirectional. {_ABOUT}"
                )
            value = weight.value[direction]
            reordered = f"{how}, gates i,o,f,c -> i,f,g,o"
            if weight.role == "B":
                half = value.shape[0] // 2
                for part, chunk in (("bias_ih_l0", value[:half]), ("bias_hh_l0", value[half:])):
                    param = f"{module}.{part}{suffix}"
                    self.assign(param, _torch_gates(chunk), weight.tensor, reordered)
            else:
                param = f"{module}.{names[weight.role]}{suffix}"
                self.assign(param, _torch_gates(value), weight.tensor, reordered)

    # ---- the ledger itself

    def assign(self, param: str, value: np.ndarray, tensor: str, how: str) -> None:
        expected = self.sk.shapes.get(param)
        if expected is None:
            raise OnnxImportError(
                f"Tensor {tensor!r} maps to {param!r}, which Kokoro-82M v1.0's KModel does "
                f"not have. {_ABOUT}"
            )
        value = np.asarray(value, np.float32)
        if value.shape != expected:
            raise OnnxImportError(
                f"Tensor {tensor!r} does not fit {param!r}: shape {value.shape}, KModel "
                f"expects {expected}. {_ABOUT}"
            )
        previous = self.sources.get(param)
        if previous is not None:
            raise OnnxImportError(
                f"Parameter {param!r} is claimed twice: by {previous.tensor!r} and by "
                f"{tensor!r}. {_ABOUT}"
            )
        self.values[param] = np.ascontiguousarray(value)
        self.sources[param] = Assignment(tensor, how)
        if self.report is not None:
            self.report(value.nbytes)

    def fill_defaults(self) -> None:
        for param, shape in self.sk.shapes.items():
            if param in self.sources:
                continue
            module, _, leaf = param.rpartition(".")
            if self.sk.kinds.get(module) == "InstanceNorm1d":
                fill = 1.0 if leaf == "weight" else 0.0
                why = f"not in the graph: {fill:g} (AdaIN's instance norm has no affine terms)"
                self.assign(param, np.full(shape, fill, np.float32), "", why)
            elif param.startswith("bert.pooler."):
                why = "not in the graph: zeros (KModel never calls ALBERT's pooler)"
                self.assign(param, np.zeros(shape, np.float32), "", why)

    def finish(self) -> tuple[dict[str, np.ndarray], dict[str, Assignment]]:
        missing = [p for p in self.sk.shapes if p not in self.sources]
        if missing:
            raise OnnxImportError(
                f"{len(missing)} KModel parameter(s) have no source in the graph, the first "
                f"{missing[0]!r} {self.sk.shapes[missing[0]]}. {_ABOUT}"
            )
        order = list(self.sk.shapes)
        return (
            {p: self.values[p] for p in order},
            {p: self.sources[p] for p in order},
        )

    # ---- names

    def _param_named(self, name: str) -> str | None:
        """``encoder.bert.x.weight`` → ``bert.x.weight``: drop the export's wrapper
        prefixes until a KModel parameter is left."""
        parts = name.split(".")
        for start in range(len(parts)):
            candidate = ".".join(parts[start:])
            if candidate in self.sk.shapes:
                return candidate
        return None

    def _module_named(self, name: str) -> str | None:
        """A weight-normalised module's folded ``X.weight`` names module X."""
        if not name.endswith(".weight"):
            return None
        parts = name.removesuffix(".weight").split(".")
        for start in range(len(parts)):
            candidate = ".".join(parts[start:])
            if f"{candidate}.weight_g" in self.sk.shapes:
                return candidate
        return None

    def _export_buffer(self, name: str) -> bool:
        """Buffers of a parameter-free KModel module (the STFT's window and bases, which
        the export computes its own way) are not weights."""
        parts = name.split(".")
        for start in range(len(parts)):
            for end in range(start + 1, len(parts)):
                if ".".join(parts[start:end]) in self.sk.parameter_free:
                    return True
        return False


def _module_for(node: str, modules: set[str]) -> str | None:
    """The KModel module a node belongs to, from its scope path.

    ``/encoder/text_encoder/cnn.1/cnn.1.0/Conv_quant`` → ``text_encoder.cnn.1.0``: torch's
    exporter repeats a Sequential's scope (``cnn.1/cnn.1.0``), numbers repeated calls
    (``query_3``) and leaves out wrappers (``/encoder/F0.1`` is ``predictor.F0.1``), so the
    longest suffix of the path that names exactly one module wins.
    """
    parts: list[str] = []
    for part in [p for p in node.split("/") if p][:-1]:  # the last part names the op
        if parts and part.startswith(parts[-1] + "."):
            parts[-1] = part
        else:
            parts.append(part)
    for variant in (parts, [re.sub(r"_\d+$", "", p) for p in parts]):
        for start in range(len(variant)):
            suffix = ".".join(variant[start:])
            hits = [m for m in modules if m == suffix or m.endswith("." + suffix)]
            if len(hits) == 1:
                return hits[0]
            if len(hits) > 1:
                break
    return None


def _torch_gates(value: np.ndarray) -> np.ndarray:
    chunks = np.split(value, 4, axis=0)
    return np.concatenate([chunks[i] for i in _GATES_ONNX_TO_TORCH], axis=0)


def _weight_norm(w: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """``(v, g, dead)`` with ``g · v / ‖v‖ = w`` for ``torch.nn.utils.weight_norm(dim=0)``.

    ``v = w`` and ``g = ‖w‖`` over every axis but the first. Squares of float32 are exact in
    float64; they are summed as a balanced tree of element-wise additions, a fixed order that
    gives the same bits on every machine (a plain ``np.sum`` may reorder with the CPU's
    vector width). A row that quantization left all zero would make torch divide 0 by 0:
    it gets ``v = 1`` and ``g = 0``, whose product is the same zero row. ``dead`` counts them.
    """
    rows = w.reshape(w.shape[0], -1).astype(np.float64) ** 2
    width = 1 << max(0, (rows.shape[1] - 1).bit_length())
    rows = np.pad(rows, ((0, 0), (0, width - rows.shape[1])))
    while rows.shape[1] > 1:
        rows = rows[:, 0::2] + rows[:, 1::2]
    norm = np.sqrt(rows[:, 0]).astype(np.float32)
    v = w.copy()
    dead = norm == 0
    v[dead] = 1.0
    return v, norm.reshape((w.shape[0],) + (1,) * (w.ndim - 1)), int(dead.sum())


def _dequantized(weight: GraphWeight) -> str:
    if weight.quantization == "none":
        return "float32 as stored"
    return f"dequantized {weight.quantization} ((q - zero_point) x scale)"


def _check_inputs(model: Any) -> None:
    inputs = [i.name for i in model.graph.input]
    wanted = [{"tokens", "input_ids"}, {"style"}, {"speed"}]
    for name, allowed in zip(inputs, wanted, strict=False):
        if name not in allowed:
            raise OnnxImportError(
                f"Graph input {name!r} does not fit a Kokoro export (inputs {inputs}; "
                f"Kokoro has tokens/input_ids, style, speed). {_ABOUT}"
            )
    if len(inputs) < len(wanted):
        raise OnnxImportError(f"The graph has inputs {inputs}, not Kokoro's three. {_ABOUT}")


def _skeleton(config: Mapping[str, Any]) -> _Skeleton:
    import warnings

    import torch
    from kokoro import KModel

    empty = io.BytesIO()
    torch.save({}, empty)
    empty.seek(0)
    with torch.device("meta"), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # weight_norm's deprecation, LSTM dropout
        kmodel = KModel(repo_id=HUB_ID, config=dict(config), model=empty)  # type: ignore[arg-type]
    return _Skeleton(kmodel)


# --------------------------------------------------------------------------- writing


def _safetensors_bytes(state: Mapping[str, np.ndarray]) -> bytes:
    from safetensors.numpy import save

    return save(dict(state))


def _provenance(onnx_file: Path, sources: Mapping[str, Assignment]) -> dict[str, Any]:
    from speechlab.store import sha256_file

    return {
        "source": onnx_file.name,
        "source_sha256": sha256_file(onnx_file),
        "parameters": {p: [a.tensor, a.how] for p, a in sources.items()},
    }


def _json_bytes(data: Any) -> bytes:
    return (json.dumps(data, ensure_ascii=False, indent=1) + "\n").encode("utf-8")


def _write(path: Path, data: bytes) -> int:
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    try:
        partial.write_bytes(data)
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
    return len(data)


def _copy(source: Path, path: Path) -> int:
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    try:
        shutil.copyfile(source, partial)
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
    return path.stat().st_size
