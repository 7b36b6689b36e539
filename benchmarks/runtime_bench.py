"""wav2vec2 CTC runtimes: speechlab's own (``runtime="speechlab"``) vs transformers' model code.

What the README's "Inference runtime" paragraph quotes, measured in one invocation:

* ``forward``  the forward pass (``log_probs``: the model plus log-softmax) of both runtimes on
               the xlsr-53-large architecture (randomly initialised, as in ``asr_bench.py``)
               for batches of equal-length random clips, 1 × 20 s, 2 × 10 s, 4 × 5 s and
               8 × 2 s (no padding), both loaded in one process and timed alternately,
               ``--repeats`` rounds: median and range of the per-round ratio
               (transformers seconds / speechlab seconds), and the largest logit difference.
* ``compile``  speechlab's runtime eager vs ``torch.compile`` of its model, 1 × 20 s,
               alternating after the compiled model's warm-up (compile time reported apart).

Results: ``results/runtime_bench.json`` and ``.md`` (each part with its machine and commit;
``--smoke`` uses a 2-layer model and writes ``.cache/smoke/`` instead).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import RESULTS, THREADS, machine_lines, run_all, run_part, spread, spread_text

HERE = Path(__file__).resolve().parent
CACHE = HERE / ".cache"
PARTS = ["forward", "compile"]
SHAPES = [(1, 20.0), (2, 10.0), (4, 5.0), (8, 2.0)]  # (clips, seconds each)
REPEATS = 5
OUT = {"dir": RESULTS}


def _batch(clips: int, seconds: float) -> list:
    import numpy as np

    rng = np.random.default_rng(clips)
    return [
        (0.1 * rng.standard_normal(int(seconds * 16_000))).astype(np.float32) for _ in range(clips)
    ]


def _alternate(calls: dict[str, Callable[[], object]], repeats: int) -> dict[str, list[float]]:
    """Seconds per call of each, one warm-up call each, then ``repeats`` alternating rounds."""
    for call in calls.values():
        call()
    seconds: dict[str, list[float]] = {name: [] for name in calls}
    for i in range(repeats):
        order = list(calls) if i % 2 == 0 else list(reversed(calls))
        for name in order:
            start = time.perf_counter()
            calls[name]()
            seconds[name].append(time.perf_counter() - start)
    return seconds


def work_forward(repeats: int) -> dict:
    import numpy as np
    import torch
    from asr_bench import xlsr53_dir

    import speechlab

    torch.set_num_threads(THREADS)
    folder = xlsr53_dir()
    ours = speechlab.load_asr(folder, threads=THREADS, decoder="greedy", runtime="speechlab")
    theirs = speechlab.load_asr(folder, threads=THREADS, decoder="greedy", runtime="transformers")
    out = {}
    for clips, seconds in SHAPES:
        waves = _batch(clips, seconds)
        diff = max(
            float(np.abs(a - b).max())
            for a, b in zip(ours.log_probs(waves), theirs.log_probs(waves), strict=True)
        )
        times = _alternate(
            {"speechlab": lambda w=waves: ours.log_probs(w),
             "transformers": lambda w=waves: theirs.log_probs(w)},
            repeats,
        )  # fmt: skip
        ratios = [t / s for s, t in zip(times["speechlab"], times["transformers"], strict=True)]
        out[f"{clips}x{seconds:g}s"] = {
            "speechlab_seconds": spread(times["speechlab"]),
            "transformers_seconds": spread(times["transformers"]),
            "ratio": spread(ratios),
            "max_log_prob_difference": diff,
        }
    return out


def work_compile(repeats: int) -> dict:
    """A cold compile: inductor keeps compiled kernels on disk (``/tmp/torchinductor_<user>``),
    and with a warm cache a second invocation on a Zen 4 EPYC compiled in 9.8 s (75–83 s
    cold)."""
    with tempfile.TemporaryDirectory(prefix="inductor-") as cold:
        os.environ["TORCHINDUCTOR_CACHE_DIR"] = cold
        return {**_compile(repeats), "inductor_cache": "cold"}


def _compile(repeats: int) -> dict:
    import torch
    from asr_bench import xlsr53_dir

    import speechlab

    torch.set_num_threads(THREADS)
    folder = xlsr53_dir()
    eager = speechlab.load_asr(folder, threads=THREADS, decoder="greedy", runtime="speechlab")
    compiled = speechlab.load_asr(folder, threads=THREADS, decoder="greedy", runtime="speechlab")
    model = compiled.model  # not an nn.Module: compile its call, keep its other attributes
    forward = torch.compile(model)

    class Compiled:
        def __getattr__(self, name: str) -> object:
            return getattr(model, name)

        def __call__(self, *args: object) -> object:
            return forward(*args)

    compiled.model = Compiled()
    waves = _batch(1, 20.0)
    start = time.perf_counter()
    compiled.log_probs(waves)  # compiles
    compile_seconds = time.perf_counter() - start
    times = _alternate(
        {"eager": lambda: eager.log_probs(waves), "compiled": lambda: compiled.log_probs(waves)},
        repeats,
    )
    ratios = [e / c for e, c in zip(times["eager"], times["compiled"], strict=True)]
    return {
        "shape": "1x20s",
        "compile_seconds": compile_seconds,
        "eager_seconds": spread(times["eager"]),
        "compiled_seconds": spread(times["compiled"]),
        "speedup": spread(ratios),  # eager seconds / compiled seconds: above 1, compile helps
        "torch": torch.__version__,
    }


def write_markdown(results: dict) -> None:
    r = results["parts"]
    lines = ["# wav2vec2 CTC runtimes: speechlab's vs transformers'", "", *machine_lines(results)]
    lines += [
        "",
        "xlsr-53 large architecture, randomly initialised (speed does not depend on weight "
        f"values), {THREADS} threads, random clips of equal length per batch (no padding). "
        "Each figure: median (min–max) over alternating rounds in one process.",
        "",
    ]
    if "forward" in r:
        lines += [
            "## Forward pass (`log_probs`), speechlab runtime vs transformers runtime",
            "",
            "| batch | speechlab s | transformers s | **transformers / speechlab** | "
            "max log-prob difference |",
            "|---|---|---|---|---|",
        ]
        for shape, row in r["forward"].items():
            lines.append(
                f"| {shape} | {spread_text(row['speechlab_seconds'])} | "
                f"{spread_text(row['transformers_seconds'])} | **{spread_text(row['ratio'])}×** | "
                f"{row['max_log_prob_difference']:.1e} |"
            )
        lines.append("")
    if "compile" in r:
        c = r["compile"]
        lines += [
            "## `torch.compile` of speechlab's runtime (1 × 20 s)",
            "",
            f"Eager {spread_text(c['eager_seconds'])} s, "
            f"compiled {spread_text(c['compiled_seconds'])} s: "
            f"eager / compiled = **{spread_text(c['speedup'])}×** (above 1, compiling helps); "
            f"compiling took {c['compile_seconds']:.0f} s (torch {c['torch']}).",
            "",
        ]
    (OUT["dir"] / "runtime_bench.md").write_text("\n".join(lines) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--worker")
    parser.add_argument("--parts", default=",".join(PARTS))
    parser.add_argument("--repeats", type=int, default=REPEATS)
    parser.add_argument("--fresh", action="store_true", help="measure the named parts again")
    parser.add_argument("--smoke", action="store_true", help="a quick run that measures nothing")
    args = parser.parse_args()
    if args.worker:
        work = {"forward": work_forward, "compile": work_compile}[args.worker]
        print(json.dumps(work(args.repeats)))
        return
    if args.repeats < 5 and not args.smoke:
        raise SystemExit("--repeats must be at least 5: quoted ratios are medians")
    if args.smoke:
        import harness

        os.environ["SPEECHLAB_BENCH_SMOKE"] = "1"  # asr_bench's 2-layer model in the workers
        harness.RESULTS = OUT["dir"] = CACHE / "smoke"

    def run(part: str) -> dict:
        return run_part(__file__, part, "--repeats", str(args.repeats))

    run_all("runtime_bench", args.parts.split(","), run, write_markdown, fresh=args.fresh)


if __name__ == "__main__":
    main()
