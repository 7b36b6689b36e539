"""``speechlab listen`` (speechlab.cli.listen): live recognition of a file or a microphone."""

from __future__ import annotations

import builtins
import time

import numpy as np
import pytest
import soundfile as sf
from typer.testing import CliRunner

from speechlab.cli import app

pytestmark = pytest.mark.timeout(300)
runner = CliRunner()


@pytest.fixture
def clip(tmp_path):
    rng = np.random.default_rng(0)
    path = tmp_path / "clip.wav"
    sf.write(path, (0.1 * rng.standard_normal(3 * 48_000)).astype("float32"), 48_000)
    return path


def test_listen_prints_partials_as_they_change_and_finals(tiny_ctc_dir, clip):
    args = ["listen", str(clip), "--model", str(tiny_ctc_dir)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    partials = [line.split("\t") for line in lines if line.startswith("partial\t")]
    finals = [line.split("\t") for line in lines if line.startswith("final\t")]
    assert partials and all(len(p) == 4 for p in partials)
    assert len({(p[2], p[3]) for p in partials}) == len(partials)  # only changes are printed
    assert len(finals) == 1 and finals[0][1] == "0.00" and finals[0][2] == "3.00"
    started = time.monotonic()
    paced = runner.invoke(app, [*args, "--realtime", "--speed", "4"])
    assert paced.exit_code == 0, paced.output
    assert time.monotonic() - started >= 3.0 / 4  # fed at 4x real time
    assert paced.output.count("final\t") == 1


def test_listen_needs_one_source(tiny_ctc_dir, clip):
    result = runner.invoke(app, ["listen", "--model", str(tiny_ctc_dir)])
    assert result.exit_code == 2 and "FILE or --mic" in result.output
    result = runner.invoke(app, ["listen", str(clip), "--mic"])
    assert result.exit_code == 2 and "FILE or --mic" in result.output


def test_listen_mic_without_sounddevice_is_one_line(monkeypatch):
    real_import = builtins.__import__

    def no_sounddevice(name, *args, **kwargs):
        if name == "sounddevice":
            raise ImportError("No module named 'sounddevice'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_sounddevice)
    result = runner.invoke(app, ["listen", "--mic"])
    assert result.exit_code == 2
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and "sounddevice" in lines[0] and "pip install" in lines[0]
