"""What evaluation needs of a model: the object (opened when given a spec) and its label.

Evaluation never branches on backend types: every recognizer takes ``language=`` and every
speechlab model has a ``label``; other objects are named by ``name`` or their type.
"""

from __future__ import annotations

import os
from typing import Any

__all__ = ["model_label", "open_recognizer", "open_synthesizer"]


def open_recognizer(recognizer: Any) -> tuple[Any, str]:
    """The recognizer (opened with ``load_asr`` when given a spec) and its label."""
    if isinstance(recognizer, str | os.PathLike):
        from speechlab.asr import load_asr

        recognizer = load_asr(recognizer)
    return recognizer, model_label(recognizer)


def open_synthesizer(synthesizer: Any) -> tuple[Any, str]:
    """The synthesizer (opened with ``load_tts`` when given a spec) and its label."""
    if isinstance(synthesizer, str | os.PathLike):
        from speechlab.tts import load_tts

        synthesizer = load_tts(synthesizer)
    return synthesizer, model_label(synthesizer)


def model_label(model: Any) -> str:
    """``model.label`` (speechlab's models), else its ``name``, else its type's name."""
    return str(getattr(model, "label", None) or getattr(model, "name", type(model).__name__))
