"""speechlab.eval.confusions: character alignment and confusion tables on known pairs."""

from __future__ import annotations

import math

from speechlab.eval.confusions import (
    EMPTY,
    SPACE,
    align_chars,
    confusion_matrix,
    top_confusions,
)


def test_alignment_of_substitution_insertion_and_deletion():
    assert align_chars("żaba", "zaba") == [("ż", "z"), ("a", "a"), ("b", "b"), ("a", "a")]
    assert align_chars("las", "lasy") == [("l", "l"), ("a", "a"), ("s", "s"), (EMPTY, "y")]
    assert align_chars("kot", "ko") == [("k", "k"), ("o", "o"), ("t", EMPTY)]
    assert align_chars("na dworze", "nadworze")[2] == (SPACE, EMPTY)


def test_confusion_matrix_counts_and_top_pairs():
    # every pair below has a single cheapest alignment, so the counts are known exactly
    refs = ["żółw", "łza", "łąka", "góra", "koty", "las"]
    hyps = ["zułw", "lza", "laka", "gura", "kotyy", "la"]
    matrix = confusion_matrix(refs, hyps)
    assert matrix.loc["ł", "l"] == 2 and matrix.loc["ł", "ł"] == 1
    assert matrix.loc["ó", "u"] == 2 and matrix.loc["ż", "z"] == 1
    assert matrix.loc["ą", "a"] == 1 and matrix.loc["s", EMPTY] == 1
    assert matrix.loc[EMPTY, "y"] == 1 and matrix.loc["y", "y"] == 1
    assert matrix.index[-1] == EMPTY and matrix.columns[-1] == EMPTY  # ∅ sorts last
    assert int(matrix.to_numpy().sum()) == sum(map(len, refs)) + 1  # + the insertion
    top = top_confusions(matrix, 3)
    assert list(top["pair"]) == ["ó→u", "ł→l", "s→∅"]  # count, then reference order
    assert list(top["count"]) == [2, 2, 1]
    assert top.loc[1, "share"] == 2 / 3  # ł occurs 3 times, read as l twice
    every = top_confusions(matrix, 10)
    assert set(every["pair"]) == {"ó→u", "ł→l", "ą→a", "ż→z", "s→∅", "∅→y"}
    assert math.isnan(every.set_index("pair").loc["∅→y", "share"])


def test_no_errors_gives_an_empty_top_list():
    matrix = confusion_matrix(["ala"], ["ala"])
    assert top_confusions(matrix).empty
    assert list(top_confusions(matrix).columns) == [
        "reference",
        "hypothesis",
        "pair",
        "count",
        "share",
    ]
