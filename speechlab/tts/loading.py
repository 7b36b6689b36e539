"""``load_tts``: find a Kokoro model's files in a folder and open the right runtime."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from speechlab.devices import check_threads, parse_device
from speechlab.errors import ModelNotFoundError, checked_arguments
from speechlab.store import resolve
from speechlab.store.model_folders import read_json
from speechlab.tts.base import KokoroRuntime
from speechlab.tts.kokoro_onnx import KokoroOnnx
from speechlab.tts.synthesizer import Synthesizer
from speechlab.tts.voices import VoiceBank

__all__ = ["BACKENDS", "DEFAULT_MODEL", "detect_backend", "load_tts"]

BACKENDS = ("onnx", "torch")
DEFAULT_MODEL = "kokoro-82m-int8"


@checked_arguments
def load_tts(
    spec: str | os.PathLike[str] = DEFAULT_MODEL,
    *,
    voice: str | None = None,
    lang: str = "pl",
    backend: str = "auto",
    model_file: str | None = None,
    threads: int | None = None,
    device: str = "cpu",
    fast_int8: bool = True,
    replacements: Mapping[str, str] | None = None,
    stress: bool = True,
) -> Synthesizer:
    """Open Kokoro from a store name, a local directory or a Hub id.

    ``backend``: ``"onnx"`` (a folder with a Kokoro ``.onnx``, voices and a vocabulary),
    ``"torch"`` (a folder like ``hexgrad/Kokoro-82M``: ``config.json``, a ``.pth``,
    ``voices/*.pt``; needs the ``kokoro`` package) or ``"auto"`` (ONNX when the folder has
    an ``.onnx`` file, else torch). ``model_file`` picks one ``.onnx`` of several (e.g.
    ``"model_int8.onnx"`` of an export). ``fast_int8`` (ONNX on CPU): run int8 convolutions
    as signed-weight ``MatMulInteger`` where the CPU makes that exact (VNNI/AMX: bit-identical,
    about 1.6× faster on 2 cores; elsewhere the file runs as stored); False always runs the
    file exactly as stored. ``replacements``: symbol → in-vocabulary symbol (default
    ``g2p.REPLACEMENTS``); ``stress=False`` drops espeak-ng's stress marks. ``voice``: the
    default voice, a name or a blend (None: ``jm_kumo`` where the model has it, else its
    first voice); a voice the model lacks is a ``VoiceError`` listing its voices.
    ``device``: ``"cpu"``, ``"cuda"`` or ``"cuda:N"``; ``threads``: None or a whole number ≥ 1.
    """
    parse_device(device)  # bad values fail before a model is assembled or read
    check_threads(threads)
    path = resolve(spec)
    if path.is_file():
        raise ModelNotFoundError(
            f"{path} is a file; pass the directory holding the model, voices and vocabulary."
        )
    if backend == "auto":
        backend = detect_backend(path)
    if backend not in BACKENDS:
        raise ModelNotFoundError(f"Unknown TTS backend {backend!r}; choose {BACKENDS} or 'auto'.")
    voice_files = _voice_files(path)
    vocab = _vocab(path)
    model: KokoroRuntime
    if backend == "torch":
        from speechlab.tts.kokoro_torch import KokoroTorch

        model = KokoroTorch(path, threads=threads, device=device)
    else:
        model = KokoroOnnx(
            _onnx_file(path, model_file), threads=threads, device=device, fast_int8=fast_int8
        )
    return Synthesizer(
        model,
        vocab,
        VoiceBank.load(*voice_files),
        voice=voice,
        lang=lang,
        replacements=replacements,
        stress=stress,
        model_dir=path,
    )


def detect_backend(path: Path) -> str:
    """``"onnx"`` when ``path`` holds a Kokoro .onnx, ``"torch"`` when it holds a .pth or a
    .safetensors state dict."""
    if _onnx_candidates(path):
        return "onnx"
    if any(path.glob("*.pth")) or any(path.glob("*.safetensors")):
        return "torch"
    raise ModelNotFoundError(
        f"{path} holds no Kokoro model (.onnx or .pth). Use the store's 'kokoro-82m-int8', "
        "a folder with kokoro-v1.0*.onnx, voices (.npz/.bin) and vocab.json or config.json, "
        "or a hexgrad/Kokoro-82M folder (config.json, kokoro-v1_0.pth, voices/)."
    )


def _onnx_candidates(path: Path) -> list[Path]:
    return sorted(path.glob("*.onnx")) or sorted(path.glob("onnx/*.onnx"))


def _onnx_file(path: Path, model_file: str | None) -> Path:
    onnx = _onnx_candidates(path)
    if model_file is not None:
        chosen = [p for p in onnx if p.name == model_file]
        if not chosen:
            raise ModelNotFoundError(
                f"{path} has no {model_file!r}; it has {[p.name for p in onnx]}."
            )
        return chosen[0]
    if not onnx:
        raise ModelNotFoundError(f"{path} holds no .onnx model for the ONNX backend.")
    preferred = [p for p in onnx if p.name in {"model.onnx", "kokoro-v1.0.onnx"}]
    return (preferred or onnx)[0]


def _voice_files(path: Path) -> list[Path]:
    voices = sorted(path.glob("voices*.npz")) + sorted(path.glob("voices*.bin"))
    if (path / "voices").is_dir():
        voices.append(path / "voices")
    if not voices:
        raise ModelNotFoundError(f"{path} holds no voices (voices*.npz, voices*.bin or voices/).")
    return voices


def _vocab(path: Path) -> dict[str, int]:
    vocab = None
    for name in ("vocab.json", "config.json", "tokenizer.json"):
        candidate = path / name
        if candidate.is_file():
            data = read_json(candidate)
            vocab = data.get("vocab") or (data.get("model") or {}).get("vocab")
            if vocab:
                break
    if not vocab:
        raise ModelNotFoundError(f"{path} has no phoneme vocabulary (vocab.json or config.json).")
    return {k: int(v) for k, v in vocab.items()}
