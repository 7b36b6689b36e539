"""The one exception family of speechlab.

Every error speechlab raises on purpose is a :class:`SpeechlabError`. Each message
says what went wrong *and* what to do about it, so that a researcher in a notebook
never has to read a numpy traceback to find out that a file was empty.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any, TypeVar

__all__ = [
    "AudioError",
    "ChecksumError",
    "DatasetError",
    "ModelNotFoundError",
    "OptionError",
    "SpeechlabError",
    "UnsupportedLanguageError",
    "checked_arguments",
]


class SpeechlabError(Exception):
    """Base class of every error speechlab raises deliberately."""


class AudioError(SpeechlabError, ValueError):
    """Audio could not be read, decoded or validated (missing, empty, corrupt, NaN, bad rate)."""


class DatasetError(SpeechlabError, ValueError, KeyError):
    """A corpus cannot be read: a missing file or column, an empty manifest, a cell that is
    not audio, a DatasetDict where one split was needed."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class ModelNotFoundError(SpeechlabError, LookupError):
    """A model spec could not be turned into local files (unknown name, no Hub, missing package)."""


class ChecksumError(SpeechlabError):
    """Assembled weights do not match their recorded sha256; nothing was written to the cache."""


class UnsupportedLanguageError(SpeechlabError, ValueError):
    """A language code is not supported by the model or G2P that was asked for it."""


class OptionError(SpeechlabError, TypeError):
    """A call with an unknown keyword or a wrong number of arguments."""


F = TypeVar("F", bound=Callable[..., Any])


def checked_arguments(fn: F) -> F:
    """``fn`` with the arguments of each call checked against its signature first, so an
    unknown keyword is an :class:`OptionError` that lists the options (the signature, as
    ``help()`` and IDEs show it, stays ``fn``'s)."""
    signature = inspect.signature(fn)
    options = [p.name for p in signature.parameters.values() if p.kind is p.KEYWORD_ONLY]

    @functools.wraps(fn)
    def call(*args: Any, **kwargs: Any) -> Any:
        try:
            signature.bind(*args, **kwargs)
        except TypeError as exc:
            raise OptionError(
                f"{fn.__name__}(): {exc}. Its options: {', '.join(options) or 'none'}."
            ) from None
        return fn(*args, **kwargs)

    return call  # type: ignore[return-value]
