"""Calibration audio for static quantization: read, resampled to the model's rate, summarised."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from speechlab.quantization.errors import QuantizationError

__all__ = ["Calibration", "read_calibration"]


@dataclass
class Calibration:
    """Calibration waves (mono float32 at ``sample_rate``) and where they came from."""

    waves: list[np.ndarray]
    sample_rate: int
    source: str
    source_rates: list[int]
    language: str | None

    def summary(self) -> dict[str, Any]:
        """What the manifest records: count, total seconds, language, sample rates."""
        return {
            "source": self.source,
            "count": len(self.waves),
            "seconds": round(sum(len(w) for w in self.waves) / self.sample_rate, 3),
            "language": self.language,
            "sample_rate": self.sample_rate,
            "source_sample_rates": sorted(set(self.source_rates)),
        }


def read_calibration(
    data: Any,
    *,
    sample_rate: int = 16_000,
    max_utterances: int = 32,
    language: str | None = None,
    progress: bool = True,
) -> Calibration:
    """Up to ``max_utterances`` utterances of ``data`` (a manifest, a folder or a Hugging
    Face dataset, as :func:`speechlab.corpus.read_data` reads them), each resampled to
    ``sample_rate`` (any source rate is accepted; the summary records which were seen)."""
    from tqdm.auto import tqdm

    from speechlab import audio as audio_io
    from speechlab.corpus import read_data

    if data is None:
        raise QuantizationError(
            "This method calibrates on audio and none was given: pass calibration=<a .tsv/.csv "
            "manifest, a folder of clips or a datasets Dataset> (--calibration DATA), e.g. a "
            "few dozen utterances like those the model will hear; or choose a method without "
            "calibration (onnx-int8-dynamic, torch-int8-dynamic, onnx-int4)."
        )
    if not isinstance(max_utterances, int) or max_utterances < 1:
        raise QuantizationError(
            f"max_utterances must be a whole number >= 1, got {max_utterances!r}."
        )
    corpus = read_data(data)
    waves, rates = [], []
    total = min(corpus.total, max_utterances) if corpus.total is not None else max_utterances
    bar = tqdm(total=total, desc="calibration audio", unit="utt", disable=not progress)
    with bar:
        for utterance in corpus.utterances:
            native = audio_io.load(utterance.audio, sample_rate=None)
            rates.append(native.sample_rate)
            audio = native.resample(sample_rate) if native.sample_rate != sample_rate else native
            if audio.samples.size >= sample_rate // 10:  # under 0.1 s says nothing about ranges
                waves.append(audio.samples)
            bar.update(1)
            if len(rates) >= max_utterances:
                break
    if not waves:
        raise QuantizationError(
            f"The calibration data {corpus.source} holds no audio of 0.1 s or more. Give a "
            "corpus with speech in it (a few dozen utterances of a few seconds each)."
        )
    return Calibration(waves, sample_rate, corpus.source, rates, language)
