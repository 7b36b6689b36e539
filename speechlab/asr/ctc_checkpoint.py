"""A CTC checkpoint folder checked before anything opens it: ``config.json`` present and
readable, no custom code, whole weights, and a ``*ForCTC`` architecture. Shared by the
recognizer (:mod:`speechlab.asr.wav2vec2`) and the ONNX export (:mod:`.onnx_export`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from speechlab.errors import ModelNotFoundError
from speechlab.store.model_folders import check_model_folder, read_json

__all__ = ["ctc_config"]


def ctc_config(model_dir: Path) -> Any:
    """The transformers config of the CTC checkpoint in ``model_dir``; a
    :class:`ModelNotFoundError` naming what to use instead for anything else."""
    from transformers import AutoConfig

    config_path = model_dir / "config.json"
    if not config_path.is_file():
        raise ModelNotFoundError(
            f"{model_dir} has no config.json: it is not a transformers checkpoint. "
            "A CTC model directory holds config.json, model weights, vocab.json and "
            "preprocessor_config.json."
        )
    read_json(config_path)  # damage named here, not inside transformers
    check_model_folder(model_dir)  # custom code refused, weights whole
    try:
        config = AutoConfig.from_pretrained(model_dir, trust_remote_code=False)
    except (ValueError, KeyError, OSError) as exc:
        raise ModelNotFoundError(
            f"{config_path} does not describe a transformers model: {exc}"
        ) from exc
    architectures = config.architectures or []
    if not any(a.endswith("ForCTC") for a in architectures) and architectures:
        raise ModelNotFoundError(
            f"{model_dir} holds a {', '.join(architectures)} ({config.model_type}), "
            "not a CTC speech recognizer. Use a *ForCTC checkpoint such as "
            "jonatasgrosman/wav2vec2-large-xlsr-53-polish"
            + (
                ", or load_asr(..., backend='whisper') for Whisper."
                if "whisper" in config.model_type
                else "."
            )
        )
    return config
