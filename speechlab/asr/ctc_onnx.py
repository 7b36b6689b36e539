"""ONNX Runtime as the inference runtime of a CTC model folder (``runtime="onnx"``).

A folder written by :func:`speechlab.asr.onnx_export.export_ctc_onnx` (or by
``speechlab.quantize``'s ONNX methods) holds ``model.onnx`` beside the checkpoint's
``config.json``, vocabulary and preprocessor files. :class:`OnnxCTC` is a model object with the
interface of :mod:`speechlab.asr.ctc_runtime`'s runtimes (``__call__`` → logits,
``output_frames``, ``dtype``, ``config``), so the recognizer around it
(:class:`~speechlab.asr.wav2vec2.Wav2Vec2Recognizer`) is the same for every runtime: vocabulary,
greedy and LM decoding, word timestamps, long-audio windows, batching and live recognition
(each window recomputed from samples: the graph gives no feature-encoder frames to keep).

The graph's inputs are ``input_values`` float32 ``[batch, time]`` and, for models that use one,
``attention_mask`` int64 ``[batch, time]``; its output ``logits`` ``[batch, frames, vocab]``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from speechlab.asr.ctc_runtime import conv_output_frames
from speechlab.errors import ModelFileError, ModelNotFoundError, SpeechlabError
from speechlab.store.model_folders import how_to_replace

__all__ = ["ONNX_MODEL", "OnnxCTC", "onnx_model_file"]

#: The graph's file name in a folder written by ``export_ctc_onnx``.
ONNX_MODEL = "model.onnx"


def onnx_model_file(model_dir: Path) -> Path | None:
    """The ONNX graph of a CTC model folder: ``model.onnx``, else its only ``*.onnx``; None
    when it has none; a :class:`ModelNotFoundError` when several leave the choice open."""
    if (model_dir / ONNX_MODEL).is_file():
        return model_dir / ONNX_MODEL
    found = sorted(p for p in model_dir.glob("*.onnx") if p.is_file())
    if len(found) > 1:
        raise ModelNotFoundError(
            f"{model_dir} holds several ONNX graphs ({', '.join(p.name for p in found)}) and no "
            f"{ONNX_MODEL}; keep one per folder, or name the one to run {ONNX_MODEL}."
        )
    return found[0] if found else None


class OnnxCTC:
    """A CTC model's exported graph on ONNX Runtime, called like the torch runtimes."""

    name = "onnx"
    #: the conv feature encoder is inside the graph: no slices, no frames kept between windows
    chunked_features = False
    cacheable_features = False

    def __init__(
        self,
        model_dir: Path,
        config: Any,
        *,
        dtype: Any = None,
        device: Any = "cpu",
        threads: int | None = None,
    ) -> None:
        import onnxruntime as ort
        import torch

        path = onnx_model_file(model_dir)
        if path is None:
            raise ModelNotFoundError(
                f"{model_dir} holds no .onnx model for runtime='onnx'. Export one with "
                f"`speechlab export asr {model_dir} --to onnx --out DIR` and open DIR, or use "
                "runtime='auto' for the torch weights."
            )
        if dtype not in (None, torch.float32):
            raise SpeechlabError(
                f"An ONNX folder runs in the precision it was exported or quantized in, so "
                f"dtype={dtype} cannot be applied to {path}. Leave dtype out, export with "
                "export_ctc_onnx(..., dtype='float16'), or use speechlab.quantize."
            )
        device = torch.device(device)
        providers: list[Any] = ["CPUExecutionProvider"]
        if device.type == "cuda":
            if "CUDAExecutionProvider" not in ort.get_available_providers():
                raise SpeechlabError(
                    f"ONNX Runtime {ort.__version__} here has no CUDA provider "
                    f"({', '.join(ort.get_available_providers())}); use device='cpu', install "
                    "onnxruntime-gpu, or open the torch checkpoint on the GPU."
                )
            providers.insert(0, ("CUDAExecutionProvider", {"device_id": device.index or 0}))
        elif device.type != "cpu":
            raise SpeechlabError(f"runtime='onnx' runs on 'cpu' or 'cuda', not {device.type!r}.")
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        if threads is not None:
            options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        try:
            self.session = ort.InferenceSession(str(path), options, providers=providers)
        except Exception as exc:  # ONNX Runtime raises its own types for bad files
            raise ModelFileError(
                f"ONNX Runtime cannot open {path} ({str(exc).splitlines()[0][:300]}): the file "
                f"is damaged, incomplete or not an ONNX model; {how_to_replace(model_dir)}."
            ) from exc
        inputs = {i.name for i in self.session.get_inputs()}
        outputs = [o.name for o in self.session.get_outputs()]
        if "input_values" not in inputs or "logits" not in outputs:
            raise ModelNotFoundError(
                f"{path} is not a CTC export: inputs {sorted(inputs)}, outputs {outputs}; "
                "expected input_values (and attention_mask) -> logits, as "
                "`speechlab export asr` writes."
            )
        self.path = path
        self.config = config
        self.dtype = torch.float32  # inputs and logits; the graph's inside may be reduced
        self.uses_mask = "attention_mask" in inputs
        self.threads = threads

    def __call__(self, inputs: Any, attention_mask: Any = None) -> Any:
        """Logits ``(batch, frames, vocab)`` (a float32 torch tensor) for ``inputs``
        ``(batch, samples)``; without a mask every sample counts."""
        import torch

        values = inputs.detach().to("cpu", torch.float32).numpy()
        feed = {"input_values": values}
        if self.uses_mask:
            mask = (
                np.ones(values.shape, dtype=np.int64)
                if attention_mask is None
                else attention_mask.detach().cpu().numpy().astype(np.int64, copy=False)
            )
            feed["attention_mask"] = mask
        (logits,) = self.session.run(["logits"], feed)
        return torch.from_numpy(logits)

    def output_frames(self, samples: Any) -> Any:
        """Frames the model outputs for ``samples`` input samples (a tensor or int)."""
        return conv_output_frames(self.config, samples)

    def parameters(self) -> list[Any]:
        """No torch parameters: the weights live in the ONNX graph."""
        return []
