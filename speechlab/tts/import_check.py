"""Is the imported torch Kokoro the same model as the int8 ONNX graph it came from?

``compare`` runs both on the same token ids, style row and speed, without vocoder noise on
either side (the store's graph has none: no random initial phase, no additive noise; torch's
random draws are replaced by zeros with ``silent_vocoder``), and reports:

* the per-token durations of both (the graph's come from its internal node
  ``/encoder/Clip_output_0``; the unrounded ones from ``/encoder/Div_output_0``), and for
  each token that differs, the two unrounded values that explain it;
* the audio of torch given the graph's own durations, so the two waveforms line up sample
  for sample: correlation and log-mel distance.

They cannot be equal: the graph quantizes every activation to 8 bits on the fly (per tensor,
``DynamicQuantizeLinear``) before each MatMul, convolution and LSTM, and rounds conv biases
down to that scale; torch runs the same dequantized weights on float activations.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from speechlab.tts.base import SAMPLE_RATE
from speechlab.tts.onnx_import import OnnxImportError
from speechlab.tts.onnx_rewrite import DURATIONS_NODE

__all__ = [
    "DURATIONS_NODE",
    "RAW_DURATIONS_NODE",
    "Comparison",
    "DurationDiff",
    "GraphProbe",
    "compare",
    "log_mel_distance",
    "predict_durations",
    "silent_vocoder",
    "torch_synthesis",
]

#: The store graph's per-token durations before rounding (``DURATIONS_NODE``: after).
RAW_DURATIONS_NODE = "/encoder/Div_output_0"


@dataclass(frozen=True)
class DurationDiff:
    """One token whose rounded duration differs between the graph and torch."""

    index: int  # position in the padded ids
    token: int
    onnx: int
    torch: int
    onnx_raw: float  # before rounding
    torch_raw: float


@dataclass
class Comparison:
    """``compare``'s result for one utterance."""

    tokens: int
    durations_equal: bool
    differing: list[DurationDiff] = field(default_factory=list)
    max_raw_diff: float = 0.0  # largest |onnx_raw - torch_raw| over all tokens, in frames
    correlation: float = 0.0  # waveforms with the graph's durations on both sides
    log_mel_db: float = 0.0  # mean |log-mel difference| in dB (log_mel_distance)
    seconds: float = 0.0


@contextlib.contextmanager
def silent_vocoder() -> Iterator[None]:
    """Inside the block Kokoro's vocoder draws zeros: no random initial phase, no noise
    (what the store's int8 graph computes)."""
    import torch
    from kokoro import istftnet

    class _Zeros:  # the module's view of torch, with the two random draws replaced
        def __getattr__(self, name: str) -> Any:
            return getattr(torch, name)

        @staticmethod
        def rand(*size: Any, device: Any = None, **kwargs: Any) -> Any:
            return torch.zeros(*size, device=device)

        @staticmethod
        def randn_like(x: Any, **kwargs: Any) -> Any:
            return torch.zeros_like(x)

    istftnet.torch = _Zeros()
    try:
        yield
    finally:
        istftnet.torch = torch


class GraphProbe:
    """The store's int8 graph with internal node outputs as extra outputs (by name)."""

    def __init__(
        self,
        onnx_file: str | os.PathLike[str],
        outputs: Sequence[str] = (DURATIONS_NODE, RAW_DURATIONS_NODE),
        *,
        threads: int | None = None,
    ) -> None:
        import onnx
        import onnxruntime as ort

        proto = onnx.load(str(onnx_file))
        known = {o for node in proto.graph.node for o in node.output}
        for name in outputs:
            if name not in known:
                raise OnnxImportError(
                    f"{onnx_file} has no node output {name!r}: the probes are written for the "
                    "store's kokoro-82m-int8 graph."
                )
            proto.graph.output.append(
                onnx.helper.make_tensor_value_info(name, onnx.TensorProto.FLOAT, None)
            )
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads or (os.cpu_count() or 1)
        self.session = ort.InferenceSession(proto.SerializeToString(), options)
        self.outputs = [o.name for o in self.session.get_outputs()]

    def __call__(self, ids: Sequence[int], style: np.ndarray, speed: float) -> dict[str, Any]:
        """Every output (``audio`` and the probed nodes) for padded ids and a style row."""
        values = self.session.run(
            None,
            {
                "tokens": np.asarray([ids], np.int64),
                "style": np.asarray(style, np.float32).reshape(1, -1),
                "speed": np.asarray([speed], np.float32),
            },
        )
        return dict(zip(self.outputs, values, strict=True))


def predict_durations(
    kmodel: Any, ids: Sequence[int], style: np.ndarray, speed: float
) -> tuple[np.ndarray, np.ndarray]:
    """``KModel``'s per-token durations ``(rounded, raw)`` for one utterance (the first half
    of ``forward_with_tokens``)."""
    import torch

    with torch.inference_mode():
        input_ids, ref_s, lengths, text_mask = _inputs(ids, style)
        d = _prosody_features(kmodel, input_ids, ref_s, lengths, text_mask)
        x, _ = kmodel.predictor.lstm(d)
        raw = torch.sigmoid(kmodel.predictor.duration_proj(x)).sum(axis=-1) / speed
        rounded = torch.round(raw).clamp(min=1).long()
    return rounded.reshape(-1).numpy(), raw.reshape(-1).numpy()


def torch_synthesis(
    kmodel: Any, ids: Sequence[int], style: np.ndarray, durations: Sequence[int]
) -> np.ndarray:
    """``KModel.forward_with_tokens``'s audio with the given per-token durations instead of
    its own prediction (so it lines up with another model's audio sample for sample)."""
    import torch

    with torch.inference_mode():
        input_ids, ref_s, lengths, text_mask = _inputs(ids, style)
        d = _prosody_features(kmodel, input_ids, ref_s, lengths, text_mask)
        used = torch.as_tensor(np.asarray(durations), dtype=torch.long)
        n = input_ids.shape[1]
        indices = torch.repeat_interleave(torch.arange(n), used)
        alignment = torch.zeros((n, indices.shape[0]))
        alignment[indices, torch.arange(indices.shape[0])] = 1
        alignment = alignment.unsqueeze(0)
        f0, noise = kmodel.predictor.F0Ntrain(d.transpose(-1, -2) @ alignment, ref_s[:, 128:])
        asr = kmodel.text_encoder(input_ids, lengths, text_mask) @ alignment
        audio = kmodel.decoder(asr, f0, noise, ref_s[:, :128]).squeeze()
    return audio.numpy()


def _inputs(ids: Sequence[int], style: np.ndarray) -> tuple[Any, Any, Any, Any]:
    import torch

    input_ids = torch.as_tensor([list(ids)], dtype=torch.long)
    ref_s = torch.as_tensor(np.asarray(style, np.float32).reshape(1, -1))
    lengths = torch.full((1,), input_ids.shape[-1], dtype=torch.long)
    text_mask = torch.zeros_like(input_ids, dtype=torch.bool)  # one utterance, no padding
    return input_ids, ref_s, lengths, text_mask


def _prosody_features(kmodel: Any, input_ids: Any, ref_s: Any, lengths: Any, mask: Any) -> Any:
    bert = kmodel.bert(input_ids, attention_mask=(~mask).int())
    d_en = kmodel.bert_encoder(bert).transpose(-1, -2)
    return kmodel.predictor.text_encoder(d_en, ref_s[:, 128:], lengths, mask)


def log_mel_distance(a: np.ndarray, b: np.ndarray, *, floor_db: float = 80.0) -> float:
    """Mean absolute difference of two waveforms' 80-band log-mel power spectra, in dB.

    Both spectra are floored ``floor_db`` below the louder one's peak, so silence does not
    dominate; 25 ms windows, 10 ms hop at 24 kHz."""
    import librosa

    def mel(x: np.ndarray) -> np.ndarray:
        power = librosa.feature.melspectrogram(
            y=x.astype(np.float32), sr=SAMPLE_RATE, n_fft=600, hop_length=240, n_mels=80
        )
        return 10 * np.log10(np.maximum(power, 1e-20))

    ma, mb = mel(a), mel(b)
    floor = max(ma.max(), mb.max()) - floor_db
    return float(np.mean(np.abs(np.maximum(ma, floor) - np.maximum(mb, floor))))


def compare(
    kmodel: Any,
    graph: GraphProbe,
    ids: Sequence[int],
    style: np.ndarray,
    speed: float = 1.0,
) -> Comparison:
    """Torch ``kmodel`` against the int8 ``graph`` on one utterance (see the module doc)."""
    out = graph(ids, style, speed)
    audio_o = out["audio"].reshape(-1)
    dur_o = out[DURATIONS_NODE].reshape(-1).astype(np.int64)
    raw_o = out[RAW_DURATIONS_NODE].reshape(-1)
    dur_t, raw_t = predict_durations(kmodel, ids, style, speed)
    with silent_vocoder():
        audio_t = torch_synthesis(kmodel, ids, style, dur_o)
    differing = [
        DurationDiff(
            int(i), int(ids[i]), int(dur_o[i]), int(dur_t[i]), float(raw_o[i]), float(raw_t[i])
        )
        for i in np.flatnonzero(dur_o != dur_t)
    ]
    n = min(audio_o.size, audio_t.size)
    return Comparison(
        tokens=len(ids),
        durations_equal=not differing,
        differing=differing,
        max_raw_diff=float(np.abs(raw_o - raw_t).max()),
        correlation=float(np.corrcoef(audio_o[:n], audio_t[:n])[0, 1]),
        log_mel_db=log_mel_distance(audio_o[:n], audio_t[:n]),
        seconds=audio_o.size / SAMPLE_RATE,
    )
