"""LoRA adapters in peft's format on a loaded CTC model, switchable without reloading it.

An adapter folder is what peft's ``save_pretrained`` writes (``adapter_config.json`` and
``adapter_model.safetensors``) and what ``speechlab finetune --strategy adapter`` saves
under ``<out>/model/adapter``, plus the tokenizer files when its training used them. Reading one
(:func:`read_adapter`) turns each LoRA pair into the weight change it makes,
``scaling * B @ A``, and keeps whole modules it trained (``modules_to_save``: the CTC head)
as replacements. :class:`AdapterSet` applies one adapter at a time to a runtime that gives
access to its weights by transformers' names (speechlab's runtime and transformers'); the
base weights stay referenced, so switching restores them and applies the next adapter's
change without reading the base checkpoint again.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from speechlab.errors import ModelFileError, ModelNotFoundError, SpeechlabError

__all__ = [
    "ADAPTER_CONFIG",
    "AdapterError",
    "AdapterSet",
    "LoraAdapter",
    "read_adapter",
]

ADAPTER_CONFIG = "adapter_config.json"
WEIGHT_FILES = ("adapter_model.safetensors", "adapter_model.bin")
_PREFIX = "base_model.model."
#: peft options that change what a LoRA pair means; adapters using them are refused
_UNSUPPORTED = {
    "use_dora": "DoRA",
    "fan_in_fan_out": "fan_in_fan_out weights",
    "lora_bias": "LoRA biases",
}


class AdapterError(SpeechlabError, ValueError):
    """An adapter cannot be read or applied: not a LoRA folder, an option speechlab does not
    apply, a module the base model lacks, or a runtime without float weights."""


class WeightAccess(Protocol):
    """What a CTC runtime offers adapters: its float weights by transformers' names."""

    def weight(self, name: str) -> Any: ...

    def set_weight(self, name: str, tensor: Any) -> None: ...


@dataclass
class LoraAdapter:
    """One adapter read from ``path``: weight changes and replaced tensors by parameter
    name (transformers' names, e.g. ``wav2vec2.encoder.layers.0.attention.q_proj.weight``)."""

    name: str
    path: Path
    deltas: dict[str, Any]
    replaced: dict[str, Any]
    base: str | None = None
    rank: int = 0
    stored_parameters: int = 0  # LoRA factors and replaced modules
    config: dict[str, Any] = field(default_factory=dict)

    @property
    def has_vocab(self) -> bool:
        return (self.path / "vocab.json").is_file()


def read_adapter(path: str | Path, name: str | None = None) -> LoraAdapter:
    """Read the peft LoRA adapter in folder ``path`` (its name defaults to the folder's)."""
    folder = Path(path)
    if not folder.is_dir():
        raise ModelNotFoundError(
            f"No adapter folder at {folder}: give the folder peft's save_pretrained wrote "
            "(adapter_config.json + adapter_model.safetensors), e.g. <finetune out>/adapter."
        )
    config_file = folder / ADAPTER_CONFIG
    if not config_file.is_file():
        raise AdapterError(f"{folder} has no {ADAPTER_CONFIG}: it is not a peft adapter folder.")
    try:
        config = json.loads(config_file.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelFileError(f"{config_file} is not valid JSON ({exc}); save it again.") from exc
    if not isinstance(config, dict) or config.get("peft_type") != "LORA":
        kind = config.get("peft_type") if isinstance(config, dict) else None
        raise AdapterError(f"{folder} holds a {kind or 'non-peft'} adapter; only LoRA applies.")
    used = [what for key, what in _UNSUPPORTED.items() if config.get(key)]
    if used:
        raise AdapterError(
            f"{folder} uses {', '.join(used)}, which speechlab does not apply; merge it with "
            "peft (merge_and_unload) and load the merged model instead."
        )
    tensors = _read_tensors(folder)
    deltas, replaced, stored = _changes(tensors, config, folder)
    return LoraAdapter(
        name=name or folder.name,
        path=folder,
        deltas=deltas,
        replaced=replaced,
        base=config.get("base_model_name_or_path"),
        rank=int(config.get("r", 0)),
        stored_parameters=stored,
        config=config,
    )


def _read_tensors(folder: Path) -> dict[str, Any]:
    from speechlab.store.model_folders import check_safetensors, load_tensors

    for filename in WEIGHT_FILES:
        path = folder / filename
        if not path.is_file():
            continue
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            check_safetensors(path)
            return load_file(path)
        return dict(load_tensors(path))  # weights_only: pickled code is refused
    raise AdapterError(f"{folder} has no adapter weights ({' or '.join(WEIGHT_FILES)}).")


def _changes(
    tensors: dict[str, Any], config: dict[str, Any], folder: Path
) -> tuple[dict[str, Any], dict[str, Any], int]:
    """``scaling * B @ A`` per adapted weight, and the tensors of whole trained modules."""
    pairs: dict[str, dict[str, Any]] = {}
    replaced: dict[str, Any] = {}
    for key, tensor in tensors.items():
        name = key.removeprefix(_PREFIX)
        match = re.fullmatch(r"(.+)\.lora_([AB])(?:\.default)?\.weight", name)
        if match:
            pairs.setdefault(match[1], {})[match[2]] = tensor
        elif ".lora_" in name:
            raise AdapterError(f"{folder}: {key} is a LoRA tensor speechlab does not apply.")
        else:
            replaced[name.replace(".modules_to_save.default.", ".")] = tensor
    if not pairs and not replaced:
        raise AdapterError(f"{folder}: the adapter's weights file holds no tensors.")
    deltas = {}
    for module, pair in pairs.items():
        if set(pair) != {"A", "B"}:
            raise AdapterError(f"{folder}: {module} has lora_A or lora_B but not both.")
        a, b = pair["A"].float(), pair["B"].float()
        if a.dim() != 2 or b.dim() != 2 or a.shape[0] != b.shape[1]:
            raise AdapterError(
                f"{folder}: {module}'s LoRA factors {tuple(a.shape)} and {tuple(b.shape)} are "
                "not a linear layer's (only nn.Linear targets apply)."
            )
        deltas[module + ".weight"] = _scaling(config, module, a.shape[0]) * (b @ a)
    stored = sum(t.numel() for t in tensors.values())
    return deltas, replaced, stored


def _scaling(config: dict[str, Any], module: str, rank: int) -> float:
    """peft's LoRA scaling for ``module``: alpha / r (alpha / sqrt(r) with rsLoRA), with the
    config's per-module rank and alpha patterns."""
    alpha = float(_pattern_value(config.get("alpha_pattern") or {}, module, config["lora_alpha"]))
    return alpha / math.sqrt(rank) if config.get("use_rslora") else alpha / rank


def _pattern_value(patterns: dict[str, Any], module: str, default: Any) -> Any:
    for pattern, value in patterns.items():
        if re.match(rf"(.*\.)?({pattern})$", module):
            return value
    return default


class AdapterSet:
    """The adapters loaded onto one model and which one is applied (None: the base)."""

    def __init__(self, model: Any) -> None:
        if not callable(getattr(model, "set_weight", None)):
            raise AdapterError(
                f"Adapters apply to float weights (runtime 'speechlab' or 'transformers'), "
                f"not to the {getattr(model, 'name', type(model).__name__)} runtime: apply the "
                "adapter first, then quantize or export the merged model."
            )
        self.model: WeightAccess = model
        self.adapters: dict[str, LoraAdapter] = {}
        self.active: str | None = None
        self._base: dict[str, Any] = {}

    def add(self, adapter: LoraAdapter) -> None:
        """Keep ``adapter`` (checked against the model's weights) for :meth:`use`."""
        for name, delta in adapter.deltas.items():
            base = self._weight(name, adapter)
            if tuple(base.shape) != tuple(delta.shape):
                raise AdapterError(
                    f"Adapter {adapter.name!r} changes {name} by {tuple(delta.shape)}, but the "
                    f"model's is {tuple(base.shape)}: it was trained on another base model "
                    f"({adapter.base or 'unknown'})."
                )
        for name in adapter.replaced:
            self._weight(name, adapter)
        self.adapters[adapter.name] = adapter

    def use(self, name: str | None) -> None:
        """Apply adapter ``name`` (None: back to the base weights)."""
        if name is not None and name not in self.adapters:
            raise AdapterError(
                f"No adapter named {name!r} is loaded; loaded: {sorted(self.adapters) or 'none'}."
            )
        for weight_name, tensor in self._base.items():
            self.model.set_weight(weight_name, tensor)
        self.active = None
        if name is None:
            return
        adapter = self.adapters[name]
        for weight_name, delta in adapter.deltas.items():
            base = self._base.setdefault(weight_name, self.model.weight(weight_name))
            changed = base.float() + delta.to(base.device)
            self.model.set_weight(weight_name, changed.to(base.dtype))
        for weight_name, tensor in adapter.replaced.items():
            base = self._base.setdefault(weight_name, self.model.weight(weight_name))
            self.model.set_weight(weight_name, tensor.to(base.device, base.dtype))
        self.active = name

    def _weight(self, name: str, adapter: LoraAdapter) -> Any:
        try:
            return self._base[name] if name in self._base else self.model.weight(name)
        except KeyError:
            raise AdapterError(
                f"Adapter {adapter.name!r} trains {name}, which this model does not have (or "
                "its runtime cannot change); it was trained on another base model "
                f"({adapter.base or 'unknown'}). Try runtime='transformers'."
            ) from None
