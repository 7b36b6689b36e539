"""Corpora: utterances from a datasets Dataset, a TSV/CSV manifest, or a folder of audio + .txt.

The ground floor every workflow reads data through (``eval``, ``train``, ``asr`` for datasets).
``read_data`` turns any of these into a ``Corpus``: utterances with a stable ``id`` (what a
resumed run skips), the audio (a path, or a dataset cell), the reference text. File
headers are checked up front, so a missing or unreadable file fails at once, not after an
hour of transcription. Every failure is a :class:`~speechlab.errors.DatasetError`.

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
import io
import json
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from speechlab import audio as audio_io
from speechlab.errors import DatasetError
from speechlab.files import read_text

__all__ = [
    "AUDIO_SUFFIXES",
    "Corpus",
    "DatasetError",
    "Utterance",
    "arrow_rows",
    "dataset_corpus",
    "is_dataset",
    "is_dataset_dict",
    "read_data",
    "row_audio",
]

AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".oga", ".opus", ".mp3")
METADATA = "metadata.json"
_AUDIO_COLUMNS = ("audio", "path")
_TEXT_COLUMNS = ("sentence", "text")
_MANIFEST_AUDIO_COLUMNS = ("path", "audio", "file", "file_name")
_MANIFEST_TEXT_COLUMNS = ("text", "sentence", "transcription", "transcript")
_SHOWN = 5  # how many offending files a message names


@dataclass
class Utterance:
    """One utterance: ``audio`` is what ``speechlab.load`` and ``Recognizer.transcribe`` take."""

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
    data: Any,
    *,
    audio_column: str | None = None,
    text_column: str | None = None,
    encoding: str = "utf-8",
) -> Corpus:
    """A Corpus from a datasets dataset, a manifest path or a folder path (see module doc).

    ``encoding`` is that of a manifest and of a folder's .txt files (a UTF-8 byte-order
    mark is dropped); text in another encoding is a DatasetError naming the line.
    """
    if is_dataset(data) or is_dataset_dict(data):
        return dataset_corpus(data, audio_column=audio_column, text_column=text_column)
    if isinstance(data, str | os.PathLike):
        path = Path(data).expanduser()
        if path.is_dir():
            return _folder_corpus(path, encoding)
        if path.is_file() and path.suffix.lower() in (".tsv", ".csv"):
            return _manifest_corpus(path, audio_column, text_column, encoding)
        if path.is_file():
            raise DatasetError(
                f"{path} is neither a .tsv/.csv manifest nor a folder. Pass a manifest (columns "
                "path + text), a folder of audio files with same-stem .txt, or a dataset."
            )
        raise DatasetError(f"Data not found: {path}. Check the path.")
    raise DatasetError(
        f"Cannot read a corpus from an object of type {type(data).__name__}. Pass a folder, a "
        ".tsv/.csv manifest, or a Hugging Face datasets Dataset/IterableDataset."
    )


# --------------------------------------------------------------------------- datasets


def is_dataset(x: Any) -> bool:
    """True for a Hugging Face datasets ``Dataset``/``IterableDataset`` (one split)."""
    return (type(x).__module__ or "").startswith("datasets.") and hasattr(x, "column_names")


def is_dataset_dict(x: Any) -> bool:
    """True for a ``DatasetDict``/``IterableDatasetDict`` (several splits)."""
    return type(x).__name__ in ("DatasetDict", "IterableDatasetDict")


def dataset_corpus(
    ds: Any,
    *,
    audio_column: str | None = None,
    text_column: str | None = None,
    with_text: bool = True,
) -> Corpus:
    """A Corpus over a dataset's rows; columns default to the Common Voice layout.

    With ``with_text=False`` no text column is looked for (references are empty): what
    transcription without references needs.
    """
    if is_dataset_dict(ds):
        raise DatasetError(
            f"This is a DatasetDict with splits {list(ds)}; pass one split, e.g. data['test']."
        )
    columns = list(ds.column_names or [])  # unknown (empty) for some streamed datasets
    if columns:
        audio_column = _pick_column(columns, audio_column, _AUDIO_COLUMNS, "audio", "audio_column")
        if with_text:
            text_column = _pick_column(columns, text_column, _TEXT_COLUMNS, "text", "text_column")
    total = len(ds) if hasattr(ds, "__len__") else None
    if total == 0:
        raise DatasetError("The dataset has no rows; nothing to read.")
    name = getattr(getattr(ds, "info", None), "dataset_name", None) or "dataset"
    split = getattr(ds, "split", None)
    return Corpus(
        _dataset_utterances(ds, audio_column, text_column if with_text else None, with_text),
        total,
        f"{name}" + (f" [{split}]" if split else ""),
    )


def _dataset_utterances(
    ds: Any, audio_column: str | None, text_column: str | None, with_text: bool
) -> Iterator[Utterance]:
    features = getattr(ds, "features", None) or {}
    feature = features.get(audio_column) if audio_column and hasattr(features, "get") else None
    rows = arrow_rows(ds) if type(feature).__name__ == "Audio" else iter(ds)
    ids = _UniqueIds()
    for index, row in enumerate(rows):
        if index == 0:  # columns the dataset did not declare are checked on the first row
            keys = list(row)
            audio_column = _pick_column(keys, audio_column, _AUDIO_COLUMNS, "audio", "audio_column")
            if with_text:
                text_column = _pick_column(keys, text_column, _TEXT_COLUMNS, "text", "text_column")
        cell = row.get(audio_column)
        path = row.get("path") if isinstance(row.get("path"), str) else None
        if path is None and isinstance(cell, dict) and isinstance(cell.get("path"), str):
            path = cell["path"]
        if path is None and isinstance(cell, str):
            path = cell
        audio = row_audio(cell, audio_column, index)
        name = Path(path).name if path else f"{index:06d}"
        reference = str(row.get(text_column) or "") if text_column else ""
        yield Utterance(ids.take(name), audio, reference, path)


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


# --------------------------------------------------------------------------- manifests


def _manifest_corpus(
    path: Path, audio_column: str | None, text_column: str | None, encoding: str
) -> Corpus:
    tsv = path.suffix.lower() == ".tsv"
    text = read_text(path, encoding=encoding, what="manifest", error=DatasetError)
    reader = csv.DictReader(
        io.StringIO(text, newline=""),
        delimiter="\t" if tsv else ",",
        quoting=csv.QUOTE_NONE if tsv else csv.QUOTE_MINIMAL,
    )
    columns = list(reader.fieldnames or [])
    if not columns:
        raise DatasetError(f"The manifest {path} is empty; it needs a header row (path, text).")
    audio_column = _pick_column(
        columns, audio_column, _MANIFEST_AUDIO_COLUMNS, "audio path", "audio_column", path
    )
    text_column = _pick_column(
        columns, text_column, _MANIFEST_TEXT_COLUMNS, "text", "text_column", path
    )
    rows = list(reader)
    if not rows:
        raise DatasetError(f"The manifest {path} has a header ({columns}) but no rows.")
    ids = _UniqueIds()
    utterances = []
    for row in rows:
        written = (row.get(audio_column) or "").strip()
        if not written:
            raise DatasetError(f"A row of {path} has an empty {audio_column!r} cell: {row}.")
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


def _folder_corpus(folder: Path, encoding: str) -> Corpus:
    files = sorted(p for p in folder.rglob("*") if p.suffix.lower() in AUDIO_SUFFIXES)
    if not files:
        held = sorted(p.name for p in folder.iterdir())
        raise DatasetError(
            f"No audio files ({', '.join(AUDIO_SUFFIXES)}) in {folder}; it holds "
            f"{held[:20] or 'nothing'}. Pass a folder of audio files with same-stem .txt files, "
            "or a manifest."
        )
    missing = [p for p in files if not p.with_suffix(".txt").is_file()]
    if missing:
        texts = sorted(p.name for p in folder.rglob("*.txt"))
        raise DatasetError(
            f"{len(missing)} of {len(files)} audio files in {folder} have no same-stem .txt "
            f"transcript: {[str(p.relative_to(folder)) for p in missing[:_SHOWN]]}"
            f"{' ...' if len(missing) > _SHOWN else ''}. Text files there: "
            f"{texts[:_SHOWN] or 'none'}{' ...' if len(texts) > _SHOWN else ''}. "
            "Add them (e.g. clip1.wav + clip1.txt) or use a manifest."
        )
    utterances = []
    for file in files:
        header = audio_io.info(file)
        transcript = file.with_suffix(".txt")
        text = read_text(transcript, encoding=encoding, what="transcript", error=DatasetError)
        text = text.strip()
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
        raise DatasetError(f"{meta} is not a JSON object ({exc}); fix or remove it.") from exc


class _UniqueIds:
    """Ids as given, with ``#2``, ``#3`` ... appended to repeats (deterministic)."""

    def __init__(self) -> None:
        self._seen: dict[str, int] = {}

    def take(self, key: str) -> str:
        n = self._seen.get(key, 0) + 1
        self._seen[key] = n
        return key if n == 1 else f"{key}#{n}"
