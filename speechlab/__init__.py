"""speechlab: Polish speech research in Jupyter.

ASR with wav2vec2 CTC and Whisper, TTS with Kokoro-82M, fine-tuning, quantization,
evaluation, widgets and papermill notebooks. The core never imports Jupyter packages.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from speechlab.audio import Audio, iter_blocks, load
from speechlab.errors import (
    AudioError,
    ChecksumError,
    ModelNotFoundError,
    SpeechlabError,
    UnsupportedLanguageError,
)
from speechlab.models import resolve

try:
    __version__ = version("speechlab")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+unknown"

__all__ = [
    "Audio",
    "AudioError",
    "ChecksumError",
    "ModelNotFoundError",
    "SpeechlabError",
    "UnsupportedLanguageError",
    "__version__",
    "iter_blocks",
    "load",
    "load_asr",
    "resolve",
]


def load_asr(*args, **kwargs):
    """See :func:`speechlab.asr.load_asr` (imported lazily: transformers is heavy)."""
    from speechlab.asr import load_asr as _load_asr

    return _load_asr(*args, **kwargs)
