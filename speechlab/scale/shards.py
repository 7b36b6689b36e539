"""A corpus run's folder: result shards as they are written, then one merged manifest.

```
OUT/run.json            model and language (a rerun with others is refused)
OUT/shards/part-RRR-NNNNN.jsonl   rows as they arrive (RRR: the run, NNNNN: the shard)
OUT/manifest.jsonl      every utterance once, in corpus order (written at the end)
OUT/summary.json        counts, errors, engine, timings
```

Only the driver writes, row by row (flushed and fsynced per bucket), so a crash loses at
most the bucket in flight. A rerun reads every shard, skips the ids already there and
writes new shards; a row seen twice (a retried task) is kept once. A line cut short by a
crash is ignored (its utterance is transcribed again).
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from speechlab.scale.errors import ScaleError

__all__ = ["MANIFEST_FILE", "RUN_FILE", "SUMMARY_FILE", "ShardLog", "read_manifest"]

log = logging.getLogger(__name__)

RUN_FILE = "run.json"
MANIFEST_FILE = "manifest.jsonl"
SUMMARY_FILE = "summary.json"
SHARDS = "shards"


class ShardLog:
    """The rows of a run folder (``rows``: id → row) and the writer of new shards."""

    def __init__(self, folder: str | Path, meta: dict[str, Any], shard_rows: int = 1000) -> None:
        self.folder = Path(folder).expanduser()
        self.shard_folder = self.folder / SHARDS
        self.shard_folder.mkdir(parents=True, exist_ok=True)
        _check_meta(self.folder / RUN_FILE, meta)
        self.shard_rows = shard_rows
        self.rows, runs = _read_shards(self.shard_folder)
        self._run = max(runs, default=-1) + 1
        self._shard = -1
        self._in_shard = 0
        self._file: Any = None

    def append(self, rows: Iterable[dict[str, Any]]) -> int:
        """Write the rows not seen before; returns how many were new."""
        fresh = [row for row in rows if row["id"] not in self.rows]
        for row in fresh:
            if self._file is None or self._in_shard >= self.shard_rows:
                self._next_shard()
            self._file.write(json.dumps(row, ensure_ascii=False) + "\n")
            self._in_shard += 1
            self.rows[row["id"]] = row
        if fresh:
            self._file.flush()
            os.fsync(self._file.fileno())
        return len(fresh)

    def merge(self, ids: list[str]) -> Path:
        """Write ``manifest.jsonl``: the row of each of ``ids``, in that order (atomic)."""
        missing = [i for i in ids if i not in self.rows]
        if missing:
            raise ScaleError(
                f"{len(missing)} utterances have no result row (first: {missing[:3]}); rerun "
                "with the same output folder to transcribe them."
            )
        target = self.folder / MANIFEST_FILE
        partial = target.with_name(f".{target.name}.{os.getpid()}.partial")
        with partial.open("w", encoding="utf-8") as out:
            for i in ids:
                row = {k: v for k, v in self.rows[i].items() if k != "order"}
                out.write(json.dumps(row, ensure_ascii=False) + "\n")
            out.flush()
            os.fsync(out.fileno())
        os.replace(partial, target)
        return target

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def _next_shard(self) -> None:
        self.close()
        self._shard += 1
        self._in_shard = 0
        name = f"part-{self._run:03d}-{self._shard:05d}.jsonl"
        self._file = (self.shard_folder / name).open("a", encoding="utf-8")


def read_manifest(folder: str | Path) -> list[dict[str, Any]]:
    """The rows of a finished run's ``manifest.jsonl``, in corpus order."""
    path = Path(folder).expanduser() / MANIFEST_FILE
    if not path.is_file():
        raise ScaleError(f"{path} does not exist: the run has not finished; rerun it.")
    with path.open(encoding="utf-8") as lines:
        return [json.loads(line) for line in lines if line.strip()]


def _check_meta(path: Path, meta: dict[str, Any]) -> None:
    if path.is_file():
        try:
            before = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise ScaleError(f"{path} is not valid JSON ({exc}); delete it to start over.") from exc
        different = {k: (before.get(k), v) for k, v in meta.items() if before.get(k) != v}
        if different:
            said = ", ".join(f"{k} {old!r} (now {new!r})" for k, (old, new) in different.items())
            raise ScaleError(
                f"{path.parent} holds a run with {said}. Use another output folder, or delete "
                "this one to start over."
            )
        return
    path.write_text(json.dumps(meta, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def _read_shards(folder: Path) -> tuple[dict[str, dict[str, Any]], list[int]]:
    rows: dict[str, dict[str, Any]] = {}
    runs: list[int] = []
    damaged = 0
    for shard in sorted(folder.glob("part-*.jsonl")):
        runs.append(int(shard.name.split("-")[1]))
        for line in shard.read_bytes().split(b"\n"):
            if not line.strip():
                continue
            try:
                row = json.loads(line.decode("utf-8"))
            except (UnicodeDecodeError, json.JSONDecodeError):
                damaged += 1
                continue
            if isinstance(row, dict) and isinstance(row.get("id"), str):
                rows.setdefault(row["id"], row)
            else:
                damaged += 1
    if damaged:
        log.warning("%s: ignored %d damaged line(s); those utterances run again.", folder, damaged)
    return rows, runs
