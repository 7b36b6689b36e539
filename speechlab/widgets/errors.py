"""The widgets' error type."""

from __future__ import annotations

from speechlab.errors import SpeechlabError

__all__ = ["WidgetError"]


class WidgetError(SpeechlabError, ValueError):
    """A widget got input it cannot show (wrong type, no audio, too long) or lost its front end."""
