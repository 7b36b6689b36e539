"""WER and CER over a corpus and per utterance (jiwer), with bootstrap confidence intervals.

Corpus rates are computed over the whole corpus: the edits (substitutions + deletions +
insertions) of every utterance summed, divided by the reference words (characters) summed.
This is **not** the mean of the per-utterance rates, which would weigh a two-word utterance
like a fifty-word one. CER counts every character of the normalised text, spaces included.

Empty references: an utterance whose (normalised) reference is empty adds its inserted
words to the corpus numerator and nothing to the denominator. Its own rate is 0.0 when the
hypothesis is empty too and NaN (undefined: errors over zero words) otherwise; the same rule
gives the corpus rate when no utterance has a reference word, and a warning says so (the
usual cause: the wrong text column, or a normaliser that deletes everything). Nothing
divides by zero.

Confidence intervals: percentile bootstrap over utterances (resampled with replacement,
``n_boot`` times, seeded); each resample's *corpus* rate is recomputed, WER and CER from the
same resamples.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from speechlab.error_rates import Counts, align_counts, error_rate
from speechlab.eval.errors import EvalError

__all__ = [
    "Counts",
    "align_counts",
    "bootstrap_cis",
    "check_bootstrap",
    "error_rate",
    "score",
]  # Counts, align_counts and error_rate come from the ground floor (speechlab.error_rates)

log = logging.getLogger(__name__)

#: Resampled indices held in memory at once (n_boot x utterances is done in blocks).
_BLOCK_CELLS = 2_000_000


def bootstrap_cis(
    series: dict[str, tuple[Sequence[float], Sequence[float]]],
    *,
    n_boot: int = 1000,
    seed: int = 0,
    level: float = 0.95,
) -> dict[str, tuple[float, float]]:
    """Percentile-bootstrap intervals of corpus rates, one per ``name: (errors, lengths)``.

    Every series is resampled with the same utterance indices (paired). ``n_boot=0`` gives
    NaN intervals.
    """
    check_bootstrap(n_boot, level)
    arrays = {
        name: (np.asarray(errors, dtype=np.float64), np.asarray(lengths, dtype=np.float64))
        for name, (errors, lengths) in series.items()
    }
    n = len(next(iter(arrays.values()))[0]) if arrays else 0
    if n == 0 or n_boot == 0:
        return {name: (math.nan, math.nan) for name in arrays}
    rng = np.random.default_rng(seed)
    rates: dict[str, list[np.ndarray]] = {name: [] for name in arrays}
    block = max(1, _BLOCK_CELLS // n)
    for start in range(0, n_boot, block):
        index = rng.integers(0, n, size=(min(block, n_boot - start), n))
        for name, (errors, lengths) in arrays.items():
            rates[name].append(_rates(errors[index].sum(axis=1), lengths[index].sum(axis=1)))
    tails = [50 * (1 - level), 50 * (1 + level)]
    intervals = {}
    for name, parts in rates.items():
        values = np.concatenate(parts)
        values = values[~np.isnan(values)]
        low, high = np.percentile(values, tails) if len(values) else (math.nan, math.nan)
        intervals[name] = (float(low), float(high))
    return intervals


def check_bootstrap(n_boot: int, level: float = 0.95) -> None:
    """An EvalError unless ``n_boot`` is a whole number >= 0 and 0 < ``level`` < 1."""
    if not isinstance(n_boot, int) or isinstance(n_boot, bool) or n_boot < 0:
        raise EvalError(f"n_boot must be a whole number >= 0, got {n_boot!r}.")
    if not 0 < level < 1:
        raise EvalError(f"The confidence level must be between 0 and 1, got {level!r}.")


def _rates(errors: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    out = np.where(errors == 0, 0.0, np.nan)
    np.divide(errors, lengths, out=out, where=lengths > 0)
    return out


def score(
    references: Sequence[str],
    hypotheses: Sequence[str],
    *,
    n_boot: int = 1000,
    seed: int = 0,
    level: float = 0.95,
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Per-utterance rows and corpus totals for already-normalised texts.

    Rows: ``wer, cer, substitutions, insertions, deletions, hits, ref_words, char_errors,
    ref_chars``. Totals: corpus ``wer``/``cer`` with ``wer_ci``/``cer_ci`` ([low, high]),
    the summed counts, ``utterances``, ``n_boot``, ``seed``, ``ci_level``.
    """
    if not references:
        raise EvalError("Nothing to score: no utterances.")
    words = align_counts(references, hypotheses, "word")
    chars = align_counts(references, hypotheses, "char")
    rows = [
        {
            "wer": w.rate,
            "cer": c.rate,
            "substitutions": w.substitutions,
            "insertions": w.insertions,
            "deletions": w.deletions,
            "hits": w.hits,
            "ref_words": w.reference_length,
            "char_errors": c.errors,
            "ref_chars": c.reference_length,
        }
        for w, c in zip(words, chars, strict=True)
    ]
    total = {key: sum(row[key] for row in rows) for key in rows[0] if key not in ("wer", "cer")}
    if total["ref_chars"] == 0:
        log.warning(
            "All %d reference(s) are empty after normalisation, so WER and CER are undefined "
            "(NaN; 0.0 where the hypotheses are empty too). Check that the references were "
            "read from the right text column, and that the normaliser keeps their words.",
            len(rows),
        )
    word_errors = total["substitutions"] + total["insertions"] + total["deletions"]
    intervals = bootstrap_cis(
        {
            "wer": ([w.errors for w in words], [w.reference_length for w in words]),
            "cer": ([c.errors for c in chars], [c.reference_length for c in chars]),
        },
        n_boot=n_boot,
        seed=seed,
        level=level,
    )
    corpus = {
        "wer": error_rate(word_errors, total["ref_words"]),
        "wer_ci": list(intervals["wer"]),
        "cer": error_rate(total["char_errors"], total["ref_chars"]),
        "cer_ci": list(intervals["cer"]),
        **total,
        "utterances": len(rows),
        "n_boot": n_boot,
        "seed": seed,
        "ci_level": level,
    }
    return rows, corpus
