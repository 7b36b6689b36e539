"""Recipes: the workflows behind notebooks 04 and 05, built from ``train`` and ``eval``.

``polish_ctc`` makes the synthetic corpora of speechlab's Polish CTC model, its training
configuration and its held-out scores; ``adaptation`` fine-tunes one base model to a
domain with each strategy and tables the results. This is the one floor that may import
both ``train`` and ``eval``.
"""
