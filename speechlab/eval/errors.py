"""The error evaluation raises for inputs it cannot use."""

from __future__ import annotations

from speechlab.errors import SpeechlabError

__all__ = ["EvalError"]


class EvalError(SpeechlabError, ValueError):
    """Unusable evaluation input: an unknown normaliser, empty or malformed data, a results
    folder written by a different model."""
