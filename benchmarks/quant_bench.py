"""Quantization benchmark: every variant's size, load time, peak RSS, throughput and error.

Parts (each variant is built once into ``.cache/quant/<part>/`` by a ``--build`` worker,
then measured in a fresh process, so peak RSS is the variant's own):

* ``pl_*`` — speechlab's Polish CTC model (``speechlab-pl-ctc``, v2): fp32 (speechlab's
  runtime), bf16, torch dynamic int8, ONNX fp32, ONNX Runtime dynamic int8, static int8
  (QDQ, MinMax, calibrated on 32 validation utterances), int4 weight-only, and the
  quantization-aware ``qat-int8``/``qat-int4``. QAT fine-tunes, so a **control** fine-tune
  with the same data, steps and seed but no quantizers (``pl_ft_fp32``, and its post-training
  int8 ``pl_ft_onnx_int8``) separates what the extra training did from what QAT did: QAT rows
  are compared with the control. Error: CER/WER with 95 % CIs on the v2 recipe's held-out
  sets (``speechlab.recipes.polish_ctc_v2``): ``ood-kokoro`` and ``ood-espeak`` (226
  sentences written independently of every generator, held-out voices: the headline) and
  ``heldout-espeak`` (200 held-out generator sentences). Throughput: the ASR benchmark's
  mixed-length real clips (20 English cuts of 1-30 s + 2 Polish), batch 8, median of 3.
* ``xl_*`` — the xlsr-53 large architecture (random init: size and speed only) in fp32,
  torch int8, ONNX fp32, ONNX int8 and int4, on the first 8 clips (39 s), median of 2.
* ``whisper_*`` — whisper-base through CTranslate2's CPU compute types (same weights): speed
  on the same clips, and WER/CER (95 % intervals) against their transcripts; the
  hypotheses are kept.
* ``kokoro`` — collected, not measured here: Kokoro-82M's fp32/fp16/int8 exports from
  ``results/kokoro_import.json`` (size, round-trip CER) and ``results/tts_bench.json`` (speed).

``python benchmarks/quant_bench.py`` writes ``results/quant_table.{json,md}`` (resumable;
``--fresh`` measures the named parts again; ``--smoke`` runs tiny versions into ``.cache/smoke/``).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import RESULTS, THREADS, machine_lines, peak_rss_mb, rate_text, run_all, run_part

HERE = Path(__file__).resolve().parent
CACHE = HERE / ".cache"
SMOKE = os.environ.get("SPEECHLAB_BENCH_SMOKE") == "1"
WORK = HERE.parent / "work" / "pl-ctc-v2"  # the v2 recipe's corpora (made here if missing)
SOURCE = "speechlab-pl-ctc"
#: built variants, per source model (a cache built from another model is never reused)
BUILD = CACHE / ("quant-smoke" if SMOKE else "quant") / SOURCE
EVAL_SETS = ("ood-kokoro", "ood-espeak", "heldout-espeak")
HEADLINE = "ood-kokoro"
QAT_STEPS = 4 if SMOKE else 300
QAT_DATA = {"train-espeak": 8 if SMOKE else 2400, "train-kokoro": 4 if SMOKE else 600}
EVAL_LIMIT = 6 if SMOKE else None
XL_CLIPS = 2 if SMOKE else 8
#: part -> (label, how it is built: (kind, argument))
PL_VARIANTS: dict[str, tuple[str, tuple[str, str | None]]] = {
    "pl_fp32": ("fp32 (speechlab runtime)", ("source", None)),
    "pl_fp32_transformers": ("fp32 (transformers runtime)", ("source", None)),
    "pl_fp16_compute": ("fp16 as stored (computed in fp16)", ("source", None)),
    "pl_bf16": ("bf16", ("method", "bf16")),
    "pl_torch_int8": ("torch int8 dynamic", ("method", "torch-int8-dynamic")),
    "pl_onnx_fp32": ("ONNX fp32", ("onnx", None)),
    "pl_onnx_int8": ("ONNX int8 dynamic", ("method", "onnx-int8-dynamic")),
    "pl_onnx_int8_static": ("ONNX int8 static (MinMax)", ("method", "onnx-int8-static")),
    "pl_onnx_int4": ("ONNX int4 weight-only", ("method", "onnx-int4")),
    "pl_ft_fp32": ("control fine-tune, fp32", ("control", None)),
    "pl_ft_onnx_int8": ("control fine-tune, ONNX int8 dynamic", ("control", "onnx-int8-dynamic")),
    "pl_qat_int8": ("QAT int8 (ONNX int8 dynamic)", ("method", "qat-int8")),
    "pl_qat_int4": ("QAT int4 (ONNX int4)", ("method", "qat-int4")),
}
XL_VARIANTS: dict[str, tuple[str, tuple[str, str | None]]] = {
    "xl_fp32": ("fp32 (speechlab runtime)", ("source", None)),
    "xl_torch_int8": ("torch int8 dynamic", ("method", "torch-int8-dynamic")),
    "xl_onnx_fp32": ("ONNX fp32", ("onnx", None)),
    "xl_onnx_int8": ("ONNX int8 dynamic", ("method", "onnx-int8-dynamic")),
    "xl_onnx_int4": ("ONNX int4 weight-only", ("method", "onnx-int4")),
}
#: load_asr options of the rows that load the source itself another way
LOAD_OPTIONS = {
    "pl_fp32_transformers": {"runtime": "transformers"},
    "pl_fp16_compute": {"dtype": "float16"},
}
WHISPER_TYPES = ["float32", "int8_float32", "int8"]
PARTS = [*PL_VARIANTS, *XL_VARIANTS, *(f"whisper_{t}" for t in WHISPER_TYPES), "kokoro"]
OUT = {"dir": RESULTS}


# --------------------------------------------------------------------------- data


def corpora() -> dict[str, Path]:
    """The v2 recipe's evaluation, validation and training corpora (synthesised if missing)."""
    from speechlab.recipes.polish_ctc_v2 import load_v2, make_corpora

    names = [*EVAL_SETS, "valid-kokoro", *QAT_DATA]
    done = {n: WORK / n / "manifest.tsv" for n in names}
    if all(p.is_file() for p in done.values()) and _enough_training_items(done):
        return done
    # only the training items QAT uses (a full train-kokoro is 4,000 items, ~2 h of synthesis)
    made = make_corpora(load_v2(), WORK, progress=False, only=names, limits=QAT_DATA)
    return {n: made[n] for n in names}


def _enough_training_items(manifests: dict[str, Path]) -> bool:
    return all(len(_rows(manifests[n])) >= count for n, count in QAT_DATA.items())


def _rows(manifest: Path) -> list[dict[str, str]]:
    with manifest.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    for row in rows:
        row["path"] = str((manifest.parent / row["path"]).resolve())
    return rows


def subset(name: str, manifests: dict[str, Path], limit: int | None) -> Path:
    """The first ``limit`` rows of a corpus as a manifest with absolute paths."""
    out = BUILD / "data" / f"{name}-{limit or 'all'}.tsv"
    if not out.is_file():
        _write_manifest(out, _rows(manifests[name])[:limit])
    return out


def qat_training_set(manifests: dict[str, Path]) -> Path:
    out = BUILD / "data" / "qat-train.tsv"
    if not out.is_file():
        rows = [r for n, count in QAT_DATA.items() for r in _rows(manifests[n])[:count]]
        _write_manifest(out, rows)
    return out


def _write_manifest(path: Path, rows: list[dict[str, str]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = ["path\ttext"] + [f"{r['path']}\t{r['text']}" for r in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def clips(count: int | None = None) -> list[np.ndarray]:
    from asr_bench import clips as asr_clips

    waves = [w for w, _ in asr_clips()]
    return waves[:count] if count else waves


# --------------------------------------------------------------------------- build


def source_dir(family: str) -> Path:
    if family == "xl":
        from asr_bench import xlsr53_dir

        return xlsr53_dir()
    import speechlab

    return speechlab.store.resolve(SOURCE)


def build(part: str) -> dict:
    """Write the variant's folder under BUILD (once); return how long it took."""
    import speechlab
    from speechlab.asr.onnx_export import export_ctc_onnx

    family = part.split("_", 1)[0]
    kind, argument = (PL_VARIANTS | XL_VARIANTS)[part][1]
    folder = BUILD / part
    record = folder.with_name(part + ".build.json")
    if record.is_file():
        return json.loads(record.read_text())
    started = time.perf_counter()
    source = source_dir(family)
    notes: dict[str, Any] = {}
    if kind == "onnx":
        export_ctc_onnx(source, folder)
    elif kind == "control":
        model = control_model()
        if argument is not None:
            speechlab.quantize(model, argument, folder, progress=False)
    elif kind == "method":
        options: dict[str, Any] = {}
        calibration = None
        if argument == "onnx-int8-static":
            calibration = str(subset("valid-kokoro", corpora(), 32))
        if argument and argument.startswith("qat-"):
            options = qat_options(corpora())
        speechlab.quantize(source, argument, folder, calibration, progress=False, **options)
        if argument and argument.startswith("qat-"):
            info = json.loads((folder / "speechlab-model.json").read_text())
            notes = info["quantization"]["notes"]["qat"]
    out = {"build_seconds": round(time.perf_counter() - started, 1), **notes}
    record.parent.mkdir(parents=True, exist_ok=True)
    record.write_text(json.dumps(out, indent=2))
    return out


def qat_options(manifests: dict[str, Path]) -> dict[str, Any]:
    """The fine-tuning the QAT rows and the control share (same data, steps, seed)."""
    return {
        "train": str(qat_training_set(manifests)),
        "steps": QAT_STEPS,
        "learning_rate": 2e-5,
        "batch_size": 8,
        "strategy": "encoder",
        "config": {
            "threads": THREADS,
            "seed": 0,
            "max_seconds": 12.0,
            "checkpoint_every": max(2, QAT_STEPS // 6),
            "speeds": [0.9, 1.0, 1.1],
            "noise_snr_db": [None, 20],
        },
    }


def control_model() -> Path:
    """The control: the QAT rows' fine-tuning with no quantizers (fp32 weights)."""
    from speechlab.quantization.qat_method import training_config
    from speechlab.train import finetune

    folder = BUILD / "control-training"
    if (folder / "model" / "model.safetensors").is_file():
        return folder / "model"
    options = qat_options(corpora())
    config = training_config(source_dir("pl"), None, folder, progress=False, eval=None, **options)
    return finetune(config).model_dir


def variant_dir(part: str) -> Path:
    kind, argument = (PL_VARIANTS | XL_VARIANTS)[part][1]
    if kind == "source":
        return source_dir(part.split("_", 1)[0])
    if kind == "control" and argument is None:
        return control_model()
    return BUILD / part


# --------------------------------------------------------------------------- measure


def work_variant(part: str) -> dict:
    import torch

    from speechlab.quantization import measure_variant
    from speechlab.quantization.comparing import argmax_agreement

    torch.set_num_threads(THREADS)
    family = part.split("_", 1)[0]
    eval_sets = {}
    if family == "pl":
        manifests = corpora()
        eval_sets = {name: str(subset(name, manifests, EVAL_LIMIT)) for name in EVAL_SETS}
    waves = clips(XL_CLIPS if family == "xl" else None)
    row = measure_variant(
        variant_dir(part),
        waves,
        eval_sets=eval_sets,
        repeats=2 if family == "xl" else 3,
        threads=THREADS,
        keep_log_probs=True,
        **LOAD_OPTIONS.get(part, {}),
    )
    log_probs = row.pop("log_probs")
    reference = BUILD / f"{family}-reference-argmax.npz"
    if part in ("pl_fp32", "xl_fp32"):
        np.savez(reference, *[lp.argmax(-1) for lp in log_probs])
    if reference.is_file():
        saved = np.load(reference)
        ref = [saved[f"arr_{i}"] for i in range(len(saved.files))]
        row["argmax_agreement"] = argmax_agreement(ref, log_probs)
    row.pop("model")
    return {**row, "clips": len(waves)}  # peak_rss_mb: measured before the argmax pass


def work_whisper(compute_type: str) -> dict:
    from asr_bench import CLIP_SECONDS
    from asr_bench import clips as asr_clips

    import speechlab
    from speechlab.eval.metrics import score
    from speechlab.eval.results import rate_columns
    from speechlab.textnorm import plain

    data = asr_clips()
    langs = ["en"] * len(CLIP_SECONDS) + ["pl", "pl"]
    model_dir = speechlab.store.assemble("whisper-base")
    started = time.perf_counter()
    recognizer = speechlab.load_asr(model_dir, threads=THREADS, compute_type=compute_type)
    load_seconds = time.perf_counter() - started
    recognizer.transcribe(speechlab.Audio(data[0][0], 16_000), language="en")
    started = time.perf_counter()
    texts = [
        recognizer.transcribe(speechlab.Audio(w, 16_000), language=lang).text
        for (w, _), lang in zip(data, langs, strict=True)
    ]
    wall = time.perf_counter() - started
    refs = [plain(t) for _, t in data]
    keep = [i for i, r in enumerate(refs) if r]
    rates = rate_columns(score([refs[i] for i in keep], [plain(texts[i]) for i in keep])[1])
    seconds = sum(len(w) for w, _ in data) / 16_000
    return {
        "compute_type": compute_type,
        "size_mb": sum(p.stat().st_size for p in model_dir.glob("model.bin")) / 1e6,
        "load_seconds": round(load_seconds, 3),
        "audio_seconds": seconds,
        "wall_seconds": [round(wall, 3)],
        "throughput": seconds / wall,
        **rates,  # WER/CER over the clips with a reference, with 95 % bootstrap intervals
        "peak_rss_mb": peak_rss_mb(),
        "clips": len(data),
        "hypotheses": texts,
    }


def work_kokoro() -> dict:
    """Kokoro's export rows from the TTS benchmark and the import benchmark's results."""
    found: dict[str, Any] = {}
    for name in ("kokoro_import", "tts_bench"):
        path = RESULTS / f"{name}.json"
        found[name] = json.loads(path.read_text())["parts"] if path.is_file() else {}
    export = found["kokoro_import"].get("export", {}).get("variants", {})
    trip = found["kokoro_import"].get("roundtrip", {})
    rows = {}
    for dtype in ("fp32", "fp16", "int8"):
        speed = found["tts_bench"].get(f"export_{dtype}", {})
        rows[dtype] = {
            "megabytes": export.get(dtype, {}).get("megabytes"),
            "log_mel_db_vs_torch": export.get(dtype, {}).get("log_mel_db"),
            "roundtrip_cer": trip.get(f"export_{dtype}", {}).get("cer"),
            "throughput": speed.get("pl", {}).get("throughput"),  # the Polish paragraph
            "peak_rss_mb": speed.get("peak_rss_mb"),
        }
    return {"rows": rows, "sources": ["results/kokoro_import.json", "results/tts_bench.json"]}


# --------------------------------------------------------------------------- markdown


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.2f}"


def _num(value: float | None, digits: int) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def _ci(row: dict, key: str) -> str:
    ci = row.get(f"{key}_ci")
    return f"{_pct(row.get(key))} [{_pct(ci[0])}, {_pct(ci[1])}]" if ci else "–"


def write_markdown(results: dict) -> None:
    parts = results["parts"]
    lines = [
        "# Quantization: size, speed and error of every variant",
        "",
        "`benchmarks/quant_bench.py`; each variant in its own process (peak RSS its own), "
        f"{THREADS} threads. Throughput: audio seconds per second (median of repeats).",
        "",
        *machine_lines(results),
        "",
    ]
    base = parts.get("pl_fp32")
    control = parts.get("pl_ft_fp32")
    if base:
        lines += [
            f"## {SOURCE} (real weights)",
            "",
            "CER in % with 95 % CIs. `ood-*`: 226 sentences written independently of every "
            "generator, spoken by held-out voices (the headline); `heldout-espeak`: held-out "
            "generator sentences (set a, in-distribution). Δ: CER change in points against "
            "fp32 — for the control and QAT rows against the control fine-tune (same data, "
            "steps and seed, no quantizers), so that the extra "
            "training is not counted as QAT's gain.",
            "",
            "| variant | size MB | load s | peak RSS MB | audio s/s | argmax = fp32 | "
            + " | ".join(f"{n} CER" for n in EVAL_SETS)
            + f" | Δ {HEADLINE} | Δ ood-espeak |",
            "|---|" + "---:|" * (5 + len(EVAL_SETS) + 2),
        ]
        for part, (label, _) in PL_VARIANTS.items():
            row = parts.get(part)
            if not row:
                continue
            ref = control if part.startswith(("pl_ft", "pl_qat")) and control else base
            deltas = [
                f"{100 * (row[f'{n}_cer'] - ref[f'{n}_cer']):+.2f}"
                for n in (HEADLINE, "ood-espeak")
            ]
            lines.append(
                f"| {label} | {row['size_mb']:.1f} | {row['load_seconds']:.2f} | "
                f"{_num(row.get('peak_rss_mb'), 0)} | {row['throughput']:.1f} | "
                f"{row.get('argmax_agreement', float('nan')):.4f} | "
                + " | ".join(_ci(row, f"{n}_cer") for n in EVAL_SETS)
                + f" | {' | '.join(deltas)} |"
            )
        lines.append("")
        # the build each part recorded (not this machine's build cache: another run's)
        builds = [(p, parts[p].get("build") or {}) for p in PL_VARIANTS if p in parts]
        qat = [(p, b) for p, b in builds if "steps" in b]
        if qat:
            lines.append(
                "QAT and control: fine-tuned "
                + ", ".join(f"{p} {b['steps']} steps in {b['train_seconds']:.0f} s" for p, b in qat)
                + f" on {sum(QAT_DATA.values())} training utterances of the v2 recipe "
                "(espeak-ng and Kokoro voices, none held out), the data the v2 model was "
                "trained on: the fine-tune revisits it."
            )
            lines.append("")
    if parts.get("xl_fp32"):
        fp32 = parts["xl_fp32"]
        lines += [
            "## xlsr-53 large architecture (random init: size and speed only)",
            "",
            "| variant | size MB | × fp32 size | load s | peak RSS MB | audio s/s | × fp32 speed |",
            "|---|---:|---:|---:|---:|---:|---:|",
        ]
        for part, (label, _) in XL_VARIANTS.items():
            row = parts.get(part)
            if row:
                lines.append(
                    f"| {label} | {row['size_mb']:.0f} | {row['size_mb'] / fp32['size_mb']:.2f} | "
                    f"{row['load_seconds']:.1f} | {_num(row.get('peak_rss_mb'), 0)} | "
                    f"{row['throughput']:.2f} | {row['throughput'] / fp32['throughput']:.2f} |"
                )
        lines.append("")
    whisper = [(t, parts[f"whisper_{t}"]) for t in WHISPER_TYPES if f"whisper_{t}" in parts]
    if whisper:
        lines += [
            "## whisper-base through CTranslate2 (same weights, compute type at load)",
            "",
            "| compute type | model.bin MB | load s | peak RSS MB | audio s/s | WER (95 % CI) |",
            "|---|---:|---:|---:|---:|---:|",
        ]
        for t, row in whisper:
            lines.append(
                f"| {t} | {row['size_mb']:.0f} | {row['load_seconds']:.2f} | "
                f"{row['peak_rss_mb']:.0f} | {row['throughput']:.2f} | {rate_text(row, 'wer')} |"
            )
        lines.append("")
    if parts.get("kokoro"):
        lines += [
            "## Kokoro-82M exports of the torch import (collected, not measured here)",
            "",
            "From `results/kokoro_import.json` (size, log-mel distance to torch, Whisper round "
            "trip CER on 12 Polish sentences) and `results/tts_bench.json` (throughput in audio "
            "s/s on the Polish paragraph, one run; peak RSS); each part's machine is recorded "
            "there.",
            "",
            "| export | MB | log-mel dB vs torch | round-trip CER % | audio s/s | peak RSS MB |",
            "|---|---:|---:|---:|---:|---:|",
        ]
        for dtype, row in parts["kokoro"]["rows"].items():
            cells = [
                _num(row["megabytes"], 0),
                _num(row["log_mel_db_vs_torch"], 2),
                _pct(row["roundtrip_cer"]),
                _num(row["throughput"], 2),
                _num(row["peak_rss_mb"], 0),
            ]
            lines.append(f"| {dtype} | " + " | ".join(cells) + " |")
        lines.append("")
    path = OUT["dir"] / "quant_table.md"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


# --------------------------------------------------------------------------- driver


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--worker")
    parser.add_argument("--build", action="store_true", help="(worker) only build the variant")
    parser.add_argument("--parts", default=",".join(PARTS))
    parser.add_argument("--fresh", action="store_true", help="measure the named parts again")
    parser.add_argument("--smoke", action="store_true", help="a quick run that measures nothing")
    args = parser.parse_args()
    if args.worker:
        part = args.worker
        if args.build:
            out = build(part)
        elif part.startswith("whisper_"):
            out = work_whisper(part.removeprefix("whisper_"))
        elif part == "kokoro":
            out = work_kokoro()
        else:
            out = work_variant(part)
        print(json.dumps(out))
        return

    def run(part: str) -> dict:
        if part in PL_VARIANTS or part in XL_VARIANTS:
            built = run_part(__file__, part, "--build")
            label = (PL_VARIANTS | XL_VARIANTS)[part][0]
            return {"label": label, **run_part(__file__, part), "build": built}
        return run_part(__file__, part)

    if args.smoke:
        import harness

        global BUILD
        os.environ["SPEECHLAB_BENCH_SMOKE"] = "1"
        harness.RESULTS = OUT["dir"] = CACHE / "smoke"
        BUILD = CACHE / "quant-smoke" / SOURCE
    run_all("quant_table", args.parts.split(","), run, write_markdown, fresh=args.fresh)


if __name__ == "__main__":
    main()
