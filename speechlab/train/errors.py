"""The errors fine-tuning raises for inputs it cannot use."""

from __future__ import annotations

from speechlab.errors import SpeechlabError

__all__ = ["ConfigError", "TrainDataError", "TrainError", "VocabError"]


class TrainError(SpeechlabError):
    """Base class of fine-tuning errors."""


class ConfigError(TrainError, ValueError):
    """A training configuration that cannot run: unknown key or strategy, bad value, a resume
    into an output folder written by a different configuration."""


class TrainDataError(TrainError, ValueError):
    """Training or evaluation data that cannot be used: empty, unreadable, or nothing left
    after length filtering."""


class VocabError(TrainError, ValueError):
    """A character vocabulary that does not fit the model or the transcripts."""
