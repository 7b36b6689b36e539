"""speechlab.recipes.demo_report: where demo output goes, the committed figures beside the
demo's, small demo output, quiet libraries."""

from __future__ import annotations

import warnings

import pandas as pd

from speechlab.recipes.demo_report import (
    COMMITTED_ADAPTATION,
    adaptation_tables_markdown,
    held_out_markdown,
    quiet_libraries,
    scale_note,
    shrink_demo_output,
    work_folder,
)


def test_demo_output_goes_to_the_projects_runs_folder_not_notebooks(tmp_path, monkeypatch):
    project = tmp_path / "project"
    notebooks = project / "speechlab" / "notebooks"
    notebooks.mkdir(parents=True)
    (project / "pyproject.toml").write_text("[project]\n")
    monkeypatch.chdir(notebooks)  # where JupyterLab starts the kernel
    assert work_folder(None, None, "adapt-demo") == project.resolve() / "runs" / "adapt-demo"
    assert work_folder(None, "/r/outputs", "adapt-demo").as_posix() == "/r/outputs/adapt-demo"
    assert work_folder("mine", "/r/outputs", "adapt-demo").as_posix() == "mine"
    lone = tmp_path / "lone"
    lone.mkdir()
    monkeypatch.chdir(lone)
    assert work_folder(None, None, "x") == lone.resolve() / "runs" / "x"


def test_held_out_table_is_markdown_beside_the_committed_model():
    scores = pd.DataFrame(
        {
            "set": ["heldout", "heldout-voice"],
            "what": ["held-out sentences", "held-out voice"],
            "utterances": [3, 3],
            "cer": [0.912, 0.95],
            "wer": [1.0, 1.0],
        }
    )
    text = held_out_markdown(scores, "demo")
    assert text.startswith("**Demo scale: these numbers are not results.**")
    assert "| held-out sentences | 3 | 91.2 | 100.0 | 7.5 | 34.1 |" in text
    assert "| held-out voice | 3 | 95.0 | 100.0 | 2.3 | 13.9 |" in text
    assert "not results" not in scale_note("full")


def test_adaptation_tables_show_the_full_scale_one_beside_a_demo():
    text = adaptation_tables_markdown(pd.DataFrame(COMMITTED_ADAPTATION[:2]), "demo")
    assert text.count("| strategy |") == 2
    assert "| adapter | 230,693 | 4.19 % | 329 s | 21.1 | 70.2 | 20.3 |" in text  # README's row
    assert (
        adaptation_tables_markdown(pd.DataFrame(COMMITTED_ADAPTATION), "full").count("| strategy |")
        == 1
    )


def test_demo_output_loses_checkpoints_and_best_copies_but_keeps_models(tmp_path):
    for strategy in ("head", "encoder"):
        run = tmp_path / f"adapt-{strategy}"
        (run / "checkpoints" / "step-3").mkdir(parents=True)
        (run / "checkpoints" / "step-3" / "optimizer.pt").write_bytes(b"x" * 1_000_000)
        for kept in ("model", "best"):
            (run / kept).mkdir()
            (run / kept / "model.safetensors").write_bytes(b"y" * 500_000)
    (tmp_path / "lone" / "best").mkdir(parents=True)  # no model/ beside it: kept
    line = shrink_demo_output(tmp_path)
    assert line.startswith("removed 3.0 MB") and line.endswith("holds 1.0 MB")
    assert not list(tmp_path.rglob("checkpoints"))
    assert len(list(tmp_path.rglob("model.safetensors"))) == 2
    assert (tmp_path / "lone" / "best").is_dir()


def test_quiet_libraries_silences_transformers_bars_and_future_warnings():
    from transformers.utils import logging as transformers_logging

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        quiet_libraries()
        warnings.warn_explicit("old", FutureWarning, "x.py", 1, module="transformers.modeling")
        warnings.warn_explicit("mine", FutureWarning, "y.py", 1, module="speechlab.train")
    assert [str(w.message) for w in caught] == ["mine"]
    assert not transformers_logging.is_progress_bar_enabled()
    transformers_logging.enable_progress_bar()  # leave the process as it was
