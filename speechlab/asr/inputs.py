"""What ``Recognizer.transcribe`` accepts, turned into a stream of ``AudioItem``.

Paths are checked (header only) before any model work starts, so a bad file in a list
of thousands fails at once, not after an hour. Long files are not decoded here: the
recognizer reads them in blocks.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from speechlab import audio as audio_io
from speechlab.audio import Audio, Seconds
from speechlab.corpus import dataset_corpus, is_dataset
from speechlab.errors import AudioError

__all__ = ["AudioItem", "is_single", "iter_items"]


@dataclass
class AudioItem:
    """One input: either decoded ``audio`` or a ``path`` to read in blocks."""

    index: int
    source: str | None
    duration: Seconds
    audio: Audio | None = None
    path: Path | None = None
    reference: str | None = None

    def load(self, sample_rate: int) -> Audio:
        if self.audio is not None:
            return (
                self.audio
                if self.audio.sample_rate == sample_rate
                else self.audio.resample(sample_rate)
            )
        return audio_io.load(self.path, sample_rate=sample_rate)


def is_single(x: Any) -> bool:
    """True for inputs that give one Transcript (a path, bytes or an Audio)."""
    return isinstance(x, str | os.PathLike | bytes | Audio)


def iter_items(
    x: Any,
    *,
    audio_column: str = "audio",
    text_column: str | None = None,
) -> Iterator[AudioItem]:
    """Turn a path, Audio, list of those, or a datasets Dataset/IterableDataset into items."""
    if is_single(x):
        yield _item(0, x)
        return
    if is_dataset(x):
        yield from _dataset_items(x, audio_column, text_column)
        return
    if isinstance(x, Iterable) and not isinstance(x, dict):
        items = [_item(i, element) for i, element in enumerate(x)]  # headers checked up front
        yield from items
        return
    raise AudioError(
        f"Cannot transcribe an object of type {type(x).__name__}. Pass a path, an Audio, "
        "a list of those, or a Hugging Face datasets Dataset/IterableDataset."
    )


def _item(index: int, element: Any, reference: str | None = None) -> AudioItem:
    if isinstance(element, Audio):
        return AudioItem(
            index, element.source, element.duration, audio=element, reference=reference
        )
    if isinstance(element, str | os.PathLike):
        path = Path(element).expanduser()
        header = audio_io.info(path)
        return AudioItem(index, str(path), header.duration, path=path, reference=reference)
    decoded = audio_io.load(element, sample_rate=None)
    return AudioItem(index, decoded.source, decoded.duration, audio=decoded, reference=reference)


def _dataset_items(ds: Any, audio_column: str, text_column: str | None) -> Iterator[AudioItem]:
    corpus = dataset_corpus(
        ds, audio_column=audio_column, text_column=text_column, with_text=text_column is not None
    )
    for index, utterance in enumerate(corpus.utterances):
        reference = utterance.reference if text_column else None
        yield _item(index, utterance.audio, reference)
