"""Several processes, one run: ``torchrun`` / ``accelerate launch --multi_gpu`` set
``WORLD_SIZE``, ``RANK`` and ``LOCAL_RANK``; the process group is started here (NCCL on
CUDA, gloo on CPU) and the model wrapped in DistributedDataParallel. Every rank reads the
same batch plan and takes every ``world``-th batch, so the global batch is
``batch_size * world``.

``accelerate launch --multi_gpu --num_processes N`` runs torchrun underneath and works on
CPU-only machines too (gloo). ``accelerate launch --cpu --num_processes N`` starts ONE
process (accelerate runs several CPU processes only through ``mpirun``), so that launch
is refused here with a message instead of silently training alone.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from speechlab.train.errors import TrainError

__all__ = ["Dist", "init_distributed", "wrap"]


@dataclass(frozen=True)
class Dist:
    """This process's place in the run (``world == 1``: a single process)."""

    rank: int = 0
    world: int = 1
    local_rank: int = 0
    owns_group: bool = False  # this call started the process group (and ends it)

    @property
    def enabled(self) -> bool:
        return self.world > 1

    @property
    def main(self) -> bool:
        return self.rank == 0

    def barrier(self) -> None:
        if self.enabled:
            import torch.distributed as td

            td.barrier()

    def mean(self, value: float) -> float:
        """The mean of ``value`` over the ranks."""
        if not self.enabled:
            return value
        import torch
        import torch.distributed as td

        tensor = torch.tensor([value], dtype=torch.float64)
        if td.get_backend() == "nccl":
            tensor = tensor.cuda()
        td.all_reduce(tensor)
        return float(tensor.item()) / self.world

    def close(self) -> None:
        if self.owns_group:
            import torch.distributed as td

            td.destroy_process_group()


def init_distributed(device: str = "auto") -> Dist:
    """Join the process group the launcher describes (nothing to do for one process)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        _refuse_lone_accelerate_cpu()
        return Dist()
    import torch
    import torch.distributed as td

    rank = int(os.environ["RANK"])
    local_rank = int(os.environ.get("LOCAL_RANK", rank))
    owns = False
    if not td.is_initialized():
        cuda = torch.cuda.is_available() and device in ("auto", "cuda")
        if cuda:
            torch.cuda.set_device(local_rank)
        td.init_process_group(backend="nccl" if cuda else "gloo")
        owns = True
    return Dist(rank, world, local_rank, owns)


def _refuse_lone_accelerate_cpu() -> None:
    """``accelerate launch --cpu --num_processes N`` (N > 1) sets ``MASTER_ADDR`` and
    ``ACCELERATE_USE_CPU`` but starts a single process without ``WORLD_SIZE``."""
    cpu = os.environ.get("ACCELERATE_USE_CPU", "").lower() in ("1", "true", "yes")
    if cpu and "MASTER_ADDR" in os.environ and "WORLD_SIZE" not in os.environ:
        raise TrainError(
            "`accelerate launch --cpu --num_processes N` starts a single process (accelerate "
            "runs several CPU processes only through mpirun), so this would train alone. Use "
            "`accelerate launch --multi_gpu --num_processes N -m speechlab finetune ...` "
            "(torchrun underneath, gloo on CPU) or `torchrun --nproc_per_node N -m speechlab "
            "finetune ...`; for one process, drop --num_processes."
        )


def wrap(model: Any, dist: Dist, device: Any, find_unused: bool) -> Any:
    """``model`` in DistributedDataParallel when there are several processes."""
    if not dist.enabled:
        return model
    from torch.nn.parallel import DistributedDataParallel

    ids = [device.index] if device.type == "cuda" else None
    return DistributedDataParallel(model, device_ids=ids, find_unused_parameters=find_unused)
