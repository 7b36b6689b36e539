"""speechlab.plots: figures from confusion, language and voice tables."""

from __future__ import annotations

import subprocess
import sys

import pandas as pd
import pytest

from speechlab.eval.confusions import confusion_matrix
from speechlab.plots import confusion_heatmap, language_bars, voice_bars

pytestmark = pytest.mark.timeout(120)


def test_confusion_heatmap_shows_errors_only():
    refs = ["góra", "kóz", "wóz", "łza", "łyk", "żaba"]
    hyps = ["gura", "kuz", "wuz", "lza", "lyk", "zaba"]  # ó→u 3, ł→l 2, ż→z 1
    figure = confusion_heatmap(confusion_matrix(refs, hyps), top=2)
    heat = figure.data[0]
    assert type(figure).__name__ == "Figure"
    assert list(heat.y) == ["ó", "ł"] and list(heat.x) == ["u", "l"]
    values = pd.DataFrame(heat.z, index=heat.y, columns=heat.x)
    assert values.loc["ó", "u"] == 3 and values.loc["ł", "l"] == 2
    assert pd.isna(values.loc["ó", "l"])  # no count: blank, not a zero-coloured cell
    everything = confusion_heatmap(confusion_matrix(refs, hyps)).data[0]
    assert "z" in everything.x and "a" not in everything.x  # correct-only characters left out


def test_language_and_voice_bars_carry_intervals_and_the_synthetic_label():
    table = pd.DataFrame(
        {
            "language": ["pl", "cs"],
            "wer": [0.4, 0.6],
            "wer_low": [0.3, 0.5],
            "wer_high": [0.5, 0.8],
            "cer": [0.1, 0.2],
            "cer_low": [0.05, 0.1],
            "cer_high": [0.15, 0.3],
            "synthetic": [False, True],
        }
    )
    figure = language_bars(table)
    wer, cer = figure.data
    assert list(wer.x) == ["pl", "cs (synthetic)"]
    assert list(wer.y) == [0.4, 0.6] and list(cer.y) == [0.1, 0.2]
    assert list(wer.error_y.array) == pytest.approx([0.1, 0.2])
    assert list(wer.error_y.arrayminus) == pytest.approx([0.1, 0.1])
    voices = table.rename(columns={"language": "voice"}).drop(columns="synthetic")
    figure = voice_bars(voices)
    assert list(figure.data[0].x) == ["pl", "cs"]
    assert "synthetic" in figure.layout.title.text


def test_importing_plots_does_not_import_plotly():
    code = "import sys, speechlab.plots, speechlab.eval; print('plotly' in sys.modules)"
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "False"
