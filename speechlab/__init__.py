"""speechlab: Polish speech research in Jupyter.

ASR with wav2vec2 CTC and Whisper, TTS with Kokoro-82M, fine-tuning, quantization,
evaluation, widgets and papermill notebooks. The core never imports Jupyter packages.
"""

from __future__ import annotations

import os
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any

from speechlab.audio import Audio, iter_blocks, load
from speechlab.errors import (
    AudioError,
    ChecksumError,
    ModelNotFoundError,
    SpeechlabError,
    UnsupportedLanguageError,
)
from speechlab.models import resolve
from speechlab.transcript import Segment, Transcript

if TYPE_CHECKING:
    from speechlab.asr.base import Recognizer
    from speechlab.tts import Synthesizer

try:
    __version__ = version("speechlab")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+unknown"

__all__ = [
    "Audio",
    "AudioError",
    "ChecksumError",
    "ModelNotFoundError",
    "Segment",
    "SpeechlabError",
    "Transcript",
    "UnsupportedLanguageError",
    "__version__",
    "iter_blocks",
    "load",
    "load_asr",
    "load_tts",
    "resolve",
]


def load_asr(spec: str | os.PathLike[str] = "whisper-base", **options: Any) -> Recognizer:
    """Open a speech recognizer; see :func:`speechlab.asr.load_asr` (imported lazily)."""
    from speechlab.asr import load_asr as _load_asr

    return _load_asr(spec, **options)


def load_tts(spec: str | os.PathLike[str] = "kokoro-82m-int8", **options: Any) -> Synthesizer:
    """Open a Kokoro synthesizer; see :func:`speechlab.tts.load_tts` (imported lazily)."""
    from speechlab.tts import load_tts as _load_tts

    return _load_tts(spec, **options)
