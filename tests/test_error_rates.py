"""speechlab.error_rates: per-utterance edit counts, rates, corpus rates."""

from __future__ import annotations

import pytest

from speechlab.error_rates import AlignmentError, Counts, align_counts, corpus_rate


def test_counts_per_utterance_are_exact():
    counts = align_counts(["a b c d", "x y"], ["a q c", "x y z w"])
    assert counts == [
        Counts(hits=2, substitutions=1, deletions=1, insertions=0),
        Counts(2, 0, 0, 2),
    ]
    assert [c.rate for c in counts] == [0.5, 1.0]
    chars = align_counts(["żaba"], ["zaba"], "char")
    assert chars == [Counts(3, 1, 0, 0)]


def test_corpus_rate_sums_edits_and_lengths():
    counts = align_counts(["a b c d e f g h i j", "k"], ["a b c d e f g h i j", "x"])
    assert corpus_rate(counts) == pytest.approx(1 / 11)  # the mean of rates would be 0.5


def test_unequal_lists_are_refused():
    with pytest.raises(AlignmentError, match="2 references but 1 hypotheses"):
        align_counts(["a", "b"], ["a"])
