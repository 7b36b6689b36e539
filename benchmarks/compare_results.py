"""Set a rerun of the benchmarks beside the committed results: which figures it reproduces.

```bash
make bench-rerun        # every benchmark into benchmarks/rerun/, then this comparison
python benchmarks/compare_results.py benchmarks/results benchmarks/rerun
```

Every numeric figure in the committed JSON files (``results/*.json`` and the evaluation
tables under ``results/eval_report/``) is looked up at the same place in the rerun's files
and judged by what kind of figure it is:

* **repeated measurements** (a ``{median, min, max, n}`` spread, or a list of at least 3
  numbers): reproduced when the rerun's median lies within the committed min–max, the
  spread the README quotes;
* **single timings** (seconds, RTF, latency, throughput, peak RSS, GFLOP/s, …; one run, no
  spread recorded): within ``TIMING_TOLERANCE`` of the committed value; so are the hops a
  stream fed in real time decoded (``partials``, ``model_calls``: an engine behind merges
  hops, so they follow the CPU's speed);
* **quality** (WER, CER, their confidence bounds, parity differences): within
  ``QUALITY_TOLERANCE`` absolute (the same weights on the same inputs; only float noise and
  library versions may move them); a WER/CER stored with its 95 % interval (``cer`` beside
  ``cer_low``/``cer_high`` or ``cer_ci``) is reproduced when the rerun's value lies within
  the committed interval, the spread the README quotes (Whisper samples on clips it is
  unsure of, so a rerun's transcripts of a few synthetic clips may differ); the interval's
  bounds are reproduced when the rerun's interval still holds the committed value;
* **everything else** (sizes, counts, audio lengths, flags): equal, to ``EXACT_TOLERANCE``
  relative.

Raw per-run lists (``runs``, ``repeats``) and the details of an evaluation (per-utterance
``rows``/``utterances``, edit counts) are not compared one by one: their spread, or the
WER/CER they add up to, is.
Machine records are not figures. The report (``reproduction.md`` in the rerun folder) lists
per file how many figures were reproduced and every one that was not, with both values;
``--strict`` exits 1 when any figure was not reproduced or not rerun.
A part the rerun measured on another CPU (its ``part_machines`` record names another model or
other flags) keeps its quality figures, sizes and counts judged as above; its timings and
**parity** figures (agreement between two implementations of a model, a quantized model's
argmax agreement, a training's final loss: float results that move with the CPU's kernels,
judged ±25 % on the same CPU) are not judged but counted apart and listed with both values
(``--strict`` still fails on them).
"""

from __future__ import annotations

import argparse
import json
import math
import re
import statistics
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import harness

_MISSING = object()  # a figure the rerun does not have
TIMING_TOLERANCE = 0.25
#: kinds of figure that depend on the CPU (not judged when the rerun ran on another one)
CPU_BOUND = ("timing", "spread", "parity")
QUALITY_TOLERANCE = 0.005
EXACT_TOLERANCE = 1e-3
#: keys that are not figures (machine records, raw per-run lists, free text)
SKIP = re.compile(
    r"^(machine|part_machines|part_other_load|runs|repeats|order|date|commit|text|packages|"
    r"rows|utterances|substitutions|insertions|deletions|hits|char_errors)$"
)
#: fixed quantities whose names look like timings: how much audio went in
FIXED = re.compile(r"^(audio_s(econds)?|speech_seconds(_heard)?|seconds|duration\w*|n|hops?)$")
#: agreement between two implementations of one model (torch import vs the ONNX graph, an
#: export vs torch, a quantized model's argmax vs fp32's) and a training run's final loss:
#: float results whose size depends on the CPU's kernels, so they are judged like a timing
PARITY = re.compile(
    r"(^|_)(correlation|log_mel_db|max_abs|max_raw_diff|argmax_agreement|final_loss)$"
    r"|^parts\.stages\."
)
#: how many hops a stream fed in real time decoded: an engine behind merges the hops it
#: missed, so these counts follow the CPU's speed (the Xeon's three whisper-base runs in one
#: invocation made 239, 240 and 240 model calls); a final's count is the VAD's, exact
PACED = re.compile(r"(^|\.)(partials|model_calls|partial_latency\.n)$")
QUALITY = re.compile(r"(^|_)(wer|cer|ci|ci_low|ci_high|low|high|difference|diff)($|_)")
TIMING = re.compile(
    r"(seconds|_s$|^s$|rtf|_ms$|^p\d+_ms$|latency|throughput|per_s|rss|gflop|lag|speed|"
    r"per_second|rtfx|share|ratio|_time|load|roofline)",
    re.IGNORECASE,
)


@dataclass
class Figure:
    """One figure's verdict: where it is, both values, its kind, whether it reproduced."""

    file: str
    path: str
    kind: str
    committed: str
    rerun: str
    reproduced: bool | None  # None: not in the rerun
    other_cpu: bool = False  # a timing the rerun measured on another CPU: not judged


def _is_spread(value: object) -> bool:
    return isinstance(value, dict) and {"median", "min", "max"} <= value.keys()


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _repeated(value: object) -> bool:
    return isinstance(value, list) and len(value) >= 3 and all(_is_number(v) for v in value)


def _kind(key: str, path: str = "") -> str:
    if PARITY.search(key) or PARITY.search(path):
        return "parity"
    if PACED.search(path or key):
        return "timing"
    if FIXED.search(key):
        return "exact"
    if QUALITY.search(key):
        return "quality"
    if TIMING.search(key):
        return "timing"
    return "exact"


def _fmt(value: object) -> str:
    if _is_spread(value) or _repeated(value):
        median, low, high = _median_range(value)  # type: ignore[misc]
        return f"{median:.4g} ({low:.4g}–{high:.4g})"
    if _is_number(value):
        return f"{value:.4g}"
    return json.dumps(value, ensure_ascii=False)[:60]


def _median_range(value: object) -> tuple[float, float, float] | None:
    if _is_spread(value):
        return float(value["median"]), float(value["min"]), float(value["max"])  # type: ignore[index]
    if _repeated(value):
        return statistics.median(value), min(value), max(value)  # type: ignore[arg-type]
    if _is_number(value):
        return float(value), float(value), float(value)  # type: ignore[arg-type]
    return None


def judge(
    key: str, committed: object, rerun: object, interval: Interval | None = None, path: str = ""
) -> tuple[str, bool]:
    """The kind of the figure under ``key`` (at ``path``) and whether ``rerun`` reproduces
    ``committed``; ``interval``: the committed 95 % interval the figure belongs to (see
    :func:`intervals`)."""
    if interval is not None and _is_number(committed) and _is_number(rerun):
        got = float(rerun)  # type: ignore[arg-type]
        ok = {
            "value": interval.low <= got <= interval.high,
            "low": got <= interval.value,
            "high": got >= interval.value,
        }[interval.role]
        return "quality (95 % CI)", ok
    if _is_spread(committed) or _repeated(committed):
        kind = "spread"
        got = _median_range(rerun)
        low, high = _median_range(committed)[1:]  # type: ignore[index]
        return kind, got is not None and low <= got[0] <= high
    if isinstance(committed, bool | str) or committed is None:
        return "exact", committed == rerun
    kind = _kind(key, path)
    if not _is_number(rerun):
        spread = _median_range(rerun)
        if spread is None:
            return kind, False
        rerun = spread[0]
    a, b = float(committed), float(rerun)  # type: ignore[arg-type]
    if math.isnan(a) or math.isnan(b):
        return kind, math.isnan(a) and math.isnan(b)
    if kind == "quality":
        return kind, abs(a - b) <= QUALITY_TOLERANCE
    tolerance = TIMING_TOLERANCE if kind in ("timing", "parity") else EXACT_TOLERANCE
    return kind, abs(a - b) <= tolerance * max(abs(a), 1e-12)


@dataclass(frozen=True)
class Interval:
    """A committed figure's 95 % interval, and which part of it a key holds (``role``: the
    figure itself, ``value``; or a bound, ``low`` or ``high``)."""

    value: float
    low: float
    high: float
    role: str = "value"


def intervals(record: dict) -> dict[str, Interval | list[Interval]]:
    """Keys of ``record`` that belong to a stored 95 % interval: the figure (``cer``) and its
    bounds (``cer_low`` and ``cer_high``, or ``cer_ci`` = [low, high])."""
    out: dict[str, Interval | list[Interval]] = {}
    for name, value in record.items():
        if not _is_number(value):
            continue
        low, high = record.get(f"{name}_low"), record.get(f"{name}_high")
        ci = record.get(f"{name}_ci")
        if isinstance(ci, list) and len(ci) == 2 and all(_is_number(v) for v in ci):
            low, high = ci
        if not (_is_number(low) and _is_number(high)):
            continue
        found = Interval(float(value), float(low), float(high))  # type: ignore[arg-type]
        lower, upper = (Interval(found.value, found.low, found.high, r) for r in ("low", "high"))
        out.update({name: found, f"{name}_low": lower, f"{name}_high": upper})
        out[f"{name}_ci"] = [lower, upper]
    return out


def figures(
    committed: object,
    rerun: object,
    file: str,
    path: str = "",
    interval: Interval | list[Interval] | None = None,
    moved: bool = False,
) -> Iterator[Figure]:
    """Every figure of ``committed`` judged against the same place in ``rerun``; ``moved``:
    measured on another CPU (a record with its own ``machine`` says so for what it holds)."""
    key = path.rsplit(".", 1)[-1] if path else ""
    if SKIP.match(key):
        return
    if isinstance(committed, dict) and not _is_spread(committed):
        other = rerun if isinstance(rerun, dict) else {}
        if "machine" in other and "part_machines" not in committed:  # not a harness file's head
            moved = moved or cpu_label(committed.get("machine")) != cpu_label(other["machine"])
        # a harness file: each part under "parts" has its own machine in "part_machines"
        shifted = {part for _, part, _, _ in _moved_parts(file, committed, other)}
        within = intervals(committed)
        for name, value in committed.items():
            where = f"{path}.{name}" if path else str(name)
            if name == "parts" and shifted and isinstance(value, dict):
                theirs = other.get(name) if isinstance(other.get(name), dict) else {}
                for part, record in value.items():
                    here = moved or part in shifted
                    got = theirs.get(part, _MISSING)
                    yield from figures(record, got, file, f"{where}.{part}", None, here)
                continue
            yield from figures(
                value, other.get(name, _MISSING), file, where, within.get(name), moved
            )
        return
    if isinstance(committed, list) and not _repeated(committed):
        other = rerun if isinstance(rerun, list) else []
        bounds = interval if isinstance(interval, list) else []  # a stored [low, high]
        for i, value in enumerate(committed):
            yield from figures(
                value,
                other[i] if i < len(other) else _MISSING,
                file,
                f"{path}[{i}]",
                bounds[i] if i < len(bounds) else None,
                moved,
            )
        return
    figure = isinstance(committed, int | float) or _is_spread(committed) or _repeated(committed)
    if not figure:  # (bool is an int: flags are figures)
        return  # text: not a figure
    if rerun is _MISSING:
        yield Figure(file, path, _kind(key, path), _fmt(committed), "–", None)
        return
    within = interval if isinstance(interval, Interval) else None
    kind, ok = judge(key, committed, rerun, within, path)
    yield Figure(file, path, kind, _fmt(committed), _fmt(rerun), ok, moved and kind in CPU_BOUND)


def compare(committed_dir: Path, rerun_dir: Path, rerun_files_only: bool = False) -> list[Figure]:
    """Every figure of every JSON file under ``committed_dir`` against ``rerun_dir``;
    ``rerun_files_only``: only the files the rerun has (a rerun of some benchmarks)."""
    out: list[Figure] = []
    for path in sorted(committed_dir.rglob("*.json")):
        name = str(path.relative_to(committed_dir))
        if path.name == "machine.json":
            continue
        other = rerun_dir / name
        if rerun_files_only and not other.is_file():
            continue
        committed = json.loads(path.read_text(encoding="utf-8"))
        rerun = json.loads(other.read_text(encoding="utf-8")) if other.is_file() else {}
        out += figures(committed, rerun, name)
    return out


def cpu_label(record: object) -> str:
    """A machine record's CPU model and kernel flags, e.g. ``AMD EPYC (avx2, avx512f)``."""
    if not isinstance(record, dict):
        return "not recorded"
    return f"{record.get('cpu', '?')} ({', '.join(record.get('cpu_flags') or []) or '?'})"


def _pairs(committed_dir: Path, rerun_dir: Path) -> Iterator[tuple[str, dict, dict]]:
    """(file name, committed results, rerun results) for every results file in both."""
    for path in sorted(committed_dir.glob("*.json")):
        other = rerun_dir / path.name
        if not other.is_file():
            continue
        committed = json.loads(path.read_text(encoding="utf-8"))
        rerun = json.loads(other.read_text(encoding="utf-8"))
        if isinstance(committed, dict) and isinstance(rerun, dict):
            yield path.name, committed, rerun


def other_cpus(committed_dir: Path, rerun_dir: Path) -> list[tuple[str, str, str, str]]:
    """(file, part, committed CPU, rerun CPU) for every part the rerun measured on another
    CPU: its timings are not expected to reproduce."""
    out = []
    for name, committed, rerun in _pairs(committed_dir, rerun_dir):
        out += _moved_parts(name, committed, rerun)
    return out


def _moved_parts(name: str, committed: object, rerun: object) -> list[tuple[str, str, str, str]]:
    if not (isinstance(committed, dict) and isinstance(rerun, dict)):
        return []
    mine, theirs = committed.get("part_machines") or {}, rerun.get("part_machines") or {}
    out = []
    for part in theirs:
        a = cpu_label(mine.get(part, committed.get("machine")))
        b = cpu_label(theirs[part])
        if a != b:
            out.append((name, part, a, b))
    return out


def _digests(value: object, path: str = "") -> Iterator[tuple[str, str]]:
    """(where, sha256) of every ``input_sha256`` in a results tree."""
    if isinstance(value, dict):
        for key, item in value.items():
            where = f"{path}.{key}" if path else str(key)
            if key == "input_sha256" and isinstance(item, str):
                yield path, item
            else:
                yield from _digests(item, where)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _digests(item, f"{path}[{i}]")


def other_inputs(committed_dir: Path, rerun_dir: Path) -> list[tuple[str, str, str]]:
    """(file, where, why) for every input the rerun measured that is not the committed
    run's (a different sha256) or that the committed results did not record."""
    out = []
    for name, committed, rerun in _pairs(committed_dir, rerun_dir):
        mine = dict(_digests(committed.get("parts")))
        for where, digest in sorted(_digests(rerun.get("parts"))):
            if mine.get(where) != digest:
                why = (
                    "different audio" if where in mine else "not recorded in the committed results"
                )
                out.append((name, where, why))
    return out


def _busy(path: Path) -> dict[str, float]:
    results = json.loads(path.read_text(encoding="utf-8"))
    return harness.busy_parts(results) if isinstance(results, dict) else {}


def report(found: list[Figure], committed_dir: Path, rerun_dir: Path) -> str:
    """Markdown: a summary row per file, then every figure not reproduced or not rerun."""
    lines = [
        "# Benchmark reproduction",
        "",
        f"Committed results `{committed_dir}` against the rerun `{rerun_dir}`. Repeated "
        "measurements: the rerun's median within the committed min–max. Single timings: "
        f"within ±{TIMING_TOLERANCE:.0%}; parity figures (agreement between two "
        "implementations, argmax agreement, a training's final loss) too. Quality (WER, CER): "
        "within the committed 95 % interval where one is stored, else within "
        f"±{QUALITY_TOLERANCE} absolute. Sizes, counts, flags: equal (±{EXACT_TOLERANCE:.1%}).",
        "",
        "Timings and parity figures of a part the rerun measured on another CPU are not "
        "judged: they are counted apart and listed at the end with both values.",
        "",
        "| file | figures | reproduced | not reproduced | not rerun | timings on another CPU |",
        "|---|---|---|---|---|---|",
    ]
    files = sorted({f.file for f in found})
    for name in files:
        mine = [f for f in found if f.file == name and not f.other_cpu]
        lines.append(
            f"| {name} | {len(mine)} | {sum(f.reproduced is True for f in mine)} | "
            f"{sum(f.reproduced is False for f in mine)} | "
            f"{sum(f.reproduced is None for f in mine)} | "
            f"{sum(f.other_cpu for f in found if f.file == name)} |"
        )
    moved = other_cpus(committed_dir, rerun_dir)
    if moved:
        lines += [
            "",
            "Parts the rerun measured on another CPU than the committed results (their "
            "timings are not expected to match):",
            "",
            "| file | part | committed CPU | rerun CPU |",
            "|---|---|---|---|",
        ]
        lines += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in moved]
    busy = [
        (run, path.name, part, cores)
        for run, folder in (("committed", committed_dir), ("rerun", rerun_dir))
        for path in sorted(folder.glob("*.json"))
        for part, cores in _busy(path).items()
    ]
    if busy:
        lines += [
            "",
            "Parts measured beside other work (cores other processes kept busy while they "
            "ran; their timings are not a quiet machine's):",
            "",
            "| run | file | part | other cores |",
            "|---|---|---|---|",
        ]
        lines += [f"| {a} | {b} | {c} | {d:.2f} |" for a, b, c, d in busy]
    inputs = other_inputs(committed_dir, rerun_dir)
    if inputs:
        lines += [
            "",
            "Inputs the rerun cannot show to be the committed run's (`input_sha256`):",
            "",
            "| file | part | why |",
            "|---|---|---|",
        ]
        lines += [f"| {a} | `{b}` | {c} |" for a, b, c in inputs]
    off = [f for f in found if f.reproduced is not True and not f.other_cpu]
    if off:
        lines += [
            "",
            "| file | figure | kind | committed | rerun |",
            "|---|---|---|---|---|",
        ]
        lines += [f"| {f.file} | `{f.path}` | {f.kind} | {f.committed} | {f.rerun} |" for f in off]
    elsewhere = [f for f in found if f.other_cpu]
    if elsewhere:
        lines += [
            "",
            "Timings and parity figures measured on another CPU (not judged; *within* says "
            "whether they would pass the same-CPU rule anyway):",
            "",
            "| file | figure | kind | committed | rerun | within |",
            "|---|---|---|---|---|---|",
        ]
        lines += [
            f"| {f.file} | `{f.path}` | {f.kind} | {f.committed} | {f.rerun} | "
            f"{'yes' if f.reproduced else 'no'} |"
            for f in elsewhere
        ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("committed", type=Path, help="the committed results folder")
    parser.add_argument("rerun", type=Path, help="the rerun's results folder")
    parser.add_argument("--strict", action="store_true", help="exit 1 unless all reproduced")
    parser.add_argument(
        "--rerun-files-only",
        action="store_true",
        help="judge only the files the rerun has (a rerun of some of the benchmarks)",
    )
    args = parser.parse_args(argv)
    for folder in (args.committed, args.rerun):
        if not folder.is_dir():
            parser.error(f"{folder} is not a folder of benchmark results")
    found = compare(args.committed, args.rerun, args.rerun_files_only)
    text = report(found, args.committed, args.rerun)
    (args.rerun / "reproduction.md").write_text(text, encoding="utf-8")
    judged = [f for f in found if not f.other_cpu]
    reproduced = sum(f.reproduced is True for f in judged)
    apart = len(found) - len(judged)
    print(
        f"{reproduced} of {len(judged)} figures reproduced "
        f"({sum(f.reproduced is False for f in judged)} not, "
        f"{sum(f.reproduced is None for f in judged)} not rerun"
        + (f"; {apart} timings on another CPU, not judged" if apart else "")
        + f"); report: {args.rerun / 'reproduction.md'}"
    )
    # --strict: a timing from another CPU is not a reproduction either
    return 1 if args.strict and sum(f.reproduced is True for f in found) < len(found) else 0


if __name__ == "__main__":
    sys.exit(main())
