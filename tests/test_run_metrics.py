"""speechlab.record: into the run folder's metrics.json under `speechlab run`, else memory."""

from __future__ import annotations

import json

import numpy as np
import pytest

import speechlab
from speechlab import run_metrics
from speechlab.errors import SpeechlabError
from speechlab.run_metrics import METRICS_FILE, RUN_FOLDER_ENV, RecordError, record, recorded


@pytest.fixture
def fresh(monkeypatch):
    """No run folder, no values kept from another test."""
    monkeypatch.delenv(RUN_FOLDER_ENV, raising=False)
    monkeypatch.setattr(run_metrics, "_in_memory", {})
    monkeypatch.setattr(run_metrics, "_told", False)


def test_inside_a_run_values_go_to_metrics_json(fresh, tmp_path, monkeypatch):
    monkeypatch.setenv(RUN_FOLDER_ENV, str(tmp_path))
    assert speechlab.record("cer", np.float32(0.25)) == 0.25
    record("n", np.int64(12))
    record("voice", "jm_kumo")
    record("cer", 0.125)  # the same name again replaces it
    stored = json.loads((tmp_path / METRICS_FILE).read_text(encoding="utf-8"))
    assert stored == {"cer": 0.125, "n": 12, "voice": "jm_kumo"}
    assert type(stored["n"]) is int
    assert recorded() == stored
    assert not list(tmp_path.glob("*.tmp"))


def test_outside_a_run_values_stay_in_memory_and_it_says_so_once(fresh, capsys):
    record("wer", 0.5)
    record("cer", float("nan"))  # not JSON: stored as None
    out = capsys.readouterr().out
    assert out.count("not inside `speechlab run`") == 1 and "wer = 0.5" in out
    assert recorded() == {"wer": 0.5, "cer": None}


@pytest.mark.parametrize(
    ("name", "value", "match"),
    [
        ("", 1.0, "non-empty name"),
        ("cer", [0.1, 0.2], "got a list"),
        ("cer", {"a": 1}, "got a dict"),
        ("label", "x" * 201, "201-character string"),
    ],
)
def test_values_a_record_cannot_hold_are_refused(fresh, name, value, match):
    with pytest.raises(RecordError, match=match) as caught:
        record(name, value)
    assert isinstance(caught.value, SpeechlabError)


def test_a_damaged_metrics_file_is_named(fresh, tmp_path, monkeypatch):
    monkeypatch.setenv(RUN_FOLDER_ENV, str(tmp_path))
    (tmp_path / METRICS_FILE).write_text("{not json", encoding="utf-8")
    with pytest.raises(RecordError, match=r"metrics\.json is not valid JSON"):
        record("cer", 0.1)
