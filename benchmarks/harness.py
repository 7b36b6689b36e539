"""Shared plumbing for speechlab's benchmarks: subprocess parts, peak RSS, machine facts.

Every part of a benchmark runs in its own process (a clean peak RSS, and a peer can run in
its own virtual environment); results are saved after each part so a run resumes.
Nothing here imports speechlab, so peer environments can import it too.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import platform
import resource
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"
THREADS = 2


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def machine() -> dict:
    cpu = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        names = [
            line.split(":", 1)[1].strip()
            for line in cpuinfo.read_text().splitlines()
            if line.startswith("model name")
        ]
        cpu = names[0] if names else cpu
    versions = {}
    for dist in (
        "speechlab",
        "torch",
        "transformers",
        "onnxruntime",
        "faster-whisper",
        "kokoro-onnx",
    ):
        try:
            versions[dist] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            continue
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "threads": THREADS,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "date": time.strftime("%Y-%m-%d"),
        "packages": versions,
    }


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
    """Run the parts not yet in ``results/NAME.json``, saving after each one."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    results = json.loads(path.read_text()) if path.is_file() and not fresh else {}
    results.setdefault("parts", {})
    results["machine"] = machine()
    for part in parts:
        if part in results["parts"]:
            print(f"{part}: done earlier, skipped", flush=True)
            continue
        print(f"{part}: running ...", flush=True)
        results["parts"][part] = run(part)
        print(f"{part}: {json.dumps(results['parts'][part])}", flush=True)
        path.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
        write_markdown(results)
    write_markdown(results)
    return results
