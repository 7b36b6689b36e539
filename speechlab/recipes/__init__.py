"""Recipes: the workflows behind notebooks 04 and 05, built from ``train`` and ``eval``.

``polish_ctc`` makes the synthetic corpora of speechlab's Polish CTC model, its training
configuration and its held-out scores; ``polish_ctc_v2`` is the resumable recipe of its
successor (``notebooks/pl_ctc_v2.yaml``: text from independent sources, held-out voices,
out-of-distribution sentences; ``python -m speechlab.recipes.polish_ctc_v2``);
``adaptation`` fine-tunes one base model to a domain with each strategy and tables the
results. This is the one floor that may import
both ``train`` and ``eval``.
"""
