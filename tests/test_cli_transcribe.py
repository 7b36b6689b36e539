"""``speechlab transcribe`` (speechlab.cli.transcribe)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
from typer.testing import CliRunner

from speechlab.cli import app

pytestmark = pytest.mark.timeout(300)
runner = CliRunner()


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
