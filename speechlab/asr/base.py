"""The ``Recognizer`` contract every ASR backend implements.

A backend subclasses :class:`Recognizer` and implements one method,
``_transcribe_items(items, options)``: it receives only audible items (never shorter than
:data:`MIN_DURATION`, never digital silence; whole-decoded items carry their ``audio``) and
yields one Transcript per item, in order. The base class handles everything else once:
the inputs (paths, arrays, lists, datasets), the per-call :class:`TranscribeOptions`, the
empty/silent short-circuit, input order and the progress bar.
"""

from __future__ import annotations

import contextlib
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from speechlab.asr.inputs import AudioItem, is_single, iter_items
from speechlab.errors import SpeechlabError, checked_arguments
from speechlab.store import model_label
from speechlab.transcript import Transcript

__all__ = ["MIN_DURATION", "SILENCE_PEAK", "Recognizer", "TranscribeOptions", "language_code"]

#: Inputs shorter than this (seconds) give an empty transcript, not an error.
MIN_DURATION = 0.1
#: Inputs whose peak amplitude is at most this are digital silence: an empty transcript.
SILENCE_PEAK = 1e-5


def language_code(language: str | None) -> str | None:
    """``"pl"`` for ``"pl"``, ``"PL"``, ``"pl-PL"`` or ``"pl_PL"``; None stays None."""
    if language is None:
        return None
    if not isinstance(language, str) or not language.strip():
        raise SpeechlabError(
            f"language must be a language code such as 'pl' or None, got {language!r}."
        )
    return language.strip().lower().replace("_", "-").split("-")[0]


@dataclass(frozen=True)
class TranscribeOptions:
    """The per-call options of :meth:`Recognizer.transcribe`, checked once for every backend.

    ``language``: an ISO 639-1 code (``"pl"``; regional forms such as ``"pl-PL"`` are cut to
    the language) or None. Whisper decodes in it (None: detect); a CTC model always
    transcribes the language it was trained on and records its own. ``batch_size``: inputs
    per forward pass (CTC) or per group (Whisper).
    """

    language: str | None = None
    batch_size: int = 8

    def __post_init__(self) -> None:
        batch = self.batch_size
        if not isinstance(batch, int) or isinstance(batch, bool) or batch < 1:
            raise SpeechlabError(f"batch_size must be a positive integer, got {batch!r}.")
        object.__setattr__(self, "language", language_code(self.language))


class Recognizer(ABC):
    """Speech to text. ``transcribe`` takes a path, an Audio, a list, or a datasets dataset."""

    sample_rate: int = 16_000
    #: The backend's name (``"wav2vec2"``, ``"whisper"``).
    name: str = "recognizer"
    #: The model's folder; None for models that do not come from one.
    model_dir: Path | None = None
    #: The language the model transcribes when none is asked for (None: detected).
    language: str | None = None

    @property
    def label(self) -> str:
        """A readable model name: the store name, ``org/name`` for Hub snapshots, the
        folder's name, else the backend's name."""
        return model_label(self.model_dir) if self.model_dir is not None else self.name

    @checked_arguments
    def transcribe(
        self,
        x: Any,
        *,
        language: str | None = None,
        batch_size: int = 8,
        progress: bool = True,
        audio_column: str = "audio",
        text_column: str | None = None,
    ) -> Transcript | list[Transcript]:
        """Transcribe ``x``: one Transcript for a single input, else a list in input order.

        ``language`` and ``batch_size``: see :class:`TranscribeOptions`.
        ``audio_column``/``text_column`` name a dataset's columns (the text, when given,
        is kept as ``Transcript.reference``). ``progress``: a tqdm bar over audio seconds.
        """
        results = list(
            self.transcribe_iter(
                x,
                language=language,
                batch_size=batch_size,
                progress=progress,
                audio_column=audio_column,
                text_column=text_column,
            )
        )
        return results[0] if is_single(x) else results

    @checked_arguments
    def transcribe_iter(
        self,
        x: Any,
        *,
        language: str | None = None,
        batch_size: int = 8,
        progress: bool = True,
        audio_column: str = "audio",
        text_column: str | None = None,
    ) -> Iterator[Transcript]:
        """Like ``transcribe`` but yields Transcripts in input order as they are ready."""
        options = TranscribeOptions(language=language, batch_size=batch_size)
        items: Iterator[AudioItem] | list[AudioItem]
        items = iter_items(x, audio_column=audio_column, text_column=text_column)
        total = None
        if isinstance(x, list | tuple):  # headers already read: the total audio time is known
            items = list(items)
            total = sum(item.duration for item in items)
        with self._progress(x, progress, total) as bar:
            for transcript in self._in_order(iter(items), options):
                if bar is not None:  # never past the total (float sums), no tqdm warning
                    step = transcript.duration
                    bar.update(step if bar.total is None else min(step, bar.total - bar.n))
                yield transcript

    @abstractmethod
    def _transcribe_items(
        self, items: Iterator[AudioItem], options: TranscribeOptions
    ) -> Iterator[Transcript]:
        """Yield one Transcript per (audible) item, in item order."""

    def _decodes_whole(self, item: AudioItem) -> bool:
        """Whether the backend reads ``item`` in one piece (then it is decoded and checked
        for silence before the backend sees it); long inputs read in blocks are not."""
        return True

    def _in_order(
        self, items: Iterator[AudioItem], options: TranscribeOptions
    ) -> Iterator[Transcript]:
        """The backend's transcripts with the empty ones for silent inputs put in place."""
        queued: deque[tuple[AudioItem, bool]] = deque()  # (item, audible), input order

        def audible() -> Iterator[AudioItem]:
            for item in items:
                heard = self._audible(item)
                queued.append((item, heard))
                if heard:
                    yield item

        def silent_ones() -> Iterator[Transcript]:
            while queued and not queued[0][1]:
                yield self._empty(queued.popleft()[0], options)

        for transcript in self._transcribe_items(audible(), options):
            yield from silent_ones()
            queued.popleft()  # the audible item this transcript belongs to
            yield transcript
        yield from silent_ones()

    def _audible(self, item: AudioItem) -> bool:
        """False for inputs shorter than MIN_DURATION or digitally silent (whole-decoded
        inputs keep their decoded audio, so it is read once)."""
        if item.duration < MIN_DURATION:
            return False
        if not self._decodes_whole(item):
            return True
        item.audio = item.load(self.sample_rate)
        return bool(np.any(np.abs(item.audio.samples) > SILENCE_PEAK))

    def _empty(self, item: AudioItem, options: TranscribeOptions) -> Transcript:
        """The result for silence or audio shorter than MIN_DURATION."""
        return Transcript(
            "",
            [],
            [],
            self._result_language(options),
            item.duration,
            item.source,
            reference=item.reference,
        )

    def _result_language(self, options: TranscribeOptions) -> str | None:
        """The language recorded on a transcript the model did not decode."""
        return options.language or self.language

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
