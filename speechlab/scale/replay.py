"""A recognizer that replays a finished corpus run, so evaluation scores it unchanged.

``speechlab eval --engine ray`` transcribes on Ray, then hands ``evaluate`` this object:
it asks for the corpus's utterances in order and gets the stored transcripts back, so the
scores come from the same code as a local evaluation.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

from speechlab.scale.errors import ScaleError
from speechlab.transcript import Segment, Transcript

__all__ = ["ReplayRecognizer"]


class ReplayRecognizer:
    """Yields the rows' transcripts for the utterances asked for (matched by order and,
    for files, by path)."""

    def __init__(self, rows: list[dict[str, Any]], label: str) -> None:
        self.rows = rows
        self.label = label
        self._by_path: dict[str, list[int]] = {}
        for index, row in enumerate(rows):
            if row.get("path"):
                self._by_path.setdefault(os.path.normpath(row["path"]), []).append(index)
        self._next = 0

    def transcribe_iter(self, inputs: list[Any], **_: Any) -> Iterator[Transcript]:
        for source in inputs:
            index = self._find(source)
            row = self.rows[index]
            if row.get("error"):
                raise ScaleError(
                    f"{row['id']} could not be transcribed ({row['error']}); fix or remove it "
                    "from the data to score the corpus."
                )
            words = [
                Segment(w["text"], w["start"], w["end"], w["confidence"]) for w in row["words"]
            ]
            yield Transcript(row["text"], words, language=row["language"],
                             duration=row["duration"], source=row.get("path"))  # fmt: skip

    def _find(self, source: Any) -> int:
        if isinstance(source, str | os.PathLike):
            for index in self._by_path.get(os.path.normpath(source), []):
                if index >= self._next:
                    self._next = index + 1
                    return index
            raise ScaleError(f"{source} is not in the corpus run; rerun it with this data.")
        if self._next >= len(self.rows):
            raise ScaleError("The data has more utterances than the corpus run; rerun it.")
        self._next += 1
        return self._next - 1
