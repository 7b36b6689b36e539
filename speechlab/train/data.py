"""Training inputs: utterances from ``speechlab.corpus.read_data``, normalised, filtered,
augmented, in seeded length-grouped batches that a resumed run can re-enter exactly.

* Sources: a manifest (.tsv/.csv), a folder of audio + same-stem .txt, or a datasets
  ``Dataset``/``IterableDataset`` (streaming too): whatever ``read_data`` reads.
* Text: the evaluation normaliser (``model-card`` by default), so training targets and
  scored references agree; then :meth:`Vocab.encode`.
* Order: each epoch's utterances are shuffled with ``(seed, epoch)`` (a list: a
  permutation; a ``Dataset``: ``ds.shuffle(seed)``; a stream: datasets' buffer shuffle, or
  stream order). They are taken ``batch_size * group_batches`` at a time (a *group*),
  sorted by length, cut into batches, and the group's batches shuffled: little padding,
  no systematic order. A :class:`Position` ``(epoch, group, batch)`` names the next batch;
  starting there skips earlier groups without decoding them.
* Filtering (each group, deterministically): transcripts that are empty after
  normalisation, audio shorter than ``min_seconds`` or longer than ``max_seconds``, and
  utterances with more CTC labels than the model has frames for them.
* Audio: decoded and resampled to 16 kHz with :func:`speechlab.audio.load` (soxr) when its
  batch is built (decoded earlier only when a dataset does not give durations); then the
  item's :class:`AugmentPlan` (speed, room, noise, telephone, gain), drawn from
  ``(seed, epoch, index)``.
"""

from __future__ import annotations

import itertools
import os
from collections import Counter, deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from speechlab import audio as audio_io
from speechlab.corpus import Utterance, read_data
from speechlab.errors import DatasetError
from speechlab.textnorm import Normalizer, get_normalizer
from speechlab.train.augment import AugmentPlan, Effects, apply_plan, choose_plan, seeded
from speechlab.train.errors import TrainDataError
from speechlab.train.vocab import Vocab, build_vocab

__all__ = [
    "SAMPLE_RATE",
    "Item",
    "Position",
    "TrainingData",
    "build_vocab",
    "collate",
    "ctc_min_frames",
    "load_eval_set",
    "open_source",
    "prefetch",
    "rank_batches",
    "read_texts",
]

SAMPLE_RATE = 16_000
IGNORE_INDEX = -100  # label padding, ignored by the CTC loss


@dataclass
class Item:
    """One training utterance: labels, augmentation, and (once decoded) its 16 kHz samples."""

    epoch: int
    index: int  # position in its epoch's order
    audio: Any  # what speechlab.audio.load takes
    text: str  # normalised transcript
    labels: list[int]
    plan: AugmentPlan
    samples: int  # length after augmentation (estimated from the header until decoded)
    wave: np.ndarray | None = None  # decoded, before augmentation

    def load(self, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
        """The augmented samples the model trains on."""
        wave = self.wave
        if wave is None:
            wave = audio_io.load(self.audio, sample_rate=sample_rate).samples
        return apply_plan(wave, self.plan, sample_rate)


@dataclass(frozen=True)
class Position:
    """Where the batch stream stands: the next batch is ``batch`` of ``group`` of ``epoch``."""

    epoch: int = 0
    group: int = 0
    batch: int = 0

    def to_dict(self) -> dict[str, int]:
        return {"epoch": self.epoch, "group": self.group, "batch": self.batch}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Position:
        return cls(int(data["epoch"]), int(data["group"]), int(data["batch"]))


@dataclass
class FilterStats:
    """Why utterances were left out, counted in the first epoch this process planned."""

    epoch: int | None = None
    kept: int = 0
    dropped: Counter[str] = field(default_factory=Counter)

    def count(self, epoch: int, why: str | None) -> None:
        if self.epoch is None:
            self.epoch = epoch
        if epoch != self.epoch:
            return
        if why is None:
            self.kept += 1
        else:
            self.dropped[why] += 1

    def describe(self) -> str:
        reasons = ", ".join(f"{n} {why}" for why, n in sorted(self.dropped.items()))
        where = f"epoch {self.epoch}: " if self.epoch is not None else ""
        return f"{where}{self.kept} kept" + (f"; left out: {reasons}" if reasons else "")


class TrainingData:
    """An endless stream of length-grouped batches over epochs (see the module doc)."""

    def __init__(
        self,
        source: Any,
        vocab: Vocab,
        frames_for: Callable[[int], int],
        *,
        batch_size: int = 8,
        group_batches: int = 16,
        seed: int = 0,
        shuffle: bool = True,
        shuffle_buffer: int = 1000,
        min_seconds: float = 0.5,
        max_seconds: float = 20.0,
        speeds: Sequence[float] = (1.0,),
        snrs_db: Sequence[float | None] = (None,),
        colors: Sequence[str] = ("white",),
        effects: Effects | None = None,
        normalizer: str | Normalizer = "model-card",
        audio_column: str | None = None,
        text_column: str | None = None,
        sample_rate: int = SAMPLE_RATE,
    ) -> None:
        self.source = source = open_source(source)
        self.vocab = vocab
        self.frames_for = frames_for
        self.batch_size = batch_size
        self.group_size = batch_size * group_batches
        self.seed = seed
        self.shuffle = shuffle
        self.shuffle_buffer = shuffle_buffer
        self.min_seconds, self.max_seconds = min_seconds, max_seconds
        self.choices = (tuple(speeds), tuple(snrs_db), tuple(colors))
        self.effects = effects or Effects()
        self.normalize = get_normalizer(normalizer)
        self.columns = {"audio_column": audio_column, "text_column": text_column}
        self.sample_rate = sample_rate
        self.stats = FilterStats()
        corpus = _read(source, self.columns, "training")  # checks columns and emptiness now
        # files: the utterance list is read once; datasets: re-read (reshuffled) per epoch
        self._fixed = corpus if isinstance(source, str | os.PathLike) else None
        self.total = corpus.total

    # ------------------------------------------------------------------ order

    def utterances(self, epoch: int, skip: int = 0) -> Iterator[Utterance]:
        """The epoch's utterances in training order, from the ``skip``-th on."""
        if self._fixed is not None:
            listed = list(self._fixed.utterances)
            order = (
                seeded(self.seed, epoch).permutation(len(listed))
                if self.shuffle
                else np.arange(len(listed))
            )
            return (listed[i] for i in order[skip:])
        ds = self.source
        if self.shuffle and hasattr(ds, "__len__"):
            ds = ds.shuffle(seed=self.seed + epoch)
        elif self.shuffle and self.shuffle_buffer > 0 and hasattr(ds, "shuffle"):
            ds = ds.shuffle(seed=self.seed + epoch, buffer_size=self.shuffle_buffer)
        corpus = _read(ds, self.columns, "training")
        return itertools.islice(iter(corpus.utterances), skip, None)

    def batches(self, start: Position = Position()) -> Iterator[tuple[list[Item], Position]]:
        """``(batch, position of the next batch)`` from ``start`` on, epoch after epoch."""
        epoch, group, first = start.epoch, start.group, start.batch
        while True:
            produced = group > 0 or first > 0  # resumed inside an epoch that had batches
            stream = self.utterances(epoch, group * self.group_size)
            while True:
                chunk = list(itertools.islice(stream, self.group_size))
                if not chunk:
                    break
                planned = self.plan_group(epoch, group, chunk)
                produced = produced or bool(planned)
                for b in range(first, len(planned)):
                    yield planned[b], Position(epoch, group, b + 1)
                group, first = group + 1, 0
            if not produced:
                raise TrainDataError(
                    f"No usable training utterance in epoch {epoch} ({self.stats.describe()}). "
                    "Check the transcripts, widen min_seconds/max_seconds, or use a model with "
                    "more frames per second of audio."
                )
            epoch, group, first = epoch + 1, 0, 0

    def plan_group(self, epoch: int, group: int, chunk: Sequence[Utterance]) -> list[list[Item]]:
        """Filter, sort by length and batch one group; the batch order is shuffled."""
        items = []
        for offset, utterance in enumerate(chunk):
            item = self._item(epoch, group * self.group_size + offset, utterance)
            if item is not None:
                items.append(item)
        items.sort(key=lambda it: (-it.samples, it.index))
        batches = [items[i : i + self.batch_size] for i in range(0, len(items), self.batch_size)]
        if self.shuffle:
            order = seeded(self.seed, epoch, group, 1).permutation(len(batches))
            batches = [batches[i] for i in order]
        return batches

    def _item(self, epoch: int, index: int, utterance: Utterance) -> Item | None:
        text = self.normalize(utterance.reference)
        labels = self.vocab.encode(text)
        plan = choose_plan(seeded(self.seed, epoch, index), *self.choices, self.effects)
        if not labels:
            return self._drop(epoch, "with an empty transcript")
        wave = None
        duration = utterance.duration
        if duration is None:
            wave = audio_io.load(utterance.audio, sample_rate=self.sample_rate).samples
            duration = len(wave) / self.sample_rate
        if duration < self.min_seconds:
            return self._drop(epoch, f"shorter than {self.min_seconds} s")
        if duration > self.max_seconds:
            return self._drop(epoch, f"longer than {self.max_seconds} s")
        samples = round(duration * self.sample_rate / plan.speed)
        if self.frames_for(samples) < ctc_min_frames(labels):
            return self._drop(epoch, "with more labels than frames")
        self.stats.count(epoch, None)
        return Item(epoch, index, utterance.audio, text, labels, plan, samples, wave)

    def _drop(self, epoch: int, why: str) -> None:
        self.stats.count(epoch, why)
        return None


def rank_batches(
    stream: Iterator[tuple[list[Item], Position]], world: int, rank: int
) -> Iterator[tuple[list[Item], Position]]:
    """This process's share of the stream: batch ``rank`` of every ``world`` consecutive
    batches, with the position after all ``world`` of them."""
    while True:
        taken = [next(stream) for _ in range(world)]
        yield taken[rank][0], taken[-1][1]


def prefetch(
    batches: Iterator[tuple[list[Item], Position]],
    sample_rate: int,
    depth: int = 2,
    processes: int = 0,
) -> Iterator[tuple[list[Item], Position, list[np.ndarray]]]:
    """``(items, position, augmented waves)``, the next ``depth`` batches decoded and
    augmented in the background while the model works: by ``depth`` threads (decoding and
    soxr release the GIL), or by ``processes`` worker processes when it is > 0 (for a
    machine with many cores feeding an accelerator, where the threads' Python work would
    queue on the GIL). Loading is a pure function of the item, so the result depends
    neither on timing nor on which kind of worker made it.
    """
    if depth < 1:
        for items, position in batches:
            yield items, position, [item.load(sample_rate) for item in items]
        return
    pool: Executor
    if processes > 0:
        import multiprocessing

        # spawn: the parent may hold CUDA and threads, which a forked child must not inherit
        pool = ProcessPoolExecutor(processes, mp_context=multiprocessing.get_context("spawn"))
    else:
        pool = ThreadPoolExecutor(max_workers=depth, thread_name_prefix="speechlab-load")
    with pool:
        pending: deque[tuple[list[Item], Position, list[Future[np.ndarray]]]] = deque()
        while True:
            while len(pending) < depth:
                items, position = next(batches)
                pending.append(
                    (items, position, [pool.submit(_load, item, sample_rate) for item in items])
                )
            items, position, futures = pending.popleft()
            yield items, position, [future.result() for future in futures]


def _load(item: Item, sample_rate: int) -> np.ndarray:
    """``item.load`` as a module-level function (a worker process can unpickle it)."""
    return item.load(sample_rate)


def ctc_min_frames(labels: Sequence[int]) -> int:
    """Frames CTC needs for ``labels``: one per label plus a blank between repeats."""
    repeats = sum(1 for a, b in itertools.pairwise(labels) if a == b)
    return len(labels) + repeats


def collate(
    waves: Sequence[np.ndarray],
    labels: Sequence[Sequence[int]] | None = None,
    *,
    normalize: bool = True,
) -> dict[str, Any]:
    """Pad a batch: ``input_values`` (zero-mean unit-variance per utterance when
    ``normalize``, as Wav2Vec2FeatureExtractor does), ``attention_mask`` (1 on samples) and
    ``labels`` (padded with -100, which the CTC loss ignores)."""
    import torch

    if not waves:
        raise TrainDataError("Cannot collate an empty batch.")
    lengths = [len(w) for w in waves]
    values = np.zeros((len(waves), max(lengths)), dtype=np.float32)
    mask = np.zeros(values.shape, dtype=np.int64)
    for row, wave in enumerate(waves):
        wave = np.asarray(wave, dtype=np.float32)
        if normalize:
            wave = (wave - wave.mean()) / np.sqrt(wave.var() + 1e-7)
        values[row, : len(wave)] = wave
        mask[row, : len(wave)] = 1
    batch = {"input_values": torch.from_numpy(values), "attention_mask": torch.from_numpy(mask)}
    if labels is not None:
        longest = max((len(x) for x in labels), default=0)
        padded = np.full((len(labels), max(longest, 1)), IGNORE_INDEX, dtype=np.int64)
        for row, ids in enumerate(labels):
            padded[row, : len(ids)] = ids
        batch["labels"] = torch.from_numpy(padded)
    return batch


def read_texts(
    source: Any,
    *,
    normalizer: str | Normalizer = "model-card",
    limit: int | None = None,
    audio_column: str | None = None,
    text_column: str | None = None,
) -> list[str]:
    """The normalised transcripts of a source (the first ``limit`` of a stream)."""
    normalize = get_normalizer(normalizer)
    columns = {"audio_column": audio_column, "text_column": text_column}
    corpus = _read(open_source(source), columns, "training")
    return [normalize(u.reference) for u in itertools.islice(corpus.utterances, limit)]


def load_eval_set(
    source: Any,
    *,
    normalizer: str | Normalizer = "model-card",
    max_items: int | None = None,
    audio_column: str | None = None,
    text_column: str | None = None,
    sample_rate: int = SAMPLE_RATE,
) -> list[tuple[np.ndarray, str]]:
    """``(16 kHz samples, normalised reference)`` for the first ``max_items`` utterances,
    longest first (so evaluation batches pad little)."""
    normalize = get_normalizer(normalizer)
    columns = {"audio_column": audio_column, "text_column": text_column}
    corpus = _read(open_source(source), columns, "evaluation")
    items = [
        (audio_io.load(u.audio, sample_rate=sample_rate).samples, normalize(u.reference))
        for u in itertools.islice(corpus.utterances, max_items)
    ]
    items = [(wave, text) for wave, text in items if text]
    if not items:
        raise TrainDataError(f"The evaluation data {_label(source)} has no transcribed item.")
    items.sort(key=lambda pair: -len(pair[0]))
    return items


def open_source(source: Any) -> Any:
    """A data source as ``read_data`` takes it; a mapping ``{dataset: NAME, name: CONFIG,
    split: SPLIT, streaming: BOOL}`` (what a YAML config can say) is loaded with datasets."""
    if not isinstance(source, Mapping):
        return source
    if "dataset" not in source:
        raise TrainDataError(
            f"A data mapping needs a 'dataset' key (a datasets name), got {sorted(source)}."
        )
    unknown = set(source) - {"dataset", "name", "split", "streaming"}
    if unknown:
        raise TrainDataError(
            f"Unknown dataset keys {sorted(unknown)}; use dataset, name, split, streaming."
        )
    try:
        import datasets

        return datasets.load_dataset(
            source["dataset"],
            source.get("name"),
            split=source.get("split", "train"),
            streaming=bool(source.get("streaming", False)),
        )
    except (OSError, ValueError, KeyError, ConnectionError, ImportError) as exc:
        raise TrainDataError(
            f"Could not load the dataset {dict(source)}: {type(exc).__name__}: {exc}. Offline, "
            "or for gated sets, download it first and pass a folder or a manifest."
        ) from exc


def _read(source: Any, columns: dict[str, str | None], role: str) -> Any:
    """``read_data(source)`` with its errors worded for training."""
    try:
        return read_data(source, **columns)
    except DatasetError as exc:
        raise TrainDataError(f"Cannot use {_label(source)} as {role} data: {exc}") from exc


def _label(source: Any) -> str:
    return str(source) if isinstance(source, str | os.PathLike) else type(source).__name__
