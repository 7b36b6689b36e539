"""Corpus transcription: the local engine vs Ray (actors x threads) on this machine.

Three configurations, each run in its own process (see harness.py):

* ``local``   — ``transcribe_corpus(engine="local", threads=2)``;
* ``ray_1x2`` — a local Ray cluster (2 CPUs), 1 actor with 2 threads;
* ``ray_2x1`` — the same cluster, 2 actors with 1 thread each.

The one part, ``rounds``, runs them ``--repeats`` times (default 5) in alternation (local,
ray_1x2, ray_2x1, local, …), each run a fresh process, and reports every figure as the
median and range over the rounds; Ray's overhead per clip is taken per round against that
round's local run.

Corpus: ``--clips`` (default 240) clips of 0.8-2.4 s cut from 30 s of real speech (the
pyannote sample), model ``speechlab-pl-ctc`` (v2) in fp32, batches of 8. Reported:
throughput (audio seconds per wall second, clips per second), peak RSS of the driver and
of each Ray actor process (sampled every 0.2 s), the cluster's start time, Ray's overhead
per clip against the local engine, and a projection — from the measured per-actor
throughput, not a measurement — of hours of audio per hour on N nodes like this one.

``--smoke``: 12 clips, results under .cache/smoke/; checks the script runs, measures nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

import harness

HERE = Path(__file__).resolve().parent
CACHE = HERE / ".cache"
MODEL = "speechlab-pl-ctc"
CONFIGS = ["local", "ray_1x2", "ray_2x1"]
PARTS = ["rounds"]
REPEATS = 5
SMOKE = os.environ.get("SPEECHLAB_BENCH_SMOKE") == "1"
NODES = (1, 4, 16, 64)


def make_corpus(clips: int) -> Path:
    """``clips`` clips cut in order (wrapping round) from the pyannote sample."""
    import numpy as np

    import speechlab
    from speechlab.samples import english_sample

    folder = CACHE / f"scale-corpus-{clips}"
    if folder.is_dir() and len(list(folder.glob("*.wav"))) == clips:
        return folder
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    sample = english_sample(Path(sys.prefix) / "speechlab-testdata" / "pyannote-4.0.7")
    audio = speechlab.load(sample.path)
    rng = np.random.default_rng(0)
    start = 0.0
    for i in range(clips):
        end = min(start + float(rng.uniform(0.8, 2.4)), audio.duration)
        piece = audio.samples[int(start * 16_000) : int(end * 16_000)]
        speechlab.audio.Audio(piece, 16_000).save(folder / f"clip{i:04d}.wav")
        start = end if end < audio.duration - 0.8 else 0.0
    return folder


class RayProcessSampler:
    """Peak RSS (MB) of every Ray actor process (``ray::…RayRecognizer``) and CPU seconds
    (user + system, as last seen) of every Ray worker process (``ray::…``: the actors and the
    idle workers Ray starts), by pid. Workers are children of Ray's raylet, which is killed
    at shutdown: their CPU time never reaches this process's reaped children, so the harness
    is told it (``unreaped_cpu_s``) lest it count them as a neighbour's load."""

    def __init__(self) -> None:
        self.peaks: dict[int, float] = {}
        self.cpu: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> RayProcessSampler:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        import psutil

        while not self._stop.wait(0.2):
            for proc in psutil.process_iter(["pid", "name", "cmdline"]):
                title = " ".join(proc.info["cmdline"] or []) or proc.info["name"] or ""
                if not title.startswith("ray::"):
                    continue
                try:
                    rss = proc.memory_info().rss / 2**20
                    times = proc.cpu_times()
                except psutil.Error:  # the process ended between listing and reading
                    continue
                self.cpu[proc.pid] = times.user + times.system
                if "RayRecognizer" in title:
                    self.peaks[proc.pid] = max(self.peaks.get(proc.pid, 0.0), rss)


def work(part: str, clips: int) -> dict:
    from speechlab.scale import local_cluster, transcribe_corpus

    corpus = make_corpus(clips)
    options = {"model_options": {"dtype": "float32"}, "batch_size": 8, "progress": False}
    with tempfile.TemporaryDirectory() as scratch:
        if part == "local":
            started = time.perf_counter()
            run = transcribe_corpus(MODEL, corpus, scratch, threads=2, **options)
            return _result(run, time.perf_counter() - started, None, None, 1, 2)
        actors, threads = (1, 2) if part == "ray_1x2" else (2, 1)
        begun = time.perf_counter()
        with local_cluster(num_cpus=2) as address:
            cluster_s = time.perf_counter() - begun
            with RayProcessSampler() as sampler:
                started = time.perf_counter()
                run = transcribe_corpus(
                    MODEL, corpus, scratch, engine="ray", address=address, actors=actors,
                    threads=threads, **options,
                )  # fmt: skip
                wall = time.perf_counter() - started
        return _result(run, wall, sampler, cluster_s, actors, threads)


def _result(
    run, wall: float, sampler: RayProcessSampler | None, cluster_s, actors: int, threads: int
) -> dict:
    peaks = sampler.peaks if sampler else {}
    out = {
        "actors": actors,
        "threads": threads,
        "clips": run.utterances,
        "errors": run.errors,
        "audio_s": run.audio_seconds,
        "wall_s": round(wall, 2),
        "audio_s_per_s": round(run.audio_seconds / wall, 3),
        "clips_per_s": round(run.utterances / wall, 3),
        "driver_peak_rss_mb": round(harness.peak_rss_mb(), 1),
        "actor_peak_rss_mb": sorted(round(v, 1) for v in peaks.values()),
        "cluster_start_s": None if cluster_s is None else round(cluster_s, 2),
    }
    if sampler:
        out["unreaped_cpu_s"] = round(sum(sampler.cpu.values()), 2)
    return out


def rounds(repeats: int, clips: int) -> dict:
    """``repeats`` alternating rounds of every configuration, each run a fresh process."""
    runs: dict[str, list[dict]] = {name: [] for name in CONFIGS}
    for i in range(repeats):
        print(f"  round {i + 1}/{repeats}", flush=True)
        for name in CONFIGS:
            runs[name].append(harness.run_part(__file__, name, "--clips", str(clips)))
    configs = {name: _summary(found) for name, found in runs.items()}
    overhead = {
        name: harness.spread(
            [
                (ray["wall_s"] - local["wall_s"]) / ray["clips"] * 1000
                for local, ray in zip(runs["local"], runs[name], strict=True)
            ]
        )
        for name in CONFIGS[1:]
    }
    return {
        "repeats": repeats,
        "order": ", ".join(CONFIGS) + ", …",
        "configs": configs,
        "ray_overhead_ms_per_clip": overhead,
        "unreaped_cpu_s": sum(r.get("unreaped_cpu_s", 0.0) for f in runs.values() for r in f),
        "runs": runs,
    }


def _summary(found: list[dict]) -> dict:
    """One configuration's rounds: fixed facts once, every measured figure as a spread."""
    first = found[0]
    out = {k: first[k] for k in ("actors", "threads", "clips", "errors", "audio_s")}
    for key in ("wall_s", "audio_s_per_s", "clips_per_s", "driver_peak_rss_mb"):
        out[key] = harness.spread([r[key] for r in found])
    if first["actor_peak_rss_mb"]:
        out["actor_peak_rss_mb"] = harness.spread([max(r["actor_peak_rss_mb"]) for r in found])
        out["cluster_start_s"] = harness.spread([r["cluster_start_s"] for r in found])
    return out


def write_markdown(results: dict) -> None:
    lines = [
        "# Corpus transcription: local engine vs Ray",
        "",
        f"Model `{MODEL}` (fp32), batches of 8, clips of 0.8-2.4 s of real speech. "
        "Wall time excludes the Ray cluster's start (its own column) and includes each actor "
        "loading the model.",
        "",
        *harness.machine_lines(results),
    ]
    r = results["parts"].get("rounds")
    if r:
        lines += _rounds_lines(r)
    out = harness.RESULTS / "scale_bench.md"
    out.write_text("\n".join(lines) + "\n")


def _rounds_lines(r: dict) -> list[str]:
    configs, fmt = r["configs"], harness.spread_text
    lines = [
        "",
        f"Median and range of {r['repeats']} alternating rounds ({r['order']}), each run a "
        "fresh process.",
        "",
        "| engine | actors x threads | clips | audio s | wall s | audio s / s | clips / s | "
        "driver peak RSS MB | largest actor's peak RSS MB | cluster start s |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, c in configs.items():
        actor = fmt(c["actor_peak_rss_mb"], 0) if "actor_peak_rss_mb" in c else "-"
        start = fmt(c["cluster_start_s"], 2) if "cluster_start_s" in c else "-"
        lines.append(
            f"| {name} | {c['actors']} x {c['threads']} | {c['clips']} | {c['audio_s']:.1f} | "
            f"{fmt(c['wall_s'], 2)} | {fmt(c['audio_s_per_s'], 1)} | "
            f"{fmt(c['clips_per_s'], 1)} | {fmt(c['driver_peak_rss_mb'], 0)} | {actor} | "
            f"{start} |"
        )
    lines.append("")
    for name, s in r["ray_overhead_ms_per_clip"].items():
        lines.append(
            f"Ray overhead per clip ({name} vs local, per round): {fmt(s, 1)} ms (model "
            "loading in each actor included)."
        )
    if "ray_2x1" in configs:
        c = configs["ray_2x1"]
        per_actor = c["audio_s_per_s"]["median"] / c["actors"]  # audio hours per hour
        per_node = per_actor * c["actors"]
        lines += [
            "",
            "**Projection, not a measurement**: from the measured per-actor throughput "
            f"(median {per_actor:.2f} h of audio per hour and actor, {c['actors']} actors per "
            "node like this one), assuming linear scaling (the driver and storage keep up):",
            "",
            "| nodes | hours of audio per hour |",
            "|---|---|",
            *[f"| {n} | {per_node * n:.1f} |" for n in NODES],
        ]
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--worker")
    parser.add_argument("--parts", default=",".join(PARTS))
    parser.add_argument("--clips", type=int, default=240)
    parser.add_argument("--repeats", type=int, default=REPEATS, help="alternating rounds")
    parser.add_argument("--fresh", action="store_true", help="measure the named parts again")
    parser.add_argument("--smoke", action="store_true", help="a quick run that measures nothing")
    args = parser.parse_args()
    clips = 12 if (args.smoke or SMOKE) else args.clips
    if args.worker:
        print(json.dumps(work(args.worker, clips)))
        return
    if args.smoke:
        os.environ["SPEECHLAB_BENCH_SMOKE"] = "1"
        harness.RESULTS = CACHE / "smoke"
    parts = args.parts.split(",")
    if unknown := sorted(set(parts) - set(PARTS)):
        parser.error(f"unknown parts {unknown}; this benchmark has {PARTS}")
    repeats = 2 if args.smoke else args.repeats
    harness.run_all(
        "scale_bench",
        parts,
        lambda part: rounds(repeats, clips),
        write_markdown,
        fresh=args.fresh,
    )


if __name__ == "__main__":
    main()
