"""What evaluation needs to know about a recognizer or synthesizer: a name, language options."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from speechlab.models import MANIFEST

__all__ = [
    "language_options",
    "model_label",
    "open_recognizer",
    "open_synthesizer",
    "whisper_code",
]


def open_recognizer(recognizer: Any) -> tuple[Any, str]:
    """The recognizer (opened with ``load_asr`` when given a spec) and its label."""
    if isinstance(recognizer, str | os.PathLike):
        from speechlab.asr import load_asr

        recognizer = load_asr(recognizer)
    return recognizer, model_label(recognizer)


def open_synthesizer(synthesizer: Any) -> tuple[Any, str]:
    """The synthesizer (opened with ``load_tts`` when given a spec) and its label."""
    if isinstance(synthesizer, str | os.PathLike):
        from speechlab.tts import load_tts

        label = Path(synthesizer).name if Path(synthesizer).exists() else str(synthesizer)
        return load_tts(synthesizer), label
    return synthesizer, model_label(synthesizer)


def model_label(model: Any) -> str:
    """A readable model name: the store name, ``org/name`` for Hub snapshots, a folder name."""
    folder = getattr(model, "model_dir", None)
    if folder is None:
        if type(model).__name__ == "Synthesizer":  # speechlab's only synthesizer
            return "kokoro"
        return str(getattr(model, "name", type(model).__name__))
    folder = Path(folder)
    manifest = folder / MANIFEST
    if manifest.is_file():
        name = json.loads(manifest.read_text(encoding="utf-8")).get("name")
        if name:
            return str(name)
    parts = folder.parts
    if "snapshots" in parts:  # ~/.cache/huggingface/hub/models--org--name/snapshots/<sha>
        repo = parts[parts.index("snapshots") - 1]
        if repo.startswith("models--"):
            return repo.removeprefix("models--").replace("--", "/")
    return folder.name


def whisper_code(lang: str) -> str:
    """Whisper's code for a speechlab language code (``en-us`` → ``en``)."""
    return lang.lower().split("-")[0].split("_")[0]


def language_options(recognizer: Any, lang: str | None) -> dict[str, Any]:
    """Options telling the recognizer the language: Whisper takes it per call; CTC models
    are trained on one language and take none (``lang`` is then only recorded)."""
    if lang is None:
        return {}
    from speechlab.asr.whisper import WhisperRecognizer

    if isinstance(recognizer, WhisperRecognizer):
        return {"language": whisper_code(lang)}
    return {}
