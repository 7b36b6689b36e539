"""Character error rate of the model being trained, on a held-out set (greedy CTC)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from speechlab.asr.ctc_decode import greedy_decode
from speechlab.error_rates import align_counts, corpus_rate
from speechlab.textnorm import Normalizer, get_normalizer
from speechlab.train.data import collate
from speechlab.train.model import base_model
from speechlab.train.optim import autocast
from speechlab.train.vocab import Vocab

__all__ = ["ctc_cer", "transcribe_batch"]


def transcribe_batch(
    model: Any,
    waves: Sequence[np.ndarray],
    vocab: Vocab,
    *,
    device: Any,
    normalize_audio: bool = True,
    precision: str = "fp32",
) -> list[str]:
    """Greedy transcripts of 16 kHz waves (the model is put in eval mode)."""
    import torch

    core = base_model(model)
    model.eval()
    batch = collate(waves, normalize=normalize_audio)
    inputs = {k: v.to(device) for k, v in batch.items()}
    with torch.inference_mode(), autocast(precision, device):
        logits = model(**inputs).logits
    log_probs = torch.log_softmax(logits.float(), dim=-1).cpu().numpy()
    frames = core._get_feat_extract_output_lengths(batch["attention_mask"].sum(-1))
    ctc = vocab.ctc()
    return [
        greedy_decode(log_probs[i, : int(frames[i])], ctc, 0.02).text for i in range(len(waves))
    ]


def ctc_cer(
    model: Any,
    items: Sequence[tuple[np.ndarray, str]],
    vocab: Vocab,
    *,
    device: Any,
    batch_size: int = 8,
    normalize_audio: bool = True,
    normalizer: str | Normalizer = "model-card",
    precision: str = "fp32",
) -> tuple[float, list[str]]:
    """Corpus CER over ``(wave, normalised reference)`` items and the hypotheses."""
    normalize = get_normalizer(normalizer)
    hypotheses: list[str] = []
    for start in range(0, len(items), batch_size):
        chunk = items[start : start + batch_size]
        texts = transcribe_batch(
            model,
            [wave for wave, _ in chunk],
            vocab,
            device=device,
            normalize_audio=normalize_audio,
            precision=precision,
        )
        hypotheses.extend(normalize(t) for t in texts)
    counts = align_counts([ref for _, ref in items], hypotheses, "char")
    return corpus_rate(counts), hypotheses
