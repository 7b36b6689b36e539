"""``speechlab info`` and ``speechlab selfcheck`` (speechlab.cli.info)."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from speechlab import __version__
from speechlab.cli import app
from speechlab.store import assembly

pytestmark = pytest.mark.timeout(300)
runner = CliRunner()


def test_info_json_reports_versions_threads_and_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("SPEECHLAB_HOME", str(tmp_path))
    result = runner.invoke(app, ["info", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["versions"]["speechlab"] == __version__
    assert data["versions"]["torch"].startswith("2.")
    assert int(data["runtime"]["torch threads"]) >= 1
    assert "CPUExecutionProvider" in data["runtime"]["onnxruntime providers"]
    assert data["paths"]["cache dir (SPEECHLAB_HOME)"] == str(tmp_path)
    table = runner.invoke(app, ["info"])
    assert table.exit_code == 0
    assert "libsndfile" in table.output


@pytest.mark.realweights
def test_selfcheck_end_to_end(real_store, tmp_path):
    """Kokoro speaks the Polish sentence, Whisper transcribes it back close enough."""
    from speechlab.selfcheck import passed, run_self_check

    results = run_self_check(tmp_path)
    assert passed(results), [(r.name, r.detail) for r in results]
    assert results[-1].values["wer"] <= 0.25
    wav = tmp_path / "selfcheck.wav"
    from speechlab.audio import info

    assert info(wav).sample_rate == 24_000
    assert 3.0 < info(wav).duration < 8.0

    result = runner.invoke(app, ["selfcheck"])
    assert result.exit_code == 0, result.output
    assert "self-check passed" in result.output


def test_selfcheck_fails_loudly_without_the_models(monkeypatch):
    """With the store's packages missing, the self-check reports FAIL and exits 1."""
    monkeypatch.setattr(assembly, "_missing_requirements", lambda model: ["pkg==1"])
    result = runner.invoke(app, ["selfcheck"])
    assert result.exit_code == 1
    assert "FAIL" in result.output
    assert "speechlab[offline-models]" in result.output
