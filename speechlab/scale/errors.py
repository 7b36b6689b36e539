"""The scale-out workflow's error."""

from __future__ import annotations

from speechlab.errors import SpeechlabError

__all__ = ["ScaleError"]


class ScaleError(SpeechlabError):
    """A corpus run that cannot start or go on (Ray missing, a cluster out of reach, a
    results folder from another run); the message says what to do."""
