"""The speechlab-pl-ctc-small recipe: synthetic Polish corpora, training, held-out scores.

Driven by ``notebooks/04_finetune.ipynb`` and its ``04_finetune.yaml`` (a ``demo`` scale that
runs in a minute and the ``full`` scale of the committed model). Every step resumes: the
corpora skip finished items and training continues from its last checkpoint.

Corpora in ``work_dir``: ``train/`` (Kokoro, training voices, the first N training
sentences), ``train-espeak/`` (espeak-ng voices, the first M training sentences),
``heldout/`` (held-out sentences, training voices) and ``heldout-voice/`` (held-out
sentences, an espeak-ng voice never trained on), all labelled SYNTHETIC; ``train-all.tsv``
joins the two training corpora.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from speechlab.train.errors import ConfigError

__all__ = ["Recipe", "evaluate_held_out", "load_recipe", "make_corpora", "training_config"]

RECIPE = "04_finetune.yaml"
_SEEDS = {"train": 0, "heldout": 1, "train-espeak": 2, "heldout-voice": 3}
#: Held-out sets and what they measure.
HELD_OUT = {
    "heldout": "held-out sentences, training voices (Kokoro)",
    "heldout-voice": "held-out sentences, held-out voice (espeak-ng)",
}


@dataclass
class Recipe:
    """One scale of the recipe: corpus settings, training settings, and the scale's part of
    any other section of the YAML (``sections``, e.g. v2's ``stage2``)."""

    scale: str
    corpus: dict[str, Any]
    training: dict[str, Any]
    sections: dict[str, dict[str, Any]] = field(default_factory=dict)


def load_recipe(
    path: str | os.PathLike[str] | None = None, scale: str = "demo", *, name: str = RECIPE
) -> Recipe:
    """Read ``path`` (YAML with ``corpus`` and ``training`` sections per scale); by default
    the recipe called ``name`` (``04_finetune.yaml``) that sits beside the notebooks."""
    import yaml

    if path is None:
        from speechlab.notebook_runs import notebook_folders

        found = [f / name for f in notebook_folders() if (f / name).is_file()]
        if not found:
            raise ConfigError(f"No {name} found beside the notebooks; pass its path.")
        path = found[0]
    data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    scales = sorted(set(data.get("corpus", {})) & set(data.get("training", {})))
    if scale not in scales:
        raise ConfigError(f"Unknown scale {scale!r} in {path}; choose one of {scales}.")
    training = {**data["training"].get("common", {}), **data["training"][scale]}
    sections = {
        key: dict(value[scale])
        for key, value in data.items()
        if key not in ("corpus", "training") and isinstance(value, dict) and scale in value
    }
    return Recipe(scale, dict(data["corpus"][scale]), training, sections)


def make_corpora(
    recipe: Recipe, work_dir: str | os.PathLike[str], *, progress: bool = True
) -> dict[str, Path]:
    """Synthesise (or finish) the four corpora; returns their manifests and ``train-all``."""
    from speechlab.train.publish import merge_manifests
    from speechlab.train.sentences import polish_sentences, split_sentences
    from speechlab.train.synth import synth_corpus
    from speechlab.tts.espeak_speech import EspeakSynthesizer

    c = recipe.corpus
    work = Path(work_dir)
    sentences = polish_sentences(int(c["sentences"]), seed=0)
    train, held = split_sentences(sentences, held_out=float(c["held_out"]), seed=0)
    common = {"speeds": c["speeds"], "noise_snr_db": c["noise_snr_db"], "lang": "pl"}
    espeak = EspeakSynthesizer()
    plan = {
        "heldout": (held, c["kokoro_voices"], "kokoro-82m-int8"),
        "train": (train[: int(c["kokoro_sentences"])], c["kokoro_voices"], "kokoro-82m-int8"),
        "train-espeak": (train[: int(c["espeak_sentences"])], c["espeak_voices"], espeak),
        "heldout-voice": (held, [c["held_out_voice"]], espeak),
    }
    manifests = {}
    for name, (texts, voices, tts) in plan.items():
        corpus = synth_corpus(
            texts,
            work / name,
            voices=voices,
            seed=_SEEDS[name],
            tts=tts,
            progress=progress,
            **common,
        )
        manifests[name] = corpus.manifest
    manifests["train-all"] = work / "train-all.tsv"
    merge_manifests(manifests["train-all"], [manifests["train"], manifests["train-espeak"]])
    return manifests


def training_config(
    recipe: Recipe, work_dir: str | os.PathLike[str], manifests: dict[str, Path], **overrides: Any
) -> Any:
    """The ``TrainConfig`` of this recipe: train on ``train-all``, evaluate on ``heldout``."""
    from speechlab.train.config import TrainConfig

    settings = {
        **recipe.training,
        "train": str(manifests["train-all"]),
        "eval": str(manifests["heldout"]),
        "out_dir": str(Path(work_dir) / "training"),
        **{k: v for k, v in overrides.items() if v is not None},
    }
    return TrainConfig(**settings)


def evaluate_held_out(
    model: str | os.PathLike[str] | Any,
    manifests: dict[str, Path],
    *,
    sets: dict[str, str] = HELD_OUT,
    progress: bool = True,
) -> Any:
    """CER/WER of ``model`` (a folder, store name or loaded recognizer) on each of ``sets``
    (manifest name: what it measures), as a pandas DataFrame."""
    import pandas as pd

    from speechlab.asr import Recognizer, load_asr
    from speechlab.eval import evaluate

    recognizer = model if isinstance(model, Recognizer) else load_asr(model)
    rows = []
    for name, label in sets.items():
        result = evaluate(recognizer, manifests[name], progress=progress)
        s = result.summary
        rows.append(
            {
                "set": name,
                "what": label,
                "utterances": s["utterances"],
                "cer": s["cer"],
                "cer_ci": s["cer_ci"],
                "wer": s["wer"],
                "synthetic": s["synthetic"],
            }
        )
    return pd.DataFrame(rows)
