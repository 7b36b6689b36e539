"""The README's headline performance figures, per CPU and per invocation of the benchmarks.

```bash
python benchmarks/headlines.py            # writes benchmarks/headlines.md
python benchmarks/headlines.py --check    # exit 1 when the file is out of date
python benchmarks/headlines.py results my-rerun   # other invocations, in the order they ran
```

A headline is a figure the README quotes as a ratio or a rate with its spread: the median and
range of at least 3 repeated measurements (alternating runs of speechlab and its peer in one
invocation). Each results folder (``results/``, ``rerun/``, ``rerun-same-cpu/``, …) is one
invocation; every part records the CPU it ran on (``part_machines``). For each headline this
groups the invocations by CPU (model and flags) and judges every later invocation on a CPU
against the ones before it there: **reproduced** when its median lies within their pooled
min–max (for the second invocation, the first one's range, the spread the README quotes).
Figures from another CPU are shown, not judged. It also gives, per CPU measured more than
once, the pooled range over all its invocations: the spread to quote for that CPU.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from compare_results import cpu_label

HERE = Path(__file__).resolve().parent
#: the invocations, in the order they ran (the first on a CPU is that CPU's reference)
FOLDERS = ("results", "rerun", "rerun-same-cpu", "rerun-3")
OUTPUT = HERE / "headlines.md"

Spread = tuple[float, float, float]  # median, min, max


def _spread(value: object) -> Spread | None:
    """(median, min, max) of a harness ``spread()`` record."""
    if isinstance(value, dict) and {"median", "min", "max"} <= value.keys():
        return float(value["median"]), float(value["min"]), float(value["max"])
    return None


def _at(*path: str) -> Callable[[dict], Spread | None]:
    """The spread stored at ``path`` inside a part's record."""

    def get(record: dict) -> Spread | None:
        value: object = record
        for key in path:
            if not isinstance(value, dict) or key not in value:
                return None
            value = value[key]
        return _spread(value)

    return get


def _by_length(length: str) -> Callable[[dict], Spread | None]:
    """stream_bench's whole-utterance / kept-state compute ratio at one utterance length: the
    ratio of the medians, its range from the extremes of the alternating runs (as
    ``stream_bench.md`` prints it)."""

    def get(record: dict) -> Spread | None:
        row = (record.get("lengths") or {}).get(length)
        if not row:
            return None
        mine, naive = row["speechlab_seconds"], row["naive_seconds"]
        return float(row["ratio"]), min(naive) / max(mine), max(naive) / min(mine)

    return get


def _speedup(baseline: str) -> Callable[[dict, dict], Spread | None]:
    """quant_bench's speed of a variant as a multiple of ``baseline``'s, from their repeated
    wall times: the ratio of the medians, its range from the extremes."""

    def get(record: dict, parts: dict) -> Spread | None:
        mine, base = record.get("wall_seconds"), (parts.get(baseline) or {}).get("wall_seconds")
        if not (isinstance(mine, list) and isinstance(base, list) and len(mine) >= 3):
            return None
        median = statistics.median(base) / statistics.median(mine)
        return median, min(base) / max(mine), max(base) / min(mine)

    return get


@dataclass(frozen=True)
class Headline:
    """A figure the README quotes with its spread, and where each invocation keeps it."""

    label: str
    file: str  # results file, e.g. "asr_bench.json"
    part: str  # the part that measured it (its machine is the figure's)
    get: Callable[..., Spread | None]  # (part record) or (part record, all parts) → spread
    unit: str = "×"
    whole: bool = False  # get() takes the file's parts too


HEADLINES: tuple[Headline, ...] = (
    Headline(
        "ASR: speechlab vs the best pipeline (batch 1), wall ratio",
        "asr_bench.json",
        "headline",
        _at("ratio"),
    ),
    Headline(
        "ASR: speechlab audio s/s",
        "asr_bench.json",
        "headline",
        _at("throughput", "speechlab"),
        " audio s/s",
    ),
    Headline(
        "ASR: pipeline batch 1 audio s/s",
        "asr_bench.json",
        "headline",
        _at("throughput", "pipeline_b1"),
        " audio s/s",
    ),
    *(
        Headline(
            f"TTS {lang}: kokoro-onnx / speechlab wall time, same text",
            "tts_bench.json",
            "headline",
            _at("summary", lang, "wall_ratio"),
        )
        for lang in ("pl", "en")
    ),
    *(
        Headline(
            f"TTS {lang}: speechlab first audio, {setting}",
            "tts_bench.json",
            "headline",
            _at("summary", lang, "speechlab", "first_audio_seconds", setting),
            " s",
        )
        for lang in ("pl", "en")
        for setting in ("default", "first_chunk_words=2", "first_chunk_words=1")
    ),
    *(
        Headline(
            f"TTS {lang}: kokoro-onnx first audio",
            "tts_bench.json",
            "headline",
            _at("summary", lang, "kokoro_onnx", "first_audio_seconds", "default"),
            " s",
        )
        for lang in ("pl", "en")
    ),
    *(
        Headline(
            f"CTC forward {shape}: transformers / speechlab",
            "runtime_bench.json",
            "forward",
            _at(shape, "ratio"),
        )
        for shape in ("1x20s", "2x10s", "4x5s", "8x2s")
    ),
    Headline(
        "torch.compile speed-up of the forward", "runtime_bench.json", "compile", _at("speedup")
    ),
    Headline(
        "Stream: 6.5 s sliding window / speechlab compute",
        "stream_bench.json",
        "ctc_naive_window",
        _at("alternating", "ratio"),
    ),
    *(
        Headline(
            f"Stream: whole utterance / speechlab compute, {length} s",
            "stream_bench.json",
            "ctc_by_length",
            _by_length(length),
        )
        for length in ("2", "16", "60")
    ),
    *(
        Headline(
            f"Corpus transcription {config}: audio s/s",
            "scale_bench.json",
            "rounds",
            _at("configs", config, "audio_s_per_s"),
            " audio s/s",
        )
        for config in ("local", "ray_1x2", "ray_2x1")
    ),
    *(
        Headline(
            f"Quantize speechlab-pl-ctc: {variant} × fp32 speed",
            "quant_table.json",
            part,
            _speedup("pl_fp32"),
            whole=True,
        )
        for part, variant in (
            ("pl_bf16", "bf16"),
            ("pl_torch_int8", "torch int8"),
            ("pl_onnx_int8", "ONNX int8"),
        )
    ),
)


@dataclass(frozen=True)
class Measured:
    """One invocation's value of a headline."""

    folder: str
    cpu: str
    spread: Spread


def measure(
    headline: Headline, root: Path = HERE, folders: Sequence[str] = FOLDERS
) -> list[Measured]:
    """The headline in every invocation (folder) that has it, in folder order."""
    out = []
    for folder in folders:
        path = root / folder / headline.file
        if not path.is_file():
            continue
        results = json.loads(path.read_text(encoding="utf-8"))
        parts = results.get("parts") or {}
        record = parts.get(headline.part)
        if not isinstance(record, dict):
            continue
        value = headline.get(record, parts) if headline.whole else headline.get(record)
        if value is None:
            continue
        machine = (results.get("part_machines") or {}).get(headline.part, results.get("machine"))
        out.append(Measured(folder, cpu_label(machine), value))
    return out


def verdicts(found: list[Measured]) -> list[tuple[Measured, bool | None, Spread]]:
    """Each invocation with its verdict and the range it was judged against: None for the
    first on its CPU (the reference), else whether its median lies within the pooled range of
    every earlier invocation on that CPU (lowest min to highest max; the median of their
    medians). For the second invocation that is the first one's own range."""
    earlier: dict[str, list[Spread]] = {}
    out: list[tuple[Measured, bool | None, Spread]] = []
    for m in found:
        before = earlier.setdefault(m.cpu, [])
        if before:
            ref = pooled(before)
            out.append((m, ref[1] <= m.spread[0] <= ref[2], ref))
        else:
            out.append((m, None, m.spread))
        before.append(m.spread)
    return out


def pooled(spreads: Sequence[Spread]) -> Spread:
    """The range of several invocations together: the median of their medians, the lowest
    min and the highest max (what to quote once a CPU has been measured more than once)."""
    median = statistics.median(s[0] for s in spreads)
    return median, min(s[1] for s in spreads), max(s[2] for s in spreads)


def _fmt(s: Spread, unit: str) -> str:
    digits = 3 if unit == " s" else 2
    f = f"{{:.{digits}f}}"
    return f"{f.format(s[0])}{unit} ({f.format(s[1])}–{f.format(s[2])})"


def _short_cpu(cpu: str, names: dict[str, str]) -> str:
    return names.setdefault(cpu, f"CPU {chr(ord('A') + len(names))}")


def render(root: Path = HERE, folders: Sequence[str] = FOLDERS) -> str:
    """Markdown: one row per headline and invocation, the verdict per CPU, then a tally."""
    names: dict[str, str] = {}
    rows, summary, judged, reproduced = [], [], 0, 0
    for headline in HEADLINES:
        found = verdicts(measure(headline, root, folders))
        for m, ok, ref in found:
            cpu = _short_cpu(m.cpu, names)
            value = _fmt(m.spread, headline.unit)
            if ok is None:
                verdict = "reference"
            else:
                judged += 1
                reproduced += ok
                against = f"{_fmt(ref, headline.unit)} before"
                verdict = f"reproduced ({against})" if ok else f"**not reproduced** ({against})"
            rows.append(f"| {headline.label} | {cpu} | `{m.folder}/` | {value} | {verdict} |")
        for cpu in dict.fromkeys(m.cpu for m, _, _ in found):
            mine = [m.spread for m, _, _ in found if m.cpu == cpu]
            if len(mine) > 1:
                value = _fmt(pooled(mine), headline.unit)
                summary.append(f"| {headline.label} | {names[cpu]} | {len(mine)} | {value} |")
    lines = [
        "# Headline figures by CPU and invocation",
        "",
        "Written by `benchmarks/headlines.py` from the committed JSON files; do not edit. Each "
        "figure is the median (min–max) of repeated alternating runs inside one invocation "
        "of a benchmark. The first invocation on a CPU is its reference; a later one on the "
        "same CPU is **reproduced** when its median lies within the pooled range of the "
        "invocations before it there (for the second one, the first one's range).",
        "",
        f"On a CPU with two or more invocations, {reproduced} of {judged} later figures were "
        "reproduced.",
        "",
        "CPUs:",
        "",
        *(f"- {short}: {cpu}" for cpu, short in names.items()),
        "",
        "| figure | CPU | invocation | median (min–max) | verdict |",
        "|---|---|---|---|---|",
        *rows,
        "",
        "## Pooled over the invocations on each CPU",
        "",
        "A range measured inside one invocation understates the spread between invocations "
        "(the verdicts above show it). Where a CPU has been measured "
        "more than once, this is the range to quote for it, and the one a further invocation "
        "there is judged against: the median of the invocations' medians, the lowest min and "
        "the highest max.",
        "",
        "| figure | CPU | invocations | median (min–max) |",
        "|---|---|---|---|",
        *summary,
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "folders",
        nargs="*",
        default=list(FOLDERS),
        help="results folders under benchmarks/, in the order they ran (default: %(default)s)",
    )
    parser.add_argument("--check", action="store_true", help="exit 1 if headlines.md is stale")
    args = parser.parse_args(argv)
    missing = [f for f in args.folders if f not in FOLDERS and not (HERE / f).is_dir()]
    if missing:
        parser.error(f"not a folder of benchmark results under {HERE}: {', '.join(missing)}")
    text = render(HERE, args.folders)
    if args.check:
        current = OUTPUT.read_text(encoding="utf-8") if OUTPUT.is_file() else ""
        if current != text:
            print(f"{OUTPUT} is out of date: run python benchmarks/headlines.py", file=sys.stderr)
            return 1
        return 0
    OUTPUT.write_text(text, encoding="utf-8")
    print(text.split("\n\n")[2])
    print(f"wrote {OUTPUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
