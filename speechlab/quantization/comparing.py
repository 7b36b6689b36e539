"""Side by side: what each quantized variant of a model costs and loses.

```python
from speechlab.quantization import compare_variants
table = compare_variants(
    {"fp32": "speechlab-pl-ctc-small", "int8": "runs/pl-int8"},
    clips=waves, eval_sets={"ood": "data/ood.tsv"}, reference="fp32",
)
```

For each variant: weight file size, load time, the process's peak RSS after transcribing and
evaluating (meaningful when each variant runs in a process of its own, as in the benchmark),
transcription throughput (audio seconds per
second, median of ``repeats`` runs after a warm-up) on ``clips``, CER/WER with 95 % CIs on
each evaluation set, the CER change against the ``reference`` variant, and how often its
frame-wise argmax agrees with the reference's on ``clips``. ``speechlab.plots.quant_tradeoff``
draws the table; ``benchmarks/quant_bench.py`` runs each variant in its own process.
"""

from __future__ import annotations

import os
import resource
import statistics
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from speechlab.quantization.errors import QuantizationError

__all__ = [
    "WEIGHT_SUFFIXES",
    "argmax_agreement",
    "committed_table_path",
    "compare_variants",
    "measure_variant",
    "read_quant_table",
    "weights_size_mb",
]

#: Files that hold weights (what "size" counts; tokenizer and config files are not weights).
WEIGHT_SUFFIXES = (".safetensors", ".onnx", ".data", ".bin")
_RATE = 16_000


def weights_size_mb(model: str | os.PathLike[str]) -> float:
    """Megabytes (10^6 bytes) of weight files in a model folder."""
    from speechlab.store import resolve

    folder = resolve(model)
    return (
        sum(p.stat().st_size for p in Path(folder).iterdir() if p.suffix in WEIGHT_SUFFIXES) / 1e6
    )


def measure_variant(
    model: str | os.PathLike[str],
    clips: Sequence[np.ndarray],
    *,
    eval_sets: Mapping[str, Any] | None = None,
    repeats: int = 3,
    batch_size: int = 8,
    threads: int | None = None,
    progress: bool = False,
    keep_log_probs: bool = False,
    **load_options: Any,
) -> dict[str, Any]:
    """Size, load time, throughput on ``clips`` (16 kHz float arrays) and CER/WER with CIs
    on each of ``eval_sets`` (name: manifest, folder or Dataset) for one model;
    ``load_options`` go to ``load_asr`` (``runtime=``, ``dtype=``)."""
    import speechlab
    from speechlab.eval import evaluate

    if not clips:
        raise QuantizationError("measure_variant needs at least one clip to time.")
    if repeats < 1:
        raise QuantizationError(f"repeats must be >= 1, got {repeats}.")
    waves = [np.asarray(c, dtype=np.float32) for c in clips]
    audio = [speechlab.Audio(w, _RATE) for w in waves]
    started = time.perf_counter()
    recognizer = speechlab.load_asr(model, threads=threads, decoder="greedy", **load_options)
    load_seconds = time.perf_counter() - started
    recognizer.transcribe(audio[0], progress=False)  # warm-up
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        recognizer.transcribe(audio, batch_size=batch_size, progress=False)
        times.append(time.perf_counter() - started)
    seconds = sum(len(w) for w in waves) / _RATE
    row: dict[str, Any] = {
        "model": str(model),
        "runtime": str(getattr(recognizer, "runtime", type(recognizer).__name__)),
        "size_mb": round(weights_size_mb(model), 3),
        "load_seconds": round(load_seconds, 3),
        "audio_seconds": round(seconds, 2),
        "wall_seconds": [round(t, 4) for t in times],
        "throughput": round(seconds / statistics.median(times), 3),
    }
    for name, data in (eval_sets or {}).items():
        summary = evaluate(recognizer, data, progress=progress).summary
        row[f"{name}_cer"] = summary["cer"]
        row[f"{name}_cer_ci"] = list(summary["cer_ci"])
        row[f"{name}_wer"] = summary["wer"]
        row[f"{name}_wer_ci"] = list(summary["wer_ci"])
        row[f"{name}_utterances"] = summary["utterances"]
    # the process's peak so far: a variant's own when it is measured in a process of its own
    row["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    if keep_log_probs:  # one clip at a time: a batch of every clip would set the peak
        row["log_probs"] = [recognizer.log_probs([w])[0] for w in waves]
    return row


def compare_variants(
    variants: Mapping[str, str | os.PathLike[str]],
    clips: Sequence[np.ndarray],
    *,
    eval_sets: Mapping[str, Any] | None = None,
    reference: str | None = None,
    repeats: int = 3,
    batch_size: int = 8,
    threads: int | None = None,
    progress: bool = True,
) -> Any:
    """:func:`measure_variant` for each of ``variants`` (label: model) as a pandas
    DataFrame, with each evaluation set's CER change against ``reference`` (default: the
    first variant) and the share of frames whose argmax agrees with it."""
    import pandas as pd
    from tqdm.auto import tqdm

    if not variants:
        raise QuantizationError("compare_variants needs at least one variant.")
    reference = reference or next(iter(variants))
    if reference not in variants:
        raise QuantizationError(
            f"reference {reference!r} is not one of the variants: {', '.join(variants)}."
        )
    rows = {}
    for label, model in tqdm(variants.items(), desc="variants", disable=not progress):
        rows[label] = measure_variant(
            model,
            clips,
            eval_sets=eval_sets,
            repeats=repeats,
            batch_size=batch_size,
            threads=threads,
            keep_log_probs=True,
        )
    base = rows[reference]
    for row in rows.values():
        row["argmax_agreement"] = argmax_agreement(base["log_probs"], row["log_probs"])
        for name in eval_sets or {}:
            row[f"{name}_cer_delta"] = row[f"{name}_cer"] - base[f"{name}_cer"]
    table = pd.DataFrame(
        [
            {"variant": label, **{k: v for k, v in r.items() if k != "log_probs"}}
            for label, r in rows.items()
        ]
    )
    return table.set_index("variant")


def argmax_agreement(reference: Sequence[np.ndarray], other: Sequence[np.ndarray]) -> float:
    """Share of frames (over all clips) where two models' most likely label is the same.

    Each clip is given as ``(frames, labels)`` log-probabilities or as ``(frames,)`` label
    ids (a saved reference argmax)."""
    same = total = 0
    for a, b in zip(reference, other, strict=True):
        frames = min(len(a), len(b))
        same += int((_labels(a[:frames]) == _labels(b[:frames])).sum())
        total += frames
    return same / total if total else float("nan")


def _labels(frames: np.ndarray) -> np.ndarray:
    return frames if frames.ndim == 1 else frames.argmax(-1)


def committed_table_path() -> Path | None:
    """``benchmarks/results/quant_table.json`` of the repository speechlab runs from (an
    editable install or a checkout), or None when speechlab is installed without it."""
    path = Path(__file__).resolve().parents[2] / "benchmarks" / "results" / "quant_table.json"
    return path if path.is_file() else None


def read_quant_table(path: str | os.PathLike[str], family: str = "pl") -> Any:
    """The rows of one model family (``pl``: speechlab's Polish model, ``xl``: the xlsr-53
    architecture) from ``quant_bench.py``'s results, as a DataFrame indexed by variant."""
    import json

    import pandas as pd

    parts = json.loads(Path(path).read_text(encoding="utf-8"))["parts"]
    rows = {
        part.get("label", name): {k: v for k, v in part.items() if k not in ("label", "build")}
        for name, part in parts.items()
        if name.startswith(f"{family}_")
    }
    if not rows:
        raise QuantizationError(f"{path} holds no {family}_* rows; run benchmarks/quant_bench.py.")
    return pd.DataFrame.from_dict(rows, orient="index")
