"""speechlab: Polish speech research in Jupyter.

ASR with wav2vec2 CTC and Whisper, TTS with Kokoro-82M, fine-tuning, quantization,
evaluation, widgets and papermill notebooks. The core never imports Jupyter packages.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

# Light to import: each backend's heavy packages (torch, onnxruntime, ...) load on first use.
from speechlab.asr.loading import load_asr
from speechlab.audio import Audio, iter_blocks, load
from speechlab.errors import (
    AudioError,
    ChecksumError,
    DatasetError,
    DeviceError,
    ModelFileError,
    ModelNotFoundError,
    OptionError,
    OutputError,
    SpeechlabError,
    TextEncodingError,
    UnsafeModelError,
    UnsupportedLanguageError,
)
from speechlab.quantization import quantize
from speechlab.run_metrics import record, recorded
from speechlab.store import resolve
from speechlab.transcript import Segment, Transcript
from speechlab.tts.loading import load_tts

try:
    __version__ = version("speechlab")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+unknown"

__all__ = [
    "Audio",
    "AudioError",
    "ChecksumError",
    "DatasetError",
    "DeviceError",
    "ModelFileError",
    "ModelNotFoundError",
    "OptionError",
    "OutputError",
    "Segment",
    "SpeechlabError",
    "TextEncodingError",
    "Transcript",
    "UnsafeModelError",
    "UnsupportedLanguageError",
    "__version__",
    "iter_blocks",
    "load",
    "load_asr",
    "load_tts",
    "quantize",
    "record",
    "recorded",
    "resolve",
]
