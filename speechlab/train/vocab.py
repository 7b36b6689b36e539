"""Character vocabularies for CTC fine-tuning, in the ``Wav2Vec2CTCTokenizer`` layout.

A new vocabulary is ``<pad> <s> </s> <unk> |`` (ids 0-4; ``<pad>`` is the CTC blank, ``|``
the word delimiter) followed by the transcripts' characters in code-point order, exactly
what :func:`speechlab.asr.ctc_files.write_ctc_processor` writes, so ``load_asr`` opens the
trained folder. A model's own vocabulary (any layout) is read with its tokenizer and saved
by copying its tokenizer files.
"""

from __future__ import annotations

import functools
import shutil
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from speechlab.asr.ctc_decode import CTCVocab
from speechlab.asr.ctc_files import SPECIAL_TOKENS, write_ctc_processor, write_feature_extractor
from speechlab.store.model_folders import refuse_custom_code
from speechlab.train.errors import VocabError

__all__ = ["Vocab", "build_vocab"]

_TOKENIZER_FILES = (
    "vocab.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "added_tokens.json",
)
_SHOWN = 20


@dataclass(frozen=True)
class Vocab:
    """The label of every output id, the blank (pad) and unknown ids, the word delimiter.

    ``source`` is the folder a model's own vocabulary was read from (its tokenizer files are
    copied on save); ``None`` for a vocabulary built here.
    """

    labels: tuple[str, ...]
    pad_id: int = 0
    unk_id: int | None = 3
    delimiter: str = "|"
    skip_ids: frozenset[int] = frozenset()
    source: Path | None = None

    def __post_init__(self) -> None:
        if len(set(self.labels)) != len(self.labels):
            raise VocabError(f"The vocabulary repeats labels: {_repeats(self.labels)}.")
        if self.delimiter not in self.labels:
            raise VocabError(f"The vocabulary has no word delimiter {self.delimiter!r}.")

    @property
    def size(self) -> int:
        return len(self.labels)

    @functools.cached_property
    def ids(self) -> dict[str, int]:
        return {label: i for i, label in enumerate(self.labels)}

    @functools.cached_property
    def upper_case(self) -> bool:
        """True when every letter label is a capital (the XLSR-53 model cards' vocabularies):
        transcripts, lower-cased by the normaliser, are then upper-cased to match."""
        cased = [c for c in self.labels if len(c) == 1 and c.lower() != c.upper()]
        return bool(cased) and all(c.isupper() for c in cased)

    def missing(self, texts: Iterable[str]) -> Counter[str]:
        """Characters of ``texts`` (spaces aside) that have no label, with their counts."""
        ids = self.ids
        return Counter(
            c for text in texts for c in self._cased(text) if not c.isspace() and c not in ids
        )

    def encode(self, text: str) -> list[int]:
        """Label ids of a normalised text: a space (or ``|``) is the delimiter, unknown
        characters become ``<unk>``; leading, trailing and repeated spaces are dropped."""
        ids = self.ids
        out: list[int] = []
        delimiter = ids[self.delimiter]
        for word in self._cased(text).replace(self.delimiter, " ").split():
            if out:
                out.append(delimiter)
            for c in word:
                label = ids.get(c, self.unk_id)
                if label is None:
                    raise VocabError(
                        f"{c!r} is not in the vocabulary and it has no <unk>; build a new "
                        "vocabulary from the transcripts (vocab: new)."
                    )
                out.append(label)
        return out

    def _cased(self, text: str) -> str:
        return text.upper() if self.upper_case else text

    def ctc(self) -> CTCVocab:
        """The decoder's view of this vocabulary (greedy decoding during evaluation)."""
        return CTCVocab(self.labels, self.pad_id, self.delimiter, self.skip_ids - {self.pad_id})

    def save(self, folder: Path, *, normalize: bool = True, sample_rate: int = 16_000) -> None:
        """Write the tokenizer and feature-extractor files ``load_asr`` reads."""
        folder.mkdir(parents=True, exist_ok=True)
        if self.source is None:
            characters = self.labels[len(SPECIAL_TOKENS) :]
            labels = write_ctc_processor(
                folder, characters, normalize=normalize, sample_rate=sample_rate
            )
            if tuple(labels) != self.labels:
                raise VocabError("The built vocabulary does not have the standard layout.")
            return
        for name in _TOKENIZER_FILES:
            if (self.source / name).is_file() and self.source.resolve() != folder.resolve():
                shutil.copyfile(self.source / name, folder / name)
        write_feature_extractor(folder, normalize=normalize, sample_rate=sample_rate)

    @classmethod
    def from_folder(cls, folder: Path) -> Vocab | None:
        """A model's own vocabulary (``vocab.json`` + tokenizer config), or None without one."""
        if not (folder / "vocab.json").is_file():
            return None
        from transformers import Wav2Vec2CTCTokenizer

        refuse_custom_code(folder)
        try:
            tokenizer = Wav2Vec2CTCTokenizer.from_pretrained(folder, trust_remote_code=False)
        except (OSError, TypeError, ValueError) as exc:
            raise VocabError(
                f"{folder}/vocab.json cannot be read as a CTC vocabulary: {exc}"
            ) from exc
        ctc = CTCVocab.from_tokenizer(tokenizer)
        standard = ctc.labels[: len(SPECIAL_TOKENS)] == SPECIAL_TOKENS
        return cls(
            ctc.labels,
            ctc.blank_id,
            tokenizer.unk_token_id,
            ctc.word_delimiter,
            ctc.skip_ids,
            None if standard else folder,
        )


def build_vocab(texts: Iterable[str]) -> Vocab:
    """A new vocabulary from (normalised) transcripts: the specials, then every character
    that occurs, in code-point order. Spaces are word boundaries, not labels."""
    chars = {c for text in texts for c in text if not c.isspace() and c not in SPECIAL_TOKENS}
    if not chars:
        raise VocabError(
            "The transcripts hold no characters to build a vocabulary from; check the text "
            "column (text_column) and that the transcripts are not empty."
        )
    return Vocab(tuple(SPECIAL_TOKENS) + tuple(sorted(chars)), skip_ids=frozenset({1, 2}))


def _repeats(labels: tuple[str, ...]) -> list[str]:
    return [label for label, n in Counter(labels).items() if n > 1][:_SHOWN]
