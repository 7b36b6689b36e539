"""Kokoro voice packs: loading (.npz, kokoro-onnx .bin, .pt), listing, blending, style rows.

A voice pack is a float32 array of shape (510, 1, 256): row ``n - 1`` is the style vector
for an utterance of ``n`` phoneme tokens (without the BOS/EOS pads), as in the reference.
A blend is a weighted sum of packs, weights normalised to 1, from a spec string
``"jm_kumo:0.7,jf_alpha:0.3"`` or a dict.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from speechlab.errors import ModelNotFoundError, SpeechlabError
from speechlab.store.model_folders import load_tensors

__all__ = ["VoiceBank", "VoiceError", "parse_blend", "style_row"]

PACK_SHAPE = (510, 1, 256)


class VoiceError(SpeechlabError, KeyError):
    """An unknown voice, a malformed blend spec, or a voice file that is not a pack."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


def parse_blend(spec: str | Mapping[str, float]) -> dict[str, float]:
    """``"a:0.7,b:0.3"`` (or ``"a"``, or a dict) → weights normalised to sum 1.

    Weights must be finite and ≥ 0 with at least one > 0; they are scaled by the largest
    before summing, so huge weights (``"a:1e308,b:1e308"``) blend as their ratio says
    instead of overflowing.
    """
    if isinstance(spec, Mapping):
        items = [(str(k).strip(), v) for k, v in spec.items()]
    elif isinstance(spec, str) and spec.strip():
        items = []
        for part in spec.split(","):
            name, _, weight = part.partition(":")
            items.append((name.strip(), weight.strip() or "1"))
    else:
        raise VoiceError(f"A voice must be a name, a blend string or a dict, got {spec!r}.")
    weights: dict[str, float] = {}
    for name, raw in items:
        try:
            weight = float(raw)
        except (TypeError, ValueError):
            raise VoiceError(f"Weight {raw!r} for voice {name!r} is not a number.") from None
        if not name or not np.isfinite(weight) or weight < 0:
            raise VoiceError(
                f"Bad blend entry {name!r}:{raw!r}; use 'voice:weight' with a finite weight ≥ 0."
            )
        weights[name] = weights.get(name, 0.0) + weight
        if not np.isfinite(weights[name]):  # the same voice twice, each near the float limit
            weights[name] = float(np.finfo(np.float64).max)
    largest = max(weights.values())
    if not largest > 0:
        raise VoiceError(f"Blend weights sum to 0 in {spec!r}; give at least one weight > 0.")
    scaled = {name: w / largest for name, w in weights.items()}  # each in [0, 1]
    total = sum(scaled.values())  # in [1, number of voices]: finite
    blend = {name: w / total for name, w in scaled.items() if w / total > 0}
    if not all(np.isfinite(w) for w in blend.values()):  # cannot happen; never garbage audio
        raise VoiceError(f"Blend weights of {spec!r} cannot be normalised.")
    return blend


class VoiceBank:
    """Named voice packs, loaded once."""

    def __init__(self, packs: Mapping[str, np.ndarray]) -> None:
        self._packs = {name: _check_pack(name, pack) for name, pack in packs.items()}
        if not self._packs:
            raise VoiceError("The voice file holds no voices.")

    @classmethod
    def load(cls, *paths: str | os.PathLike[str]) -> VoiceBank:
        packs: dict[str, np.ndarray] = {}
        for path in paths:
            packs.update(_read_packs(Path(path)))
        return cls(packs)

    @property
    def names(self) -> list[str]:
        return sorted(self._packs)

    def __contains__(self, name: object) -> bool:
        return name in self._packs

    def pack(self, voice: str | Mapping[str, float]) -> np.ndarray:
        """The pack for a voice name or a blend (weighted sum of packs)."""
        weights = parse_blend(voice)
        unknown = [name for name in weights if name not in self._packs]
        if unknown:
            raise VoiceError(
                f"Unknown voice(s) {', '.join(map(repr, unknown))}. "
                f"Available: {', '.join(self.names)}."
            )
        if len(weights) == 1:
            return self._packs[next(iter(weights))]
        return sum(w * self._packs[name] for name, w in weights.items()).astype(np.float32)

    def style(self, voice: str | Mapping[str, float], n_tokens: int) -> np.ndarray:
        """The (1, 256) style row for an utterance of ``n_tokens`` phonemes (no pads)."""
        return style_row(self.pack(voice), n_tokens)


def style_row(pack: np.ndarray, n_tokens: int) -> np.ndarray:
    """Row ``n_tokens - 1`` of a pack (clamped to its length), shaped (1, 256)."""
    row = min(max(n_tokens, 1), len(pack)) - 1
    return np.asarray(pack[row], dtype=np.float32).reshape(1, -1)


def _read_packs(path: Path) -> dict[str, np.ndarray]:
    if not path.exists():
        raise ModelNotFoundError(f"Voice file not found: {path}.")
    if path.is_dir():
        packs: dict[str, np.ndarray] = {}
        for child in sorted(path.iterdir()):
            if child.suffix in {".pt", ".npy", ".bin"}:
                packs.update(_read_packs(child))
        return packs
    if path.suffix == ".pt":  # pickled code: UnsafeModelError; damage: ModelFileError
        tensor = load_tensors(path, mmap=False)
        return {path.stem: np.asarray(tensor.numpy() if hasattr(tensor, "numpy") else tensor)}
    if path.suffix == ".npy":
        try:
            return {path.stem: np.load(path, allow_pickle=False)}
        except (ValueError, OSError) as exc:
            raise VoiceError(
                f"{path} is not a voice pack of numbers ({exc}); pickled objects are never "
                "loaded. Save the pack with numpy.save of a float32 array."
            ) from exc
    if path.suffix == ".bin" and path.read_bytes()[:2] != b"PK":
        # onnx-community export: one voice per file, raw float32 of shape (510, 1, 256)
        raw = np.fromfile(path, dtype=np.float32)
        if raw.size % PACK_SHAPE[2]:
            raise VoiceError(f"{path} is not a raw float32 voice pack ({raw.size} values).")
        return {path.stem: raw.reshape(-1, 1, PACK_SHAPE[2])}
    try:  # .npz, and kokoro-onnx's voices-*.bin, which is an npz archive
        with np.load(path, allow_pickle=False) as archive:
            return {name: archive[name] for name in archive.files}
    except (ValueError, OSError) as exc:
        raise VoiceError(f"{path} is not a voice archive (.npz/.bin/.pt): {exc}") from exc


def _check_pack(name: str, pack: np.ndarray) -> np.ndarray:
    try:
        pack = np.asarray(pack, dtype=np.float32)
    except (TypeError, ValueError) as exc:
        raise VoiceError(
            f"Voice {name!r} is not an array of numbers ({exc}); expected {PACK_SHAPE}."
        ) from exc
    if pack.ndim == 2:
        pack = pack[:, None, :]
    if pack.ndim != 3 or pack.shape[1:] != PACK_SHAPE[1:] or pack.shape[0] < 1:
        raise VoiceError(f"Voice {name!r} has shape {pack.shape}, expected {PACK_SHAPE}.")
    if not np.isfinite(pack).all():
        raise VoiceError(f"Voice {name!r} contains NaN or infinite values.")
    return pack
