"""Run by ``torchrun`` in test_train_distributed: fine-tune a tiny model on 2 processes and
save each rank's final weights.

Usage: torchrun --nproc_per_node 2 tests/train_ddp_worker.py OUT_DIR MANIFEST
"""

from __future__ import annotations

import sys
from pathlib import Path

from safetensors.torch import save_file
from train_fixtures import DDP_OPTIONS, config

from speechlab.train import StepInfo, finetune


def main(out: Path, manifest: Path) -> None:
    cfg = config(out, manifest, **DDP_OPTIONS)

    def keep_weights(info: StepInfo) -> None:
        if info.step == cfg.max_steps:
            state = {k: v.detach().contiguous() for k, v in info.model.state_dict().items()}
            save_file(state, str(out / f"rank{info.rank}.safetensors"))

    result = finetune(cfg, on_step=keep_weights)
    assert result.world_size == 2, result.world_size


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
