"""``load_asr``: a model spec (store name, local folder, Hub id) to a ready Recognizer."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from speechlab.asr.base import Recognizer
from speechlab.devices import check_threads, parse_device
from speechlab.errors import ModelNotFoundError, SpeechlabError, checked_arguments
from speechlab.store import MANIFEST, resolve
from speechlab.store.model_folders import read_json

__all__ = ["BACKENDS", "DEFAULT_MODEL", "detect_backend", "load_asr"]

BACKENDS = ("wav2vec2", "whisper")
#: What ``load_asr()`` opens when no spec is given: real weights that work offline.
DEFAULT_MODEL = "whisper-base"


@checked_arguments
def load_asr(
    spec: str | os.PathLike[str] = DEFAULT_MODEL,
    *,
    backend: str = "auto",
    device: str = "cpu",
    threads: int | None = None,
    language: str | None = None,
    # CTC models (wav2vec2 family)
    dtype: str | None = None,
    runtime: str | None = None,
    lm: str | os.PathLike[str] | None = None,
    decoder: str | None = None,
    alpha: float | None = None,
    beta: float | None = None,
    beam_width: int | None = None,
    hotwords: Sequence[str] | None = None,
    hotword_weight: float | None = None,
    chunk_length_s: float | None = None,
    stride_length_s: float | None = None,
    whole_length_s: float | None = None,
    max_padding: float | None = None,
    max_batch_seconds: float | None = None,
    feature_chunk_frames: int | None = None,
    adapter: str | os.PathLike[str] | Mapping[str, str | os.PathLike[str]] | None = None,
    # Whisper
    compute_type: str | None = None,
    beam_size: int | None = None,
    word_timestamps: bool | None = None,
) -> Recognizer:
    """Open a speech recognizer from a store name, a local directory or a Hub id.

    ``backend``: ``"auto"`` (from the files), ``"wav2vec2"`` or ``"whisper"``.
    For both: ``device`` (``"cpu"``, ``"cuda"``), ``threads``, ``language`` (Whisper decodes
    in it, None detects; a CTC model records it as the language it hears).

    CTC models only (None keeps the default): ``dtype`` (``"float32"``, ``"float16"``,
    ``"bfloat16"``; None: float32 on a CPU even for a checkpoint stored in half precision,
    the stored dtype on a GPU, the method's dtype for a folder from ``speechlab.quantize``),
    ``runtime`` (``"auto"``, ``"speechlab"``, ``"transformers"``, ``"onnx"``: ONNX Runtime,
    chosen by ``"auto"`` for a folder holding an ``.onnx`` export), LM beam search (``lm``,
    ``decoder`` ``"auto"|"greedy"|"beam"``, ``alpha``, ``beta``, ``beam_width``,
    ``hotwords``, ``hotword_weight``), long audio (inputs up to ``whole_length_s``, 1.5 ×
    ``chunk_length_s`` = 30 s, are decoded whole; longer ones in ``chunk_length_s`` 20
    windows with ``stride_length_s`` 2 of context on each side), batching
    (``max_padding``, ``max_batch_seconds``), ``feature_chunk_frames``, and
    ``adapter``: a LoRA adapter folder (peft format) applied to the model, or a mapping of
    names to folders (all loaded, the first applied; switch with ``use_adapter(name)``).

    Whisper only: ``compute_type`` (int8 on CPU), ``beam_size`` (5), ``word_timestamps``.
    Giving an option of the other backend is a :class:`SpeechlabError` naming it.
    """
    ctc_options = {
        "dtype": dtype,
        "runtime": runtime,
        "lm": lm,
        "decoder": decoder,
        "alpha": alpha,
        "beta": beta,
        "beam_width": beam_width,
        "hotwords": hotwords,
        "hotword_weight": hotword_weight,
        "chunk_length_s": chunk_length_s,
        "stride_length_s": stride_length_s,
        "whole_length_s": whole_length_s,
        "max_padding": max_padding,
        "max_batch_seconds": max_batch_seconds,
        "feature_chunk_frames": feature_chunk_frames,
        "adapter": adapter,
    }
    whisper_options = {
        "compute_type": compute_type,
        "beam_size": beam_size,
        "word_timestamps": word_timestamps,
    }
    if backend not in (*BACKENDS, "auto"):
        raise ModelNotFoundError(
            f"Unknown ASR backend {backend!r}; choose one of {BACKENDS} or 'auto'."
        )
    parse_device(device)  # bad values fail before a model is assembled or read
    check_threads(threads)
    path = resolve(spec)
    if backend == "auto":
        backend = detect_backend(path)
    common = {"device": device, "threads": threads, "language": language}
    if backend == "wav2vec2":
        from speechlab.asr.wav2vec2 import Wav2Vec2Recognizer

        _refuse_others(whisper_options, "Whisper", path)
        adapters = _adapter_folders(ctc_options.pop("adapter"))
        recognizer = Wav2Vec2Recognizer(path, **common, **_given(ctc_options))
        for i, (name, folder) in enumerate(adapters.items()):
            recognizer.load_adapter(folder, name, use=i == 0)
        return recognizer
    from speechlab.asr.whisper import WhisperRecognizer

    _refuse_others(ctc_options, "CTC (wav2vec2)", path)
    return WhisperRecognizer(path, **common, **_given(whisper_options))


def _adapter_folders(adapter: Any) -> dict[str | None, Any]:
    """``load_asr``'s ``adapter``: one folder (named after itself) or names -> folders."""
    if adapter is None:
        return {}
    if isinstance(adapter, Mapping):
        if not adapter:
            raise SpeechlabError("adapter={} names no adapter; give folders or leave it out.")
        return dict(adapter)
    if isinstance(adapter, str | os.PathLike):
        return {None: adapter}
    raise SpeechlabError(
        f"adapter must be a folder or a mapping of names to folders, got {type(adapter).__name__}."
    )


def _given(options: dict[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in options.items() if value is not None}


def _refuse_others(options: dict[str, Any], family: str, path: Path) -> None:
    given = sorted(_given(options))
    if given:
        raise SpeechlabError(
            f"{', '.join(given)} {'is an option' if len(given) == 1 else 'are options'} of "
            f"{family} models, but {path.name} is not one; leave "
            f"{'it' if len(given) == 1 else 'them'} out (see help(speechlab.load_asr))."
        )


def detect_backend(path: Path) -> str:
    """Which ASR backend can open ``path``; a clear error for TTS or unknown models."""
    if not path.is_dir():
        raise ModelNotFoundError(
            f"{path} is a file; a speech recognizer is a directory (config.json + weights)."
        )
    manifest = path / MANIFEST
    if manifest.is_file():
        info = read_json(manifest)
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
