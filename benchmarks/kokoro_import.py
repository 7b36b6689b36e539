"""Is the imported torch Kokoro (store ``kokoro-82m-int8-torch``) the int8 ONNX model?

Measures, on this machine, what README's "torch backend on real weights" section quotes:

* ``mapping``: where the 688 ``KModel`` parameters came from (by kind of source), and how
  closely each weight-normalised layer's effective weight ``g · v / ‖v‖`` (computed by
  torch) reproduces the graph's dequantized weight;
* ``stages``: each stage of torch fed the graph's own input for that stage
  (``speechlab.tts.import_stages``), on one Polish and one English sentence;
* ``parity``: end to end, no vocoder noise on either side (``speechlab.tts.import_check``):
  per-token durations (every differing token with both unrounded values) and the audio with
  the graph's durations on both sides; beside it, torch against itself with Kokoro's random
  vocoder noise (its run-to-run variation);
* ``roundtrip``: Whisper base (store ``whisper-base``, ``language="pl"``) on the 12
  ``POLISH_SENTENCES`` spoken by each backend with ``jm_kumo``: CER and WER;
* ``export``: speechlab's fp32/fp16/int8 ONNX exports of the imported model against torch
  (``speechlab.tts.export.parity``, fixed vocoder noise on both sides) and their sizes.

Results: ``results/kokoro_import.json`` (resumable per part) and ``results/kokoro_import.md``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import RESULTS, THREADS, machine_lines, rate_text, run_all, run_part

PARTS = ["mapping", "stages", "parity", "roundtrip", "export"]
#: what the round trip keeps per model: corpus CER/WER and their 95 % bootstrap intervals
ROUNDTRIP_RATES = ("cer", "cer_low", "cer_high", "wer", "wer_low", "wer_high")
PARITY_SENTENCE = "Dzień dobry. Nazywam się Jan Kowalski i mieszkam w Warszawie."
VOICE = "jm_kumo"
ENGLISH = (
    "The quick brown fox jumps over the lazy dog.",
    "She sells sea shells by the sea shore.",
    "Please call me back when you get home tonight.",
    "A light is a promise, and promises should be kept.",
)


def _models() -> tuple[Path, Path]:
    from speechlab.store import assemble

    return assemble("kokoro-82m-int8"), assemble("kokoro-82m-int8-torch")


def _utterances(texts: list[tuple[str, str]]) -> list[tuple[str, str, list[int], object]]:
    from speechlab.tts import load_tts

    onnx_dir, _ = _models()
    tts = load_tts(onnx_dir, voice=VOICE, threads=THREADS)
    out = []
    for lang, text in texts:
        ids = [0, *[tts.vocab[p] for p in tts.phonemize(text, lang=lang) if p in tts.vocab], 0]
        out.append((lang, text, ids, tts.voice_bank.style(VOICE, len(ids) - 2)))
    return out


def work_mapping() -> dict:
    import collections
    import re

    import numpy as np
    import onnx
    import torch

    from speechlab.tts.kokoro_torch import load_kmodel
    from speechlab.tts.onnx_import import SOURCES_FILE
    from speechlab.tts.onnx_weights import graph_weights

    onnx_dir, torch_dir = _models()
    sources = json.loads((torch_dir / SOURCES_FILE).read_text(encoding="utf-8"))["parameters"]
    kinds = collections.Counter(
        re.sub(r" \(\d+ all-zero rows.*\)", "", how) for _, how in sources.values()
    )
    dead = sum(
        int(m.group(1))
        for _, how in sources.values()
        if (m := re.search(r"\((\d+) all-zero rows", how))
    )
    kmodel = load_kmodel(torch_dir)
    weights = {
        w.tensor: w for w in graph_weights(onnx.load(str(onnx_dir / "kokoro-v1.0.int8.onnx")))
    }
    worst, layers = 0.0, 0
    with torch.no_grad():
        for param, (tensor, _how) in sources.items():
            if not param.endswith(".weight_v"):
                continue
            module = kmodel.get_submodule(param.removesuffix(".weight_v"))
            effective = torch._weight_norm(module.weight_v, module.weight_g, 0).numpy()
            exported = weights[tensor].value
            worst = max(worst, float(np.abs(effective - exported).max() / np.abs(exported).max()))
            layers += 1
    return {
        "parameters": len(sources),
        "values": int(sum(p.numel() for p in kmodel.parameters())),
        "by_source": dict(kinds.most_common()),
        "dead_rows": dead,
        "weight_norm_layers": layers,
        "weight_norm_max_rel_error": worst,
    }


def work_stages() -> dict:
    import torch

    from speechlab.tts.import_stages import stage_errors
    from speechlab.tts.kokoro_torch import load_kmodel

    torch.set_num_threads(THREADS)
    onnx_dir, torch_dir = _models()
    kmodel = load_kmodel(torch_dir)
    out = {}
    texts = [("pl", "Dzień dobry. Nazywam się Jan Kowalski."), ("en-us", ENGLISH[0])]
    for lang, _text, ids, style in _utterances(texts):
        out[lang] = stage_errors(
            kmodel, onnx_dir / "kokoro-v1.0.int8.onnx", ids, style, threads=THREADS
        )
    return out


def work_parity() -> dict:
    import dataclasses

    import numpy as np
    import torch

    from speechlab.samples import POLISH_SENTENCES
    from speechlab.tts.import_check import (
        GraphProbe,
        compare,
        log_mel_distance,
        predict_durations,
        torch_synthesis,
    )
    from speechlab.tts.kokoro_torch import load_kmodel

    torch.set_num_threads(THREADS)
    onnx_dir, torch_dir = _models()
    kmodel = load_kmodel(torch_dir)
    graph = GraphProbe(onnx_dir / "kokoro-v1.0.int8.onnx", threads=THREADS)
    texts = [("pl", t) for t in POLISH_SENTENCES] + [("en-us", t) for t in ENGLISH]
    rows = []
    for n, (lang, text, ids, style) in enumerate(_utterances(texts)):
        row = {"lang": lang, "text": text, **dataclasses.asdict(compare(kmodel, graph, ids, style))}
        if n % 4 == 0:  # torch against itself, with Kokoro's random vocoder noise
            durations, _ = predict_durations(kmodel, ids, style, 1.0)
            a, b = (torch_synthesis(kmodel, ids, style, durations) for _ in range(2))
            row["noise_correlation"] = float(np.corrcoef(a, b)[0, 1])
            row["noise_log_mel_db"] = log_mel_distance(a, b)
        rows.append(row)
        print(json.dumps(row, ensure_ascii=False), file=sys.stderr, flush=True)
    return {"rows": rows}


def work_roundtrip() -> dict:
    from tts_bench import export_dir

    from speechlab.asr import load_asr
    from speechlab.eval import roundtrip
    from speechlab.samples import POLISH_SENTENCES
    from speechlab.tts import load_tts
    from speechlab.tts.export import VARIANT_FILES

    onnx_dir, torch_dir = _models()
    asr = load_asr("whisper-base", threads=THREADS)
    exported = export_dir()  # speechlab's fp32/fp16/int8 exports of the torch import
    models = [("onnx", onnx_dir, {}), ("torch", torch_dir, {})] + [
        (f"export_{variant}", exported, {"model_file": file})
        for variant, file in VARIANT_FILES.items()
    ]
    out = {}
    for name, folder, options in models:
        tts = load_tts(folder, voice=VOICE, threads=THREADS, **options)
        result = roundtrip(tts, asr, POLISH_SENTENCES, voices=[VOICE], lang="pl", progress=False)
        row = result.table.iloc[0]
        out[name] = {
            **{k: float(row[k]) for k in ROUNDTRIP_RATES},  # with their 95 % bootstrap CIs
            "hypotheses": [str(h) for h in result.rows["hypothesis"]],
        }
    return out


def work_export() -> dict:
    import time

    from speechlab.tts import load_tts
    from speechlab.tts.export import VARIANT_FILES, export_onnx, parity

    _, torch_dir = _models()
    out = Path(__file__).resolve().parent / ".cache" / "kokoro-export-deterministic"
    start = time.perf_counter()
    export_onnx(torch_dir, out, deterministic=True)
    seconds = time.perf_counter() - start
    tts = load_tts(torch_dir, threads=THREADS)
    ids = [0, *[tts.vocab[p] for p in tts.phonemize(PARITY_SENTENCE)], 0]
    style = tts.voice_bank.style(VOICE, len(ids) - 2)
    rows = {}
    for variant, name in VARIANT_FILES.items():
        result = parity(torch_dir, out / name, ids, style, 1.1)
        rows[variant] = {**result, "megabytes": (out / name).stat().st_size / 1e6}
    return {"sentence": PARITY_SENTENCE, "export_seconds": seconds, "variants": rows}


WORKERS = {
    "mapping": work_mapping,
    "stages": work_stages,
    "parity": work_parity,
    "roundtrip": work_roundtrip,
    "export": work_export,
}


def write_markdown(results: dict) -> None:
    r = results["parts"]
    lines = [
        "# Kokoro-82M imported into torch vs the int8 ONNX it came from",
        "",
        *machine_lines(results),
        "",
        "Store `kokoro-82m-int8-torch` (`speechlab.tts.onnx_import`) against store "
        "`kokoro-82m-int8`, voice `jm_kumo`, speed 1.0, "
        f"{THREADS} threads. Script: `benchmarks/kokoro_import.py`.",
        "",
    ]
    if "mapping" in r:
        m = r["mapping"]
        lines += [
            "## Mapping",
            "",
            f"{m['parameters']} parameters ({m['values']:,} values), each assigned once:",
            "",
            *[f"- {count} × {how}" for how, count in m["by_source"].items()],
            "",
            f"Weight norm: over {m['weight_norm_layers']} layers, torch's effective weight "
            f"`g · v / ‖v‖` differs from the graph's dequantized weight by at most "
            f"{m['weight_norm_max_rel_error']:.1e} of the layer's largest weight. "
            f"{m['dead_rows']} output rows are all zero after quantization (v = 1, g = 0).",
            "",
        ]
    if "stages" in r:
        lines += [
            "## Stage by stage (torch fed the graph's own input for the stage)",
            "",
            "| sentence | ALBERT layer (worst of 12, graph's rounding reproduced) | "
            "duration LSTM | F0 | energy | vocoder correlation | vocoder log-mel dB |",
            "|---|---|---|---|---|---|---|",
        ]
        for lang, s in r["stages"].items():
            lines.append(
                f"| {lang} | {s['albert_layer']:.1e} | {s['duration_lstm']:.1e} | "
                f"{s['f0']:.1e} | {s['n']:.1e} | {s['decoder_correlation']:.3f} | "
                f"{s['decoder_log_mel_db']:.2f} |"
            )
        lines += ["", "(relative errors ‖torch − graph‖ / ‖graph‖)", ""]
    if "parity" in r:
        rows = r["parity"]["rows"]
        tokens = sum(x["tokens"] for x in rows)
        differing = [d | {"text": x["text"]} for x in rows for d in x["differing"]]
        noise = [x for x in rows if "noise_log_mel_db" in x]
        lines += [
            "## End to end, no vocoder noise on either side",
            "",
            f"{len(rows)} sentences, {tokens} tokens: durations equal for "
            f"{tokens - len(differing)} ({1 - len(differing) / tokens:.1%}); "
            f"{sum(x['durations_equal'] for x in rows)} sentences have all durations equal. "
            f"Largest unrounded difference {max(x['max_raw_diff'] for x in rows):.2f} frames.",
            "",
            "| sentence | token (index) | graph | torch | graph unrounded | torch unrounded |",
            "|---|---|---|---|---|---|",
            *[
                f"| {d['text'][:40]} | {d['token']} ({d['index']}) | {d['onnx']} | {d['torch']} "
                f"| {d['onnx_raw']:.3f} | {d['torch_raw']:.3f} |"
                for d in differing
            ],
            "",
            "Audio with the graph's durations on both sides: log-mel distance "
            f"{min(x['log_mel_db'] for x in rows):.2f}–{max(x['log_mel_db'] for x in rows):.2f} "
            f"dB (mean {sum(x['log_mel_db'] for x in rows) / len(rows):.2f}), waveform "
            f"correlation {min(x['correlation'] for x in rows):.2f}–"
            f"{max(x['correlation'] for x in rows):.2f}.",
        ]
        if noise:
            lines.append(
                f"Torch against itself with Kokoro's random vocoder noise ({len(noise)} "
                f"sentences): log-mel {min(x['noise_log_mel_db'] for x in noise):.2f}–"
                f"{max(x['noise_log_mel_db'] for x in noise):.2f} dB, correlation "
                f"{min(x['noise_correlation'] for x in noise):.3f}–"
                f"{max(x['noise_correlation'] for x in noise):.3f}."
            )
        lines.append("")
    if "roundtrip" in r:
        t = r["roundtrip"]
        lines += [
            "## Whisper round trip (12 Polish sentences, whisper-base, language='pl')",
            "",
            "| backend | CER (95 % CI) | WER (95 % CI) |",
            "|---|---|---|",
            *[f"| {k} | {rate_text(v, 'cer')} | {rate_text(v, 'wer')} |" for k, v in t.items()],
            "",
        ]
    if "export" in r:
        e = r["export"]
        lines += [
            "## speechlab's own ONNX exports of the imported model",
            "",
            f"`export_onnx(deterministic=True)` ({e['export_seconds']:.0f} s for all three), "
            "each against torch with the same fixed vocoder noise (`export.parity`), speed 1.1, "
            f"on: {e['sentence']}",
            "",
            "| variant | size MB | durations equal | log-mel dB | correlation | max abs / peak |",
            "|---|---|---|---|---|---|",
            *[
                f"| {k} | {v['megabytes']:.0f} | {'yes' if v['durations_equal'] else 'no'} | "
                f"{v['log_mel_db']:.3f} | {v['correlation']:.5f} | "
                f"{v['max_abs'] / v['peak']:.3f} |"
                for k, v in e["variants"].items()
            ],
            "",
        ]
    (RESULTS / "kokoro_import.md").write_text("\n".join(lines) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--worker", choices=PARTS)
    parser.add_argument("--parts", default=",".join(PARTS))
    parser.add_argument("--fresh", action="store_true")
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(WORKERS[args.worker](), ensure_ascii=False))
        return
    run_all(
        "kokoro_import",
        args.parts.split(","),
        lambda part: run_part(__file__, part),
        write_markdown,
        fresh=args.fresh,
    )


if __name__ == "__main__":
    main()
