"""Text normalisation for comparing transcripts."""

from __future__ import annotations

__all__ = ["plain"]


def plain(text: str) -> str:
    """Lower-case words: punctuation becomes space (apostrophes kept), whitespace collapsed.

    Polish letters are kept (``str.isalnum`` is Unicode-aware). This is the quick form used by
    the self-check, tests and benchmarks; the model-card normaliser belongs to evaluation.
    """
    kept = "".join(c if c.isalnum() or c.isspace() or c == "'" else " " for c in text.lower())
    return " ".join(kept.split())
