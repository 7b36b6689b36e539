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
    "DeviceError",
    "ModelFileError",
    "ModelNotFoundError",
    "OptionError",
    "OutputError",
    "SpeechlabError",
    "TextEncodingError",
    "UnsafeModelError",
    "UnsupportedLanguageError",
]  # the error family; checked_arguments (below) is the decorator speechlab uses to raise one


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


class ModelFileError(ModelNotFoundError):
    """A file of a model folder is damaged: malformed JSON, truncated weights, a file its
    library cannot read. The message names the file and how to get a good copy."""


class UnsafeModelError(ModelNotFoundError):
    """A model folder that would run code: custom Python named by ``auto_map``, or a pickle
    holding more than tensors. speechlab refuses both; the message says how to convert."""


class DeviceError(SpeechlabError, ValueError):
    """A device or thread count that cannot be used (unknown device, no CUDA GPU, threads
    not a positive whole number); the message lists the valid values."""


class ChecksumError(SpeechlabError):
    """Weights do not match their recorded sha256: while assembling (nothing is written), or
    in the cache after assembly (the message says how to re-assemble)."""


class UnsupportedLanguageError(SpeechlabError, ValueError):
    """A language code is not supported by the model or G2P that was asked for it."""


class OptionError(SpeechlabError, TypeError):
    """A call with an unknown keyword or a wrong number of arguments."""


class OutputError(SpeechlabError, OSError):
    """An output location cannot be written: a read-only file system, no permission, a file
    where a folder should be (or the reverse), a name too long, no space left."""


class TextEncodingError(SpeechlabError, ValueError):
    """A text file is not in the encoding it was read with; the message names the encoding
    that was expected and how to pass another."""


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
