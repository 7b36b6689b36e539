"""``speechlab finetune`` through typer's CliRunner, and ``python -m speechlab.train``."""

from __future__ import annotations

import json

import pytest
import yaml
from train_fixtures import TEXTS, TINY_CONFIG, make_manifest
from typer.testing import CliRunner

from speechlab.train.cli import app

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
    args = ["--config", str(path), "--out", str(out), "--max-steps", "2", "--set", "eval_every=0"]
    result = runner.invoke(app, [*args, "--set", "learning_rate=1e-3"], env=WIDE)
    assert result.exit_code == 0, result.output
    assert "fine-tuned" in result.output and "new head" in result.output
    saved = json.loads((out / "result.json").read_text())
    assert saved["steps"] == 2 and (out / "model" / "model.safetensors").is_file()
    assert yaml.safe_load((out / "config.yaml").read_text())["learning_rate"] == 1e-3


def test_errors_are_one_line_and_exit_2(tmp_path):
    path = _yaml(tmp_path)
    result = runner.invoke(app, ["--config", str(path), "--set", "strategy=lora"], env=WIDE)
    assert result.exit_code == 2
    assert "error: Unknown strategy 'lora'" in result.output
    result = runner.invoke(app, ["--config", str(tmp_path / "none.yaml")], env=WIDE)
    assert result.exit_code == 2 and "Config file not found" in result.output
