"""The ``Recognizer`` protocol shared by every ASR backend."""

from __future__ import annotations

import contextlib
from abc import ABC, abstractmethod
from collections.abc import Iterator
from typing import Any

from speechlab.asr.inputs import AudioItem, is_single, iter_items
from speechlab.errors import SpeechlabError
from speechlab.transcript import Transcript

__all__ = ["MIN_DURATION", "Recognizer"]

#: Inputs shorter than this (seconds) give an empty transcript, not an error.
MIN_DURATION = 0.1


class Recognizer(ABC):
    """Speech to text. ``transcribe`` takes a path, an Audio, a list, or a datasets dataset."""

    sample_rate: int = 16_000
    name: str = "recognizer"

    def transcribe(
        self,
        x: Any,
        *,
        batch_size: int = 8,
        progress: bool = True,
        audio_column: str = "audio",
        text_column: str | None = None,
        **options: Any,
    ) -> Transcript | list[Transcript]:
        """Transcribe ``x``: one Transcript for a single input, else a list in input order.

        ``audio_column``/``text_column`` name a dataset's columns (the text, when given,
        is kept as ``Transcript.reference``). Other ``options`` go to the backend.
        """
        results = list(
            self.transcribe_iter(
                x,
                batch_size=batch_size,
                progress=progress,
                audio_column=audio_column,
                text_column=text_column,
                **options,
            )
        )
        return results[0] if is_single(x) else results

    def transcribe_iter(
        self,
        x: Any,
        *,
        batch_size: int = 8,
        progress: bool = True,
        audio_column: str = "audio",
        text_column: str | None = None,
        **options: Any,
    ) -> Iterator[Transcript]:
        """Like ``transcribe`` but yields Transcripts in input order as they are ready."""
        if not isinstance(batch_size, int) or batch_size < 1:
            raise SpeechlabError(f"batch_size must be a positive integer, got {batch_size!r}.")
        items: Iterator[AudioItem] | list[AudioItem]
        items = iter_items(x, audio_column=audio_column, text_column=text_column)
        total = None
        if isinstance(x, list | tuple):  # headers already read: the total audio time is known
            items = list(items)
            total = sum(item.duration for item in items)
        with self._progress(x, progress, total) as bar:
            for transcript in self._transcribe_items(iter(items), batch_size, options):
                if bar is not None:  # never past the total (float sums), no tqdm warning
                    step = transcript.duration
                    bar.update(step if bar.total is None else min(step, bar.total - bar.n))
                yield transcript

    @abstractmethod
    def _transcribe_items(
        self, items: Iterator[AudioItem], batch_size: int, options: dict[str, Any]
    ) -> Iterator[Transcript]:
        """Yield one Transcript per item, in item order."""

    @contextlib.contextmanager
    def _progress(self, x: Any, show: bool, total: float | None) -> Iterator[Any]:
        if not show or is_single(x):
            yield None
            return
        from tqdm.auto import tqdm

        counts = "{n:.1f}/{total:.1f}" if total is not None else "{n:.1f}"
        bar = tqdm(
            total=total,
            unit="s audio",
            desc=f"{self.name}",
            dynamic_ncols=True,
            bar_format="{l_bar}{bar}| " + counts + " s audio [{elapsed}<{remaining}, {rate_fmt}]",
        )
        try:
            yield bar
        finally:
            bar.close()


def empty_transcript(item: AudioItem, language: str | None) -> Transcript:
    """The result for silence or audio shorter than MIN_DURATION."""
    return Transcript("", [], [], language, item.duration, item.source, reference=item.reference)
