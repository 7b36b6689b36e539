"""Two CPU processes (torchrun, gloo) train one model: identical weights on both ranks, equal
to one process accumulating the same two batches."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file
from train_fixtures import DDP_OPTIONS, TEXTS, config, make_manifest

from speechlab.train import finetune

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

WORKER = Path(__file__).with_name("train_ddp_worker.py")


def test_two_processes_end_with_identical_weights(tmp_path):
    manifest = make_manifest(tmp_path / "data", TEXTS[:4])
    out = tmp_path / "ddp"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(WORKER.parent)}
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone",
               "--nproc_per_node", "2", str(WORKER), str(out), str(manifest)]  # fmt: skip
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    rank0, rank1 = (load_file(str(out / f"rank{r}.safetensors")) for r in (0, 1))
    assert rank0.keys() == rank1.keys()
    assert all(torch.equal(rank0[k], rank1[k]) for k in rank0)
    exported = load_file(str(out / "model" / "model.safetensors"))
    assert all(torch.equal(exported[k], rank0[k]) for k in exported)
    state = (out / "checkpoints" / "step-00000002").iterdir()
    assert {"rng-rank0.pt", "rng-rank1.pt"} <= {p.name for p in state}

    # one process taking the same two batches per step by accumulation: the same update
    single = finetune(config(tmp_path / "single", manifest, **DDP_OPTIONS, grad_accum=2))
    alone = load_file(str(single.model_dir / "model.safetensors"))
    assert all(torch.allclose(alone[k], rank0[k], atol=1e-5) for k in alone)
    assert not torch.equal(alone["lm_head.weight"], load_file(
        str(finetune(config(tmp_path / "other", manifest, **DDP_OPTIONS)).model_dir
            / "model.safetensors")
    )["lm_head.weight"])  # fmt: skip
