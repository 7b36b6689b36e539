"""Speech recognition: ``load_asr(spec) -> Recognizer`` over wav2vec2 CTC and Whisper backends."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from speechlab.asr.base import Recognizer
from speechlab.asr.inputs import DatasetError
from speechlab.errors import ModelNotFoundError
from speechlab.models import MANIFEST, resolve
from speechlab.transcript import Segment, Transcript

__all__ = [
    "BACKENDS",
    "DatasetError",
    "Recognizer",
    "Segment",
    "Transcript",
    "detect_backend",
    "load_asr",
]

BACKENDS = ("wav2vec2", "whisper")
#: What ``load_asr()`` opens when no spec is given: real weights that work offline.
DEFAULT_MODEL = "whisper-base"


def load_asr(
    spec: str | Path = DEFAULT_MODEL, *, backend: str = "auto", **options: Any
) -> Recognizer:
    """Open a speech recognizer from a store name, a local directory or a Hub id.

    ``backend`` is ``"auto"`` (from the files), ``"wav2vec2"`` or ``"whisper"``. Options go
    to the backend: ``device``, ``threads``, ``language`` for both; ``dtype``, ``lm``,
    ``decoder``, ``alpha``, ``beta``, ``beam_width``, ``hotwords``, ``chunk_length_s``,
    ``stride_length_s``, ``feature_chunk_frames``, ``runtime`` (``"auto"``, ``"speechlab"``,
    ``"transformers"``) for wav2vec2; ``compute_type``, ``beam_size`` for Whisper.
    """
    path = resolve(spec)
    if backend == "auto":
        backend = detect_backend(path)
    if backend == "wav2vec2":
        from speechlab.asr.wav2vec2 import Wav2Vec2Recognizer

        return Wav2Vec2Recognizer(path, **options)
    if backend == "whisper":
        from speechlab.asr.whisper import WhisperRecognizer

        return WhisperRecognizer(path, **options)
    raise ModelNotFoundError(
        f"Unknown ASR backend {backend!r}; choose one of {BACKENDS} or 'auto'."
    )


def detect_backend(path: Path) -> str:
    """Which ASR backend can open ``path``; a clear error for TTS or unknown models."""
    if not path.is_dir():
        raise ModelNotFoundError(
            f"{path} is a file; a speech recognizer is a directory (config.json + weights)."
        )
    manifest = path / MANIFEST
    if manifest.is_file():
        info = json.loads(manifest.read_text())
        if info.get("task") != "asr":
            raise ModelNotFoundError(
                f"{info.get('name', path.name)!r} is a {info.get('task', 'non-ASR')} model, not a "
                "speech recognizer; use speechlab.load_tts for text-to-speech models."
            )
        return "whisper" if info.get("backend") == "faster-whisper" else "wav2vec2"
    if (path / "model.bin").is_file() and (path / "tokenizer.json").is_file():
        return "whisper"
    if any(path.glob("*.onnx")) and any(path.glob("voices*")):
        raise ModelNotFoundError(f"{path} holds a text-to-speech model; use speechlab.load_tts.")
    if (path / "config.json").is_file():
        return "wav2vec2"
    raise ModelNotFoundError(
        f"{path} is neither a transformers CTC checkpoint (config.json) nor a CTranslate2 "
        "Whisper model (model.bin). Pass backend=... or a different directory."
    )
