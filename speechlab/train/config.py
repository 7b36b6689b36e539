"""The fine-tuning configuration: one dataclass, loadable from YAML, with ``key=value`` overrides.

```yaml
model: jonatasgrosman/wav2vec2-large-xlsr-53-polish   # or a folder, or null + model_config
train: data/train.tsv          # manifest, folder of audio + .txt
eval: data/dev.tsv
out_dir: runs/ft-pl
strategy: encoder              # head | adapter | encoder | full
max_steps: 4000
learning_rate: 3.0e-5
```
"""

from __future__ import annotations

import copy
import dataclasses
import difflib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from speechlab.train.augment import Effects, check_choices
from speechlab.train.errors import ConfigError

__all__ = [
    "PRECISIONS",
    "SCHEDULES",
    "STRATEGIES",
    "VOCAB_MODES",
    "TrainConfig",
    "load_config",
    "parse_overrides",
]

#: What each strategy trains: the CTC head only; LoRA adapters (+ head) on a frozen model;
#: everything but the convolutional feature encoder; everything.
STRATEGIES = ("head", "adapter", "encoder", "full")
SCHEDULES = ("linear", "cosine", "constant")
PRECISIONS = ("auto", "fp32", "bf16", "fp16")
VOCAB_MODES = ("auto", "model", "new")
#: The attention and feed-forward linears of wav2vec2/HuBERT/WavLM encoder layers.
LORA_TARGETS = ("q_proj", "k_proj", "v_proj", "out_proj", "intermediate_dense", "output_dense")
#: Fields a resumed run must share with the run that wrote the checkpoints.
RESUME_KEYS = (
    "model",
    "model_config",
    "strategy",
    "lora_r",
    "lora_alpha",
    "lora_targets",
    "batch_size",
    "grad_accum",
    "seed",
    "qat",
)
_FLOATS = {
    "learning_rate",
    "weight_decay",
    "max_grad_norm",
    "min_seconds",
    "max_seconds",
    "mask_time_prob",
    "mask_feature_prob",
    "layerdrop",
    "lora_alpha",
    "lora_dropout",
    "reverb_prob",
    "gain_prob",
    "telephone_prob",
    "mulaw_prob",
}
_INTS = {
    "max_steps",
    "batch_size",
    "grad_accum",
    "warmup_steps",
    "seed",
    "group_batches",
    "shuffle_buffer",
    "prefetch_batches",
    "loader_processes",
    "mask_time_length",
    "eval_every",
    "eval_max_items",
    "eval_batch_size",
    "checkpoint_every",
    "keep_checkpoints",
    "log_every",
    "lora_r",
    "threads",
    "vocab_max_items",
}
_BOOLS = {"shuffle", "resume", "progress"}


@dataclass
class TrainConfig:
    """Everything ``finetune`` needs. ``train``/``eval`` are a manifest, a folder, or (from
    Python) a datasets ``Dataset``/``IterableDataset``; ``model`` is a folder, a store name
    or a Hub id, or None to start from scratch from ``model_config`` (Wav2Vec2Config
    keyword arguments)."""

    out_dir: str
    train: Any
    model: str | None = None
    model_config: dict[str, Any] | None = None
    eval: Any = None
    audio_column: str | None = None
    text_column: str | None = None
    # vocabulary: "auto" keeps the model's when it covers the transcripts, else builds one;
    # "model" insists on the model's; "new" builds one; or a folder holding a vocab.json
    vocab: str = "auto"
    vocab_max_items: int | None = 100_000  # transcripts read to build a vocabulary (streams)
    # what is trained
    strategy: str = "encoder"
    lora_r: int = 8
    lora_alpha: float = 16.0
    lora_dropout: float = 0.0
    lora_targets: list[str] = field(default_factory=lambda: list(LORA_TARGETS))
    # quantization-aware training for a post-training method (speechlab.train.qat):
    # torch-int8-dynamic, onnx-int8-dynamic or onnx-int4 (then speechlab.quantize with it)
    qat: str | None = None
    # optimisation
    max_steps: int = 1000
    batch_size: int = 8
    grad_accum: int = 1
    learning_rate: float = 1e-4
    weight_decay: float = 0.0
    warmup_steps: int = 0
    schedule: str = "linear"
    max_grad_norm: float | None = 1.0
    precision: str = "auto"  # auto: bf16 (or fp16) on CUDA, fp32 on CPU
    device: str = "auto"
    threads: int | None = None
    seed: int = 0
    # data
    min_seconds: float = 0.5
    max_seconds: float = 20.0
    group_batches: int = 16  # length-grouping window: batch_size * group_batches items
    shuffle: bool = True
    shuffle_buffer: int = 1000  # streamed datasets: datasets' own buffer shuffle (0: off)
    prefetch_batches: int = 2  # batches decoded and augmented ahead, in threads (0: off)
    loader_processes: int = 0  # > 0: that many worker processes decode and augment instead
    speeds: list[float] = field(default_factory=lambda: [1.0])
    noise_snr_db: list[float | None] = field(default_factory=lambda: [None])
    noise_colors: list[str] = field(default_factory=lambda: ["white"])
    # room and channel (speechlab.train.channel): share of items and [low, high] ranges
    reverb_prob: float = 0.0
    reverb_rt60: list[float] = field(default_factory=lambda: [0.2, 0.8])  # seconds
    gain_prob: float = 0.0
    gain_db: list[float] = field(default_factory=lambda: [-10.0, 10.0])  # clipped at 0 dBFS
    telephone_prob: float = 0.0  # 300-3400 Hz, 8 kHz round trip
    mulaw_prob: float = 0.5  # share of the telephone items also mu-law companded
    mask_time_prob: float = 0.05  # SpecAugment time masking, in the model's forward
    mask_time_length: int = 10
    mask_feature_prob: float = 0.0
    layerdrop: float = 0.0
    # monitoring
    eval_every: int = 500  # CER on eval every N steps and at the end (0: at the end only)
    eval_max_items: int | None = 500  # the first N eval utterances (held in memory)
    eval_batch_size: int | None = None  # default: batch_size
    checkpoint_every: int = 500  # and at the end (0: at the end only)
    keep_checkpoints: int = 2
    log_every: int = 10
    resume: bool = True
    progress: bool = True

    def __post_init__(self) -> None:
        for name in _FLOATS | _INTS | _BOOLS:
            setattr(self, name, _coerce(name, getattr(self, name)))
        self.speeds = [float(s) for s in _listed(self.speeds)]
        self.noise_snr_db = [None if s is None else float(s) for s in _listed(self.noise_snr_db)]
        self.noise_colors = [str(c) for c in _listed(self.noise_colors)]
        self.lora_targets = [str(t) for t in _listed(self.lora_targets)]
        for name in ("reverb_rt60", "gain_db"):
            try:
                setattr(self, name, [float(v) for v in _listed(getattr(self, name))])
            except (TypeError, ValueError):
                raise ConfigError(
                    f"{name} must be a range [low, high] of numbers, got {getattr(self, name)!r}."
                ) from None
        self._validate()

    def _validate(self) -> None:
        _choose("strategy", self.strategy, STRATEGIES)
        _choose("schedule", self.schedule, SCHEDULES)
        _choose("precision", self.precision, PRECISIONS)
        if self.vocab not in VOCAB_MODES and not (Path(self.vocab) / "vocab.json").is_file():
            raise ConfigError(
                f"vocab must be one of {VOCAB_MODES} or a folder with a vocab.json; "
                f"got {self.vocab!r}."
            )
        if self.model is None and not self.model_config:
            raise ConfigError(
                "Give a model to start from (folder, store name or Hub id), or model_config "
                "(Wav2Vec2Config arguments) to train one from scratch."
            )
        if self.model is None and self.vocab == "model":
            raise ConfigError("A model trained from scratch has no vocabulary: use vocab: new.")
        if self.train is None or (isinstance(self.train, str) and not self.train.strip()):
            raise ConfigError("No training data: set train to a manifest, a folder or a dataset.")
        if not str(self.out_dir).strip():
            raise ConfigError("Set out_dir, the folder for checkpoints, metrics and the model.")
        for name in ("max_steps", "batch_size", "grad_accum", "group_batches", "log_every"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be >= 1, got {getattr(self, name)}.")
        if self.keep_checkpoints < 1:
            raise ConfigError(f"keep_checkpoints must be >= 1, got {self.keep_checkpoints}.")
        for name in (
            "eval_every",
            "checkpoint_every",
            "warmup_steps",
            "shuffle_buffer",
            "prefetch_batches",
            "loader_processes",
        ):
            if getattr(self, name) < 0:
                raise ConfigError(f"{name} must be >= 0, got {getattr(self, name)}.")
        if not self.learning_rate > 0:
            raise ConfigError(f"learning_rate must be > 0, got {self.learning_rate}.")
        if not 0 <= self.min_seconds < self.max_seconds:
            raise ConfigError(
                f"Need 0 <= min_seconds < max_seconds, got {self.min_seconds} and "
                f"{self.max_seconds}."
            )
        for name in ("mask_time_prob", "mask_feature_prob", "layerdrop", "lora_dropout"):
            if not 0.0 <= getattr(self, name) < 1.0:
                raise ConfigError(f"{name} must be in [0, 1), got {getattr(self, name)}.")
        if self.qat is not None:
            from speechlab.train.qat_methods import check_qat

            check_qat(self.qat, self.strategy)
        if self.strategy == "adapter" and (self.lora_r < 1 or not self.lora_targets):
            raise ConfigError("The adapter strategy needs lora_r >= 1 and some lora_targets.")
        check_choices(self.speeds, self.noise_snr_db, self.noise_colors)
        self.effects()

    def effects(self) -> Effects:
        """The room and channel augmentation these settings ask for (validated)."""
        return Effects(
            reverb_prob=self.reverb_prob,
            rt60=tuple(self.reverb_rt60),  # type: ignore[arg-type]
            gain_prob=self.gain_prob,
            gain_db=tuple(self.gain_db),  # type: ignore[arg-type]
            telephone_prob=self.telephone_prob,
            mulaw_prob=self.mulaw_prob,
        )

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TrainConfig:
        """A config from a mapping; unknown keys are refused with the closest known one."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = [key for key in data if key not in known]
        if unknown:
            hints = []
            for key in unknown:
                close = difflib.get_close_matches(key, sorted(known), n=1)
                hints.append(f"{key!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
            raise ConfigError(
                f"Unknown config key(s): {', '.join(hints)}. "
                f"Known keys: {', '.join(sorted(known))}."
            )
        missing = [key for key in ("out_dir", "train") if data.get(key) is None]
        if missing:
            raise ConfigError(f"The config needs {' and '.join(missing)}.")
        return cls(**dict(data))

    def to_dict(self) -> dict[str, Any]:
        """Plain values (data objects by their description) for YAML/JSON."""
        data = {
            f.name: copy.deepcopy(getattr(self, f.name))
            for f in dataclasses.fields(self)
            if f.name not in ("train", "eval")
        }
        for key in ("train", "eval"):
            value = getattr(self, key)
            if value is None or isinstance(value, str):
                data[key] = value
            elif isinstance(value, Path):
                data[key] = str(value)
            elif isinstance(value, Mapping):
                data[key] = copy.deepcopy(dict(value))
            else:
                data[key] = f"<{type(value).__name__}>"
        return data

    def replace(self, **changes: Any) -> TrainConfig:
        """A copy with ``changes`` applied (and validated)."""
        return dataclasses.replace(self, **changes)


def load_config(
    path: str | Path | None = None,
    overrides: Mapping[str, Any] | Sequence[str] | None = None,
) -> TrainConfig:
    """A config from a YAML file and/or overrides (a mapping, or ``"key=value"`` strings
    whose values are read as YAML: ``max_steps=200``, ``speeds=[0.9,1.0,1.1]``)."""
    import yaml

    data: dict[str, Any] = {}
    if path is not None:
        file = Path(path).expanduser()
        if not file.is_file():
            raise ConfigError(f"Config file not found: {file}.")
        try:
            loaded = yaml.safe_load(file.read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            raise ConfigError(f"{file} is not valid YAML: {exc}") from exc
        if loaded is not None and not isinstance(loaded, dict):
            raise ConfigError(f"{file} must hold a mapping of config keys, not {type(loaded)}.")
        data.update(loaded or {})
    if overrides:
        data.update(overrides if isinstance(overrides, Mapping) else parse_overrides(overrides))
    return TrainConfig.from_dict(data)


def parse_overrides(items: Sequence[str]) -> dict[str, Any]:
    """``["key=value", ...]`` to a mapping; values are parsed as YAML scalars/lists."""
    import yaml

    out: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"Override {item!r} is not key=value (e.g. max_steps=200).")
        try:
            out[key.strip()] = yaml.safe_load(value) if value.strip() else None
        except yaml.YAMLError as exc:
            raise ConfigError(f"Override {item!r}: the value is not valid YAML: {exc}") from exc
    return out


def _choose(name: str, value: Any, choices: tuple[str, ...]) -> None:
    if value not in choices:
        close = difflib.get_close_matches(str(value), choices, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise ConfigError(f"Unknown {name} {value!r}; choose one of {', '.join(choices)}.{hint}")


def _listed(value: Any) -> list[Any]:
    if isinstance(value, str) or not isinstance(value, Sequence):
        return [value]
    return list(value)


def _coerce(name: str, value: Any) -> Any:
    """Numbers given as strings (YAML reads ``1e-4`` as a string) become numbers."""
    if value is None:
        return None
    try:
        if name in _BOOLS:
            if isinstance(value, bool):
                return value
            if str(value).lower() in ("true", "yes", "1", "false", "no", "0"):
                return str(value).lower() in ("true", "yes", "1")
            raise ValueError(value)
        if name in _INTS:
            if isinstance(value, bool) or float(value) != int(float(value)):
                raise ValueError(value)
            return int(float(value))
        if isinstance(value, bool):
            raise ValueError(value)
        return float(value)
    except (TypeError, ValueError):
        kind = "true/false" if name in _BOOLS else "a whole number" if name in _INTS else "a number"
        raise ConfigError(f"{name} must be {kind}, got {value!r}.") from None
