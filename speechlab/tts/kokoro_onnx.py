"""Kokoro-82M on ONNX Runtime, for both export layouts.

* ``tokens`` / ``style`` / ``speed`` → ``audio`` (the kokoro-onnx export; the store's
  ``kokoro-82m-int8``), and
* ``input_ids`` / ``style`` / ``speed`` → ``waveform`` [+ ``durations``] (the official
  onnx-community export), whose per-token durations give word times.

One session per model, tuned for CPU (all graph optimisations, intra-op threads; int8
``ConvInteger`` nodes rewritten as ``MatMulInteger`` with signed weights where the CPU's
u8×s8 kernels are exact, i.e. with VNNI/AMX: bit-identical and faster, see
``onnx_rewrite``). The kokoro-onnx export's internal per-token durations are made an output
(``onnx_rewrite.expose_durations``), so it gives word times too. ``speed`` is passed as a
float (kokoro-onnx#155 truncated it to an integer).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from speechlab.devices import check_gpus, check_threads, parse_device
from speechlab.errors import ModelFileError, ModelNotFoundError
from speechlab.store.model_folders import how_to_replace
from speechlab.tts.base import SAMPLES_PER_DURATION_FRAME, Output

__all__ = ["SAMPLES_PER_DURATION_FRAME", "KokoroOnnx", "Output"]


class KokoroOnnx:
    """An ONNX Runtime session for a Kokoro export (a ``base.KokoroRuntime``)."""

    def __init__(
        self,
        model_path: Path,
        *,
        threads: int | None = None,
        device: str = "cpu",
        fast_int8: bool = True,
    ) -> None:
        import onnxruntime as ort

        threads = check_threads(threads)
        checked = parse_device(device)
        cuda = "CUDAExecutionProvider" in ort.get_available_providers()
        check_gpus(checked, 1 if cuda else 0, f"ONNX Runtime {ort.__version__}")
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.intra_op_num_threads = threads or (os.cpu_count() or 1)
        options.inter_op_num_threads = 1
        providers: list[Any] = ["CPUExecutionProvider"]
        if checked.is_cuda:
            providers.insert(0, ("CUDAExecutionProvider", {"device_id": checked.index or 0}))
        self.rewritten_convs = 0
        try:
            model: str | bytes = str(model_path)
            model, self.rewritten_convs = _prepared_graph(
                model_path, rewrite=fast_int8 and not checked.is_cuda
            )
            self.session = ort.InferenceSession(model, options, providers=providers)
        except Exception as exc:  # ONNX Runtime and onnx raise their own types for bad files
            raise ModelFileError(
                f"ONNX Runtime cannot open {model_path} ({exc}): the file is damaged, incomplete "
                f"or not an ONNX model; {how_to_replace(model_path.parent)}."
            ) from exc
        inputs = {i.name: i for i in self.session.get_inputs()}
        self.ids_name = "tokens" if "tokens" in inputs else "input_ids"
        missing = {self.ids_name, "style", "speed"} - set(inputs)
        if missing:
            raise ModelNotFoundError(
                f"{model_path} is not a Kokoro export: inputs {sorted(inputs)}, missing "
                f"{sorted(missing)}."
            )
        self.speed_dtype = np.int32 if inputs["speed"].type == "tensor(int32)" else np.float32
        outputs = [o.name for o in self.session.get_outputs()]
        self.audio_name = outputs[0]
        self.durations_name = next((o for o in outputs if "duration" in o), None)

    def __call__(self, ids: list[int], style: np.ndarray, speed: float) -> Output:
        """Synthesise padded token ids (BOS/EOS included) with a (1, 256) style row."""
        feeds = {
            self.ids_name: np.asarray([ids], dtype=np.int64),
            "style": np.asarray(style, dtype=np.float32).reshape(1, -1),
            "speed": np.asarray([speed], dtype=self.speed_dtype),
        }
        names = [self.audio_name] + ([self.durations_name] if self.durations_name else [])
        results = self.session.run(names, feeds)
        audio = np.asarray(results[0], dtype=np.float32).reshape(-1)
        durations = np.asarray(results[1]).reshape(-1) if len(results) > 1 else None
        return Output(audio, durations)


def _prepared_graph(model_path: Path, *, rewrite: bool) -> tuple[str | bytes, int]:
    """The model as bytes with its durations exposed and (``rewrite``) its ConvInteger nodes
    rewritten, with the number rewritten; its path when neither changes anything."""
    if model_path.stat().st_size > 1_500_000_000:  # protobuf's 2 GB limit: leave it as is
        return str(model_path), 0
    import onnx

    from speechlab.tts.onnx_rewrite import convinteger_to_matmul, expose_durations

    proto = onnx.load(str(model_path))
    count = convinteger_to_matmul(proto) if rewrite else 0
    exposed = expose_durations(proto)
    return (proto.SerializeToString(), count) if count or exposed else (str(model_path), 0)
