"""Domain adaptation: one base model, each fine-tuning strategy, one comparison table.

Driven by ``notebooks/05_adapt.ipynb`` and its ``05_adapt.yaml``. The corpora (all labelled
SYNTHETIC) in ``work_dir``: ``domain-train/`` and ``domain-heldout/`` (sentences of the
domain, e.g. clinical or legal Polish, split by sentence) and ``general-heldout/`` (everyday
sentences the base model never trained on: the held-out split of ``04_finetune``'s
recipe, or the hand-written out-of-distribution sentences), which shows what a strategy
forgets. Each strategy trains in ``work_dir/adapt-<strategy>/`` and resumes from its
checkpoints.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from speechlab.recipes.polish_ctc import Recipe, evaluate_held_out
from speechlab.train.errors import ConfigError
from speechlab.train.heldout_text import ood_sentences
from speechlab.train.legal_sentences import legal_sentences
from speechlab.train.medical_sentences import medical_sentences
from speechlab.train.sentences import polish_sentences, split_sentences

__all__ = [
    "ADAPT_RECIPE",
    "DOMAINS",
    "SCORED",
    "adapt_strategies",
    "adaptation_markdown",
    "make_domain_corpora",
]

ADAPT_RECIPE = "05_adapt.yaml"
_SEEDS = {"domain-train": 10, "domain-heldout": 11, "general-heldout": 12}
#: Sets every model is scored on, and what they measure.
SCORED = {
    "domain-heldout": "held-out domain sentences",
    "general-heldout": "held-out everyday sentences (forgetting)",
}


#: Sentence generators by domain name: ``generator(n, seed)``.
DOMAINS: dict[str, Callable[[int, int], list[str]]] = {
    "medical": medical_sentences,  # speechlab-pl-ctc (v2) trained on some: not new to it
    "legal": legal_sentences,  # no base model's training text has these
    "everyday": polish_sentences,
}


def make_domain_corpora(
    recipe: Recipe, work_dir: str | os.PathLike[str], *, progress: bool = True
) -> dict[str, Path]:
    """Synthesise (or finish) the domain's training and held-out sets and the general
    held-out set; returns their manifests."""
    from speechlab.train.synth import synth_corpus

    c = recipe.corpus
    if c.get("domain") not in DOMAINS:
        raise ConfigError(f"Unknown domain {c.get('domain')!r}; choose one of {list(DOMAINS)}.")
    sentences = DOMAINS[c["domain"]](int(c["sentences"]), 0)
    train, held = split_sentences(sentences, held_out=float(c["held_out"]), seed=0)
    never_trained = _general_sentences(c["general"])
    plan = {
        "domain-train": train,
        "domain-heldout": held,
        "general-heldout": never_trained[: int(c["general"]["take"])],
    }
    work = Path(work_dir)
    manifests = {}
    for name, texts in plan.items():
        corpus = synth_corpus(
            texts,
            work / name,
            voices=c["voices"],
            speeds=c["speeds"],
            noise_snr_db=c["noise_snr_db"],
            seed=_SEEDS[name],
            tts=c.get("tts", "kokoro-82m-int8"),
            lang="pl",
            progress=progress,
        )
        manifests[name] = corpus.manifest
    return manifests


def _general_sentences(general: dict[str, Any]) -> list[str]:
    """Everyday sentences the base model never trained on: ``source: ood`` takes the
    hand-written out-of-distribution sentences (no model's training text has them); else
    the held-out split of 04_finetune's template sentences (``sentences``, ``held_out``),
    which only speechlab-pl-ctc-small never trained on."""
    if general.get("source") == "ood":
        return ood_sentences()
    if general.get("source", "finetune-heldout") != "finetune-heldout":
        raise ConfigError(
            f"Unknown general source {general['source']!r}; use ood or finetune-heldout."
        )
    everyday = polish_sentences(int(general["sentences"]), seed=0)
    return split_sentences(everyday, held_out=float(general["held_out"]), seed=0)[1]


def adapt_strategies(
    recipe: Recipe,
    base_model: str,
    work_dir: str | os.PathLike[str],
    manifests: dict[str, Path],
    *,
    strategies: Sequence[str] | None = None,
    progress: bool = True,
) -> Any:
    """Fine-tune ``base_model`` on the domain with each strategy of the recipe (or those
    named) and score the base model and every result on ``SCORED``.

    Returns a pandas DataFrame, one row per model: strategy, trainable parameters (and
    their share), training wall time, steps, and CER/WER on each scored set.
    """
    import pandas as pd

    from speechlab.train.config import STRATEGIES, TrainConfig
    from speechlab.train.fine_tuning import finetune
    from speechlab.train.model import ADAPTER_FOLDER

    settings = dict(recipe.training)
    per_strategy: dict[str, dict[str, Any]] = settings.pop("strategies", None) or {}
    chosen = list(strategies) if strategies is not None else list(per_strategy)
    unknown = [s for s in chosen if s not in STRATEGIES]
    if unknown or not chosen:
        raise ConfigError(f"Strategies {unknown or chosen} unknown; choose from {STRATEGIES}.")
    work = Path(work_dir)
    untrained = {
        "trainable_parameters": 0,
        "trainable_share": 0.0,
        "train_seconds": 0.0,
        "steps": 0,
    }
    from speechlab.asr import load_asr

    base = load_asr(base_model)  # the adapter row runs on it: base + the saved adapter
    rows = [_row("none (base model)", base, manifests, progress, untrained)]
    for strategy in chosen:
        config = TrainConfig(
            **{
                **settings,
                **(per_strategy.get(strategy) or {}),
                "model": base_model,
                "strategy": strategy,
                "train": str(manifests["domain-train"]),
                "eval": None,
                "out_dir": str(work / f"adapt-{strategy}"),
                "progress": progress,
            }
        )
        result = finetune(config)
        trained = {
            "trainable_parameters": result.trainable_parameters,
            "trainable_share": result.trainable_parameters / result.total_parameters,
            "train_seconds": result.train_seconds,
            "steps": result.steps,
        }
        if strategy == "adapter":  # the adapter on its own, applied to the loaded base
            base.load_adapter(result.model_dir / ADAPTER_FOLDER, strategy)
            rows.append(_row(strategy, base, manifests, progress, trained))
            base.use_adapter(None)
        else:
            rows.append(_row(strategy, result.model_dir, manifests, progress, trained))
    return pd.DataFrame(rows)


def _row(
    strategy: str,
    model: Any,
    manifests: dict[str, Path],
    progress: bool,
    training: dict[str, Any],
) -> dict[str, Any]:
    """One table row: the strategy, what its training was, and its scores on ``SCORED``."""
    scores = evaluate_held_out(model, manifests, sets=SCORED, progress=progress)
    row: dict[str, Any] = {"strategy": strategy, **training}
    for _, score in scores.iterrows():
        row[f"{score['set']}_cer"] = score["cer"]
        row[f"{score['set']}_wer"] = score["wer"]
    return row


def adaptation_markdown(table: Any) -> str:
    """``adapt_strategies``' table as a Markdown table (CER in %), for READMEs and notes."""
    header = (
        "| strategy | trainable parameters | share | training wall time "
        "| domain CER % | domain WER % | general CER % |"
    )
    lines = [header, "|---|---:|---:|---:|---:|---:|---:|"]
    for _, r in table.iterrows():
        lines.append(
            f"| {r['strategy']} | {int(r['trainable_parameters']):,} "
            f"| {100 * r['trainable_share']:.2f} % | {r['train_seconds']:.0f} s "
            f"| {100 * r['domain-heldout_cer']:.1f} | {100 * r['domain-heldout_wer']:.1f} "
            f"| {100 * r['general-heldout_cer']:.1f} |"
        )
    return "\n".join(lines)
