"""The speechlab-pl-ctc (v2) recipe: text from independent sources, varied synthetic voices,
held-out voices and out-of-distribution text, resumable training across sessions.

```bash
python -m speechlab.recipes.polish_ctc_v2 --work-dir work/pl-ctc-v2 --phase all
python -m speechlab.recipes.polish_ctc_v2 --work-dir work/pl-ctc-v2 --phase status
```

The recipe is ``notebooks/pl_ctc_v2.yaml`` (its comments hold the measurements behind the
sizes). Texts (:func:`split_texts`): ``training_texts`` from
:mod:`speechlab.train.polish_text` cut into held-out sentences (set a), a validation split
(checkpoint selection) and training sentences, disjoint after normalisation; the
out-of-distribution sentences (set b) and the self-check sentence (set c) are never trained
on; the first run keeps the split in ``work_dir/texts.json`` and later runs read it back.
Voices (:func:`corpus_plans`): training items draw random Kokoro blends (never within
``min_blend_distance`` of the held-out blend) or espeak-ng variants (never the held-out
one), at speeds uniform in ``speed_range``; the held-out sets use the held-out blend and
variant at speed 1.0. Every corpus is labelled SYNTHETIC.

Corpora in ``work_dir`` (each a ``synth_plans`` folder): ``train-kokoro``,
``train-espeak``, ``valid-kokoro``, ``valid-espeak``, ``heldout-kokoro``,
``heldout-espeak`` (set a, training voices), ``ood-kokoro``, ``ood-espeak`` (set b,
held-out voices), ``selfcheck-kokoro``, ``selfcheck-espeak`` (set c: ``jm_kumo`` as the
README's self-check speaks it, the held-out blend, the held-out variant); ``train.tsv`` and
``validation.tsv`` join them. Training goes to ``work_dir/training`` and every leg (one run
of the train phase) is appended to ``work_dir/legs.jsonl`` when it starts and when it ends
(:func:`read_legs` completes a leg that was killed).

Stage 2 (``--phase train --stage 2``, the recipe's ``stage2`` section) continues from
stage 1's best checkpoint on ``train-2.tsv`` (``train.tsv`` with some training corpora
listed more than once) with its own schedule, in ``work_dir/training-2`` with legs in
``legs-2.jsonl``. The eval and publish phases take the stage whose best checkpoint has the
lower validation CER (:func:`selected_stage`); a held-out set never decides.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import signal
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from speechlab.recipes.polish_ctc import Recipe, evaluate_held_out, load_recipe
from speechlab.train.config import PRECISIONS
from speechlab.train.errors import ConfigError

__all__ = [
    "HELD_OUT_V2",
    "OOD_SETS",
    "RECIPE_V2",
    "CorpusPlan",
    "Texts",
    "build_training_lm",
    "compare_decoders",
    "corpus_plans",
    "fit_check",
    "main",
    "make_corpora",
    "proper_nouns",
    "read_legs",
    "selected_stage",
    "split_texts",
    "stage2_manifest",
    "status",
    "train",
    "training_config",
    "training_dir",
    "work_texts",
]

RECIPE_V2 = "pl_ctc_v2.yaml"
PHASES = ("corpora", "train", "eval", "all", "status", "publish")
#: the store name the v2 model is published under (speechlab-pl-ctc-small stays as it is)
V2_NAME = "speechlab-pl-ctc"
#: Held-out sets (corpus name: what it measures), the headline (b) first.
HELD_OUT_V2 = {
    "ood-kokoro": "(b) out-of-distribution sentences, held-out Kokoro blend",
    "ood-espeak": "(b) out-of-distribution sentences, held-out espeak-ng variant",
    "heldout-kokoro": "(a) held-out generator sentences, training Kokoro voices",
    "heldout-espeak": "(a) held-out generator sentences, training espeak-ng voices",
    "selfcheck-kokoro": "(c) self-check sentence, Kokoro jm_kumo and the held-out blend",
    "selfcheck-espeak": "(c) self-check sentence, held-out espeak-ng variant",
}
#: Each corpus's plan seed (fixed: a resumed corpus must draw the same voices and speeds).
_SEEDS = {
    "train-kokoro": 10,
    "train-espeak": 11,
    "valid-kokoro": 12,
    "valid-espeak": 13,
    "heldout-kokoro": 14,
    "heldout-espeak": 15,
    "ood-kokoro": 16,
    "ood-espeak": 17,
    "selfcheck-kokoro": 18,
    "selfcheck-espeak": 19,
}
#: Synthesis order: espeak-ng first (minutes), then Kokoro's held-out and validation sets,
#: then the long Kokoro training corpus.
_ORDER = (
    "train-espeak",
    "valid-espeak",
    "heldout-espeak",
    "ood-espeak",
    "selfcheck-espeak",
    "ood-kokoro",
    "selfcheck-kokoro",
    "valid-kokoro",
    "heldout-kokoro",
    "train-kokoro",
)
SELF_CHECK_VOICE = "jm_kumo"
LEGS_FILE = "legs.jsonl"
#: Training stages: 1 from scratch; 2 continues from stage 1's best checkpoint on a
#: re-weighted mix (the recipe's ``stage2`` section).
STAGES = (1, 2)
TEXTS_FILE = "texts.json"
#: The corpus settings that decide the sentences.
_TEXT_KEYS = (
    "text_seed",
    "text_mix",
    "heldout_sentences",
    "validation_sentences",
    "kokoro_sentences",
    "espeak_sentences",
    "ood_sentences",
)


@dataclass
class Texts:
    """The recipe's sentences, by role."""

    train_kokoro: list[str]
    train_espeak: list[str]
    validation: list[str]
    heldout: list[str]
    ood: list[str]
    selfcheck: str


@dataclass
class CorpusPlan:
    """One corpus to synthesise: its per-item plans, engine and how they were drawn."""

    name: str
    plans: list[Any]  # speechlab.train.synth.SynthPlan
    engine: str  # "kokoro" or "espeak"
    recipe: dict[str, Any]


def load_v2(scale: str = "full", path: str | os.PathLike[str] | None = None) -> Recipe:
    """The v2 recipe at ``scale`` (``notebooks/pl_ctc_v2.yaml`` unless ``path``)."""
    return load_recipe(path, scale, name=RECIPE_V2)


def split_texts(recipe: Recipe) -> Texts:
    """The recipe's sentences (see the module doc): generator sentences split into held-out,
    validation and training (disjoint after ``model-card`` normalisation, none equal to an
    OOD or the self-check sentence), the OOD sentences and the self-check sentence."""
    from speechlab.selfcheck import SELF_CHECK_TEXT
    from speechlab.textnorm import model_card
    from speechlab.train.heldout_text import ood_sentences
    from speechlab.train.polish_text import training_texts

    c = recipe.corpus
    held, valid = int(c["heldout_sentences"]), int(c["validation_sentences"])
    kokoro, espeak = int(c["kokoro_sentences"]), int(c["espeak_sentences"])
    texts = training_texts(
        held + valid + kokoro + espeak,
        seed=int(c["text_seed"]),
        mix=c.get("text_mix"),
        exclude=[SELF_CHECK_TEXT],
    )
    heldout, validation, rest = texts[:held], texts[held : held + valid], texts[held + valid :]
    kept = {model_card(t) for t in heldout + validation}
    train = [t for t in rest if model_card(t) not in kept]
    ood = ood_sentences()
    if c.get("ood_sentences") is not None:
        ood = ood[: int(c["ood_sentences"])]
    return Texts(train[:kokoro], train[kokoro:], validation, heldout, ood, SELF_CHECK_TEXT)


def work_texts(recipe: Recipe, work_dir: str | os.PathLike[str]) -> Texts:
    """The recipe's sentences as ``work_dir/texts.json`` keeps them: written on the first
    run, read on every later one, so that a resumed run speaks the same sentences even if
    the text generators have changed since (a changed corpus recipe is refused)."""
    path = Path(work_dir) / TEXTS_FILE
    settings = {k: recipe.corpus[k] for k in _TEXT_KEYS if k in recipe.corpus}
    if path.is_file():
        stored = json.loads(path.read_text(encoding="utf-8"))
        if stored["settings"] != json.loads(json.dumps(settings)):
            raise ConfigError(
                f"{path} was split with other text settings ({stored['settings']}); use the "
                "same recipe, or a new --work-dir."
            )
        return Texts(**stored["texts"])
    texts = split_texts(recipe)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    data = {"settings": settings, "texts": dataclasses.asdict(texts)}
    partial.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    os.replace(partial, path)
    return texts


def corpus_plans(recipe: Recipe, texts: Texts | None = None) -> dict[str, CorpusPlan]:
    """Every corpus of the recipe, planned (no audio yet), in synthesis order; corpora of
    engines the recipe does not use, and empty ones, are left out."""
    from speechlab.train.synth import SynthPlan
    from speechlab.train.voice_plan import VoicePlanner

    c = recipe.corpus
    texts = texts or split_texts(recipe)
    blend, variant = str(c["held_out_blend"]), str(c["held_out_espeak"])
    kokoro = VoicePlanner.kokoro(
        c["kokoro_voices"],
        avoid=blend,
        min_distance=float(c["min_blend_distance"]),
        speed_range=c["speed_range"],
        alpha=float(c["kokoro_alpha"]),
        pure_prob=float(c["kokoro_pure_prob"]),
    )
    espeak = VoicePlanner.espeak(c["espeak_voices"], avoid=[variant], speed_range=c["speed_range"])

    def drawn(name: str, planner: VoicePlanner, sentences: list[str]) -> CorpusPlan:
        recipe_data = {"planner": planner.describe(), "seed": _SEEDS[name]}
        plans = planner.plan(sentences, _SEEDS[name]) if sentences else []
        return CorpusPlan(name, plans, planner.engine, recipe_data)

    def fixed(name: str, engine: str, items: list[tuple[str, str]]) -> CorpusPlan:
        plans = [SynthPlan(i, t, voice, 1.0, None, 0) for i, (t, voice) in enumerate(items)]
        voices = list(dict.fromkeys(v for _, v in items))
        return CorpusPlan(name, plans, engine, {"voices": voices, "speed": 1.0})

    every = {
        "train-kokoro": drawn("train-kokoro", kokoro, texts.train_kokoro),
        "train-espeak": drawn("train-espeak", espeak, texts.train_espeak),
        "valid-kokoro": drawn("valid-kokoro", kokoro, texts.validation),
        "valid-espeak": drawn("valid-espeak", espeak, texts.validation),
        "heldout-kokoro": drawn("heldout-kokoro", kokoro, texts.heldout),
        "heldout-espeak": drawn("heldout-espeak", espeak, texts.heldout),
        "ood-kokoro": fixed("ood-kokoro", "kokoro", [(t, blend) for t in texts.ood]),
        "ood-espeak": fixed("ood-espeak", "espeak", [(t, variant) for t in texts.ood]),
        "selfcheck-kokoro": fixed(
            "selfcheck-kokoro",
            "kokoro",
            [(texts.selfcheck, SELF_CHECK_VOICE), (texts.selfcheck, blend)],
        ),
        "selfcheck-espeak": fixed("selfcheck-espeak", "espeak", [(texts.selfcheck, variant)]),
    }
    engines = set(c["engines"])
    unknown = engines - {"kokoro", "espeak"}
    if unknown:
        raise ConfigError(f"Unknown engine(s) {sorted(unknown)} in the recipe; use kokoro, espeak.")
    return {
        name: every[name] for name in _ORDER if every[name].engine in engines and every[name].plans
    }


def make_corpora(
    recipe: Recipe,
    work_dir: str | os.PathLike[str],
    *,
    threads: int | None = 1,
    progress: bool = True,
    log: Any = print,
    only: Sequence[str] | None = None,
    limits: Mapping[str, int] | None = None,
) -> dict[str, Path]:
    """Synthesise (or finish) every corpus (or the ones named in ``only``); returns the
    manifests, plus ``train`` and ``validation`` (the joined training and validation
    corpora) when every corpus was made. ``limits``: only the first N items of the named
    corpora (the same items a full run makes first; a later call without a limit finishes
    the corpus)."""
    from speechlab.train.publish import merge_manifests
    from speechlab.train.synth import synth_plans

    work = Path(work_dir)
    plans = corpus_plans(recipe, work_texts(recipe, work))
    if only is not None:
        unknown = sorted(set(only) - set(plans))
        if unknown:
            raise ConfigError(f"No corpus named {unknown}; the recipe has {', '.join(plans)}.")
        plans = {name: plan for name, plan in plans.items() if name in only}
    limits = dict(limits or {})
    if unknown := sorted(set(limits) - set(plans)):
        raise ConfigError(f"No corpus named {unknown} to limit; making {', '.join(plans)}.")
    engines: dict[str, Any] = {}
    manifests: dict[str, Path] = {}
    for name, corpus in plans.items():
        started = time.perf_counter()
        result = synth_plans(
            corpus.plans[: limits[name]] if name in limits else corpus.plans,
            work / name,
            recipe=corpus.recipe,
            tts=_engine(corpus.engine, engines, threads),
            progress=progress,
        )
        seconds = time.perf_counter() - started
        rate = result.written / seconds * 60 if result.written else 0.0
        log(
            f"{_now()} corpus {name}: {result.total} items ({result.written} written, "
            f"{result.skipped} already there) in {seconds:.0f} s"
            + (f", {rate:.1f} items/min" if result.written else "")
        )
        manifests[name] = result.manifest
    whole = only is None and not limits
    for joined, parts in (("train", "train-"), ("validation", "valid-")) if whole else ():
        members = [manifests[n] for n in manifests if n.startswith(parts)]
        if members:
            manifests[joined] = work / f"{joined}.tsv"
            merge_manifests(manifests[joined], members)
    return manifests


def training_dir(work_dir: str | os.PathLike[str], stage: int = 1) -> Path:
    """Where ``stage`` trains: ``training`` (stage 1), ``training-2`` (stage 2)."""
    _check_stage(stage)
    return Path(work_dir) / ("training" if stage == 1 else f"training-{stage}")


def legs_path(work_dir: str | os.PathLike[str], stage: int = 1) -> Path:
    """The legs of ``stage``: ``legs.jsonl`` (stage 1), ``legs-2.jsonl`` (stage 2)."""
    _check_stage(stage)
    return Path(work_dir) / (LEGS_FILE if stage == 1 else f"legs-{stage}.jsonl")


def _check_stage(stage: int) -> None:
    if stage not in STAGES:
        raise ConfigError(f"Unknown training stage {stage!r}; choose one of {STAGES}.")


def stage2_settings(recipe: Recipe) -> dict[str, Any]:
    """The recipe's ``stage2`` section at its scale (ConfigError when it has none)."""
    if "stage2" not in recipe.sections:
        raise ConfigError(
            f"The recipe has no stage2 section for scale {recipe.scale!r}; add one to "
            f"{RECIPE_V2} (repeat, max_steps, learning_rate, warmup_steps)."
        )
    return dict(recipe.sections["stage2"])


def stage2_manifest(recipe: Recipe, work_dir: str | os.PathLike[str]) -> Path:
    """``train-2.tsv``: ``train.tsv`` plus ``repeat[name] - 1`` more copies of each named
    training corpus (a copy's items are augmented afresh: augmentation is drawn per index)."""
    from speechlab.train.publish import merge_manifests

    work = Path(work_dir)
    repeat = stage2_settings(recipe).get("repeat") or {}
    members = [work / "train.tsv"]
    for name, times in repeat.items():
        if not name.startswith("train-") or int(times) < 1:
            raise ConfigError(
                f"stage2 repeat takes training corpora and counts >= 1, got {name}: {times}."
            )
        members += [work / name / "manifest.tsv"] * (int(times) - 1)
    out = work / "train-2.tsv"
    merge_manifests(out, members)
    return out


def training_config(
    recipe: Recipe,
    work_dir: str | os.PathLike[str],
    manifests: dict[str, Path],
    stage: int = 1,
    **overrides: Any,
) -> Any:
    """The ``TrainConfig``: train on ``train.tsv``, select checkpoints on ``validation.tsv``
    (never on a held-out set). Stage 2 starts from stage 1's best checkpoint (its
    vocabulary, no ``model_config``), trains on ``train-2.tsv`` with its own schedule."""
    from speechlab.train.config import TrainConfig

    stage2 = stage2_settings(recipe) if stage == 2 else {}
    settings = {
        **recipe.training,
        "train": str(manifests["train"]),
        "eval": str(manifests["validation"]),
        "out_dir": str(training_dir(work_dir, stage)),
    }
    if stage == 2:
        settings.update(
            {k: v for k, v in stage2.items() if k != "repeat"},
            model=str(training_dir(work_dir, 1) / "best"),
            model_config=None,
            vocab="model",
            train=str(manifests["train-2"]),
        )
    settings.update({k: v for k, v in overrides.items() if v is not None})
    return TrainConfig(**settings)


def selected_stage(work_dir: str | os.PathLike[str]) -> tuple[int, Path]:
    """The stage whose best checkpoint has the lowest validation CER (the earlier stage on a
    tie) and that checkpoint's folder; only the validation split decides, never a held-out
    set."""
    found = []
    for stage in STAGES:
        record = training_dir(work_dir, stage) / "best" / "speechlab-training.json"
        if record.is_file():
            found.append((json.loads(record.read_text())["cer"], stage))
    if not found:
        raise ConfigError(f"No trained checkpoint in {work_dir}; run --phase train first.")
    _, stage = min(found)
    return stage, training_dir(work_dir, stage) / "best"


def train(
    recipe: Recipe,
    work_dir: str | os.PathLike[str],
    manifests: dict[str, Path],
    *,
    stage: int = 1,
    log: Any = print,
    note: str | None = None,
    **overrides: Any,
) -> Any:
    """One leg of training ``stage`` (resumes from the newest checkpoint), recorded in
    ``legs.jsonl`` (``legs-2.jsonl``): when, from which step to which, how long, on what
    device (and ``note``: anything else a reader of the leg must know, e.g. how its data
    travelled)."""
    from speechlab.train import finetune
    from speechlab.train.checkpoint import latest_checkpoint

    if stage == 2 and "train-2" not in manifests:
        manifests = {**manifests, "train-2": stage2_manifest(recipe, work_dir)}
    config = training_config(recipe, work_dir, manifests, stage, **overrides)
    checkpoints = Path(config.out_dir) / "checkpoints"
    before = latest_checkpoint(checkpoints) if checkpoints.is_dir() else None
    leg = {
        "started": _now(),
        "from_step": before.step if before is not None else 0,
        "max_steps": config.max_steps,
        "threads": config.threads,
        "precision": config.precision,
        "device": device_label(config.device),
    }
    if note:
        leg["note"] = note
    log(
        f"{leg['started']} training stage {stage} leg from step {leg['from_step']} "
        f"to {config.max_steps}"
    )
    _append_leg(work_dir, leg, stage)  # kept even when the process is killed (a session's end)
    started = time.perf_counter()
    try:
        result = finetune(config)
    finally:
        after = latest_checkpoint(checkpoints) if checkpoints.is_dir() else None
        leg.update(
            ended=_now(),
            to_step=after.step if after is not None else 0,
            seconds=round(time.perf_counter() - started, 1),
        )
        _append_leg(work_dir, leg, stage)
        log(f"{leg['ended']} training leg ended at checkpoint step {leg['to_step']}")
    return result


def _append_leg(work_dir: str | os.PathLike[str], leg: dict[str, Any], stage: int = 1) -> None:
    with legs_path(work_dir, stage).open("a", encoding="utf-8") as f:
        f.write(json.dumps(leg) + "\n")


def read_legs(work_dir: str | os.PathLike[str], stage: int = 1) -> list[dict[str, Any]]:
    """The training legs of ``stage`` (``legs.jsonl``, ``legs-2.jsonl``), one per leg, in
    order.

    A leg writes one line when it starts and one when it ends. A leg whose process was
    killed (a session's end does that) has no end line: it ends where the next leg
    resumed, or at the newest checkpoint if it is the last, with ``ended`` None,
    ``killed`` True and ``seconds`` the trainer's elapsed time (``metrics.csv``, wall
    time, pauses included) between its first and last step; work after its last checkpoint
    is lost and not counted, and ``seconds`` is None when a step was not logged.
    """
    from speechlab.train.checkpoint import latest_checkpoint

    path = legs_path(work_dir, stage)
    if not path.is_file():
        return []
    merged: dict[str, dict[str, Any]] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            record = json.loads(line)
            merged.setdefault(record["started"], {}).update(record)
    legs = sorted(merged.values(), key=lambda leg: leg["started"])
    checkpoints = training_dir(work_dir, stage) / "checkpoints"
    newest = latest_checkpoint(checkpoints) if checkpoints.is_dir() else None
    elapsed = _metrics_elapsed(training_dir(work_dir, stage) / "metrics.csv")
    for i, leg in enumerate(legs):
        if "ended" in leg:
            continue
        following = legs[i + 1]["from_step"] if i + 1 < len(legs) else None
        to_step = following if following is not None else (newest.step if newest else None)
        to_step = leg["from_step"] if to_step is None else to_step
        start = 0.0 if leg["from_step"] == 0 else elapsed.get(leg["from_step"])
        end = elapsed.get(to_step, 0.0 if to_step == 0 else None)
        seconds = None if start is None or end is None else round(end - start, 1)
        leg.update(ended=None, killed=True, to_step=to_step, seconds=seconds)
    return legs


def _metrics_elapsed(path: Path) -> dict[int, float]:
    """step -> cumulative training seconds, from the trainer's ``metrics.csv``."""
    import csv

    if not path.is_file():
        return {}
    with path.open(newline="", encoding="utf-8") as f:
        return {int(r["step"]): float(r["elapsed"]) for r in csv.DictReader(f) if r["elapsed"]}


#: the (b) sets, where greedy and LM decoding are compared
OOD_SETS = {k: v for k, v in HELD_OUT_V2.items() if k.startswith("ood-")}


def build_training_lm(texts: Texts, folder: Path, order: int = 3) -> Any:
    """A Kneser-Ney ``order``-gram LM of the training sentences only (never held-out,
    validation or OOD text): :func:`speechlab.asr.lm_builder.build_lm`."""
    from speechlab.asr.lm_builder import build_lm

    return build_lm(texts.train_kokoro + texts.train_espeak, folder, order=order)


def proper_nouns(sentences: Sequence[str]) -> list[str]:
    """Capitalised words inside sentences (not their first word), normalised: the names and
    places a user would give as hotwords because they know the conversation's subject."""
    from speechlab.textnorm import model_card

    found: dict[str, None] = {}
    for sentence in sentences:
        for word in sentence.split()[1:]:
            core = word.strip(".,;:!?\"'()«»„”-")
            if core[:1].isupper():
                for part in model_card(core).split():
                    found[part] = None
    return list(found)


#: the training corpora whose first items the eval phase reads back (fit, not generalisation)
FIT_SETS = {
    "train-kokoro": "training items, Kokoro (fit)",
    "train-espeak": "training items, espeak-ng (fit)",
}


def fit_check(
    model: Any,
    manifests: dict[str, Path],
    *,
    items: int = 100,
    progress: bool = True,
) -> Any:
    """CER/WER on the first ``items`` utterances of each training corpus (as synthesised,
    without training-time augmentation): how well the model fits what it was taught, per
    engine. A gap between engines here is underfitting, not a held-out-voice problem."""
    subsets = {}
    for name in (n for n in FIT_SETS if n in manifests):
        lines = manifests[name].read_text(encoding="utf-8").splitlines()
        subsets[name] = manifests[name].parent / f"first-{items}.tsv"  # beside its metadata
        subsets[name].write_text("\n".join(lines[: items + 1]) + "\n", encoding="utf-8")
    sets = {name: FIT_SETS[name] for name in subsets}
    return evaluate_held_out(model, subsets, sets=sets, progress=progress)


def compare_decoders(
    model: str | os.PathLike[str],
    manifests: dict[str, Path],
    lm: Path,
    *,
    hotwords: Sequence[str] = (),
    sets: dict[str, str] = OOD_SETS,
    progress: bool = True,
) -> Any:
    """CER/WER on ``sets`` with greedy decoding, beam search + ``lm``, and beam search + lm
    + ``hotwords``: one pandas DataFrame, a ``decoder`` column naming each."""
    import pandas as pd

    from speechlab.asr import load_asr

    runs = {"greedy": {"decoder": "greedy"}, "beam + LM": {"lm": lm}}
    if hotwords:
        runs[f"beam + LM + {len(hotwords)} hotwords"] = {"lm": lm, "hotwords": list(hotwords)}
    tables = []
    for name, options in runs.items():
        table = evaluate_held_out(
            load_asr(model, **options), manifests, sets=sets, progress=progress
        )
        table.insert(1, "decoder", name)
        tables.append(table)
    return pd.concat(tables, ignore_index=True)


def status(recipe: Recipe, work_dir: str | os.PathLike[str]) -> dict[str, Any]:
    """How far each corpus and the training are: items done of planned, newest checkpoint."""
    from speechlab.train.checkpoint import latest_checkpoint

    work = Path(work_dir)
    out: dict[str, Any] = {}
    for name, corpus in corpus_plans(recipe, work_texts(recipe, work)).items():
        manifest = work / name / "manifest.tsv"
        done = (
            max(len(manifest.read_text(encoding="utf-8").splitlines()) - 1, 0)
            if manifest.is_file()
            else 0
        )
        out[name] = f"{done}/{len(corpus.plans)}"
    for stage in STAGES if "stage2" in recipe.sections else (1,):
        checkpoints = training_dir(work, stage) / "checkpoints"
        newest = latest_checkpoint(checkpoints) if checkpoints.is_dir() else None
        steps = recipe.training if stage == 1 else stage2_settings(recipe)
        key = "training_step" if stage == 1 else f"training_step_stage{stage}"
        out[key] = f"{newest.step if newest else 0}/{steps['max_steps']}"
    return out


def device_label(device: str = "auto") -> str:
    """What a leg runs on: ``cuda: <GPU name>`` when ``device`` picks CUDA and one is there,
    else ``cpu: <CPU model>`` (from /proc/cpuinfo where it exists)."""
    import platform

    import torch

    if device != "cpu" and torch.cuda.is_available():
        index = int(device.split(":")[1]) if device.startswith("cuda:") else 0
        return f"cuda: {torch.cuda.get_device_name(index)}"
    cpu = platform.processor() or platform.machine()
    info = Path("/proc/cpuinfo")
    if info.is_file():
        names = [
            ln.split(":", 1)[1].strip()
            for ln in info.read_text().splitlines()
            if ln.startswith("model name")
        ]
        cpu = names[0] if names else cpu
    return f"cpu: {cpu}"


def main(argv: Sequence[str] | None = None) -> int:
    """The command line (see the module doc); ``--help`` lists the options."""
    parser = argparse.ArgumentParser(
        prog="python -m speechlab.recipes.polish_ctc_v2", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--work-dir", required=True, type=Path)
    parser.add_argument("--phase", choices=PHASES, default="all")
    parser.add_argument("--scale", default="full")
    parser.add_argument("--recipe", type=Path, default=None, help="default: pl_ctc_v2.yaml")
    parser.add_argument("--threads", type=int, default=1, help="CPU threads (default 1)")
    parser.add_argument("--max-steps", type=int, default=None, help="override max_steps")
    parser.add_argument(
        "--stage",
        type=int,
        choices=STAGES,
        default=1,
        help="train phase: 1 from scratch, 2 from stage 1's best on the stage2 mix",
    )
    parser.add_argument(
        "--precision",
        choices=PRECISIONS,
        default=None,
        help="override the recipe's precision for this leg (each leg records its own)",
    )
    parser.add_argument("--no-progress", action="store_true")
    parser.add_argument(
        "--publish-to",
        type=Path,
        default=None,
        help=f"publish phase: default the store's {V2_NAME}",
    )
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, _stop)
    try:
        return _run(args)
    except KeyboardInterrupt:
        print(f"{_now()} stopped; run the same command again to resume.", flush=True)
        return 130


def _run(args: argparse.Namespace) -> int:
    _limit_threads(args.threads)
    recipe = load_v2(args.scale, args.recipe)
    work = args.work_dir
    work.mkdir(parents=True, exist_ok=True)
    if args.phase == "status":
        print(json.dumps(status(recipe, work), indent=2))
        return 0
    progress = not args.no_progress

    def log(line: str) -> None:
        print(line, flush=True)

    log(f"{_now()} phase {args.phase}, scale {args.scale}, {args.threads} thread(s)")
    manifests = {}
    if args.phase != "publish":
        manifests = _manifests(recipe, work, args.phase, args.threads, progress, log)
    if args.phase in ("train", "all"):
        overrides = {
            "threads": args.threads,
            "max_steps": args.max_steps,
            "precision": args.precision,
        }
        train(recipe, work, manifests, stage=args.stage, log=log, progress=progress, **overrides)
    if args.phase in ("eval", "all"):
        stage, model = selected_stage(work)
        log(f"evaluating stage {stage}'s best checkpoint (lowest validation CER): {model}")
        sets = {k: v for k, v in HELD_OUT_V2.items() if k in manifests}
        scores = evaluate_held_out(model, manifests, sets=sets, progress=progress)
        scores.to_csv(work / "scores.csv", index=False)
        scores.to_json(work / "scores.json", orient="records", indent=2, force_ascii=False)
        log(scores.to_string())
        fit = fit_check(model, manifests, progress=progress)
        fit.to_json(work / "fit.json", orient="records", indent=2, force_ascii=False)
        log(fit.to_string())
        texts = work_texts(recipe, work)
        built = build_training_lm(texts, work / "lm")
        record = {"description": built.summary(), "order": built.order, "ngrams": built.ngrams}
        (work / "lm" / "built.json").write_text(json.dumps(record, indent=2) + "\n")
        log(built.describe())
        decoders = compare_decoders(
            model,
            manifests,
            built.folder,
            hotwords=proper_nouns(texts.ood),
            sets={k: v for k, v in OOD_SETS.items() if k in manifests},
            progress=progress,
        )
        decoders.to_csv(work / "decoders.csv", index=False)
        decoders.to_json(work / "decoders.json", orient="records", indent=2, force_ascii=False)
        log(decoders.to_string())
    if args.phase == "publish":
        from speechlab.recipes.polish_ctc_v2_card import publish

        out = args.publish_to or Path(__file__).resolve().parents[1] / "store" / "models" / V2_NAME
        folder = publish(work, recipe, out, name=V2_NAME, recipe_file=_recipe_file(args.recipe))
        log(f"published {folder} (model card: {folder / 'README.md'})")
    log(f"{_now()} phase {args.phase} done")
    return 0


def _recipe_file(given: Path | None) -> Path | None:
    """The recipe YAML the run used (``--recipe``, else the one beside the notebooks)."""
    if given is not None:
        return given
    from speechlab.notebook_runs import notebook_folders

    return next((f / RECIPE_V2 for f in notebook_folders() if (f / RECIPE_V2).is_file()), None)


def _manifests(
    recipe: Recipe, work: Path, phase: str, threads: int, progress: bool, log: Any
) -> dict[str, Path]:
    if phase in ("corpora", "all"):
        return make_corpora(recipe, work, threads=threads, progress=progress, log=log)
    plans = corpus_plans(recipe, work_texts(recipe, work))
    found = {name: work / name / "manifest.tsv" for name in plans}
    found.update(train=work / "train.tsv", validation=work / "validation.tsv")
    missing = [str(p) for p in found.values() if not p.is_file()]
    if missing:
        raise ConfigError(f"Corpora are missing ({missing[:3]} ...); run --phase corpora first.")
    return found


def _engine(kind: str, engines: dict[str, Any], threads: int | None) -> Any:
    if kind not in engines:
        if kind == "kokoro":
            from speechlab.tts import load_tts

            engines[kind] = load_tts("kokoro-82m-int8", threads=threads)
        else:
            from speechlab.tts.espeak_speech import EspeakSynthesizer

            engines[kind] = EspeakSynthesizer()
    return engines[kind]


def _limit_threads(threads: int) -> None:
    """Every numeric library to ``threads`` threads (before they start any)."""
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[name] = str(threads)
    import torch

    torch.set_num_threads(threads)


def _stop(signum: int, frame: Any) -> None:
    """SIGTERM ends the run like Ctrl-C: finished items and checkpoints stay."""
    raise KeyboardInterrupt


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


if __name__ == "__main__":
    sys.exit(main())
