"""Kokoro-82M on torch, through the ``kokoro`` package's ``KModel``.

For users with the Hub weights (``hexgrad/Kokoro-82M``: ``config.json``, ``kokoro-v1_0.pth``,
``voices/*.pt``) or any folder of that layout. Weights are read with
``torch.load(weights_only=True)`` (inside ``KModel``). The model's predicted durations come
back with the audio, so word times are available as with the official ONNX export.

``random_model_dir`` writes a randomly initialised Kokoro folder of that layout, for tests,
benchmarks and export checks where no real weights can be had.
"""

from __future__ import annotations

import io
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from speechlab.devices import check_gpus, check_threads, parse_device
from speechlab.errors import ModelNotFoundError
from speechlab.store.model_folders import pickled_code_refused, read_json
from speechlab.tts.base import Output

__all__ = ["HUB_ID", "KokoroTorch", "kokoro_config", "load_kmodel", "random_model_dir"]

HUB_ID = "hexgrad/Kokoro-82M"
_PARTS = ("bert", "bert_encoder", "predictor", "text_encoder", "decoder")


def kokoro_config(vocab: Mapping[str, int], *, size: str = "full") -> dict[str, Any]:
    """A Kokoro ``config.json`` dict: ``"full"`` is Kokoro-82M's architecture, ``"tiny"``
    shrinks the PL-BERT, the prosody layers and the vocoder's residual blocks (the vocoder's
    512/1024 widths are fixed inside ``kokoro``).
    """
    if size not in {"full", "tiny"}:
        raise ModelNotFoundError(f"Unknown Kokoro size {size!r}; choose 'full' or 'tiny'.")
    tiny = size == "tiny"
    return {
        "vocab": dict(vocab),
        "n_token": 178,
        "hidden_dim": 512,
        "style_dim": 128,
        "n_layer": 1 if tiny else 3,
        "max_dur": 50,
        "dropout": 0.2,
        "text_encoder_kernel_size": 5,
        "n_mels": 80,
        "max_conv_dim": 512,
        "dim_in": 64,
        "multispeaker": True,
        "plbert": {
            "hidden_size": 32 if tiny else 768,
            "num_attention_heads": 2 if tiny else 12,
            "intermediate_size": 64 if tiny else 2048,
            "max_position_embeddings": 512,
            "num_hidden_layers": 2 if tiny else 12,
            "dropout": 0.1,
        },
        "istftnet": {
            "upsample_kernel_sizes": [20, 12],
            "upsample_rates": [10, 6],
            "gen_istft_hop_size": 5,
            "gen_istft_n_fft": 20,
            "resblock_dilation_sizes": [[1, 3, 5]] if tiny else [[1, 3, 5]] * 3,
            "resblock_kernel_sizes": [3] if tiny else [3, 7, 11],
            "upsample_initial_channel": 512,
        },
    }


def load_kmodel(folder: Path, *, disable_complex: bool = False) -> Any:
    """A ``kokoro.KModel`` from a folder with ``config.json`` and one ``.pth`` file (read by
    ``KModel`` with ``weights_only=True``) or one ``.safetensors`` state dict with flat
    ``part.name`` keys (what ``onnx_import`` writes), loaded strictly."""
    try:
        from kokoro import KModel
    except ImportError as exc:
        raise ModelNotFoundError(
            "The torch Kokoro backend needs the 'kokoro' package: pip install 'kokoro==0.9.4' "
            "(or speechlab[kokoro])."
        ) from exc
    config_file = folder / "config.json"
    weights = sorted(folder.glob("*.pth")) or sorted(folder.glob("*.safetensors"))
    if not config_file.is_file() or not weights:
        raise ModelNotFoundError(
            f"{folder} is not a Kokoro torch folder: it needs config.json and a .pth or "
            ".safetensors file (as in hexgrad/Kokoro-82M)."
        )
    config = read_json(config_file)
    safetensors = weights[0].suffix == ".safetensors"
    try:
        with pickled_code_refused(weights[0]):
            model = KModel(
                repo_id=HUB_ID,
                config=config,
                model=_empty_state() if safetensors else str(weights[0]),  # type: ignore[arg-type]
                disable_complex=disable_complex,
            )
        if safetensors:
            _load_safetensors(model, weights[0])
    except (RuntimeError, KeyError, AssertionError, EOFError) as exc:
        raise ModelNotFoundError(f"Cannot build Kokoro from {folder}: {exc}") from exc
    return model.eval()


def _empty_state() -> io.BytesIO:
    """An empty ``torch.save`` archive: ``KModel`` builds its modules and loads nothing."""
    import torch

    buffer = io.BytesIO()
    torch.save({}, buffer)
    buffer.seek(0)
    return buffer


def _load_safetensors(model: Any, path: Path) -> None:
    """Load a flat state dict part by part: every parameter present, no key extra. Buffers
    the model computes itself may be absent (``disable_complex=True`` swaps the vocoder's
    STFT for one with fixed window and basis buffers)."""
    from safetensors.torch import load_file

    parts: dict[str, dict[str, Any]] = {part: {} for part in _PARTS}
    for key, tensor in load_file(str(path)).items():
        part, _, name = key.partition(".")
        if part not in parts:
            raise KeyError(f"{path.name} has {key!r}, outside KModel's parts {_PARTS}")
        parts[part][name] = tensor
    for part, state in parts.items():
        module = getattr(model, part)
        result = module.load_state_dict(state, strict=False)
        parameters = {name for name, _ in module.named_parameters()}
        missing = [f"{part}.{k}" for k in result.missing_keys if k in parameters]
        if missing or result.unexpected_keys:
            raise KeyError(
                f"{path.name} does not fit KModel: missing {missing[:3]}, unexpected "
                f"{[f'{part}.{k}' for k in result.unexpected_keys][:3]}"
            )


class KokoroTorch:
    """A ``KModel`` as a ``base.KokoroRuntime``: ids, style row, speed → Output."""

    def __init__(self, folder: Path, *, threads: int | None = None, device: str = "cpu") -> None:
        import torch

        threads = check_threads(threads)
        checked = parse_device(device)
        check_gpus(checked, torch.cuda.device_count(), f"torch {torch.__version__}")
        if threads:
            torch.set_num_threads(threads)
        self.device = str(checked)
        self.kmodel = load_kmodel(folder).to(self.device)

    def __call__(self, ids: list[int], style: np.ndarray, speed: float) -> Output:
        """Synthesise padded token ids (BOS/EOS included) with a (1, 256) style row."""
        import torch

        input_ids = torch.as_tensor([ids], dtype=torch.long, device=self.device)
        ref_s = torch.as_tensor(np.asarray(style, np.float32).reshape(1, -1), device=self.device)
        with torch.inference_mode():
            audio, durations = self.kmodel.forward_with_tokens(input_ids, ref_s, float(speed))
        return Output(audio.float().reshape(-1).cpu().numpy(), durations.reshape(-1).cpu().numpy())


def random_model_dir(
    out: str | os.PathLike[str],
    vocab: Mapping[str, int],
    *,
    size: str = "tiny",
    voices: int = 2,
    seed: int = 0,
) -> Path:
    """Write a randomly initialised Kokoro folder (config.json, model.pth, voices/*.pt).

    The vocoder's last convolution is scaled down so that ``exp(magnitude)`` stays finite:
    with plain random weights the output reaches 1e17 and every comparison is meaningless.
    Random voices are drawn from N(0, 0.3²), roughly the spread of the real packs.
    """
    import torch

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    config = kokoro_config(vocab, size=size)
    (out / "config.json").write_text(json.dumps(config, ensure_ascii=False), encoding="utf-8")
    empty = out / "model.pth"
    torch.save({}, empty)
    torch.manual_seed(seed)
    model = load_kmodel(out)
    with torch.no_grad():
        model.decoder.generator.conv_post.weight_g.mul_(0.01)
    torch.save({part: getattr(model, part).state_dict() for part in _PARTS}, empty)
    (out / "voices").mkdir(exist_ok=True)
    generator = torch.Generator().manual_seed(seed + 1)
    for i in range(voices):
        pack = torch.randn(510, 1, 256, generator=generator) * 0.3
        torch.save(pack, out / "voices" / f"xx_random{i}.pt")
    return out
