"""Add 95 % bootstrap intervals to round-trip WER/CERs stored without them.

``polish_g2p.json`` (every mapping variant) and ``kokoro_import.json`` (part ``roundtrip``,
every model) were first written with a bare WER/CER over 12 sentences. Both scripts now
store the interval with the figure (``wer_low``/``wer_high``, ``cer_low``/``cer_high``), so
``compare_results.py`` can judge a rerun against the spread, not ±0.005. This computes the
same intervals for rows written before that, from the hypotheses the row kept and the
sentences the script synthesised, with the scorer and settings the scripts use now
(``speechlab.eval.metrics.score``, 1,000 resamples, seed 0). eval_report's pooled
round-trip summary (all voices) gets ``wer_ci``/``cer_ci`` from
``speechlab.eval.round_trip.pooled_rates`` (the texts resampled). It refuses a row whose
recomputed WER or CER differs from the stored one (the wrong sentences or normaliser).
Also renames polish_g2p's ``seconds`` to ``wall_seconds`` (it is the variant's wall time).

```bash
python benchmarks/backfill_intervals.py benchmarks/results benchmarks/rerun
```
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Callable
from pathlib import Path

RATES = ("wer", "cer")


def complete(row: dict, rates: dict) -> bool:
    """Add ``rates``' interval bounds to ``row`` (False: it had them already)."""
    if all(f"{name}_low" in row for name in RATES):
        return False
    for name in RATES:
        check_same(name, row[name], rates[name])
        row[f"{name}_low"], row[f"{name}_high"] = rates[f"{name}_low"], rates[f"{name}_high"]
    return True


def check_same(name: str, stored: float, recomputed: float) -> None:
    """Stop, writing nothing, when a recomputed rate is not the stored one."""
    if not math.isclose(stored, recomputed, rel_tol=0, abs_tol=1e-12):
        raise SystemExit(
            f"recomputed {name} {recomputed!r} is not the stored {stored!r}: "
            "not the same sentences or normaliser; nothing written"
        )


def polish_g2p(results: dict) -> int:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from polish_g2p_bench import scores

    changed = 0
    for row in results.get("variants", {}).values():
        if "seconds" in row:
            row["wall_seconds"] = row.pop("seconds")
            changed += 1
        changed += complete(row, scores(row["hypotheses"]))
    return changed


def kokoro_roundtrip(results: dict) -> int:
    from speechlab.eval.metrics import score
    from speechlab.eval.results import rate_columns
    from speechlab.samples import POLISH_SENTENCES
    from speechlab.textnorm import get_normalizer

    normalize = get_normalizer("model-card")  # roundtrip()'s default, which kokoro_import uses
    refs = [normalize(s) for s in POLISH_SENTENCES]
    changed = 0
    for row in results.get("parts", {}).get("roundtrip", {}).values():
        hyps = [normalize(h) for h in row["hypotheses"]]
        changed += complete(row, rate_columns(score(refs, hyps)[1]))
    return changed


def pooled_roundtrip(results: dict) -> int:
    import pandas as pd

    from speechlab.eval.round_trip import pooled_rates

    summary = results["summary"]
    if all(f"{name}_ci" in summary for name in RATES):
        return 0
    rows = pd.DataFrame(results["rows"])
    rates = pooled_rates(rows, n_boot=summary["n_boot"], seed=summary["seed"])
    for name in RATES:
        check_same(name, summary[name], rates[name])
        summary[f"{name}_ci"] = rates[f"{name}_ci"]
    return 1


FILES: dict[str, Callable[[dict], int]] = {
    "polish_g2p.json": polish_g2p,
    "kokoro_import.json": kokoro_roundtrip,
    "eval_report/roundtrip-pl/roundtrip.json": pooled_roundtrip,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folders", nargs="+", type=Path, help="results folders")
    args = parser.parse_args(argv)
    for folder in args.folders:
        for name, fill in FILES.items():
            path = folder / name
            if not path.is_file():
                continue
            results = json.loads(path.read_text(encoding="utf-8"))
            changed = fill(results)
            if changed:
                path.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
            print(f"{path}: {changed} change(s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
