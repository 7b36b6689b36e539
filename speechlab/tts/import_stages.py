"""Stage by stage: each part of the imported ``KModel`` against the same part of the graph.

End to end, torch and the int8 graph drift apart because the graph rounds every activation
to 8 bits (``import_check``). Fed the graph's *own* input for one stage, a torch stage with
correctly mapped weights must reproduce the graph's output of that stage, up to the
rounding of that one stage:

* ``albert_layer``: each of ALBERT's 12 passes through its shared layer, with the graph's
  activation quantization reproduced in torch (``graph_activation_rounding``): matches to
  float32 rounding, so query/key/value/dense/FFN are mapped exactly;
* ``duration_lstm``: the duration LSTM (ONNX gate order → torch's) on the graph's input;
* ``f0_n``: the F0 and energy branch (LSTM, AdaIN blocks, weight-normed convs) on the
  graph's aligned features;
* ``decoder``: the whole vocoder on the graph's features, F0 and energy curves (waveform
  correlation, log-mel distance).

The node names are the store graph's (``kokoro-82m-int8``).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from speechlab.tts.import_check import GraphProbe, log_mel_distance, silent_vocoder

__all__ = ["graph_activation_rounding", "stage_errors"]

_ALBERT = "/encoder/bert/encoder/albert_layer_groups.0/albert_layers.0/"
_MAPPING_IN = "/encoder/bert/encoder/embedding_hidden_mapping_in/Add_output_0"
_LSTM_IN = "/encoder/predictor/lstm/Transpose_output_0"  # (time, batch, features)
_LSTM_OUT = "/encoder/predictor/lstm/Transpose_2_output_0"
_ALIGNED = "/encoder/MatMul_output_0"  # prosody features @ alignment
_F0, _N = "/encoder/Squeeze_output_0", "/encoder/Squeeze_1_output_0"
_ASR = "/encoder/MatMul_1_output_0"  # text features @ alignment


def _albert_output(i: int) -> str:
    suffix = "" if i == 0 else f"_{i}"
    return f"{_ALBERT}full_layer_layer_norm{suffix}/LayerNormalization_output_0"


def stage_errors(
    kmodel: Any,
    onnx_file: str | os.PathLike[str],
    ids: Sequence[int],
    style: np.ndarray,
    *,
    threads: int | None = None,
) -> dict[str, float]:
    """Relative errors ``‖torch − graph‖ / ‖graph‖`` per stage (see the module doc), plus the
    decoder's waveform correlation and log-mel distance in dB."""
    import torch

    layers = kmodel.bert.config.num_hidden_layers
    names = [_MAPPING_IN, *map(_albert_output, range(layers)), _LSTM_IN, _LSTM_OUT]
    names += [_ALIGNED, _F0, _N, _ASR]
    graph = GraphProbe(onnx_file, names, threads=threads)(ids, style, 1.0)
    ref_s = torch.as_tensor(np.asarray(style, np.float32).reshape(1, -1))
    layer = kmodel.bert.encoder.albert_layer_groups[0].albert_layers[0]
    worst = 0.0
    with torch.inference_mode():
        with graph_activation_rounding(kmodel.bert):
            for i in range(layers):
                before = _MAPPING_IN if i == 0 else _albert_output(i - 1)
                out = layer(torch.as_tensor(graph[before]))
                out = out[0] if isinstance(out, tuple) else out
                worst = max(worst, _relative(out, graph[_albert_output(i)]))
        lstm_in = torch.as_tensor(graph[_LSTM_IN]).transpose(0, 1)
        lstm_out, _ = kmodel.predictor.lstm(lstm_in)
        f0, n = kmodel.predictor.F0Ntrain(torch.as_tensor(graph[_ALIGNED]), ref_s[:, 128:])
        with silent_vocoder():
            audio = kmodel.decoder(
                torch.as_tensor(graph[_ASR]),
                torch.as_tensor(graph[_F0]),
                torch.as_tensor(graph[_N]),
                ref_s[:, :128],
            )
    audio = audio.reshape(-1).numpy()
    reference = graph["audio"].reshape(-1)
    return {
        "albert_layer": worst,
        "duration_lstm": _relative(lstm_out, graph[_LSTM_OUT]),
        "f0": _relative(f0, graph[_F0]),
        "n": _relative(n, graph[_N]),
        "decoder_correlation": float(np.corrcoef(audio, reference)[0, 1]),
        "decoder_log_mel_db": log_mel_distance(audio, reference),
    }


@contextlib.contextmanager
def graph_activation_rounding(module: Any) -> Iterator[None]:
    """Inside the block every ``nn.Linear`` under ``module`` first rounds its input as the
    graph's ``DynamicQuantizeLinear`` does: uint8, one scale and zero point per tensor, the
    range stretched to include 0."""
    import torch

    def rounded(_layer: Any, args: tuple[Any, ...]) -> tuple[Any, ...]:
        x = args[0]
        low, high = min(0.0, float(x.min())), max(0.0, float(x.max()))
        scale = np.float32((high - low) / 255) or np.float32(1)
        zero = float(np.clip(np.round(-low / scale), 0, 255))
        q = torch.clamp(torch.round(x / float(scale)) + zero, 0, 255)
        return ((q - zero) * float(scale)).to(x.dtype), *args[1:]

    handles = [
        m.register_forward_pre_hook(rounded)
        for m in module.modules()
        if isinstance(m, torch.nn.Linear)
    ]
    try:
        yield
    finally:
        for handle in handles:
            handle.remove()


def _relative(value: Any, reference: np.ndarray) -> float:
    a = np.asarray(value, np.float64).reshape(-1)
    b = np.asarray(reference, np.float64).reshape(-1)
    return float(np.linalg.norm(a - b) / np.linalg.norm(b))
