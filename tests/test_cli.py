"""The speechlab command line as a whole: the app, the console script, ``python -m speechlab``."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from speechlab import __version__
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


def test_console_script_is_installed():
    exe = shutil.which("speechlab", path=os.path.dirname(sys.executable))
    assert exe, "the speechlab console script is not installed next to this python"
    run = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0
    assert __version__ in run.stdout


def test_python_dash_m_speechlab_runs_the_same_app():
    run = subprocess.run(
        [sys.executable, "-m", "speechlab", "--version"], capture_output=True, text=True, timeout=60
    )
    assert run.returncode == 0, run.stderr
    assert __version__ in run.stdout
    helped = subprocess.run(
        [sys.executable, "-m", "speechlab", "finetune", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "COLUMNS": "200"},
    )
    assert helped.returncode == 0, helped.stderr
    assert "--config" in helped.stdout


def test_every_command_group_is_registered():
    result = runner.invoke(app, ["--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    for command in (
        "models", "transcribe", "say", "voices", "eval", "roundtrip", "run", "finetune",
        "export", "info", "selfcheck",
    ):  # fmt: skip
        assert command in result.output, command


def test_no_cli_function_shares_its_module_name():
    import importlib
    import inspect
    import pkgutil

    import speechlab.cli

    for module_info in pkgutil.iter_modules(speechlab.cli.__path__):
        module = importlib.import_module(f"speechlab.cli.{module_info.name}")
        value = getattr(module, module_info.name, None)
        assert not inspect.isfunction(value), f"speechlab.cli.{module_info.name}"
