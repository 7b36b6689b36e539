"""Publishing the v2 Polish CTC model: the store folder and its model card, from a work dir.

:func:`publish` copies the selected checkpoint (``training/best`` or stage 2's
``training-2/best``, whichever has the lower CER on the validation split) as fp16
safetensors with checksums (:func:`speechlab.train.publish.publish_fp16`), the recipe, the
training legs and curves, the held-out scores, and a ``README.md`` model card written by
:func:`model_card` from those files only: every number on the card is one the eval phase
measured.
"""

from __future__ import annotations

import json
import math
import os
import shutil
from pathlib import Path
from typing import Any

from speechlab.train.errors import ConfigError

__all__ = [
    "TARGETS",
    "held_out_table",
    "model_card",
    "publish",
    "published_results",
    "read_results",
    "targets",
]

#: issue 17's targets: (set, decoder, metric, bound, what); CER/WER as fractions
TARGETS = (
    ("ood-kokoro", "greedy", "cer", 0.15, "(b) held-out Kokoro blend, greedy CER <= 15 %"),
    ("ood-espeak", "greedy", "cer", 0.10, "(b) held-out espeak-ng variant, greedy CER <= 10 %"),
    ("selfcheck", "greedy", "cer", 0.10, "(c) self-check sentence CER <= 10 %"),
    ("heldout-kokoro", "greedy", "cer", 0.075, "(a) no worse than v1's 7.5 % (training voices)"),
)
V1_HELDOUT_CER = 0.075


#: the training text's coverage (``training_text_stats``), in the work dir and the store folder
TEXT_STATS = "text-stats.json"
#: the eval phase's fit check (``polish_ctc_v2.fit_check``): CER on training items
FIT = "fit.json"


def read_results(work_dir: str | os.PathLike[str]) -> dict[str, Any]:
    """What the eval phase wrote (``scores.json``, ``decoders.json``), the training legs of
    each stage up to the selected one, each stage's best record, the selected stage and the
    LM description; a ConfigError names what is missing."""
    work = Path(work_dir)
    from speechlab.recipes.polish_ctc_v2 import read_legs, selected_stage, training_dir

    needed = {
        "scores": work / "scores.json",
        "decoders": work / "decoders.json",
        "legs": work / "legs.jsonl",
        "selected": work / "training" / "best" / "speechlab-training.json",
    }
    missing = [str(p) for p in needed.values() if not p.is_file()]
    if missing:
        raise ConfigError(f"Nothing to publish yet: missing {missing}; run the eval phase first.")
    stage, _ = selected_stage(work)
    bests = [
        json.loads((training_dir(work, k) / "best" / "speechlab-training.json").read_text())
        for k in range(1, stage + 1)
    ]
    stage_legs = [read_legs(work, k) for k in range(1, stage + 1)]
    lm = work / "lm" / "built.json"
    fit = work / FIT
    text = work / TEXT_STATS
    return {
        "text": json.loads(text.read_text(encoding="utf-8")) if text.is_file() else None,
        "scores": json.loads(needed["scores"].read_text(encoding="utf-8")),
        "decoders": json.loads(needed["decoders"].read_text(encoding="utf-8")),
        "legs": stage_legs[0],
        "stage": stage,
        "stage_legs": stage_legs,
        "stage_bests": bests,
        "selected": bests[-1],
        "lm": json.loads(lm.read_text(encoding="utf-8")) if lm.is_file() else None,
        "fit": json.loads(fit.read_text(encoding="utf-8")) if fit.is_file() else None,
    }


def training_text_stats(work_dir: str | os.PathLike[str], recipe: Any) -> dict[str, Any]:
    """:func:`~speechlab.train.polish_text.text_stats` of the training sentences (distinct
    words, letters, Kokoro phoneme pairs against the ``coverage_reference_words`` most
    frequent Polish words), computed once into ``text-stats.json``."""
    from speechlab.recipes.polish_ctc_v2 import work_texts
    from speechlab.train.polish_text import text_stats

    path = Path(work_dir) / TEXT_STATS
    if path.is_file():
        return json.loads(path.read_text(encoding="utf-8"))
    texts = work_texts(recipe, work_dir)
    reference = int(recipe.corpus.get("coverage_reference_words", 60_000))
    stats = text_stats(texts.train_kokoro + texts.train_espeak, reference_words=reference)
    path.write_text(json.dumps(stats, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return stats


def _coverage(stats: dict[str, Any] | None, reference: int) -> list[str]:
    """The card's coverage bullet (none when the stats were not computed)."""
    if not stats:
        return []
    missing = stats["missing_letters"]
    letters = (
        f"all {len(stats['letters'])} letters"
        if not missing
        else f"letters missing: {', '.join(missing)}"
    )
    pairs = stats["reference_phoneme_pairs"]
    covered = round(stats["phoneme_pair_coverage"] * pairs)
    return [
        f"* Training text coverage: {stats['distinct_words']:,} distinct words in "
        f"{stats['words']:,}; {letters}; {covered} of the {pairs} Kokoro phoneme pairs that "
        f"the {reference:,} most frequent Polish words produce "
        f"({_pct(stats['phoneme_pair_coverage'])})."
    ]


def targets(results: dict[str, Any]) -> list[tuple[str, float | None, bool | None]]:
    """Each target's text, the measured value and whether it is met (None: not measured)."""
    scores = {row["set"]: row for row in results["scores"]}
    out = []
    for name, _, metric, bound, what in TARGETS:
        rows = [r for s, r in scores.items() if s == name or s.startswith(name + "-")]
        if not rows:
            out.append((what, None, None))
            continue
        value = max(r[metric] for r in rows)  # every voice of a set must meet it
        out.append((what, value, value <= bound))
    greedy = {r["set"]: r["wer"] for r in results["decoders"] if r["decoder"] == "greedy"}
    beam = {r["set"]: r["wer"] for r in results["decoders"] if r["decoder"] == "beam + LM"}
    for name in sorted(set(greedy) & set(beam)):
        what = f"(b) {name}: beam + LM WER below greedy ({100 * greedy[name]:.1f} %)"
        out.append((what, beam[name], beam[name] < greedy[name]))
    return out


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.1f} %"


def _ci(row: dict[str, Any]) -> str:
    low, high = row.get("cer_ci") or (None, None)
    return "–" if low is None else f"{100 * low:.1f}–{100 * high:.1f} %"


def model_card(
    work_dir: str | os.PathLike[str],
    recipe: Any,
    *,
    name: str,
    model_dir: Path,
    results: dict[str, Any] | None = None,
) -> str:
    """The README of the published model, from the work dir's results (``read_results``,
    unless given; see the module doc)."""
    results = results if results is not None else read_results(work_dir)
    config = json.loads((model_dir / "config.json").read_text(encoding="utf-8"))
    weights = model_dir / "model.safetensors"
    parameters = _parameters(weights)
    hours = sum(leg.get("seconds") or 0 for leg in results["legs"]) / 3600
    steps = max((leg.get("to_step", 0) for leg in results["legs"]), default=0)
    c, t = recipe.corpus, recipe.training
    on_cpu = [leg for leg in results["legs"] if not _on_gpu(leg)]
    threads = sorted({leg.get("threads") for leg in on_cpu} - {None})
    precisions = sorted({leg.get("precision") for leg in results["legs"]} - {None})
    precision = "/".join(precisions) or t.get("precision", "fp32")
    lines = [
        f"# {name}",
        "",
        f"speechlab's second Polish wav2vec2 CTC model (`Wav2Vec2ForCTC`, {parameters / 1e6:.2f} M "
        f"parameters, fp16 safetensors, {weights.stat().st_size / 2**20:.1f} MiB), trained **from "
        "scratch on synthetic speech** by `python -m speechlab.recipes.polish_ctc_v2` (recipe in "
        "`recipe.yaml`, training legs in `legs.jsonl`, curve in `training-metrics.csv`). It has "
        "never heard a human: every figure below is on synthetic speech.",
        "",
        f"* Architecture: {len(config['conv_dim'])} conv layers, {config['num_hidden_layers']} "
        f"transformer layers (hidden {config['hidden_size']}, {config['num_attention_heads']} "
        f"heads, feed-forward {config['intermediate_size']}); {config['vocab_size']} labels.",
        f"* Text: {c['kokoro_sentences']:,} + {c['espeak_sentences']:,} training sentences from "
        "independent sources (`speechlab.train.polish_text`: word-frequency sequences, "
        "inflected forms, numbers, names and places, the older generators); "
        f"{c['validation_sentences']} validation sentences choose the checkpoint; "
        f"{c['heldout_sentences']} held-out generator sentences (set a); the out-of-distribution "
        "sentences of `speechlab/data/pl_ood_sentences.txt` (set b, written by hand, never "
        "trained on); the self-check sentence (set c).",
        *_coverage(results["text"], int(c.get("coverage_reference_words", 60_000))),
        f"* Voices: Kokoro packs {', '.join(c['kokoro_voices'])} and random blends of them "
        f"(never within {c['min_blend_distance']} of the held-out blend `{c['held_out_blend']}`), "
        f"{len(c['espeak_voices'])} espeak-ng variants (never `{c['held_out_espeak']}`), speeds "
        f"{c['speed_range'][0]}–{c['speed_range'][1]}; noise, reverberation, telephone band, "
        "gain and speed changes during training.",
        f"* Training: {steps:,} steps of batch {t['batch_size']} ({precision}, "
        f"{'/'.join(map(str, threads))} CPU thread(s){_gpus(results['legs'])}) in "
        f"{len(results['legs'])} legs{_killed(results['legs'])}, {hours:.1f} h of wall time "
        f"(pauses included); best validation CER {_pct(results['stage_bests'][0].get('cer'))} at "
        f"step {results['stage_bests'][0]['step']:,}.",
        *_notes(results["legs"]),
        *_stage2(results, recipe),
        f"* Published checkpoint: {'stage 2, ' if results['stage'] == 2 else ''}step "
        f"{results['selected']['step']:,} (validation CER {_pct(results['selected'].get('cer'))}"
        f"{', the lower of the two stages' if results['stage'] == 2 else ''}).",
        "",
        "| held-out set | utterances | CER | 95 % CI | WER |",
        "|---|---:|---:|---:|---:|",
    ]
    for row in results["scores"]:
        lines.append(
            f"| {row['what']} | {row['utterances']} | {_pct(row['cer'])} | {_ci(row)} | "
            f"{_pct(row['wer'])} |"
        )
    if results["fit"]:
        lines += ["", "Fit: the first training items of each engine, read back as synthesised:"]
        lines += ["", "| training items | utterances | CER | WER |", "|---|---:|---:|---:|"]
        for row in results["fit"]:
            lines.append(
                f"| {row['what']} | {row['utterances']} | {_pct(row['cer'])} | {_pct(row['wer'])} |"
            )
    lm = results["lm"]["description"] if results["lm"] else "not recorded"
    lines += ["", f"Set (b) by decoder; the LM is built from the training sentences only ({lm}):"]
    lines += [""]
    lines += ["| set | decoder | CER | WER |", "|---|---|---:|---:|"]
    for row in results["decoders"]:
        lines.append(
            f"| {row['set']} | {row['decoder']} | {_pct(row['cer'])} | {_pct(row['wer'])} |"
        )
    lines += ["", "Targets:", ""]
    for what, value, met in targets(results):
        verdict = "not measured" if met is None else ("met" if met else "NOT met")
        lines.append(f"- {what}: {_pct(value)} — {verdict}")
    return "\n".join(lines) + "\n"


def _stage2(results: dict[str, Any], recipe: Any) -> list[str]:
    """The stage-2 bullet (when stage 2 is the published one): what it re-weighted, its
    schedule, legs and time."""
    if results["stage"] != 2:
        return []
    legs = results["stage_legs"][1]
    s2 = recipe.sections["stage2"]
    repeat = ", ".join(f"`{name}` x{times}" for name, times in s2.get("repeat", {}).items())
    hours = sum(leg.get("seconds") or 0 for leg in legs) / 3600
    steps = max((leg.get("to_step", 0) for leg in legs), default=0)
    return [
        f"* Stage 2: from stage 1's step {results['stage_bests'][0]['step']:,}, {steps:,} more "
        f"steps on the training corpora with {repeat or 'no corpus repeated'} (peak learning "
        f"rate {s2.get('learning_rate')}, warm-up {s2.get('warmup_steps')}, "
        f"{recipe.training.get('schedule', 'linear')} decay; legs in `legs-2.jsonl`, curve in "
        f"`training-2-metrics.csv`{_gpus(legs)}) in {len(legs)} legs{_killed(legs)}, "
        f"{hours:.1f} h of wall time.",
        *_notes(legs),
    ]


def _on_gpu(leg: dict[str, Any]) -> bool:
    return str(leg.get("device", "")).startswith("cuda")


def _gpus(legs: list[dict[str, Any]]) -> str:
    """``; N leg(s) on <GPU>`` for the legs that ran on CUDA (legs before the device field
    was recorded ran on the CPU)."""
    gpu = [leg for leg in legs if _on_gpu(leg)]
    if not gpu:
        return ""
    names = sorted({leg["device"].split(": ", 1)[-1] for leg in gpu})
    return f"; {len(gpu)} leg(s), steps {_spans(gpu)}, on {', '.join(names)}"


def _spans(legs: list[dict[str, Any]]) -> str:
    return ", ".join(f"{leg.get('from_step', 0):,}–{leg.get('to_step', 0):,}" for leg in legs)


def _notes(legs: list[dict[str, Any]]) -> list[str]:
    """One bullet per leg that carries a note (how its data travelled, say)."""
    return [f"* Steps {_spans([leg])}: {leg['note']}" for leg in legs if leg.get("note")]


def _killed(legs: list[dict[str, Any]]) -> str:
    killed = sum(1 for leg in legs if leg.get("killed"))
    if not killed:
        return ""
    return f" ({killed} killed at a session's end, resumed from their last checkpoint)"


def _parameters(weights: Path) -> int:
    from safetensors import safe_open

    with safe_open(weights, framework="pt") as handle:
        return sum(math.prod(handle.get_slice(k).get_shape()) for k in handle.keys())  # noqa: SIM118


def publish(
    work_dir: str | os.PathLike[str],
    recipe: Any,
    out: str | os.PathLike[str],
    *,
    name: str,
    recipe_file: Path | None = None,
) -> Path:
    """The store folder ``out`` of the selected checkpoint, with its card and records."""
    from speechlab.recipes.polish_ctc_v2 import training_dir
    from speechlab.train.publish import publish_fp16, write_checksums

    work = Path(work_dir)
    results = read_results(work)  # refuse before writing anything
    results["text"] = training_text_stats(work, recipe)
    folder = publish_fp16(training_dir(work, results["stage"]) / "best", out)
    for stage, legs in enumerate(results["stage_legs"], start=1):
        suffix = "" if stage == 1 else f"-{stage}"
        lines = "".join(json.dumps(leg) + "\n" for leg in legs)  # killed legs completed
        (folder / f"legs{suffix}.jsonl").write_text(lines, encoding="utf-8")
        metrics = training_dir(work, stage) / "metrics.csv"
        shutil.copyfile(metrics, folder / f"training{suffix}-metrics.csv")
    for record in ("scores.json", "decoders.json", TEXT_STATS, FIT):
        if (work / record).is_file():  # the fit check is newer than some work dirs
            shutil.copyfile(work / record, folder / record)
    if recipe_file is not None:
        shutil.copyfile(recipe_file, folder / "recipe.yaml")
    card = model_card(work, recipe, name=name, model_dir=folder, results=results)
    (folder / "README.md").write_text(card, encoding="utf-8")
    write_checksums(folder)  # the records too, as they are now (none stale from a last run)
    return folder


def published_results(
    name: str = "speechlab-pl-ctc", *, folder: Path | None = None
) -> dict[str, Any] | None:
    """The held-out scores and decoder comparison published with store model ``name`` (or
    in ``folder``); None while it is not published in this checkout."""
    from importlib.resources import files

    folder = folder if folder is not None else files("speechlab.store") / "models" / name
    if not (folder / "scores.json").is_file():
        return None
    scores = json.loads((folder / "scores.json").read_text(encoding="utf-8"))
    decoders = folder / "decoders.json"
    found = json.loads(decoders.read_text(encoding="utf-8")) if decoders.is_file() else []
    return {"scores": scores, "decoders": found}


def held_out_table(results: dict[str, Any]) -> Any:
    """The three held-out sets as a DataFrame: CER with its 95 % CI, WER (percent)."""
    import pandas as pd

    rows = [
        {
            "set": row["what"],
            "utterances": row["utterances"],
            "CER %": round(100 * row["cer"], 1),
            "CI low %": round(100 * row["cer_ci"][0], 1),
            "CI high %": round(100 * row["cer_ci"][1], 1),
            "WER %": round(100 * row["wer"], 1),
        }
        for row in results["scores"]
    ]
    return pd.DataFrame(rows)
