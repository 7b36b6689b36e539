"""Helpers for the speechlab.train tests: tiny corpora, tiny models, fast configs."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import soundfile as sf
from conftest import build_tiny_ctc

from speechlab.train.config import TrainConfig

RATE = 16_000

#: Short Polish transcripts (raw: the normaliser lower-cases and strips punctuation).
TEXTS = [
    "Ala ma kota.",
    "Żółw pije wodę!",
    "Dzień dobry.",
    "Gęś, kot i pies.",
    "Idę do domu",
    "Źle się czuję?",
    "To jest łódź.",
    "Ćma leci.",
]

#: A small from-scratch wav2vec2 (what model_config takes), like conftest's tiny model.
TINY_CONFIG: dict[str, Any] = {
    "hidden_size": 32,
    "num_hidden_layers": 2,
    "num_attention_heads": 2,
    "intermediate_size": 64,
    "conv_dim": [32] * 7,
    "feat_extract_norm": "layer",
    "do_stable_layer_norm": True,
    "num_conv_pos_embeddings": 16,
    "num_conv_pos_embedding_groups": 4,
}


def clip(index: int, seconds: float) -> np.ndarray:
    """A deterministic clip: two tones and a little noise, different for every index."""
    rng = np.random.default_rng(index)
    t = np.arange(round(RATE * seconds)) / RATE
    f1, f2 = 150 + 40 * index, 900 + 70 * index
    wave = 0.3 * np.sin(2 * np.pi * f1 * t) + 0.2 * np.sin(2 * np.pi * f2 * t)
    return (wave + 0.01 * rng.standard_normal(len(t))).astype(np.float32)


def make_manifest(root: Path, texts: list[str] = TEXTS, rate: int = RATE) -> Path:
    """``root/train.tsv`` with one WAV per text (0.8 s, 0.9 s, ... long) at ``rate``."""
    root.mkdir(parents=True, exist_ok=True)
    lines = ["path\ttext"]
    for i, text in enumerate(texts):
        seconds = 0.8 + 0.1 * (i % 5)
        wave = clip(i, seconds)
        if rate != RATE:
            import soxr

            wave = soxr.resample(wave, RATE, rate)
        sf.write(root / f"u{i:02d}.wav", wave, rate)
        lines.append(f"u{i:02d}.wav\t{text}")
    manifest = root / "train.tsv"
    manifest.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return manifest


def tiny_model(root: Path, seed: int = 0) -> Path:
    return build_tiny_ctc(root, seed=seed)


def config(out: Path, train: Any, **changes: Any) -> TrainConfig:
    """A fast CPU config (tiny batches, no SpecAugment unless asked, quiet)."""
    base: dict[str, Any] = {
        "out_dir": str(out),
        "train": train if not isinstance(train, Path) else str(train),
        "model_config": dict(TINY_CONFIG),
        "vocab": "new",
        "strategy": "full",
        "max_steps": 4,
        "batch_size": 2,
        "group_batches": 2,
        "learning_rate": 1e-3,
        "min_seconds": 0.1,
        "mask_time_prob": 0.0,
        "eval_every": 0,
        "checkpoint_every": 0,
        "log_every": 1,
        "progress": False,
        "device": "cpu",
        "threads": 1,
    }
    base.update(changes)
    return TrainConfig.from_dict(base)


#: Dropout-free tiny wav2vec2: runs that should agree are then equal up to float rounding.
NO_DROPOUT: dict[str, Any] = {
    **TINY_CONFIG,
    "hidden_dropout": 0.0,
    "attention_dropout": 0.0,
    "activation_dropout": 0.0,
    "feat_proj_dropout": 0.0,
    "final_dropout": 0.0,
}

#: The run test_train_distributed makes with 2 processes (and, as grad_accum=2, with one).
DDP_OPTIONS: dict[str, Any] = {
    "model_config": NO_DROPOUT,
    "max_steps": 3,
    "batch_size": 1,
    "group_batches": 2,
    "speeds": [0.9, 1.1],
    "checkpoint_every": 2,
}


class FakeTTS:
    """Deterministic 24 kHz tones (Kokoro's vocoder is random; this is not), optionally
    'killed' after ``fail_after`` utterances."""

    def __init__(self, fail_after: int | None = None) -> None:
        self.fail_after = fail_after
        self.calls = 0

    def synthesize(self, text: str, *, voice: str, speed: float, lang: str) -> SimpleNamespace:
        self.calls += 1
        if self.fail_after is not None and self.calls > self.fail_after:
            raise KeyboardInterrupt
        t = np.arange(round(24_000 * (0.3 + 0.02 * len(text)) / speed)) / 24_000
        freq = 150 + sum(map(ord, voice)) % 300
        return SimpleNamespace(audio=(0.5 * np.sin(2 * np.pi * freq * t)).astype(np.float32),
                               sample_rate=24_000)  # fmt: skip
