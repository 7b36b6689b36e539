"""Resumable runs: each finished utterance is appended to ``transcripts.jsonl`` at once.

A rerun with the same folder reads it back and skips those ids. ``run.json`` records the
model and language; a rerun with a different one is refused rather than mixed in. A last
line cut short by a crash is dropped (and cut from the file) so the run can go on.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from types import TracebackType
from typing import Any

from speechlab.eval.errors import EvalError

__all__ = ["RUN_FILE", "TRANSCRIPTS_FILE", "RunLog"]

log = logging.getLogger(__name__)

TRANSCRIPTS_FILE = "transcripts.jsonl"
RUN_FILE = "run.json"


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
        text = self.path.read_text(encoding="utf-8")
        lines = text.split("\n")
        rows: dict[str, dict[str, Any]] = {}
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                if number == len(lines):  # the last line, without its newline: cut short
                    log.warning("Dropping an unfinished last line of %s", self.path)
                    self.path.write_text(text[: len(text) - len(line)], encoding="utf-8")
                    break
                raise EvalError(
                    f"Line {number} of {self.path} is not JSON ({exc}); fix or delete the file."
                ) from exc
            rows[row["id"]] = row
        return rows
