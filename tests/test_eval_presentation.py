"""speechlab.eval.presentation: percentages, texts beside their scores, wide-interval
warnings, the worst utterances."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from speechlab.eval import EvalResult, in_percent, interval_warning, text_scores, worst


def test_rate_columns_become_rounded_percentages_and_others_stay():
    frame = pd.DataFrame(
        {
            "language": ["pl"],
            "wer": [0.41666],
            "wer_low": [0.2],
            "cer_high": [0.1666],
            "domain-heldout_cer": [0.476],
            "share": [0.25],
            "utterances": [2],
        }
    )
    shown = in_percent(frame)
    assert list(shown.columns) == [
        "language",
        "WER %",
        "WER low %",
        "CER high %",
        "domain-heldout CER %",
        "share %",
        "utterances",
    ]
    assert shown.iloc[0].tolist() == ["pl", 41.7, 20.0, 16.7, 47.6, 25.0, 2]
    assert frame["wer"][0] == 0.41666  # the input is left alone


def test_text_scores_put_each_transcript_beside_its_reference():
    scores = text_scores(
        ["Dzień dobry! Idę dziś.", "Ala ma kota", None],
        ["dzień dobry idę dzis", "ala ma psa", "bez tekstu"],
    )
    assert list(scores.columns) == ["reference", "transcript", "WER %", "CER %"]
    # model-card normalisation: case and punctuation aside; "dzis" is 1 of 4 words, 1 of 20 chars
    assert scores["WER %"].tolist()[:2] == [25.0, 33.3]
    assert scores["CER %"].tolist()[:2] == [5.0, 27.3]
    assert math.isnan(scores["WER %"][2])  # no reference: no score
    fractions = text_scores(["Ala ma kota"], ["ala ma psa"], percent=False)
    assert fractions["wer"][0] == pytest.approx(1 / 3)


def test_wide_intervals_are_flagged_with_what_to_do():
    narrow = {"wer_ci": [0.10, 0.15], "cer_ci": [0.02, 0.04], "utterances": 120}
    assert interval_warning(narrow) is None
    wide = {"wer_ci": [0.20, 0.571], "cer_ci": [0.083, 0.167], "utterances": 2}
    warning = interval_warning(wide)
    assert "2 utterances" in warning and "WER 20.0–57.1 %" in warning
    assert "CER" not in warning.split("are ")[1].split(",")[0]  # CER's 8.4 points pass
    assert "n_sentences" in warning
    assert interval_warning({"wer_ci": [None, None], "cer_ci": [math.nan, 0.1]}) is None


def test_worst_lists_the_highest_cer_first():
    table = pd.DataFrame(
        {
            "id": ["a", "b", "c"],
            "path": ["a.wav", "b.wav", "c.wav"],
            "reference": ["x", "y", "z"],
            "hypothesis": ["x", "q", "zz"],
            "wer": [0.0, 1.0, 1.0],
            "cer": [0.0, 1.0, 0.5],
            "ref_chars": [1, 1, 1],
        }
    )
    rows = worst(EvalResult(table, {}), 2)
    assert rows["id"].tolist() == ["b", "c"]
    assert list(rows.columns) == ["id", "path", "reference", "hypothesis", "wer", "cer"]
