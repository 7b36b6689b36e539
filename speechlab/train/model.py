"""The model side of fine-tuning: which vocabulary, which starting weights, what is trained,
and the exported folder ``load_asr`` opens.

* Vocabulary: the model's own when it covers the transcripts (``vocab: auto``/``model``),
  else one built from them; a vocabulary other than the model's gets a *new* CTC head
  (``lm_head`` sized to it, freshly initialised; ``config.vocab_size`` and
  ``config.pad_token_id`` = the blank), whatever the old head's size was.
* Start: a folder, a store name or a Hub id (``speechlab.store.resolve``), any
  ``*ForCTC`` or base checkpoint (a base model gets its head here), or a config alone
  (``model_config``: from scratch).
* Strategies: ``head`` (``lm_head`` only), ``adapter`` (LoRA from peft on the encoder's
  attention and feed-forward linears, plus the head; the rest frozen), ``encoder`` (all but
  the convolutional feature encoder), ``full``.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from speechlab.store.model_folders import check_model_folder, pickled_code_refused, read_json
from speechlab.train.config import TrainConfig
from speechlab.train.errors import ConfigError, VocabError
from speechlab.train.vocab import Vocab, build_vocab

__all__ = [
    "apply_strategy",
    "base_model",
    "build_model",
    "choose_vocab",
    "export_model",
    "frames_function",
    "trainable_names",
]

_SHOWN = 20


def choose_vocab(
    config: TrainConfig, model_dir: Path | None, texts: Callable[[], Sequence[str]]
) -> tuple[Vocab, str]:
    """The vocabulary to train with and why (``"model"``, ``"new"`` or ``"folder"``).

    ``texts()`` gives the normalised training transcripts (read only when needed).
    """
    if config.vocab not in ("auto", "model", "new"):
        vocab = Vocab.from_folder(Path(config.vocab))
        assert vocab is not None  # validated: the folder has a vocab.json
        _check_covers(vocab, texts(), f"the vocabulary in {config.vocab}")
        return vocab, "folder"
    if config.vocab == "new" or model_dir is None:
        return build_vocab(texts()), "new"
    own = Vocab.from_folder(model_dir)
    if own is None:
        if config.vocab == "model":
            raise VocabError(
                f"{model_dir} has no vocab.json (a pretrained-only checkpoint?); use vocab: new "
                "(or auto) to build one from the transcripts."
            )
        return build_vocab(texts()), "new"
    transcripts = texts()
    if config.vocab == "model":
        _check_covers(own, transcripts, f"the vocabulary of {model_dir}")
        return own, "model"
    if own.missing(transcripts):
        return build_vocab(transcripts), "new"
    return own, "model"


def _check_covers(vocab: Vocab, texts: Sequence[str], what: str) -> None:
    missing = vocab.missing(texts)
    if missing:
        shown = ", ".join(f"{c!r} ({n}x)" for c, n in missing.most_common(_SHOWN))
        raise VocabError(
            f"The transcripts use {len(missing)} character(s) missing from {what}: {shown}. "
            "Use vocab: new (a new vocabulary and CTC head) or vocab: auto, or clean the "
            "transcripts."
        )


def build_model(config: TrainConfig, model_dir: Path | None, vocab: Vocab, new_head: bool) -> Any:
    """The ``*ForCTC`` model in float32, with the training options of ``config`` set."""
    import torch
    from transformers import AutoConfig, AutoModelForCTC

    options: dict[str, Any] = {
        "mask_time_prob": config.mask_time_prob,
        "mask_time_length": config.mask_time_length,
        "mask_feature_prob": config.mask_feature_prob,
        "layerdrop": config.layerdrop,
        "ctc_loss_reduction": "mean",
        "ctc_zero_infinity": True,
        "vocab_size": vocab.size,
        "pad_token_id": vocab.pad_id,
    }
    torch.manual_seed(config.seed)
    if model_dir is None:
        kwargs = dict(config.model_config or {})
        model_type = kwargs.pop("model_type", "wav2vec2")
        try:
            model_config = AutoConfig.for_model(model_type, **{**kwargs, **options})
            model = AutoModelForCTC.from_config(model_config, trust_remote_code=False)
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"model_config cannot build a CTC model: {exc}") from exc
        return model.float()
    if not (model_dir / "config.json").is_file():
        raise ConfigError(f"{model_dir} has no config.json: it is not a transformers checkpoint.")
    read_json(model_dir / "config.json")  # damage named here, not inside transformers
    check_model_folder(model_dir)  # custom code refused, weights whole
    try:
        with pickled_code_refused(model_dir):
            model = AutoModelForCTC.from_pretrained(
                model_dir,
                dtype=torch.float32,
                ignore_mismatched_sizes=new_head,
                trust_remote_code=False,
                **options,
            )
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{model_dir} cannot be loaded as a CTC model: {exc}") from exc
    head = model.lm_head
    if not new_head and head.out_features != vocab.size:
        raise VocabError(
            f"{model_dir} outputs {head.out_features} labels but its vocab.json has "
            f"{vocab.size}: they do not belong together. Use vocab: new for a new head."
        )
    if new_head:
        init_head(model)
    return model


def init_head(model: Any) -> None:
    """A fresh ``lm_head`` sized to ``config.vocab_size`` (normal weights, zero bias)."""
    import torch

    config = model.config
    inputs = model.lm_head.in_features
    head = torch.nn.Linear(inputs, config.vocab_size)
    torch.nn.init.normal_(head.weight, mean=0.0, std=getattr(config, "initializer_range", 0.02))
    torch.nn.init.zeros_(head.bias)
    model.lm_head = head


def apply_strategy(model: Any, config: TrainConfig) -> Any:
    """Freeze what ``config.strategy`` does not train; LoRA wraps the model (peft)."""
    strategy = config.strategy
    model.requires_grad_(strategy in ("encoder", "full"))
    if strategy != "full":
        # also stops the encoder marking its input as needing a gradient, which would make
        # autograd run the backward pass through the whole frozen network for nothing
        model.freeze_feature_encoder()
    if strategy == "head":
        model.lm_head.requires_grad_(True)
    if strategy != "adapter":
        return model
    from peft import LoraConfig, get_peft_model

    names = [name for name, _ in model.named_modules()]
    if not any(name.rsplit(".", 1)[-1] in config.lora_targets for name in names):
        linears = sorted(
            {n.rsplit(".", 1)[-1] for n, m in model.named_modules() if type(m).__name__ == "Linear"}
        )
        raise ConfigError(
            f"No module of this model is named like lora_targets {config.lora_targets}; its "
            f"linear layers are named {linears}."
        )
    lora = LoraConfig(
        r=config.lora_r,
        lora_alpha=config.lora_alpha,
        lora_dropout=config.lora_dropout,
        target_modules=list(config.lora_targets),
        bias="none",
        modules_to_save=["lm_head"],  # trained whole, and saved in the adapter
    )
    return get_peft_model(model, lora)


def base_model(model: Any) -> Any:
    """The ``*ForCTC`` model inside DDP and peft wrappers."""
    if hasattr(model, "module") and type(model).__name__ == "DistributedDataParallel":
        model = model.module
    if hasattr(model, "get_base_model"):
        model = model.get_base_model()
    return model


def trainable_names(model: Any) -> list[str]:
    return [name for name, p in model.named_parameters() if p.requires_grad]


def frames_function(model: Any) -> Callable[[int], int]:
    """Samples → output frames of the model (its feature encoder's arithmetic)."""
    import torch

    core = base_model(model)

    def frames(samples: int) -> int:
        return int(core._get_feat_extract_output_lengths(torch.tensor(samples)))

    return frames


#: where an adapter run's export keeps its LoRA adapter on its own (peft format)
ADAPTER_FOLDER = "adapter"


def save_adapter(
    model: Any, folder: Path, vocab: Vocab, normalize: bool = True, sample_rate: int = 16_000
) -> Path:
    """The peft model's LoRA adapter (and its CTC head) on its own, in peft's format, with
    the tokenizer files: ``load_asr(base, adapter=folder)`` applies it to the base model."""
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(folder, safe_serialization=True)
    vocab.save(folder, normalize=normalize, sample_rate=sample_rate)
    return folder


def export_model(
    model: Any, folder: Path, vocab: Vocab, *, normalize: bool = True, sample_rate: int = 16_000
) -> Path:
    """A standard transformers folder (safetensors, config, tokenizer and feature-extractor
    files) that ``speechlab.load_asr`` and ``AutoModelForCTC`` open; LoRA is merged in (and
    the adapter also saved on its own in ``folder/adapter``), and
    a quantization-aware model is written without its fake-quantizers (float weights)."""
    if hasattr(model, "module") and type(model).__name__ == "DistributedDataParallel":
        model = model.module
    if hasattr(model, "merge_and_unload"):
        save_adapter(model, folder / ADAPTER_FOLDER, vocab, normalize, sample_rate)
        model = copy.deepcopy(model).merge_and_unload()
    from speechlab.train.qat import is_qat, strip_qat

    if is_qat(model):  # the float weights; the post-training method rounds them as training did
        model = strip_qat(copy.deepcopy(model))
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(folder)
    vocab.save(folder, normalize=normalize, sample_rate=sample_rate)
    return folder
