"""The Ray engine: Ray Data decodes buckets in tasks, an actor pool of recognizers
(``actors`` actors, each holding one loaded model and ``threads`` CPU threads) transcribes
them, and the driver receives the rows as they finish.

Buckets travel between stages pickled in a bytes column, one bucket per row, so every
actor call runs exactly the batch the driver formed (the local engine runs the same ones).
Ray Data restarts a dead actor and retries its bucket (``max_restarts``/``max_task_retries``
are unlimited for its actor pools); the driver keeps each id once.
"""

from __future__ import annotations

import os
import pickle
from collections.abc import Iterator
from typing import Any

import numpy as np

from speechlab.scale.cluster import require_ray
from speechlab.scale.work import BucketTranscriber, decode_bucket

__all__ = ["RayRecognizer", "ray_rows"]


def ray_rows(
    buckets: list[list[dict[str, Any]]],
    *,
    model: str,
    options: dict[str, Any],
    language: str | None,
    actors: int,
    threads: int,
    gpus_per_actor: float = 0.0,
    fault: dict[str, Any] | None = None,
) -> Iterator[list[dict[str, Any]]]:
    """The result rows of each bucket, as the buckets finish (in no particular order)."""
    if not buckets:
        return
    require_ray()
    import ray.data

    context = ray.data.DataContext.get_current()
    context.enable_progress_bars = False
    context.print_on_execution_start = False
    context.enable_operator_progress_bars = False
    dataset = ray.data.from_items(
        [{"bucket": pickle.dumps(b)} for b in buckets], override_num_blocks=len(buckets)
    )
    # decoding is light next to recognition: tasks that reserve no CPU, as many as actors
    dataset = dataset.map(_decode_row, num_cpus=0, compute=ray.data.TaskPoolStrategy(size=actors))
    dataset = dataset.map_batches(
        RayRecognizer,
        batch_size=1,
        batch_format="numpy",
        compute=ray.data.ActorPoolStrategy(size=actors),
        num_cpus=threads,
        num_gpus=gpus_per_actor or None,
        fn_constructor_kwargs={
            "model": model,
            "options": options,
            "language": language,
            "fault": fault,
        },
    )
    for row in dataset.iter_rows():
        yield pickle.loads(row["rows"])


def _decode_row(row: dict[str, Any]) -> dict[str, Any]:
    return {"bucket": pickle.dumps(decode_bucket(pickle.loads(row["bucket"])))}


class RayRecognizer:
    """A Ray Data actor: one BucketTranscriber; ``fault`` (tests only) kills it once."""

    def __init__(
        self,
        model: str,
        options: dict[str, Any],
        language: str | None,
        fault: dict[str, Any] | None = None,
    ) -> None:
        self.work = BucketTranscriber(model, options, language)
        self.fault = fault or {}
        self.calls = 0

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        out = []
        for payload in batch["bucket"]:
            rows = self.work(pickle.loads(payload))
            self.calls += 1
            self._maybe_die()
            out.append(pickle.dumps(rows))
        return {"rows": np.array(out, dtype=object)}

    def _maybe_die(self) -> None:
        """``fault={"kill_after": N, "marker": PATH}``: after N buckets, the first actor to
        get there writes PATH and is killed by ``ray.kill`` (restartable), its bucket lost."""
        marker = self.fault.get("marker")
        if not marker or self.calls < self.fault.get("kill_after", 1):
            return
        try:
            fd = os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            return
        os.write(fd, str(os.getpid()).encode())
        os.close(fd)
        ray = require_ray()
        ray.kill(ray.get_runtime_context().current_actor, no_restart=False)
