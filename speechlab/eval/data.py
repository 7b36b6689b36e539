"""Evaluation data: a datasets Dataset, a TSV/CSV manifest, or a folder of audio + .txt.

``read_data`` turns any of them into a ``Corpus``: utterances with a stable ``id`` (what a
resumed run skips), the audio (a path, or a dataset cell), the reference text. File
headers are checked up front, so a missing or unreadable file fails at once, not after an
hour of transcription.

* datasets ``Dataset``/``IterableDataset`` in Common Voice layout: audio column ``audio``
  (else ``path``), text column ``sentence`` (else ``text``). Ids: the file name of the
  row's ``path`` when there is one, else the row number.
* manifest ``.tsv``/``.csv``: audio column ``path`` (or ``audio``, ``file``, ``file_name``),
  text column ``text`` (or ``sentence``, ``transcription``, ``transcript``), so Common
  Voice's own ``test.tsv`` works too. Relative paths are resolved against the manifest's
  folder, then its ``clips/`` subfolder (Common Voice). Ids: an ``id`` column, else the path
  as written. TSVs are read without quote handling, as Common Voice's are written.
* folder: every audio file (recursively) with a same-stem ``.txt`` beside it. Ids: the path
  relative to the folder.

A ``metadata.json`` with ``"synthetic": true`` beside a manifest or in a folder (what
``synth_test_set`` writes) marks the corpus as synthetic.
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from speechlab import audio as audio_io
from speechlab.asr.inputs import DatasetError, arrow_rows, row_audio
from speechlab.eval.errors import EvalError

__all__ = ["AUDIO_SUFFIXES", "Corpus", "Utterance", "read_data"]

AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".oga", ".opus", ".mp3")
METADATA = "metadata.json"
_AUDIO_COLUMNS = ("audio", "path")
_TEXT_COLUMNS = ("sentence", "text")
_MANIFEST_AUDIO_COLUMNS = ("path", "audio", "file", "file_name")
_MANIFEST_TEXT_COLUMNS = ("text", "sentence", "transcription", "transcript")
_SHOWN = 5  # how many offending files a message names


@dataclass
class Utterance:
    """One evaluation item: ``audio`` is what ``Recognizer.transcribe`` takes."""

    id: str
    audio: Any
    reference: str
    path: str | None = None
    duration: float | None = None


@dataclass
class Corpus:
    """Utterances (possibly streamed), their count when known, and where they came from."""

    utterances: Iterable[Utterance]
    total: int | None
    source: str
    synthetic: bool = False


def read_data(
    data: Any, *, audio_column: str | None = None, text_column: str | None = None
) -> Corpus:
    """A Corpus from a datasets dataset, a manifest path or a folder path (see module doc)."""
    if _is_dataset_dict(data):
        raise EvalError(
            f"This is a DatasetDict with splits {list(data)}; pass one split, e.g. data['test']."
        )
    if _is_dataset(data):
        return _dataset_corpus(data, audio_column, text_column)
    if isinstance(data, str | os.PathLike):
        path = Path(data).expanduser()
        if path.is_dir():
            return _folder_corpus(path)
        if path.is_file() and path.suffix.lower() in (".tsv", ".csv"):
            return _manifest_corpus(path, audio_column, text_column)
        if path.is_file():
            raise EvalError(
                f"{path} is neither a .tsv/.csv manifest nor a folder. Pass a manifest (columns "
                "path + text), a folder of audio files with same-stem .txt, or a dataset."
            )
        raise EvalError(f"Evaluation data not found: {path}. Check the path.")
    raise EvalError(
        f"Cannot evaluate on an object of type {type(data).__name__}. Pass a folder, a "
        ".tsv/.csv manifest, or a Hugging Face datasets Dataset/IterableDataset."
    )


# --------------------------------------------------------------------------- datasets


def _is_dataset(x: Any) -> bool:
    return (type(x).__module__ or "").startswith("datasets.") and hasattr(x, "column_names")


def _is_dataset_dict(x: Any) -> bool:
    return type(x).__name__ in ("DatasetDict", "IterableDatasetDict")


def _dataset_corpus(ds: Any, audio_column: str | None, text_column: str | None) -> Corpus:
    columns = list(ds.column_names or [])  # unknown (empty) for some streamed datasets
    if columns:
        audio_column = _pick_column(columns, audio_column, _AUDIO_COLUMNS, "audio", "audio_column")
        text_column = _pick_column(columns, text_column, _TEXT_COLUMNS, "text", "text_column")
    total = len(ds) if hasattr(ds, "__len__") else None
    if total == 0:
        raise EvalError("The dataset has no rows; nothing to evaluate.")
    name = getattr(getattr(ds, "info", None), "dataset_name", None) or "dataset"
    split = getattr(ds, "split", None)
    return Corpus(
        _dataset_utterances(ds, audio_column, text_column),
        total,
        f"{name}" + (f" [{split}]" if split else ""),
    )


def _dataset_utterances(
    ds: Any, audio_column: str | None, text_column: str | None
) -> Iterator[Utterance]:
    features = getattr(ds, "features", None) or {}
    feature = features.get(audio_column) if audio_column and hasattr(features, "get") else None
    rows = arrow_rows(ds) if type(feature).__name__ == "Audio" else iter(ds)
    ids = _UniqueIds()
    for index, row in enumerate(rows):
        if index == 0:  # columns the dataset did not declare are checked on the first row
            keys = list(row)
            audio_column = _pick_column(keys, audio_column, _AUDIO_COLUMNS, "audio", "audio_column")
            text_column = _pick_column(keys, text_column, _TEXT_COLUMNS, "text", "text_column")
        cell = row.get(audio_column)
        path = row.get("path") if isinstance(row.get("path"), str) else None
        if path is None and isinstance(cell, dict) and isinstance(cell.get("path"), str):
            path = cell["path"]
        if path is None and isinstance(cell, str):
            path = cell
        audio = row_audio(cell, audio_column, index)
        name = Path(path).name if path else f"{index:06d}"
        yield Utterance(ids.take(name), audio, str(row.get(text_column) or ""), path)


# --------------------------------------------------------------------------- manifests


def _manifest_corpus(path: Path, audio_column: str | None, text_column: str | None) -> Corpus:
    tsv = path.suffix.lower() == ".tsv"
    with path.open(encoding="utf-8", newline="") as f:
        reader = csv.DictReader(
            f,
            delimiter="\t" if tsv else ",",
            quoting=csv.QUOTE_NONE if tsv else csv.QUOTE_MINIMAL,
        )
        columns = list(reader.fieldnames or [])
        if not columns:
            raise EvalError(f"The manifest {path} is empty; it needs a header row (path, text).")
        audio_column = _pick_column(
            columns, audio_column, _MANIFEST_AUDIO_COLUMNS, "audio path", "audio_column", path
        )
        text_column = _pick_column(
            columns, text_column, _MANIFEST_TEXT_COLUMNS, "text", "text_column", path
        )
        rows = list(reader)
    if not rows:
        raise EvalError(f"The manifest {path} has a header ({columns}) but no rows.")
    ids = _UniqueIds()
    utterances = []
    for row in rows:
        written = (row.get(audio_column) or "").strip()
        if not written:
            raise EvalError(f"A row of {path} has an empty {audio_column!r} cell: {row}.")
        file = _resolve(path.parent, written)
        header = audio_io.info(file)  # AudioError for missing or unreadable files, now
        key = (row.get("id") or "").strip() or written
        utterances.append(
            Utterance(
                ids.take(key),
                str(file),
                (row.get(text_column) or "").strip(),
                str(file),
                header.duration,
            )
        )
    return Corpus(utterances, len(utterances), str(path), _is_synthetic(path.parent))


def _resolve(folder: Path, written: str) -> Path:
    file = Path(written).expanduser()
    if file.is_absolute():
        return file
    for candidate in (folder / file, folder / "clips" / file):
        if candidate.exists():
            return candidate
    return folder / file  # audio_io.info reports it as not found


# --------------------------------------------------------------------------- folders


def _folder_corpus(folder: Path) -> Corpus:
    files = sorted(p for p in folder.rglob("*") if p.suffix.lower() in AUDIO_SUFFIXES)
    if not files:
        held = sorted(p.name for p in folder.iterdir())
        raise EvalError(
            f"No audio files ({', '.join(AUDIO_SUFFIXES)}) in {folder}; it holds "
            f"{held[:20] or 'nothing'}. Pass a folder of audio files with same-stem .txt files, "
            "or a manifest."
        )
    missing = [p for p in files if not p.with_suffix(".txt").is_file()]
    if missing:
        texts = sorted(p.name for p in folder.rglob("*.txt"))
        raise EvalError(
            f"{len(missing)} of {len(files)} audio files in {folder} have no same-stem .txt "
            f"transcript: {[str(p.relative_to(folder)) for p in missing[:_SHOWN]]}"
            f"{' ...' if len(missing) > _SHOWN else ''}. Text files there: "
            f"{texts[:_SHOWN] or 'none'}{' ...' if len(texts) > _SHOWN else ''}. "
            "Add them (e.g. clip1.wav + clip1.txt) or use a manifest."
        )
    utterances = []
    for file in files:
        header = audio_io.info(file)
        text = file.with_suffix(".txt").read_text(encoding="utf-8").strip()
        key = file.relative_to(folder).as_posix()
        utterances.append(Utterance(key, str(file), text, str(file), header.duration))
    return Corpus(utterances, len(utterances), str(folder), _is_synthetic(folder))


# --------------------------------------------------------------------------- helpers


def _pick_column(
    columns: list[str],
    wanted: str | None,
    defaults: tuple[str, ...],
    what: str,
    option: str,
    where: Path | None = None,
) -> str:
    holder = f"The manifest {where}" if where else "The dataset"
    if wanted is not None:
        if wanted not in columns:
            raise DatasetError(
                f"{holder} has no {what} column {wanted!r}; its columns are {columns}. "
                f"Pass {option}=... ."
            )
        return wanted
    for name in defaults:
        if name in columns:
            return name
    raise DatasetError(
        f"{holder} has no {what} column (looked for {', '.join(defaults)}); its columns are "
        f"{columns}. Pass {option}=... ."
    )


def _is_synthetic(folder: Path) -> bool:
    meta = folder / METADATA
    if not meta.is_file():
        return False
    try:
        return bool(json.loads(meta.read_text(encoding="utf-8")).get("synthetic"))
    except (json.JSONDecodeError, AttributeError) as exc:
        raise EvalError(f"{meta} is not a JSON object ({exc}); fix or remove it.") from exc


class _UniqueIds:
    """Ids as given, with ``#2``, ``#3`` ... appended to repeats (deterministic)."""

    def __init__(self) -> None:
        self._seen: dict[str, int] = {}

    def take(self, key: str) -> str:
        n = self._seen.get(key, 0) + 1
        self._seen[key] = n
        return key if n == 1 else f"{key}#{n}"
