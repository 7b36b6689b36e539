"""Write the processor files of a wav2vec2 CTC checkpoint (vocab, tokenizer, feature extractor)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

__all__ = ["SPECIAL_TOKENS", "write_ctc_processor", "write_feature_extractor"]

#: Wav2Vec2CTCTokenizer's specials; ``<pad>`` (id 0) is the CTC blank, ``|`` the word delimiter.
SPECIAL_TOKENS = ("<pad>", "<s>", "</s>", "<unk>", "|")


def write_ctc_processor(
    folder: Path, characters: Sequence[str], *, normalize: bool = True, sample_rate: int = 16_000
) -> list[str]:
    """Write ``vocab.json``, ``tokenizer_config.json`` and ``preprocessor_config.json``.

    The vocabulary is ``SPECIAL_TOKENS`` followed by ``characters`` (duplicates dropped), in
    the layout ``Wav2Vec2CTCTokenizer`` and ``Wav2Vec2Processor`` read. Returns the labels.
    """
    labels = list(SPECIAL_TOKENS) + [
        c for c in dict.fromkeys(characters) if c not in SPECIAL_TOKENS
    ]
    folder.mkdir(parents=True, exist_ok=True)
    vocab = {label: i for i, label in enumerate(labels)}
    (folder / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False), encoding="utf-8")
    tokenizer = {
        "pad_token": "<pad>",
        "unk_token": "<unk>",
        "bos_token": "<s>",
        "eos_token": "</s>",
        "word_delimiter_token": "|",
        "tokenizer_class": "Wav2Vec2CTCTokenizer",
    }
    (folder / "tokenizer_config.json").write_text(json.dumps(tokenizer, indent=2))
    write_feature_extractor(folder, normalize=normalize, sample_rate=sample_rate)
    return labels


def write_feature_extractor(
    folder: Path, *, normalize: bool = True, sample_rate: int = 16_000
) -> None:
    """Write the ``preprocessor_config.json`` of a ``Wav2Vec2FeatureExtractor``."""
    features = {
        "feature_extractor_type": "Wav2Vec2FeatureExtractor",
        "sampling_rate": sample_rate,
        "do_normalize": normalize,
        "return_attention_mask": True,
        "feature_size": 1,
        "padding_value": 0.0,
    }
    (folder / "preprocessor_config.json").write_text(json.dumps(features, indent=2))
