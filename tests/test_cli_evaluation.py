"""``speechlab eval`` and ``speechlab roundtrip`` (speechlab.cli.evaluation) through typer's
CliRunner (the tiny CTC model stands in for ASR)."""

from __future__ import annotations

import json

import pytest
from conftest import require_module
from eval_fixtures import CORPUS, make_folder
from typer.testing import CliRunner

from speechlab.cli import app

pytestmark = pytest.mark.timeout(300)
runner = CliRunner()
WIDE = {"COLUMNS": "200"}


def test_eval_on_a_folder_prints_the_summary_and_saves(tiny_ctc_dir, tmp_path):
    corpus = make_folder(tmp_path / "corpus", CORPUS[:3])
    out = tmp_path / "out"
    args = ["eval", "--model", str(tiny_ctc_dir), "--data", str(corpus), "--lang", "pl"]
    result = runner.invoke(app, [*args, "--out", str(out), "--batch-size", "2"], env=WIDE)
    assert result.exit_code == 0, result.output
    assert "ASR evaluation" in result.output and "WER" in result.output
    assert "95% CI" in result.output and "model-card" in result.output
    summary = json.loads((out / "summary.json").read_text())
    assert summary["utterances"] == 3 and summary["language"] == "pl"
    assert (out / "transcripts.jsonl").is_file()


def test_eval_errors_are_one_line_and_exit_2(tiny_ctc_dir, tmp_path):
    corpus = make_folder(tmp_path / "corpus", CORPUS[:1])
    base = ["eval", "--model", str(tiny_ctc_dir), "--data"]
    result = runner.invoke(app, [*base, str(corpus), "--normalizer", "basic"], env=WIDE)
    assert result.exit_code == 2
    assert "error: Unknown normaliser 'basic'" in result.output
    result = runner.invoke(app, [*base, str(tmp_path / "no" / "such.tsv")], env=WIDE)
    assert result.exit_code == 2
    assert "is not a file or folder here" in result.output
    (corpus / "a01.txt").unlink()
    result = runner.invoke(app, [*base, str(corpus)], env=WIDE)
    assert result.exit_code == 2 and "no same-stem .txt" in result.output
    assert "Traceback" not in result.output


def test_eval_loads_a_dataset_by_name(tiny_ctc_dir, tmp_path, monkeypatch):
    datasets = require_module("datasets")
    corpus = make_folder(tmp_path / "corpus", CORPUS[:2])
    ds = datasets.Dataset.from_dict(
        {"audio": [str(corpus / "a01.wav"), str(corpus / "a02.wav")], "sentence": ["x", "y"]}
    ).cast_column("audio", datasets.Audio(sampling_rate=16_000))
    calls = []

    def fake_load_dataset(name, config=None, split=None):
        calls.append((name, config, split))
        if name == "org/missing":
            raise datasets.exceptions.DatasetNotFoundError(f"Dataset '{name}' doesn't exist")
        return ds

    monkeypatch.setattr(datasets, "load_dataset", fake_load_dataset)
    args = ["eval", "--model", str(tiny_ctc_dir), "--lang", "pl", "--split", "validation"]
    result = runner.invoke(app, [*args, "--data", "org/corpus"], env=WIDE)
    assert result.exit_code == 0, result.output
    assert calls == [("org/corpus", "pl", "validation")]
    result = runner.invoke(app, [*args, "--data", "org/missing"], env=WIDE)
    assert result.exit_code == 2
    assert "error: Could not load the dataset 'org/missing'" in result.output
    assert "DatasetNotFoundError" in result.output


def test_roundtrip_errors(tmp_path):
    empty = tmp_path / "texts.txt"
    empty.write_text("\n  \n", encoding="utf-8")
    result = runner.invoke(app, ["roundtrip", "--texts", str(empty)], env=WIDE)
    assert result.exit_code == 2 and "holds no text" in result.output
    result = runner.invoke(app, ["roundtrip", "--texts", str(tmp_path / "nope.txt")], env=WIDE)
    assert result.exit_code == 2 and "Text file not found" in result.output
    result = runner.invoke(app, ["roundtrip", "--normalizer", "x"], env=WIDE)
    assert result.exit_code == 2 and "Unknown normaliser 'x'" in result.output
