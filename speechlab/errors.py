"""The one exception family of speechlab.

Every error speechlab raises on purpose is a :class:`SpeechlabError`. Each message
says what went wrong *and* what to do about it, so that a researcher in a notebook
never has to read a numpy traceback to find out that a file was empty.
"""

from __future__ import annotations

__all__ = [
    "AudioError",
    "ChecksumError",
    "ModelNotFoundError",
    "SpeechlabError",
    "UnsupportedLanguageError",
]


class SpeechlabError(Exception):
    """Base class of every error speechlab raises deliberately."""


class AudioError(SpeechlabError, ValueError):
    """Audio could not be read, decoded or validated (missing, empty, corrupt, NaN, bad rate)."""


class ModelNotFoundError(SpeechlabError, LookupError):
    """A model spec could not be turned into local files (unknown name, no Hub, missing package)."""


class ChecksumError(SpeechlabError):
    """Assembled weights do not match their recorded sha256; nothing was written to the cache."""


class UnsupportedLanguageError(SpeechlabError, ValueError):
    """A language code is not supported by the model or G2P that was asked for it."""
