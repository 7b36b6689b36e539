"""``speechlab finetune`` (speechlab.cli.finetune) through typer's CliRunner, and under
``torchrun -m speechlab finetune``."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import yaml
from train_fixtures import TEXTS, TINY_CONFIG, make_manifest
from typer.testing import CliRunner

from speechlab.cli import app

pytestmark = pytest.mark.timeout(120)
runner = CliRunner()
WIDE = {"COLUMNS": "200"}


def _yaml(tmp_path, **changes):
    data = {
        "model_config": TINY_CONFIG,
        "train": str(make_manifest(tmp_path / "data", TEXTS[:4])),
        "out_dir": str(tmp_path / "unused"),
        "batch_size": 2,
        "max_steps": 50,
        "progress": False,
        "device": "cpu",
        **changes,
    }
    path = tmp_path / "ft.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_finetune_runs_from_yaml_with_overrides_and_prints_a_summary(tmp_path):
    path = _yaml(tmp_path)
    out = tmp_path / "out"
    args = [
        "finetune",
        "--config",
        str(path),
        "--out",
        str(out),
        "--max-steps",
        "2",
        "--set",
        "eval_every=0",
    ]
    result = runner.invoke(app, [*args, "--set", "learning_rate=1e-3"], env=WIDE)
    assert result.exit_code == 0, result.output
    assert "fine-tuned" in result.output and "new head" in result.output
    saved = json.loads((out / "result.json").read_text())
    assert saved["steps"] == 2 and (out / "model" / "model.safetensors").is_file()
    assert yaml.safe_load((out / "config.yaml").read_text())["learning_rate"] == 1e-3


def test_errors_are_one_line_and_exit_2(tmp_path):
    path = _yaml(tmp_path)
    result = runner.invoke(
        app, ["finetune", "--config", str(path), "--set", "strategy=lora"], env=WIDE
    )
    assert result.exit_code == 2
    assert "error: Unknown strategy 'lora'" in result.output
    result = runner.invoke(app, ["finetune", "--config", str(tmp_path / "none.yaml")], env=WIDE)
    assert result.exit_code == 2 and "Config file not found" in result.output


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_torchrun_dash_m_speechlab_finetune_runs_two_processes(tmp_path):
    """What the README documents for several processes: ``torchrun ... -m speechlab finetune``."""
    path = _yaml(tmp_path, out_dir=str(tmp_path / "out"), max_steps=2, eval_every=0)
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node"]
    command = [*torchrun, "2", "-m", "speechlab", "finetune", "--config", str(path)]
    env = {**os.environ, "OMP_NUM_THREADS": "1", **WIDE}
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "fine-tuned" in done.stdout
    assert json.loads((tmp_path / "out" / "result.json").read_text())["world_size"] == 2


def test_accelerate_cpu_launch_of_one_process_is_refused_with_the_working_command(tmp_path):
    """``accelerate launch --cpu --num_processes 2`` starts one process with this env (no
    WORLD_SIZE): training alone would pass for a 2-process run, so it is refused."""
    path = _yaml(tmp_path)
    env = {**WIDE, "ACCELERATE_USE_CPU": "True", "MASTER_ADDR": "127.0.0.1"}
    result = runner.invoke(app, ["finetune", "--config", str(path)], env=env)
    assert result.exit_code == 2, result.output
    assert "accelerate launch --multi_gpu --num_processes N" in result.output
    assert not (tmp_path / "unused").exists()


@pytest.mark.slow
@pytest.mark.timeout(400)
def test_accelerate_launch_multi_gpu_runs_two_processes_on_cpu(tmp_path):
    """What docs/scale-out.md documents for accelerate: ``--multi_gpu`` (torchrun underneath)
    trains on 2 gloo processes without a GPU (measured: 92 s on the shared 2-core box)."""
    path = _yaml(tmp_path, out_dir=str(tmp_path / "out"), max_steps=2, eval_every=0)
    accelerate = [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu"]
    options = ["--num_processes", "2", "--num_machines", "1", "--mixed_precision", "no",
               "--dynamo_backend", "no", "--main_process_port", "0"]  # fmt: skip
    command = [*accelerate, *options, "-m", "speechlab", "finetune", "--config", str(path)]
    env = {**os.environ, "OMP_NUM_THREADS": "1", **WIDE}
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=360)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "fine-tuned" in done.stdout
    assert json.loads((tmp_path / "out" / "result.json").read_text())["world_size"] == 2
