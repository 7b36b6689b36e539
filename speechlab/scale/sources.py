"""A corpus to transcribe, as windows of utterance dicts and the buckets they are cut into.

DATA is what ``speechlab.corpus.read_data`` reads (a manifest, a folder, a datasets
Dataset or IterableDataset, streaming too), except that a folder's audio needs no .txt
beside it, and a folder's file that does not read becomes an error row (a manifest's
unreadable file still stops the run before it starts, as in ``read_data``). Manifests and
folders come as one window (their durations are known from the headers, so the whole
corpus is length-bucketed at once); datasets as windows of ``window`` rows, as they stream.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from itertools import islice
from pathlib import Path
from typing import Any

from speechlab import audio as audio_io
from speechlab.corpus import (
    AUDIO_SUFFIXES,
    Corpus,
    Utterance,
    dataset_corpus,
    is_dataset,
    is_dataset_dict,
    read_data,
)
from speechlab.errors import AudioError, DatasetError
from speechlab.files import read_text

__all__ = ["buckets", "open_corpus", "windows"]


def open_corpus(
    data: Any,
    *,
    audio_column: str | None = None,
    text_column: str | None = None,
    encoding: str = "utf-8",
) -> Corpus:
    """The corpus of ``data`` (references empty where there are none)."""
    if is_dataset(data) or is_dataset_dict(data):
        return dataset_corpus(
            data,
            audio_column=audio_column,
            text_column=text_column,
            with_text=text_column is not None,
        )
    if isinstance(data, str | os.PathLike) and Path(data).expanduser().is_dir():
        return _folder(Path(data).expanduser(), encoding)
    return read_data(data, audio_column=audio_column, text_column=text_column, encoding=encoding)


def windows(corpus: Corpus, window: int) -> Iterator[list[dict[str, Any]]]:
    """Utterance dicts (``order``, ``id``, ``path``, ``reference``, ``duration``, ``source``)
    in windows: one for a corpus read up front, else ``window`` rows at a time."""
    utterances = iter(corpus.utterances)
    size = None if isinstance(corpus.utterances, list) else window
    order = 0
    while chunk := list(islice(utterances, size)):
        yield [_item(order + i, u) for i, u in enumerate(chunk)]
        order += len(chunk)


def buckets(items: list[dict[str, Any]], batch_size: int) -> list[list[dict[str, Any]]]:
    """``items`` sorted by duration and cut into batches of ``batch_size`` (ties by order)."""
    ranked = sorted(items, key=lambda item: (item["duration"] or 0.0, item["order"]))
    return [ranked[i : i + batch_size] for i in range(0, len(ranked), batch_size)]


def _item(order: int, utterance: Utterance) -> dict[str, Any]:
    source = utterance.audio
    if isinstance(source, os.PathLike):
        source = str(source)
    return {
        "order": order,
        "id": utterance.id,
        "path": utterance.path,
        "reference": utterance.reference,
        "duration": utterance.duration if utterance.duration is not None else _length(source),
        "source": source,
    }


def _length(source: Any) -> float | None:
    """A duration for bucketing when the corpus gave none (bytes: their size, a proxy)."""
    if isinstance(source, tuple) and len(source) == 2 and source[1]:
        return len(source[0]) / float(source[1])
    if isinstance(source, str):
        try:
            return audio_io.info(source).duration
        except AudioError:
            return None  # decoding reports it as the utterance's error
    if isinstance(source, bytes):
        return len(source) / 32_000.0
    return None


def _folder(folder: Path, encoding: str) -> Corpus:
    """Every audio file of a folder; a same-stem .txt is its reference when present. A file
    whose header does not read stays in (it becomes an error row, not a stop of the run)."""
    files = sorted(p for p in folder.rglob("*") if p.suffix.lower() in AUDIO_SUFFIXES)
    utterances = []
    for file in files:
        try:
            duration: float | None = audio_io.info(file).duration
        except AudioError:
            duration = None
        text = file.with_suffix(".txt")
        reference = ""
        if text.is_file():
            reference = read_text(
                text, encoding=encoding, what="transcript", error=DatasetError
            ).strip()
        key = file.relative_to(folder).as_posix()
        utterances.append(Utterance(key, str(file), reference, str(file), duration))
    if not utterances:
        raise DatasetError(f"No audio files ({', '.join(AUDIO_SUFFIXES)}) in {folder}.")
    return Corpus(utterances, len(utterances), str(folder))
