"""``transcribe_corpus(model, data, out)``: a whole corpus to a folder of results, on this
machine (``engine="local"``) or on a Ray cluster (``engine="ray"``).

```python
from speechlab.scale import transcribe_corpus
run = transcribe_corpus("speechlab-pl-ctc-small", "cv-pl/test.tsv", "runs/cv-asr", engine="ray")
run.manifest  # runs/cv-asr/manifest.jsonl: id, path, text, words, language, duration, model, error
```

Both engines cut the corpus into the same length-bucketed batches (``batch_size``
utterances of similar duration) and give the same transcripts. The folder's layout and
the resume rules are those of :mod:`speechlab.scale.shards`: a rerun transcribes only the
utterances without a row; an unreadable file is an error row.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from speechlab.files import writable_folder
from speechlab.scale.cluster import connect, local_cluster
from speechlab.scale.errors import ScaleError
from speechlab.scale.shards import SUMMARY_FILE, ShardLog
from speechlab.scale.sources import buckets, open_corpus, windows
from speechlab.scale.work import BucketTranscriber, decode_bucket

__all__ = ["CorpusRun", "transcribe_corpus"]

ENGINES = ("local", "ray")


@dataclass
class CorpusRun:
    """What a corpus run did; ``manifest`` is the merged, ordered result file."""

    out: Path
    manifest: Path
    engine: str
    utterances: int
    transcribed: int  # in this call (the rest came from an earlier run)
    errors: int
    audio_seconds: float
    wall_seconds: float


def transcribe_corpus(
    model: str,
    data: Any,
    out: str | Path,
    *,
    engine: str = "local",
    address: str | None = None,
    actors: int = 2,
    threads: int = 1,
    batch_size: int = 8,
    language: str | None = None,
    device: str = "cpu",
    model_options: dict[str, Any] | None = None,
    gpus_per_actor: float = 0.0,
    num_cpus: int | None = None,
    window: int = 2048,
    shard_rows: int = 1000,
    audio_column: str | None = None,
    text_column: str | None = None,
    encoding: str = "utf-8",
    progress: bool = True,
    _fault: dict[str, Any] | None = None,
) -> CorpusRun:
    """Transcribe every utterance of ``data`` with ``model`` into ``out`` (resumable).

    ``data``: a manifest, a folder or a datasets Dataset/IterableDataset. ``engine``:
    ``local`` (one recognizer with ``threads`` threads) or ``ray`` (``actors`` recognizers
    with ``threads`` each; ``address`` an existing cluster, ``auto`` or ``HOST:PORT``,
    else a local one with ``num_cpus`` CPUs is started and stopped). ``model_options``:
    more ``load_asr`` options (``dtype``, ``lm`` ...). ``gpus_per_actor``:
    1 for one actor per GPU (with ``device="cuda"``). ``window``: rows of a dataset
    bucketed at once.
    """
    if engine not in ENGINES:
        raise ScaleError(f"Unknown engine {engine!r}; use one of {', '.join(ENGINES)}.")
    for name, value in (("actors", actors), ("threads", threads), ("batch_size", batch_size)):
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ScaleError(f"{name} must be a positive integer, got {value!r}.")
    folder = writable_folder(out, what="output folder")
    corpus = open_corpus(
        data, audio_column=audio_column, text_column=text_column, encoding=encoding
    )
    options = {**(model_options or {}), "device": device, "threads": threads,
               "language": language}  # fmt: skip
    shards = ShardLog(folder, {"model": str(model), "language": language}, shard_rows)
    started = time.perf_counter()
    ids: list[str] = []
    before = len(shards.rows)
    from tqdm.auto import tqdm

    bar = tqdm(total=corpus.total, unit="utt", desc=f"{engine} {model}", disable=not progress)
    try:
        with _engine(engine, model, options, language, address, num_cpus) as run_buckets:
            for items in windows(corpus, window):
                ids += [item["id"] for item in items]
                todo = [item for item in items if item["id"] not in shards.rows]
                bar.update(len(items) - len(todo))
                work = buckets(todo, batch_size)
                for rows in run_buckets(work, actors, threads, gpus_per_actor, _fault):
                    shards.append(rows)
                    bar.update(len(rows))
        manifest = shards.merge(ids)
    finally:
        shards.close()
        bar.close()
    rows = [shards.rows[i] for i in ids]
    result = CorpusRun(
        out=folder,
        manifest=manifest,
        engine=engine,
        utterances=len(ids),
        transcribed=len(shards.rows) - before,
        errors=sum(1 for r in rows if r["error"]),
        audio_seconds=round(sum(r["duration"] for r in rows), 3),
        wall_seconds=round(time.perf_counter() - started, 3),
    )
    summary = {k: str(v) if isinstance(v, Path) else v for k, v in asdict(result).items()}
    summary |= {"model": str(model), "actors": actors, "threads": threads,
                "batch_size": batch_size}  # fmt: skip
    (folder / SUMMARY_FILE).write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    return result


@contextlib.contextmanager
def _engine(
    engine: str,
    model: str,
    options: dict[str, Any],
    language: str | None,
    address: str | None,
    num_cpus: int | None,
) -> Iterator[Any]:
    """A function running buckets on the engine; the model (local) or the cluster (ray)
    is opened at the first bucket, so a finished run's rerun opens nothing."""
    with contextlib.ExitStack() as stack:
        state: dict[str, Any] = {}

        def run_local(work: list[list[dict[str, Any]]], *_: Any) -> Iterator[list[dict]]:
            if work and "model" not in state:
                state["model"] = BucketTranscriber(model, options, language)
            for bucket in work:
                yield state["model"](decode_bucket(bucket))

        def run_ray(
            work: list[list[dict[str, Any]]],
            actors: int,
            threads: int,
            gpus: float,
            fault: dict[str, Any] | None,
        ) -> Iterator[list[dict]]:
            from speechlab.scale.ray_engine import ray_rows

            if work and "cluster" not in state:
                if address is None:
                    state["cluster"] = stack.enter_context(local_cluster(num_cpus))
                else:
                    connect(address)
                    state["cluster"] = address
            yield from ray_rows(
                work,
                model=model,
                options=options,
                language=language,
                actors=actors,
                threads=threads,
                gpus_per_actor=gpus,
                fault=fault,
            )

        yield run_local if engine == "local" else run_ray
