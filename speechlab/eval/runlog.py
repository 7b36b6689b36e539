"""Resumable runs: each finished utterance is appended to ``transcripts.jsonl`` at once.

A rerun with the same folder reads it back and skips those ids. ``run.json`` records the
model and language; a rerun with a different one is refused rather than mixed in.

The file is read as bytes and each line decoded on its own, so one damaged line (a last
line cut inside a multi-byte character by a crash, a line that is not a JSON object, a row
without its ``id``) never costs the good ones: damaged lines are moved to
``transcripts.damaged.jsonl`` with a warning that says how many, the file keeps the good
rows, and those utterances are transcribed again.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from types import TracebackType
from typing import Any

from speechlab.eval.errors import EvalError

__all__ = ["DAMAGED_FILE", "RUN_FILE", "TRANSCRIPTS_FILE", "RunLog"]

log = logging.getLogger(__name__)

TRANSCRIPTS_FILE = "transcripts.jsonl"
RUN_FILE = "run.json"
#: Where damaged lines of ``transcripts.jsonl`` are kept (appended), as they were.
DAMAGED_FILE = "transcripts.damaged.jsonl"


class RunLog:
    """The finished rows of a run (``rows``: id → row), appended to as utterances finish."""

    def __init__(self, folder: str | Path, meta: dict[str, Any]) -> None:
        self.folder = Path(folder).expanduser()
        if self.folder.exists() and not self.folder.is_dir():
            raise EvalError(f"{self.folder} is a file; pass a folder for the results.")
        self.folder.mkdir(parents=True, exist_ok=True)
        self._check_meta(meta)
        self.path = self.folder / TRANSCRIPTS_FILE
        self.rows = self._read()
        self._file = self.path.open("a", encoding="utf-8")

    def append(self, row: dict[str, Any]) -> None:
        """Write one finished row (flushed, so a crash right after keeps it)."""
        self._file.write(json.dumps(row, ensure_ascii=False) + "\n")
        self._file.flush()
        self.rows[row["id"]] = row

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> RunLog:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _check_meta(self, meta: dict[str, Any]) -> None:
        path = self.folder / RUN_FILE
        if path.is_file():
            try:
                before = json.loads(path.read_text(encoding="utf-8"))
            except json.JSONDecodeError as exc:
                raise EvalError(
                    f"{path} is not valid JSON ({exc}); delete it to start over."
                ) from exc
            different = {k: (before.get(k), v) for k, v in meta.items() if before.get(k) != v}
            if different:
                said = ", ".join(
                    f"{k} {old!r} (now {new!r})" for k, (old, new) in different.items()
                )
                raise EvalError(
                    f"{self.folder} holds a run with {said}. Use another output folder, or "
                    "delete this one to start over."
                )
            return
        path.write_text(json.dumps(meta, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")

    def _read(self) -> dict[str, dict[str, Any]]:
        if not self.path.is_file():
            return {}
        rows: dict[str, dict[str, Any]] = {}
        good: list[bytes] = []
        damaged: list[tuple[int, bytes, str]] = []
        for number, line in enumerate(self.path.read_bytes().split(b"\n"), start=1):
            if not line.strip():
                continue
            row, problem = _parse_row(line)
            if row is None:
                damaged.append((number, line, problem))
                continue
            rows[row["id"]] = row
            good.append(line)
        if damaged:
            self._set_aside(good, damaged)
        return rows

    def _set_aside(self, good: list[bytes], damaged: list[tuple[int, bytes, str]]) -> None:
        """Keep the damaged lines in DAMAGED_FILE and only the good rows in the log."""
        aside = self.folder / DAMAGED_FILE
        with aside.open("ab") as out:
            out.writelines(line + b"\n" for _, line, _ in damaged)
        partial = self.path.with_name(f".{self.path.name}.{os.getpid()}.partial")
        partial.write_bytes(b"".join(line + b"\n" for line in good))
        os.replace(partial, self.path)
        shown = "; ".join(f"line {n}: {why}" for n, _, why in damaged[:5])
        log.warning(
            "%s: skipped %d damaged line(s) (%s%s); they are kept in %s and those utterances "
            "are transcribed again. %d good row(s) kept.",
            self.path,
            len(damaged),
            shown,
            "; ..." if len(damaged) > 5 else "",
            aside.name,
            len(good),
        )


def _parse_row(line: bytes) -> tuple[dict[str, Any] | None, str]:
    """A row of the log, or None and why the line is not one."""
    try:
        row = json.loads(line.decode("utf-8"))
    except UnicodeDecodeError as exc:
        return None, f"not UTF-8 at byte {exc.start} (cut short?)"
    except json.JSONDecodeError as exc:
        return None, f"not JSON ({exc.msg}; cut short?)"
    if not isinstance(row, dict):
        return None, f"a JSON {type(row).__name__}, not an object"
    if not isinstance(row.get("id"), str) or not row["id"]:
        return None, "no id"
    if not isinstance(row.get("hypothesis"), str):
        return None, "no hypothesis"
    duration = row.get("duration")
    if isinstance(duration, bool) or not isinstance(duration, int | float):
        return None, "no duration"
    return row, ""
