"""Held-out Polish text that no training generator produced.

``ood_sentences()`` reads ``speechlab/data/pl_ood_sentences.txt``: ordinary Polish sentences
(conversation, news-like sentences, questions, tongue twisters, numbers in context written out
in words, names and places) written by hand for the out-of-distribution evaluation set,
independently of every generator in :mod:`speechlab.train` (CC0-1.0).
"""

from __future__ import annotations

import functools
from importlib import resources

__all__ = ["OOD_FILE", "ood_sentences"]

#: The file inside the ``speechlab`` package.
OOD_FILE = "data/pl_ood_sentences.txt"


def ood_sentences() -> list[str]:
    """The hand-written out-of-distribution sentences, in file order (``#`` lines skipped)."""
    return list(_read())


@functools.cache
def _read() -> tuple[str, ...]:
    text = resources.files("speechlab").joinpath(OOD_FILE).read_text(encoding="utf-8")
    lines = (line.strip() for line in text.splitlines())
    return tuple(line for line in lines if line and not line.startswith("#"))
