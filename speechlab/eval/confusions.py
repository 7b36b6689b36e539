"""Which characters a recognizer confuses: character alignment and a confusion table.

The alignment is jiwer's character-level Levenshtein alignment (rapidfuzz underneath), the
one CER is computed from; substituted spans are paired character by character. ``∅``
stands for the missing side of an insertion (reference ∅) or deletion (hypothesis ∅), and
``␣`` for a space, so word-boundary errors show up too.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["EMPTY", "SPACE", "align_chars", "confusion_matrix", "top_confusions"]

EMPTY = "∅"
SPACE = "␣"


def align_chars(reference: str, hypothesis: str) -> list[tuple[str, str]]:
    """Aligned (reference, hypothesis) character pairs of one utterance, matches included."""
    return list(_pairs([reference], [hypothesis]))


def confusion_matrix(references: Sequence[str], hypotheses: Sequence[str]) -> pd.DataFrame:
    """Counts of reference character (rows) × hypothesis character (columns), ∅ included.

    The diagonal holds the correct characters; rows and columns are sorted, ∅ last.
    """
    import pandas as pd

    counts = Counter(_pairs(list(references), list(hypotheses)))
    refs = sorted({r for r, _ in counts}, key=_order)
    hyps = sorted({h for _, h in counts}, key=_order)
    table = pd.DataFrame(0, index=pd.Index(refs, name="reference"), columns=hyps, dtype="int64")
    for (ref, hyp), count in counts.items():
        table.loc[ref, hyp] = count
    table.columns.name = "hypothesis"
    return table


def top_confusions(confusions: pd.DataFrame, n: int = 10) -> pd.DataFrame:
    """The ``n`` most frequent errors: ``reference, hypothesis, pair ('ż→z'), count, share``.

    ``share`` is the count over how often the reference character occurs (NaN for
    insertions, whose reference is ∅). Ties are broken alphabetically.
    """
    import pandas as pd

    occurrences = confusions.sum(axis=1)
    rows = [
        {
            "reference": ref,
            "hypothesis": hyp,
            "pair": f"{ref}→{hyp}",
            "count": int(count),
            "share": float("nan") if ref == EMPTY else count / occurrences[ref],
        }
        for ref in confusions.index
        for hyp, count in confusions.loc[ref].items()
        if ref != hyp and count > 0
    ]
    columns = ["reference", "hypothesis", "pair", "count", "share"]
    table = pd.DataFrame(rows, columns=columns)
    table = table.sort_values(["count", "reference", "hypothesis"], ascending=[False, True, True])
    return table.head(n).reset_index(drop=True)


def _pairs(references: list[str], hypotheses: list[str]) -> Iterator[tuple[str, str]]:
    import jiwer

    if not references:
        return
    output = jiwer.process_characters(references, hypotheses)
    for ref, hyp, alignment in zip(
        output.references, output.hypotheses, output.alignments, strict=True
    ):
        for chunk in alignment:
            ref_span = ref[chunk.ref_start_idx : chunk.ref_end_idx]
            hyp_span = hyp[chunk.hyp_start_idx : chunk.hyp_end_idx]
            if chunk.type == "delete":
                hyp_span = [EMPTY] * len(ref_span)
            elif chunk.type == "insert":
                ref_span = [EMPTY] * len(hyp_span)
            for r, h in zip(ref_span, hyp_span, strict=True):
                yield _show(r), _show(h)


def _show(char: str) -> str:
    return SPACE if char == " " else char


def _order(char: str) -> tuple[int, str]:
    return (char == EMPTY, char)
