"""Evaluation: WER/CER with confidence intervals, round trips, cross-lingual tables.

```python
from speechlab.eval import evaluate, roundtrip, cross_lingual, synth_test_set
result = evaluate("whisper-base", "cv-pl/test.tsv", lang="pl", out="runs/cv-pl")
```

Importing this package is light: pandas, jiwer, tqdm, datasets and the models are
imported inside the functions that use them. ``read_data`` and the normalisers live on
the ground floor (``speechlab.corpus``, ``speechlab.textnorm``) and are re-exported here.
"""

from __future__ import annotations

from speechlab.corpus import read_data
from speechlab.eval.confusions import align_chars, confusion_matrix, top_confusions
from speechlab.eval.crosslingual import CrossLingualResult, cross_lingual, synth_test_set
from speechlab.eval.errors import EvalError
from speechlab.eval.evaluation import evaluate
from speechlab.eval.metrics import bootstrap_cis, score
from speechlab.eval.presentation import in_percent, interval_warning, text_scores, worst
from speechlab.eval.results import EvalResult
from speechlab.eval.round_trip import RoundTripResult, roundtrip
from speechlab.eval.sentences import SENTENCES
from speechlab.textnorm import NORMALIZERS, get_normalizer, model_card, whisper

__all__ = [
    "NORMALIZERS",
    "SENTENCES",
    "CrossLingualResult",
    "EvalError",
    "EvalResult",
    "RoundTripResult",
    "align_chars",
    "bootstrap_cis",
    "confusion_matrix",
    "cross_lingual",
    "evaluate",
    "get_normalizer",
    "in_percent",
    "interval_warning",
    "model_card",
    "read_data",
    "roundtrip",
    "score",
    "synth_test_set",
    "text_scores",
    "top_confusions",
    "whisper",
    "worst",
]
