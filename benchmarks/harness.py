"""Shared plumbing for speechlab's benchmarks: subprocess parts, peak RSS, machine facts.

Every part of a benchmark runs in its own process (a clean peak RSS, and a peer can run in
its own virtual environment); results are saved after each part so a run resumes. Each part
keeps the machine and commit it was measured on (``part_machines``): a resumed run adds its
own machine to the parts it runs and leaves the earlier parts' as they were. Each part also
keeps how many cores other processes kept busy while it ran (``part_other_load``): on
these 2 cores a neighbour using both made decoding steps 20-30x slower, so a part measured
beside more than ``QUIET_CORES`` is flagged.
Nothing here imports speechlab, so peer environments can import it too.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

#: Where results go: ``benchmarks/results`` (committed), or ``SPEECHLAB_BENCH_RESULTS`` (a
#: rerun to set beside the committed results with ``compare_results.py``).
RESULTS = Path(
    os.environ.get("SPEECHLAB_BENCH_RESULTS") or Path(__file__).resolve().parent / "results"
)
RESULTS_GLOB = "benchmarks/results"
RERUN_GLOB = "benchmarks/rerun"  # make bench-rerun's results (compare_results.py)
THREADS = 2
#: Cores that other processes may keep busy during a part before it is flagged as measured
#: on a busy machine.
QUIET_CORES = 0.25
#: CPU features that change how fast int8/bf16/fp32 kernels run, recorded with every result.
CPU_FLAGS = (
    "avx2",
    "fma",
    "avx512f",
    "avx512_vnni",
    "avx_vnni",
    "avx512_bf16",
    "amx_tile",
    "amx_int8",
    "amx_bf16",
)
PACKAGES = (
    "speechlab",
    "numpy",
    "torch",
    "transformers",
    "onnxruntime",
    "onnx",
    "faster-whisper",
    "ctranslate2",
    "kokoro",
    "kokoro-onnx",
    "misaki",
)


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def machine() -> dict:
    """CPU model and flags, threads, packages, commit and date: what a number depends on."""
    cpu = platform.processor() or platform.machine()
    flags: list[str] = []
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        lines = cpuinfo.read_text().splitlines()
        names = [ln.split(":", 1)[1].strip() for ln in lines if ln.startswith("model name")]
        cpu = names[0] if names else cpu
        present = next((ln.split(":", 1)[1].split() for ln in lines if ln.startswith("flags")), [])
        flags = [f for f in CPU_FLAGS if f in present]
    versions = {}
    for dist in PACKAGES:
        try:
            versions[dist] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            continue
    return {
        "cpu": cpu,
        "cpu_flags": flags,
        "cores": os.cpu_count(),
        "threads": THREADS,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "date": time.strftime("%Y-%m-%d"),
        "commit": commit(),
        "packages": versions,
    }


def commit() -> str:
    """The git commit the benchmark code was run from (``+dirty`` with local changes outside
    ``benchmarks/results/``)."""
    root = Path(__file__).resolve().parents[1]
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short=12", "HEAD"], cwd=root, capture_output=True, text=True
        )
        dirty = subprocess.run(
            # results are this folder's output, not its code: a results file changed by an
            # earlier benchmark does not make the code that runs now "dirty"
            [
                "git",
                "status",
                "--porcelain",
                "--untracked-files=no",
                "--",
                ".",
                f":!{RESULTS_GLOB}",
                f":!{RERUN_GLOB}",
            ],
            cwd=root,
            capture_output=True,
            text=True,
        )
    except OSError as error:  # no git here: say so in the record instead of guessing
        return f"unknown ({error.strerror})"
    if head.returncode != 0:
        return "unknown (not a git checkout)"
    return head.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")


def same_machine(a: dict, b: dict) -> bool:
    """Whether two :func:`machine` records describe the same machine, software and commit."""
    keep = ("cpu", "cpu_flags", "cores", "threads", "platform", "commit", "packages")
    return all(a.get(k) == b.get(k) for k in keep)


def input_digest(path: Path) -> str:
    """The sha256 of a benchmark's input file, kept in its results (``input_sha256``) so that
    a rerun can tell whether it measured the same audio."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def same_cpu(a: dict | None, b: dict | None) -> bool:
    """Whether two :func:`machine` records name the same CPU model and flags (True when
    either was measured before machines were kept: nothing says otherwise)."""
    if not a or not b:
        return True
    return all(a.get(k) == b.get(k) for k in ("cpu", "cpu_flags"))


def machine_lines(results: dict) -> list[str]:
    """Markdown for where the parts were measured: one line when all parts share a machine
    and commit, else one line per group of parts."""
    machines = results.get("part_machines") or {}
    groups: list[tuple[dict, list[str]]] = []
    for part in results.get("parts", {}):
        record = machines.get(part) or {"not recorded": "measured before machines were kept"}
        for seen, parts in groups:
            if same_machine(seen, record):
                parts.append(part)
                break
        else:
            groups.append((record, [part]))
    if len(groups) <= 1:
        record = groups[0][0] if groups else machine()
        lines = [f"Machine: `{json.dumps(record, ensure_ascii=False)}`"]
    else:
        lines = ["Measured on more than one machine or commit; each part with its own:", ""]
        for record, parts in groups:
            lines.append(f"- {', '.join(parts)}: `{json.dumps(record, ensure_ascii=False)}`")
    busy = busy_parts(results)
    if busy:
        lines += [
            "",
            "**Measured beside other work** (cores other processes kept busy; its timings "
            "are not a quiet machine's): "
            + ", ".join(f"{part} {cores:.2f}" for part, cores in busy.items()),
        ]
    return lines


def busy_parts(results: dict) -> dict[str, float]:
    """The parts of ``results`` measured while other processes kept more than
    ``QUIET_CORES`` cores busy, with that load."""
    loads = results.get("part_other_load") or {}
    return {
        part: cores
        for part, cores in loads.items()
        if part in results.get("parts", {}) and cores is not None and cores > QUIET_CORES
    }


def spread(values: list[float]) -> dict:
    """Median, min and max of repeated measurements (and how many there were)."""
    return {
        "median": statistics.median(values),
        "min": min(values),
        "max": max(values),
        "n": len(values),
    }


def spread_text(s: dict, digits: int = 2) -> str:
    """``median (min–max)`` of a :func:`spread` record, to ``digits`` decimals."""
    f = f"{{:.{digits}f}}"
    return f"{f.format(s['median'])} ({f.format(s['min'])}–{f.format(s['max'])})"


def rate_text(row: dict, name: str) -> str:
    """``row[name]`` (a WER or CER) with its 95 % interval ``(low–high)`` when the row has it
    (``name_low``/``name_high``), to 3 decimals."""
    if f"{name}_low" not in row:
        return f"{row[name]:.3f}"
    return f"{row[name]:.3f} ({row[f'{name}_low']:.3f}–{row[f'{name}_high']:.3f})"


def _machine_busy_seconds() -> float | None:
    """CPU seconds all processes have spent since boot (``/proc/stat``; None without it)."""
    stat = Path("/proc/stat")
    if not stat.is_file():
        return None
    user, nice, system, _idle, _iowait, irq, softirq, steal = (
        int(v) for v in stat.read_text().split("\n", 1)[0].split()[1:9]
    )
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def _own_cpu_seconds() -> float:
    """CPU seconds of this process and of the children it has waited for."""
    return sum(
        r.ru_utime + r.ru_stime
        for r in (
            resource.getrusage(resource.RUSAGE_SELF),
            resource.getrusage(resource.RUSAGE_CHILDREN),
        )
    )


class OtherLoad:
    """Cores kept busy by other processes between ``start()`` and ``cores()``: the machine's
    CPU time less this process's and its waited-for children's, over the wall time."""

    def start(self) -> OtherLoad:
        self.machine, self.own, self.wall = (
            _machine_busy_seconds(),
            _own_cpu_seconds(),
            time.monotonic(),
        )
        return self

    def cores(self, unreaped: float = 0.0) -> float | None:
        """``unreaped``: CPU seconds of the part's own processes that no one waited for (Ray's
        workers, orphaned when their raylet is killed), which the children's count misses."""
        machine = _machine_busy_seconds()
        if machine is None or self.machine is None:
            return None
        wall = max(time.monotonic() - self.wall, 1e-9)
        other = (machine - self.machine) - (_own_cpu_seconds() - self.own) - unreaped
        return max(other, 0.0) / wall


def run_part(script: str, part: str, *args: str, python: str | None = None) -> dict:
    """Run ``script --worker PART ARGS`` and return the JSON its last stdout line holds."""
    env = {**os.environ, "OMP_NUM_THREADS": str(THREADS), "TOKENIZERS_PARALLELISM": "false"}
    cmd = [python or sys.executable, script, "--worker", part, *args]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"part {part} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def run_all(
    name: str,
    parts: list[str],
    run: Callable[[str], dict],
    write_markdown: Callable[[dict], None],
    fresh: bool = False,
) -> dict:
    """Run the parts not yet in ``results/NAME.json``, saving after each one. ``fresh``: run
    ``parts`` again even if measured before (the other parts' results stay as they were)."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    results = json.loads(path.read_text()) if path.is_file() else {}
    results.setdefault("parts", {})
    machines = results.setdefault("part_machines", {})
    loads = results.setdefault("part_other_load", {})
    if fresh:
        for part in parts:
            for kept in (results["parts"], machines, loads):
                kept.pop(part, None)
    earlier = results.get("machine")
    for part in results["parts"]:  # files written before machines were kept per part
        if part not in machines and isinstance(earlier, dict):
            machines[part] = earlier
    here = machine()
    for part in parts:
        if part in results["parts"]:
            print(f"{part}: done earlier, skipped", flush=True)
            continue
        print(f"{part}: running ...", flush=True)
        load = OtherLoad().start()
        results["parts"][part] = run(part)
        machines[part] = here
        loads[part] = load.cores(results["parts"][part].get("unreaped_cpu_s") or 0.0)
        if loads[part] is not None and loads[part] > QUIET_CORES:
            print(
                f"{part}: WARNING other processes kept {loads[part]:.2f} cores busy while it "
                "ran: its timings are not a quiet machine's (rerun it alone)",
                flush=True,
            )
        # the header is this machine only when every part was measured on it
        records = [machines[p] for p in results["parts"]]
        results["machine"] = here if all(same_machine(here, m) for m in records) else "mixed"
        print(f"{part}: {json.dumps(results['parts'][part])}", flush=True)
        path.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
        write_markdown(results)
    write_markdown(results)
    return results
