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
from speechlab.errors import AudioError, SpeechlabError

__all__ = ["AudioItem", "DatasetError", "arrow_rows", "is_single", "iter_items", "row_audio"]


class DatasetError(SpeechlabError, KeyError):
    """A dataset lacks a column or holds something that is not audio."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


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
    if _is_dataset(x):
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


def _is_dataset(x: Any) -> bool:
    module = type(x).__module__ or ""
    return module.startswith("datasets.") and hasattr(x, "column_names")


def _dataset_items(ds: Any, audio_column: str, text_column: str | None) -> Iterator[AudioItem]:
    columns = list(ds.column_names or [])
    features = getattr(ds, "features", None) or {}
    if columns and audio_column not in columns:
        raise DatasetError(
            f"The dataset has no audio column {audio_column!r}; its columns are {columns}. "
            "Pass audio_column=... ."
        )
    if text_column is not None and columns and text_column not in columns:
        raise DatasetError(
            f"The dataset has no text column {text_column!r}; its columns are {columns}. "
            "Pass text_column=... (or None)."
        )
    feature = features.get(audio_column) if hasattr(features, "get") else None
    is_audio_feature = type(feature).__name__ == "Audio"
    rows = arrow_rows(ds) if is_audio_feature else iter(ds)
    for index, row in enumerate(rows):
        reference = row.get(text_column) if text_column else None
        yield _item(index, row_audio(row.get(audio_column), audio_column, index), reference)


def arrow_rows(ds: Any, batch_size: int = 64) -> Iterator[dict[str, Any]]:
    """Rows with the audio column as stored ({'bytes', 'path'}), decoded later by soundfile.

    datasets >= 4 decodes (and, when streaming, encodes) Audio features with torchcodec and
    FFmpeg; reading through Arrow skips both.
    """
    try:
        for table in ds.with_format("arrow").iter(batch_size=batch_size):
            yield from table.to_pylist()
    except ImportError as exc:
        raise DatasetError(
            f"This dataset can only be read through datasets' own audio decoding ({exc}). "
            "Install torchcodec, or load it without streaming."
        ) from exc


def row_audio(value: Any, column: str, index: int) -> Any:
    """A dataset cell as something ``audio.load`` takes."""
    if isinstance(value, dict):
        if value.get("array") is not None:
            return (value["array"], value.get("sampling_rate"))
        if value.get("bytes"):
            return value["bytes"]
        if value.get("path"):
            return value["path"]
    if isinstance(value, str | bytes | os.PathLike):
        return value
    if hasattr(value, "get_all_samples"):  # a torchcodec AudioDecoder
        samples = value.get_all_samples()
        return (samples.data.numpy(), samples.sample_rate)
    raise DatasetError(
        f"Row {index}: column {column!r} holds {type(value).__name__}, not audio "
        "(expected a datasets Audio feature, a path, bytes or {'array', 'sampling_rate'})."
    )
