"""speechlab.eval.metrics: corpus WER/CER and bootstrap intervals."""

from __future__ import annotations

import math

import jiwer
import pytest

from speechlab.eval.errors import EvalError
from speechlab.eval.metrics import bootstrap_cis, error_rate, score


def test_corpus_rate_is_summed_edits_over_summed_words_not_a_mean():
    refs = ["a b c d e f g h i j", "k"]
    hyps = ["a b c d e f g h i j", "x"]
    rows, corpus = score(refs, hyps, n_boot=0)
    assert [r["wer"] for r in rows] == [0.0, 1.0]
    assert corpus["wer"] == pytest.approx(1 / 11)  # the mean of rates would be 0.5
    assert corpus["wer"] == pytest.approx(jiwer.wer(refs, hyps))
    assert corpus["cer"] == pytest.approx(jiwer.cer(refs, hyps))
    assert (corpus["substitutions"], corpus["insertions"], corpus["deletions"]) == (1, 0, 0)
    assert corpus["ref_words"] == 11 and corpus["utterances"] == 2


def test_empty_references_count_insertions_without_dividing_by_zero():
    rows, corpus = score(["", "", "a b"], ["", "x y", "a b"], n_boot=200)
    assert rows[0]["wer"] == 0.0 and rows[0]["cer"] == 0.0
    assert math.isnan(rows[1]["wer"]) and rows[1]["insertions"] == 2
    assert corpus["wer"] == pytest.approx(2 / 2)  # two inserted words over two reference words
    _, only_empty = score(["", ""], ["", ""], n_boot=50)
    assert only_empty["wer"] == 0.0 and only_empty["wer_ci"] == [0.0, 0.0]
    _, nothing_said = score([""], ["hello"], n_boot=50)
    assert math.isnan(nothing_said["wer"])
    assert error_rate(0, 0) == 0.0 and math.isnan(error_rate(3, 0))


def test_bootstrap_interval_contains_the_estimate_is_seeded_and_narrows_with_data():
    refs = [" ".join(["w"] * (1 + i % 7)) for i in range(40)]
    hyps = [ref if i % 3 else "v " + ref[2:] for i, ref in enumerate(refs)]
    _, corpus = score(refs, hyps, n_boot=1000, seed=1)
    low, high = corpus["wer_ci"]
    assert low < corpus["wer"] < high
    assert low >= 0.0 and high <= 1.0
    assert score(refs, hyps, n_boot=1000, seed=1)[1]["wer_ci"] == [low, high]
    assert score(refs, hyps, n_boot=1000, seed=2)[1]["wer_ci"] != [low, high]
    _, bigger = score(refs * 10, hyps * 10, n_boot=1000, seed=1)
    assert bigger["wer"] == pytest.approx(corpus["wer"])
    assert bigger["wer_ci"][1] - bigger["wer_ci"][0] < (high - low) / 2


def test_bootstrap_matches_a_direct_resampling():
    import numpy as np

    errors, lengths = [0, 1, 2, 0, 5], [3, 4, 2, 6, 5]
    got = bootstrap_cis({"r": (errors, lengths)}, n_boot=300, seed=7)["r"]
    rng = np.random.default_rng(7)
    index = rng.integers(0, 5, size=(300, 5))
    rates = np.asarray(errors)[index].sum(1) / np.asarray(lengths)[index].sum(1)
    assert got == pytest.approx(tuple(np.percentile(rates, [2.5, 97.5])))


def test_bad_arguments():
    with pytest.raises(EvalError, match="Nothing to score"):
        score([], [])
    with pytest.raises(EvalError, match="n_boot"):
        bootstrap_cis({"r": ([1], [1])}, n_boot=-1)
    with pytest.raises(EvalError, match="level"):
        bootstrap_cis({"r": ([1], [1])}, level=95)
    assert all(math.isnan(v) for v in score(["a"], ["b"], n_boot=0)[1]["wer_ci"])
