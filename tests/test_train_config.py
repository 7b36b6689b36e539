"""The fine-tuning config: YAML, overrides, validation with messages that say what to do."""

from __future__ import annotations

import pytest

from speechlab.train.config import TrainConfig, load_config, parse_overrides
from speechlab.train.errors import ConfigError

pytestmark = pytest.mark.timeout(30)

YAML = """\
model: some/model
train: data/train.tsv
eval: data/dev.tsv
out_dir: runs/ft
strategy: adapter
learning_rate: 1e-4      # PyYAML reads this as a string
speeds: [0.9, 1.0, 1.1]
noise_snr_db: [null, 20, 10]
"""


def test_yaml_loads_with_numbers_coerced(tmp_path):
    path = tmp_path / "ft.yaml"
    path.write_text(YAML)
    cfg = load_config(path)
    assert cfg.strategy == "adapter" and cfg.learning_rate == 1e-4
    assert cfg.speeds == [0.9, 1.0, 1.1] and cfg.noise_snr_db == [None, 20.0, 10.0]
    assert cfg.to_dict()["train"] == "data/train.tsv"


def test_overrides_are_yaml_values(tmp_path):
    path = tmp_path / "ft.yaml"
    path.write_text(YAML)
    cfg = load_config(path, ["max_steps=20", "strategy=head", "speeds=[1.0]", "eval="])
    assert (cfg.max_steps, cfg.strategy, cfg.speeds, cfg.eval) == (20, "head", [1.0], None)
    assert load_config(path, {"batch_size": 3}).batch_size == 3
    with pytest.raises(ConfigError, match="key=value"):
        parse_overrides(["max_steps"])


def test_unknown_strategy_is_refused_with_a_suggestion():
    with pytest.raises(ConfigError, match=r"Unknown strategy 'adaptor'.*'adapter'"):
        TrainConfig(out_dir="o", train="t", model="m", strategy="adaptor")


def test_unknown_key_is_refused_with_a_suggestion():
    with pytest.raises(ConfigError, match=r"'learnig_rate' \(did you mean 'learning_rate'"):
        TrainConfig.from_dict({"out_dir": "o", "train": "t", "model": "m", "learnig_rate": 1})


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"model": None}, "from scratch"),
        ({"model": None, "model_config": {"hidden_size": 8}, "vocab": "model"}, "vocab: new"),
        ({"batch_size": 0}, "batch_size must be >= 1"),
        ({"max_steps": "many"}, "max_steps must be a whole number"),
        ({"min_seconds": 5, "max_seconds": 2}, "min_seconds < max_seconds"),
        ({"speeds": [3.0]}, "Speed factors"),
        ({"noise_colors": ["brown"]}, "noise colour"),
        ({"vocab": "nowhere"}, "vocab must be"),
        ({"precision": "int8"}, "Unknown precision"),
        ({"keep_checkpoints": 0}, "keep_checkpoints"),
    ],
)
def test_bad_values_are_typed_errors(changes, message):
    data = {"out_dir": "o", "train": "t", "model": "m", **changes}
    with pytest.raises(ConfigError, match=message):
        TrainConfig.from_dict(data)


def test_missing_file_and_non_mapping_yaml(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "nope.yaml")
    (tmp_path / "list.yaml").write_text("- a\n- b\n")
    with pytest.raises(ConfigError, match="mapping"):
        load_config(tmp_path / "list.yaml")
    with pytest.raises(ConfigError, match="needs out_dir"):
        load_config(None, {"train": "t", "model": "m"})
