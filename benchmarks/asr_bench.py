"""ASR benchmark: speechlab vs the transformers pipeline (wav2vec2) and raw faster-whisper.

Every part runs in its own subprocess (clean peak RSS) and is saved to
``results/asr_bench.json`` as soon as it finishes; a rerun skips finished parts, so an
interrupted run resumes. ``results/asr_bench.md`` is rewritten from the JSON each time.

Parts
* ``roofline``          fp32 matmul GFLOP/s of this machine (torch, same threads).
* ``w2v2_speechlab``    xlsr-53-large config (randomly initialised: speed does not
  ``w2v2_pipeline``     depend on weight values), same clips, same threads, batch size 8 in
                        the clips' order (the pipeline's "default call");
                        each also measures the roofline in its own process right before and
                        after its timed run (the machine's matmul speed drifts between runs).
* ``w2v2_pipeline_b1``  the pipeline at batch size 1 (no padding at all), and
  ``w2v2_pipeline_sorted``  at batch size 8 with the clips sorted by length (what a careful
                        user does); speechlab's ratio is quoted against the best pipeline row.
  Every wav2vec2 row reports GFLOP/s twice: the FLOPs its forward passes executed (padding
  included; counted with torch's FlopCounterMode on an untimed repeat of the same call) and
  the useful FLOPs (each clip alone, unpadded), both over the same wall time.
* ``w2v2_speechlab_transformers``  speechlab batching on transformers' runtime instead of its own.
* ``gemm_ceiling``      the fp32 GFLOP/s of xlsr-53's own transformer GEMMs (a 20 s window:
                        1,000 frames) beside the 2048² roofline, in one process: the most any
                        fp32 runtime could reach if every non-matmul operation were free.
* ``w2v2_long``         one long file through speechlab (block reading + chunking), peak RSS.
* ``whisper_speechlab`` whisper-base (real weights, int8) on the same clips, vs faster-whisper
  ``whisper_raw``       called directly, in one process alternating clip by clip; WER against
                        the clips' reference text.
* ``headline``          ``--repeats`` (5) alternating runs, speechlab then the pipeline at
                        batch 1 (the best pipeline configuration in the rows above), each a
                        fresh process timing the same clips after the same one-second warm-up:
                        median and range of each side's wall time and of the per-round ratio.

The clips are real speech: 1-30 s cuts of the 30 s English telephone recording shipped in
the pyannote-audio wheel (with its transcript), plus Polish sentences spoken by Kokoro-82M.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import (
    RESULTS,
    THREADS,
    machine_lines,
    peak_rss_mb,
    run_all,
    run_part,
    spread,
    spread_text,
)

HERE = Path(__file__).resolve().parent
CACHE = HERE / ".cache"
BATCH = 8
#: ``--smoke`` (SPEECHLAB_BENCH_SMOKE=1 in the workers): three short clips, a 2-layer model of
#: the same family, results under .cache/smoke/; checks the script runs, measures nothing.
SMOKE = os.environ.get("SPEECHLAB_BENCH_SMOKE") == "1"
CLIP_SECONDS = [1, 2, 3, 4, 5, 6, 8, 10, 12, 15, 18, 20, 24, 27, 30, 2.5, 7, 11, 14, 22]
if SMOKE:
    CLIP_SECONDS = [1, 3, 2]
PIPELINES = ["w2v2_pipeline", "w2v2_pipeline_b1", "w2v2_pipeline_sorted"]
PARTS = [
    "roofline",
    "w2v2_speechlab",
    *PIPELINES,
    "whisper_speechlab",
    "whisper_raw",
    "w2v2_long",
    "w2v2_speechlab_bf16",
    "w2v2_speechlab_transformers",
    "gemm_ceiling",
    "headline",
]
HEADLINE_PEER = "pipeline_b1"
REPEATS = 5  # alternating runs behind the headline ratio


# --------------------------------------------------------------------------- data


def english():
    from speechlab.samples import english_sample

    return english_sample(CACHE / "pyannote")


def clips() -> list[tuple[np.ndarray, str]]:
    """Mixed-length real clips at 16 kHz with reference text (English cuts + Polish TTS)."""
    import speechlab
    from speechlab.selfcheck import SELF_CHECK_TEXT, speak_phonemes

    sample = english()
    audio = speechlab.load(sample.path).samples
    out = []
    for seconds in CLIP_SECONDS:
        start = max(0.0, 30.0 - seconds) / 2
        end = start + seconds
        text = sample.text_between(start, end)
        out.append((audio[int(start * 16_000) : int(end * 16_000)], text))
    kokoro = speechlab.store.assemble("kokoro-82m-int8")
    polish = speak_phonemes(kokoro)[0].resample(16_000).samples
    out += [(polish, SELF_CHECK_TEXT), (np.concatenate([polish, polish]), SELF_CHECK_TEXT * 2)]
    return out


def xlsr53_dir() -> Path:
    """A randomly initialised model with the xlsr-53-large architecture and a Polish vocab."""
    folder = CACHE / ("xlsr53-smoke-random" if SMOKE else "xlsr53-large-random")
    if (folder / "model.safetensors").is_file():
        return folder
    import torch
    from transformers import Wav2Vec2Config, Wav2Vec2ForCTC

    from speechlab.asr.ctc_files import write_ctc_processor

    labels = write_ctc_processor(folder, "'-abcdefghijklmnopqrstuvwxyzóąćęłńśźż")
    torch.manual_seed(0)
    config = Wav2Vec2Config(
        vocab_size=len(labels),
        hidden_size=256 if SMOKE else 1024,
        num_hidden_layers=2 if SMOKE else 24,
        num_attention_heads=4 if SMOKE else 16,
        intermediate_size=1024 if SMOKE else 4096,
        conv_dim=(512,) * 7,
        feat_extract_norm="layer",
        do_stable_layer_norm=True,
        feat_proj_dropout=0.0,
        pad_token_id=0,
        architectures=["Wav2Vec2ForCTC"],
    )
    Wav2Vec2ForCTC(config).save_pretrained(folder)
    return folder


# --------------------------------------------------------------------------- workers


def model_flops(model_dir: Path, lengths: list[int]) -> float:
    """Forward FLOPs for clips of these lengths, counted on the meta device (no compute)."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode
    from transformers import AutoConfig, Wav2Vec2ForCTC

    config = AutoConfig.from_pretrained(model_dir)
    with torch.device("meta"):
        model = Wav2Vec2ForCTC(config).eval()
    total = 0
    for n in lengths:
        with FlopCounterMode(display=False) as counter, torch.no_grad():
            model(torch.zeros(1, n, device="meta"))
        total += counter.get_total_flops()
    return float(total)


def executed_flops(call: Callable[[], object]) -> float:
    """FLOPs that ``call()`` really executes (padded batches included), counted by running it
    once more under torch's FlopCounterMode (matmuls, convolutions, attention)."""
    from torch.utils.flop_counter import FlopCounterMode

    with FlopCounterMode(display=False) as counter:
        call()
    return float(counter.get_total_flops())


def _materialise_weight_norm(model: Any) -> None:
    """Replace torch's weight-norm parametrization of transformers' positional conv by the
    weight it computes: FlopCounterMode cannot evaluate the parametrization under inference
    mode (speechlab's) and fails with "'ParametrizedConv1d' object has no attribute
    'weight'". Same weights, same FLOPs; only the counting repeat runs after this."""
    from torch.nn.utils import parametrize

    module = getattr(model, "module", None)  # TransformersCTC; speechlab's runtime has none
    for part in module.modules() if module is not None else ():
        if parametrize.is_parametrized(part, "weight"):
            parametrize.remove_parametrizations(part, "weight", leave_parametrized=True)


def _best_seconds(call: Callable[[], object], repeats: int = 5, inner: int = 5) -> float:
    """Seconds per call, the best of ``repeats`` timings of ``inner`` calls, after warm-up."""
    for _ in range(3):
        call()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(inner):
            call()
        best = min(best, (time.perf_counter() - start) / inner)
    return best


def _with_roofline(work: Callable[[], dict]) -> dict:
    """``work()``'s results plus the roofline measured in this process right before and after."""
    before = work_roofline()["gflops"]
    out = work()
    after = work_roofline()["gflops"]
    # the higher of the two is the stricter reference
    return {"roofline_before": before, "roofline_after": after,
            "roofline_gflops": max(before, after), **out}  # fmt: skip


def work_roofline() -> dict:
    import torch

    torch.set_num_threads(THREADS)
    n = 256 if SMOKE else 2048
    a, b = torch.randn(n, n), torch.randn(n, n)
    return {"gflops": 2 * n**3 / _best_seconds(lambda: a @ b) / 1e9, "matrix": n}


def work_gemm_ceiling() -> dict:
    import torch

    torch.set_num_threads(THREADS)
    frames, width, inner = 1000, 1024, 4096  # one 20 s window of xlsr-53 large
    shapes = [(width, width)] * 4 + [(width, inner), (inner, width)]  # q k v out, FF in/out

    def gemms() -> dict:
        flops, seconds = 0.0, 0.0
        for k, n in shapes:
            x, w, b = torch.randn(frames, k), torch.randn(n, k), torch.randn(n)
            seconds += _best_seconds(lambda: torch.nn.functional.linear(x, w, b), inner=10)  # noqa: B023
            flops += 2 * frames * k * n
        return {"gemm_gflops": flops / seconds / 1e9}

    return _with_roofline(gemms)


def work_w2v2(system: str, count: bool = True) -> dict:
    """One timed transcription of the clips by ``system``; with ``count``, also the roofline
    around it and the FLOPs it executed (untimed repeat)."""
    import torch

    torch.set_num_threads(THREADS)
    data = clips()
    waves = [w for w, _ in data]
    model_dir = xlsr53_dir()
    seconds = sum(len(w) for w in waves) / 16_000
    if system.startswith("speechlab"):
        import speechlab

        dtype = "bfloat16" if system.endswith("bf16") else None
        runtime = "transformers" if system.endswith("transformers") else "auto"
        recognizer = speechlab.load_asr(
            model_dir, threads=THREADS, decoder="greedy", dtype=dtype, runtime=runtime
        )
        run = lambda: recognizer.transcribe(  # noqa: E731
            [speechlab.Audio(w, 16_000) for w in waves], batch_size=BATCH, progress=False
        )
    else:
        from transformers import pipeline

        pipe = pipeline("automatic-speech-recognition", model=str(model_dir), device=-1)
        batch = 1 if system.endswith("_b1") else BATCH
        order = sorted(waves, key=len) if system.endswith("_sorted") else waves
        run = lambda: pipe([w.copy() for w in order], batch_size=batch)  # noqa: E731
    run_once = [waves[0][:16_000]]  # warm-up on one second
    if system.startswith("speechlab"):
        recognizer.transcribe(speechlab.Audio(run_once[0], 16_000))
    else:
        pipe(run_once[0].copy())

    def timed() -> dict:
        start = time.perf_counter()
        run()
        return {"wall_seconds": time.perf_counter() - start}

    if not count:
        return {**timed(), "audio_seconds": seconds, "peak_rss_mb": peak_rss_mb()}
    out = _with_roofline(timed)
    rss = peak_rss_mb()  # before the counting repeat, whose bookkeeping is not the system's
    wall = out["wall_seconds"]
    useful = model_flops(model_dir, [len(w) for w in waves])
    if system.startswith("speechlab"):
        _materialise_weight_norm(recognizer.model)
    executed = executed_flops(run)
    return {
        **out,
        "audio_seconds": seconds,
        "throughput": seconds / wall,
        "gflops_achieved": useful / wall / 1e9,  # useful FLOPs (each clip alone, unpadded)
        "gflops_executed": executed / wall / 1e9,  # what the forward passes really ran
        "padding_overhead": executed / useful,
        "peak_rss_mb": rss,
        "clips": len(waves),
    }


def work_w2v2_long(minutes: float) -> dict:
    import soundfile as sf
    import torch

    import speechlab

    torch.set_num_threads(THREADS)
    model_dir = xlsr53_dir()
    path = CACHE / f"long-{minutes:g}min.flac"
    if not path.is_file():
        base = speechlab.load(english().path).samples
        with sf.SoundFile(path, "w", 16_000, 1, subtype="PCM_16") as f:
            written = 0
            while written < minutes * 60 * 16_000:
                f.write(base)
                written += len(base)
    from speechlab.asr.feature_chunks import DEFAULT_CHUNK_FRAMES

    recognizer = speechlab.load_asr(model_dir, threads=THREADS, decoder="greedy")
    footprint = sum(p.numel() * p.element_size() for p in recognizer.model.parameters()) / 2**20
    rss_loaded = peak_rss_mb()
    # The model's working footprint: the same process transcribing one 20 s clip (twice, so
    # that every weight page is resident), before the long file.
    clip = speechlab.Audio(speechlab.load(english().path).samples[: 20 * 16_000], 16_000)
    for _ in range(2):
        recognizer.transcribe(clip)
    rss_clip = peak_rss_mb()
    start = time.perf_counter()
    t = recognizer.transcribe(path, batch_size=4)
    wall = time.perf_counter() - start
    return {
        "audio_seconds": t.duration,
        "wall_seconds": wall,
        "throughput": t.duration / wall,
        "model_mb": footprint,
        "rss_after_load_mb": rss_loaded,
        "rss_one_clip_mb": rss_clip,
        "peak_rss_mb": peak_rss_mb(),
        "rss_over_model": peak_rss_mb() / footprint,
        "rss_over_one_clip": peak_rss_mb() / rss_clip,
        "chars": len(t.chars),
        "feature_chunk_frames": DEFAULT_CHUNK_FRAMES if recognizer.chunked_features else 0,
    }


def work_whisper_ab() -> dict:
    """speechlab and faster-whisper direct in one process, alternating clip by clip."""
    import jiwer
    from faster_whisper import WhisperModel

    import speechlab
    from speechlab.textnorm import plain

    data = clips()
    seconds = sum(len(w) for w, _ in data) / 16_000
    model_dir = speechlab.store.assemble("whisper-base")
    recognizer = speechlab.load_asr(model_dir, threads=THREADS)
    model = WhisperModel(str(model_dir), device="cpu", compute_type="int8", cpu_threads=THREADS)
    langs = ["en"] * len(CLIP_SECONDS) + ["pl", "pl"]

    def speechlab_run(wave: np.ndarray, lang: str) -> str:
        return recognizer.transcribe(speechlab.Audio(wave, 16_000), language=lang).text

    def raw_run(wave: np.ndarray, lang: str) -> str:
        segments, _ = model.transcribe(
            wave, language=lang, word_timestamps=True, condition_on_previous_text=False
        )
        return " ".join(s.text.strip() for s in segments)

    systems = {"speechlab": speechlab_run, "raw": raw_run}
    for run in systems.values():  # warm-up
        run(data[0][0], "en")
    walls = dict.fromkeys(systems, 0.0)
    texts: dict[str, list[str]] = {name: [] for name in systems}
    for i, ((wave, _), lang) in enumerate(zip(data, langs, strict=True)):
        order = list(systems) if i % 2 == 0 else list(reversed(systems))
        for name in order:
            start = time.perf_counter()
            texts[name].append(systems[name](wave, lang))
            walls[name] += time.perf_counter() - start
    refs = [plain(t) for _, t in data]
    keep = [i for i, r in enumerate(refs) if r]
    out = {}
    for name in systems:
        hyps = [plain(t) or "<empty>" for t in texts[name]]
        out[name] = {
            "audio_seconds": seconds,
            "wall_seconds": walls[name],
            "throughput": seconds / walls[name],
            "wer": jiwer.wer([refs[i] for i in keep], [hyps[i] for i in keep]),
            "peak_rss_mb": peak_rss_mb(),  # of the shared process
            "clips": len(data),
            "measured": "same process, alternating clip by clip",
        }
    return out


def headline(repeats: int) -> dict:
    """``repeats`` alternating runs (speechlab, peer, speechlab, peer, …), each in a fresh
    process; the per-round ratio is peer wall / speechlab wall (above 1, speechlab is faster)."""
    runs: dict[str, list[dict]] = {"speechlab": [], HEADLINE_PEER: []}
    for i in range(repeats):
        print(f"  headline round {i + 1}/{repeats}", flush=True)
        for name in runs:
            runs[name].append(run_part(__file__, f"timed_{name}"))
    walls = {name: [r["wall_seconds"] for r in found] for name, found in runs.items()}
    ratios = [p / m for m, p in zip(walls["speechlab"], walls[HEADLINE_PEER], strict=True)]
    audio = runs["speechlab"][0]["audio_seconds"]
    return {
        "repeats": repeats,
        "peer": HEADLINE_PEER,
        "order": "speechlab, peer, speechlab, peer, …",
        "audio_seconds": audio,
        "wall_seconds": {name: spread(w) for name, w in walls.items()},
        "throughput": {name: spread([audio / x for x in w]) for name, w in walls.items()},
        "peak_rss_mb": {
            name: spread([r["peak_rss_mb"] for r in found]) for name, found in runs.items()
        },
        "ratio": spread(ratios),
        "runs": runs,
    }


def _headline_lines(h: dict | None) -> list[str]:
    if not h:
        return []
    peer = h["peer"]
    return [
        f"## Headline: wall time for the same clips (median and range of {h['repeats']} "
        "alternating runs)",
        "",
        f"speechlab (batch size {BATCH}) and the transformers pipeline at batch 1 (its best "
        "configuration in the single-run table below), alternating, each run a fresh process "
        f"with the same one-second warm-up, {h['audio_seconds']:.0f} s of audio. Ratio = "
        "pipeline wall / speechlab wall, per round: above 1, speechlab is faster.",
        "",
        "| | speechlab | pipeline, batch 1 |",
        "|---|---|---|",
        f"| wall s | {spread_text(h['wall_seconds']['speechlab'], 1)} | "
        f"{spread_text(h['wall_seconds'][peer], 1)} |",
        f"| throughput (audio s / s) | {spread_text(h['throughput']['speechlab'])} | "
        f"{spread_text(h['throughput'][peer])} |",
        f"| peak RSS MB | {spread_text(h['peak_rss_mb']['speechlab'], 0)} | "
        f"{spread_text(h['peak_rss_mb'][peer], 0)} |",
        "",
        f"**Speed ratio (wall): {spread_text(h['ratio'])}×**",
        "",
        "## Single runs",
        "",
    ]


# --------------------------------------------------------------------------- driver


def write_markdown(results: dict) -> None:
    r = results["parts"]
    lines = ["# ASR benchmark", "", *machine_lines(results), ""]
    lines += _headline_lines(r.get("headline"))
    lines += [
        "wav2vec2 numbers use a **randomly initialised** model with the "
        "`jonatasgrosman/wav2vec2-large-xlsr-53-polish` architecture (xlsr-53 large, 315 M "
        "parameters): speed does not depend on weight values, so they stand for the real "
        "checkpoint. Whisper numbers use real `whisper-base` weights (int8). Clips: "
        f"{len(CLIP_SECONDS)} cuts (1-30 s) of real English telephone speech + 2 Polish "
        "Kokoro utterances, same clips, same threads "
        f"({THREADS}), one run per row. Pipeline rows: batch size {BATCH} on the clips in "
        "their order (what a default call costs), batch size 1, and batch size "
        f"{BATCH} on length-sorted clips; speechlab (batch size {BATCH}, it sorts by length "
        "itself) is compared with the **best** of them. The `runtime='transformers'` row runs "
        "speechlab's batching on transformers' model code: most of the gap to the default "
        "pipeline call is batching (padding), not the runtime.",
        "",
        "GFLOP/s: *useful* counts each clip's forward pass alone, unpadded; *executed* counts "
        "what the forward passes really ran, padding included (torch FlopCounterMode on an "
        "untimed repeat); both over the same wall time.",
        "",
    ]
    if "roofline" in r:
        lines.append(
            f"fp32 matmul roofline (2048², {THREADS} threads), own process: "
            f"**{r['roofline']['gflops']:.1f} GFLOP/s**. Each wav2vec2 row also measures it in "
            "its own process right before and after its timed run and states its GFLOP/s as a "
            "share of the higher of the two (this machine's matmul speed drifts by up to ~20 % "
            "between processes): "
            + ", ".join(
                f"{k.removeprefix('w2v2_')} {v['roofline_before']:.0f}/{v['roofline_after']:.0f}"
                for k, v in r.items()
                if "roofline_before" in v
            )
            + " GFLOP/s."
        )
        lines.append("")
    lines += [
        "| system | audio s | wall s | throughput (audio s / s) | vs best peer | "
        "GFLOP/s useful (% roofline) | GFLOP/s executed | peak RSS MB | WER |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    best = best_pipeline(r)
    pairs = [
        ("w2v2_speechlab", best),
        *((name, None) for name in PIPELINES),
        ("w2v2_speechlab_transformers", best),
        ("w2v2_speechlab_bf16", best),
        ("whisper_speechlab", "whisper_raw"),
        ("whisper_raw", None),
    ]
    names = {
        "w2v2_speechlab": "speechlab wav2vec2 (xlsr-53 large; speechlab's runtime)",
        "w2v2_speechlab_transformers": "speechlab wav2vec2, `runtime='transformers'`",
        "w2v2_pipeline": f"transformers pipeline, batch {BATCH}, clips in order (default call)",
        "w2v2_pipeline_b1": "transformers pipeline, batch 1",
        "w2v2_pipeline_sorted": f"transformers pipeline, batch {BATCH}, length-sorted clips",
        "w2v2_speechlab_bf16": (
            f"speechlab wav2vec2, `dtype='bfloat16'` ({bf16_hardware(results)}; % of fp32 roofline)"
        ),
        "whisper_speechlab": "speechlab whisper-base",
        "whisper_raw": "faster-whisper direct (same model, same process, alternating)",
    }
    for name, peer in pairs:
        if name not in r:
            continue
        p = r[name]
        roof = _roofline(r, name)
        ratio = f"{p['throughput'] / r[peer]['throughput']:.2f}×" if peer in r else ""
        gf = ""
        if "gflops_achieved" in p:
            gf = f"{p['gflops_achieved']:.1f}"
            if roof:
                gf += f" ({100 * p['gflops_achieved'] / roof:.0f} %)"
        if peer and peer in r and name.startswith("w2v2_"):
            ratio += f" ({peer.removeprefix('w2v2_')})"
        executed = f"{p['gflops_executed']:.1f}" if "gflops_executed" in p else ""
        wer = f"{p['wer']:.3f}" if "wer" in p else ""
        lines.append(
            f"| {names[name]} | {p['audio_seconds']:.0f} | {p['wall_seconds']:.1f} | "
            f"{p['throughput']:.2f} | {ratio} | {gf} | {executed} | {p['peak_rss_mb']:.0f} "
            f"| {wer} |"
        )
    if "w2v2_long" in r:
        p = r["w2v2_long"]
        lines += [
            "",
            f"Long file: {p['audio_seconds'] / 60:.0f} min through speechlab (xlsr-53 large, "
            "read in blocks, 20 s windows with 2 s context, the conv feature encoder in "
            f"{p.get('feature_chunk_frames', 0) * 0.02:g} s slices): {p['throughput']:.2f} "
            "audio s/s. "
            f"Peak RSS {p['peak_rss_mb']:.0f} MB = **{p['rss_over_one_clip']:.2f}×** the same "
            f"process transcribing one 20 s clip ({p['rss_one_clip_mb']:.0f} MB), and "
            f"{p['rss_over_model']:.2f}× the {p['model_mb']:.0f} MB of parameters (the process "
            f"right after loading, weights mapped but not yet read: {p['rss_after_load_mb']:.0f} "
            "MB).",
        ]
    if "gemm_ceiling" in r:
        p = r["gemm_ceiling"]
        lines += [
            "",
            "fp32 ceiling: xlsr-53's own transformer GEMMs (a 20 s window, 1,000 frames: "
            f"q/k/v/out 1024², feed-forward 1024×4096) run at {p['gemm_gflops']:.0f} GFLOP/s "
            f"= **{100 * p['gemm_gflops'] / p['roofline_gflops']:.0f} %** of the roofline "
            f"measured in the same process ({p['roofline_before']:.0f}/"
            f"{p['roofline_after']:.0f} GFLOP/s). That is the most an fp32 forward could reach "
            "if layer norms, GELU, softmax, attention, residual adds and the conv encoder "
            "cost nothing.",
        ]
    lines += ["", "Targets:"] + [f"- {t}" for t in _verdicts(r, bf16_hardware(results))]
    (OUT["dir"] / "asr_bench.md").write_text("\n".join(lines) + "\n")


OUT = {"dir": RESULTS}  # --smoke writes elsewhere


def best_pipeline(r: dict) -> str | None:
    """The fastest transformers-pipeline row measured (the peer at its best)."""
    measured = [name for name in PIPELINES if name in r]
    return max(measured, key=lambda name: r[name]["throughput"]) if measured else None


def _roofline(r: dict, part: str) -> float | None:
    """The fp32 roofline a part is measured against: its own process's, else the roofline part's."""
    own = r[part].get("roofline_gflops")
    return own or r.get("roofline", {}).get("gflops")


def bf16_hardware(results: dict) -> str:
    """What the CPU of the bf16 row runs bf16 matmuls on, from its recorded flags: AMX tiles,
    AVX512-BF16 dot products, or neither (then bf16 is emulated and slower than fp32)."""
    record = (results.get("part_machines") or {}).get("w2v2_speechlab_bf16") or results.get(
        "machine"
    )
    flags = set((record or {}).get("cpu_flags") or [])
    if "amx_bf16" in flags:
        return "AMX"
    if "avx512_bf16" in flags:
        return "AVX512-BF16, no AMX"
    return "no bf16 instructions" if record else "CPU not recorded"


def _verdicts(r: dict, bf16_on: str = "CPU not recorded") -> list[str]:
    out = []
    best = best_pipeline(r)
    if "headline" in r:
        ratio = r["headline"]["ratio"]["median"]
        out.append(
            f"throughput ≥ 1.3× the pipeline at its best (batch 1; median of "
            f"{r['headline']['repeats']} alternating runs): "
            f"{spread_text(r['headline']['ratio'])}× — " + ("met" if ratio >= 1.3 else "NOT met")
        )
    elif "w2v2_speechlab" in r and best:
        ratio = r["w2v2_speechlab"]["throughput"] / r[best]["throughput"]
        out.append(
            f"throughput ≥ 1.3× the pipeline at its best ({best.removeprefix('w2v2_')}): "
            f"{ratio:.2f}× — " + ("met" if ratio >= 1.3 else "NOT met")
        )
    if "w2v2_speechlab" in r and _roofline(r, "w2v2_speechlab"):
        share = r["w2v2_speechlab"]["gflops_achieved"] / _roofline(r, "w2v2_speechlab")
        out.append(
            f"≥ 85 % of the fp32 matmul roofline: {100 * share:.0f} % in fp32 — "
            + ("met" if share >= 0.85 else "NOT met")
        )
        if "w2v2_speechlab_bf16" in r:
            bf16 = r["w2v2_speechlab_bf16"]["gflops_achieved"] / _roofline(r, "w2v2_speechlab_bf16")
            out.append(
                f"bf16 (with `dtype='bfloat16'`, {bf16_on}: {100 * bf16:.0f} % of the fp32 "
                "roofline, at bf16 precision)"
            )
    if "w2v2_long" in r:
        p = r["w2v2_long"]
        out.append(
            f"1-hour file in bounded memory, peak RSS ≤ 1.5× the model's footprint: "
            f"{p['rss_over_one_clip']:.2f}× its working footprint (one 20 s clip) — "
            + ("met" if p["rss_over_one_clip"] <= 1.5 else "NOT met")
            + f"; {p['rss_over_model']:.2f}× its parameter bytes — "
            + ("met" if p["rss_over_model"] <= 1.5 else "NOT met")
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--worker")
    parser.add_argument("--parts", default=",".join(PARTS))
    parser.add_argument("--minutes", type=float, default=60.0, help="length of the long file")
    parser.add_argument("--fresh", action="store_true", help="measure the named parts again")
    parser.add_argument("--repeats", type=int, default=REPEATS, help="headline rounds (>= 5)")
    parser.add_argument("--smoke", action="store_true", help="a quick run that measures nothing")
    args = parser.parse_args()
    if args.worker:
        part = args.worker
        if part == "roofline":
            out = work_roofline()
        elif part == "gemm_ceiling":
            out = work_gemm_ceiling()
        elif part.startswith("timed_"):
            out = work_w2v2(part.removeprefix("timed_"), count=False)
        elif part.startswith("w2v2_long"):
            out = work_w2v2_long(args.minutes)
        elif part.startswith("w2v2_"):
            out = work_w2v2(part.removeprefix("w2v2_"))
        else:
            out = work_whisper_ab()
        print(json.dumps(out))
        return
    pair: dict = {}

    def run(part: str) -> dict:
        if part in ("whisper_speechlab", "whisper_raw"):  # one A/B worker measures both
            if not pair:
                pair.update(run_part(__file__, "whisper_ab"))
            return pair[part.removeprefix("whisper_")]
        if part == "headline":
            return headline(2 if args.smoke else args.repeats)
        return run_part(__file__, part, "--minutes", str(args.minutes))

    if args.smoke:
        import harness

        os.environ["SPEECHLAB_BENCH_SMOKE"] = "1"
        harness.RESULTS = OUT["dir"] = CACHE / "smoke"
    run_all("asr_bench", args.parts.split(","), run, write_markdown, fresh=args.fresh)


if __name__ == "__main__":
    main()
