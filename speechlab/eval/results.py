"""``EvalResult``: one row per utterance plus a summary, saved as JSON and CSV.

``score_rows`` (normalise, align, score) is shared by ``evaluate`` and ``roundtrip``.
Saved files: ``results.json`` (summary + rows), ``utterances.csv``, ``summary.json``.
Undefined rates (see ``metrics``) are NaN in tables and ``null`` in JSON.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from speechlab.eval.errors import EvalError
from speechlab.eval.metrics import score
from speechlab.files import writable_folder
from speechlab.textnorm import Normalizer

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "EvalResult",
    "ensure_folder",
    "jsonable",
    "load_json",
    "now",
    "percent",
    "percent_range",
    "score_rows",
    "write_json",
]

RESULTS_FILE = "results.json"
SUMMARY_FILE = "summary.json"
TABLE_FILE = "utterances.csv"


def score_rows(
    rows: Sequence[dict[str, Any]],
    normalize: Normalizer,
    *,
    n_boot: int = 1000,
    seed: int = 0,
    reference: str = "reference",
    hypothesis: str = "hypothesis",
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Add normalised texts and per-utterance scores to ``rows``; the corpus totals."""
    import pandas as pd

    refs = [normalize(str(row[reference])) for row in rows]
    hyps = [normalize(str(row[hypothesis])) for row in rows]
    scores, corpus = score(refs, hyps, n_boot=n_boot, seed=seed)
    table = pd.DataFrame(
        [
            {**row, f"{reference}_norm": r, f"{hypothesis}_norm": h, **s}
            for row, r, h, s in zip(rows, refs, hyps, scores, strict=True)
        ]
    )
    return table, corpus


@dataclass
class EvalResult:
    """An ASR evaluation: ``table`` (one row per utterance) and ``summary`` (corpus rates)."""

    table: pd.DataFrame
    summary: dict[str, Any]

    @property
    def wer(self) -> float:
        return float(self.summary["wer"])

    @property
    def cer(self) -> float:
        return float(self.summary["cer"])

    def confusions(self) -> pd.DataFrame:
        """Reference × hypothesis character counts over the normalised texts."""
        from speechlab.eval.confusions import confusion_matrix

        return confusion_matrix(self.table["reference_norm"], self.table["hypothesis_norm"])

    def top_confusions(self, n: int = 10) -> pd.DataFrame:
        """The ``n`` most frequent character errors (see ``confusions.top_confusions``)."""
        from speechlab.eval.confusions import top_confusions

        return top_confusions(self.confusions(), n)

    def save(self, directory: str | Path) -> Path:
        """Write results.json, utterances.csv and summary.json into ``directory``."""
        folder = ensure_folder(directory)
        records = json.loads(self.table.to_json(orient="records", force_ascii=False))
        write_json(folder / RESULTS_FILE, {"summary": self.summary, "utterances": records})
        write_json(folder / SUMMARY_FILE, self.summary)
        self.table.to_csv(folder / TABLE_FILE, index=False)
        return folder

    @classmethod
    def load(cls, directory: str | Path) -> EvalResult:
        """Read what ``save`` wrote."""
        import pandas as pd

        data = load_json(Path(directory).expanduser() / RESULTS_FILE)
        return cls(pd.DataFrame(data["utterances"]), data["summary"])

    def __repr__(self) -> str:
        s = self.summary
        tag = ", SYNTHETIC" if s.get("synthetic") else ""
        return (
            f"EvalResult({s.get('model')}, {s.get('utterances')} utterances{tag}: "
            f"WER {percent(s.get('wer'))} (95% CI {percent_range(*s.get('wer_ci', [None] * 2))}), "
            f"CER {percent(s.get('cer'))} (95% CI {percent_range(*s.get('cer_ci', [None] * 2))}), "
            f"normaliser {s.get('normalizer')})"
        )


def rate_columns(scores: dict[str, Any]) -> dict[str, Any]:
    """Corpus WER/CER with their CI bounds and the utterance count, as flat table columns."""
    return {
        "wer": scores["wer"],
        "wer_low": scores["wer_ci"][0],
        "wer_high": scores["wer_ci"][1],
        "cer": scores["cer"],
        "cer_low": scores["cer_ci"][0],
        "cer_high": scores["cer_ci"][1],
        "utterances": scores["utterances"],
    }


def now() -> str:
    """The time, UTC, ISO 8601 (for summaries)."""
    return datetime.now(UTC).isoformat(timespec="seconds")


def jsonable(value: Any) -> Any:
    """``value`` with NaN/inf turned into None and numpy scalars into Python ones."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, str | bytes):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def write_json(path: Path, data: Any) -> None:
    path.write_text(
        json.dumps(jsonable(data), indent=2, ensure_ascii=False, allow_nan=False) + "\n",
        encoding="utf-8",
    )


def load_json(path: Path) -> Any:
    if not path.is_file():
        raise EvalError(f"No {path.name} in {path.parent}; pass the folder a result was saved to.")
    return json.loads(path.read_text(encoding="utf-8"))


def ensure_folder(directory: str | Path) -> Path:
    """``directory``, created if needed; an OutputError if it cannot be written in."""
    return writable_folder(directory, what="results folder")


def percent(value: Any) -> str:
    """``0.123`` → ``12.3%``; ``n/a`` for None or NaN."""
    return "n/a" if _missing(value) else f"{100 * float(value):.1f}%"


def percent_range(low: Any, high: Any) -> str:
    """``12.3–14.5%``; ``n/a`` when an end is None or NaN."""
    if _missing(low) or _missing(high):
        return "n/a"
    return f"{100 * float(low):.1f}–{100 * float(high):.1f}%"


def _missing(value: Any) -> bool:
    return value is None or value != value
