"""Evaluation results for people: rates as percentages, texts beside their scores, a
warning when a confidence interval is too wide to mean much, the worst utterances.

```python
from speechlab.eval.presentation import in_percent, interval_warning, text_scores, worst
text_scores(["Dzień dobry."], ["dzień dobry"])   # reference | transcript | WER % | CER %
text_scores(refs, hyps, percent=False)            # wer, cer as fractions (to record)
in_percent(result.table[["reference", "hypothesis", "wer", "cer"]])
interval_warning(result.summary)   # None, or a sentence saying how wide and what to do
worst(result, 3)                   # the rows with the highest CER (with their audio paths)
```
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from speechlab.eval.metrics import score
from speechlab.textnorm import Normalizer, get_normalizer

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["RATE_COLUMNS", "in_percent", "interval_warning", "text_scores", "worst"]

#: Columns holding rates (fractions) in speechlab's tables, and their names in percent.
RATE_COLUMNS = {
    "wer": "WER %",
    "wer_low": "WER low %",
    "wer_high": "WER high %",
    "cer": "CER %",
    "cer_low": "CER low %",
    "cer_high": "CER high %",
    "share": "share %",  # top_confusions: the error's share of the letter's occurrences
}
#: A 95 % interval wider than this (in rate units: 0.10 = 10 points) gets a warning.
WIDE_INTERVAL = 0.10


def in_percent(frame: pd.DataFrame, decimals: int = 1) -> pd.DataFrame:
    """A copy of ``frame`` with its rate columns (``wer``, ``cer``, ``*_low``, ``*_high``,
    ``share``, and ``*_wer``/``*_cer`` suffixed ones) as percentages rounded to
    ``decimals``, renamed ``WER %``, ``CER %`` …; other columns unchanged."""
    shown = frame.copy()
    renames = {}
    for column in frame.columns:
        name = str(column)
        label = RATE_COLUMNS.get(name)
        if label is None and name.endswith(("_wer", "_cer")):
            label = f"{name[:-4]} {name[-3:].upper()} %"
        if label is not None:
            shown[column] = (frame[column].astype(float) * 100).round(decimals)
            renames[column] = label
    return shown.rename(columns=renames)


def text_scores(
    references: Sequence[str | None],
    hypotheses: Sequence[str],
    *,
    normalizer: str | Normalizer = "model-card",
    percent: bool = True,
    decimals: int = 1,
) -> pd.DataFrame:
    """One row per text: ``reference``, ``transcript`` and its WER and CER (each utterance
    scored on its own after ``normalizer``; NaN where the reference is None). ``percent``:
    ``WER %``/``CER %`` rounded to ``decimals``; else ``wer``/``cer`` as fractions."""
    import pandas as pd

    normalize = get_normalizer(normalizer)
    known = [i for i, r in enumerate(references) if r is not None]
    rows, _ = (
        score(
            [normalize(str(references[i])) for i in known],
            [normalize(str(hypotheses[i])) for i in known],
            n_boot=0,
        )
        if known
        else ([], {})
    )
    rates = {i: row for i, row in zip(known, rows, strict=True)}
    nan = float("nan")
    frame = pd.DataFrame(
        {
            "reference": list(references),
            "transcript": list(hypotheses),
            "wer": [rates[i]["wer"] if i in rates else nan for i in range(len(references))],
            "cer": [rates[i]["cer"] if i in rates else nan for i in range(len(references))],
        }
    )
    return in_percent(frame, decimals) if percent else frame


def interval_warning(summary: dict[str, Any], max_width: float = WIDE_INTERVAL) -> str | None:
    """A warning (Markdown) when the corpus WER's or CER's 95 % interval is wider than
    ``max_width``, saying how many utterances it rests on and how to get more; else None."""
    wide = []
    for metric in ("wer", "cer"):
        low, high = (summary.get(f"{metric}_ci") or [None, None])[:2]
        if low is None or high is None or low != low or high != high:
            continue
        if high - low > max_width:
            wide.append(f"{metric.upper()} {100 * low:.1f}–{100 * high:.1f} %")
    if not wide:
        return None
    n = summary.get("utterances", "?")
    return (
        f"**Wide intervals:** with {n} utterances the 95 % intervals are {', '.join(wide)}, "
        "too wide to tell models apart. Score more utterances (e.g. `-p n_sentences 6`, or "
        "`data=` a larger corpus) before reading much into these numbers."
    )


def worst(result: Any, n: int = 3, by: str = "cer") -> pd.DataFrame:
    """The ``n`` utterances of an ``EvalResult`` (or its table) with the highest ``by``
    (``cer`` or ``wer``), worst first: id, path, reference, hypothesis and both rates."""
    table = getattr(result, "table", result)
    columns = [c for c in ("id", "path", "reference", "hypothesis", "wer", "cer") if c in table]
    return table.sort_values(by, ascending=False, kind="stable")[columns].head(n)
