"""Edit counts and error rates between reference and hypothesis texts (jiwer alignment).

The ground floor that evaluation (corpus WER/CER with confidence intervals) and training
(held-out CER while training) both count with. Texts are compared as given: normalise them
first (``speechlab.textnorm``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from speechlab.errors import SpeechlabError

__all__ = ["AlignmentError", "Counts", "align_counts", "corpus_rate", "error_rate"]


class AlignmentError(SpeechlabError, ValueError):
    """References and hypotheses that cannot be aligned one to one."""


@dataclass(frozen=True)
class Counts:
    """Edit counts of one utterance (words or characters)."""

    hits: int
    substitutions: int
    deletions: int
    insertions: int

    @property
    def reference_length(self) -> int:
        return self.hits + self.substitutions + self.deletions

    @property
    def errors(self) -> int:
        return self.substitutions + self.deletions + self.insertions

    @property
    def rate(self) -> float:
        return error_rate(self.errors, self.reference_length)


def error_rate(errors: float, length: float) -> float:
    """``errors / length``; with ``length == 0``: 0.0 without errors, NaN with."""
    if length > 0:
        return float(errors) / float(length)
    return 0.0 if errors == 0 else math.nan


def align_counts(
    references: Sequence[str], hypotheses: Sequence[str], unit: Literal["word", "char"] = "word"
) -> list[Counts]:
    """Per-utterance hits/substitutions/deletions/insertions from jiwer's alignment."""
    import jiwer

    if len(references) != len(hypotheses):
        raise AlignmentError(
            f"{len(references)} references but {len(hypotheses)} hypotheses; pass one each."
        )
    if not references:
        return []
    process = jiwer.process_words if unit == "word" else jiwer.process_characters
    output = process(list(references), list(hypotheses))
    counts = []
    for alignment in output.alignments:
        tally = {"equal": 0, "substitute": 0, "delete": 0, "insert": 0}
        for chunk in alignment:
            ref_span = chunk.ref_end_idx - chunk.ref_start_idx
            tally[chunk.type] += (
                chunk.hyp_end_idx - chunk.hyp_start_idx if chunk.type == "insert" else ref_span
            )
        counts.append(Counts(tally["equal"], tally["substitute"], tally["delete"], tally["insert"]))
    return counts


def corpus_rate(counts: Sequence[Counts]) -> float:
    """Summed errors over summed reference lengths (not the mean of per-utterance rates)."""
    return error_rate(sum(c.errors for c in counts), sum(c.reference_length for c in counts))
