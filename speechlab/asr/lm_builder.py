"""Build a word n-gram language model folder for CTC beam search from text.

``build_lm(texts, "lm/")`` normalises each line the way CTC transcripts are scored (the
model card's normaliser: lower case, no punctuation), estimates an interpolated modified
Kneser-Ney model (:mod:`speechlab.asr.kneser_ney`) and writes the ``language_model/``
layout that ``load_asr(model, lm="lm/")`` and transformers' ``Wav2Vec2ProcessorWithLM``
read: ``lm.arpa``, ``unigrams.txt`` and ``attrs.json`` (alpha, beta, unk_score_offset).
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from speechlab.asr.kneser_ney import BOS, EOS, UNK, KneserNey, LanguageModelError
from speechlab.files import read_text, replace_folder, writable_folder
from speechlab.textnorm import Normalizer, get_normalizer

__all__ = ["BuiltLM", "build_lm", "read_text_lines"]

ARPA_NAME = "lm.arpa"
#: text lines longer than this are refused (a file that is not line-separated text)
MAX_LINE_CHARS = 100_000


@dataclass(frozen=True)
class BuiltLM:
    """What :func:`build_lm` wrote and measured."""

    folder: Path
    order: int
    sentences: int
    tokens: int
    vocabulary: int
    ngrams: list[int]
    fallback_orders: list[int]
    seconds: float

    def describe(self) -> str:
        """The folder and :meth:`summary`."""
        return f"{self.folder}: {self.summary()}"

    def summary(self) -> str:
        """Order, text, n-grams, and how long the build took."""
        grams = ", ".join(f"{n:,} {k}-grams" for k, n in enumerate(self.ngrams, start=1))
        note = ""
        if self.fallback_orders:
            note = f"; fixed discounts for orders {self.fallback_orders} (too little text)"
        return (
            f"order {self.order} from {self.sentences:,} sentences "
            f"({self.tokens:,} words, {self.vocabulary:,} distinct): {grams}{note}; "
            f"{self.seconds:.1f} s"
        )


def build_lm(
    texts: Iterable[str],
    out: str | os.PathLike[str],
    *,
    order: int = 3,
    normalizer: str | Normalizer = "model-card",
    alpha: float = 0.5,
    beta: float = 1.0,
    unk_score_offset: float = -10.0,
) -> BuiltLM:
    """Estimate an ``order``-gram Kneser-Ney model from ``texts`` (one sentence each) and
    write it as a language-model folder at ``out`` (replaced whole if it exists)."""
    began = time.perf_counter()
    normalize = get_normalizer(normalizer)
    sentences = []
    for text in texts:
        if not isinstance(text, str):
            raise LanguageModelError(f"texts must be strings, got {type(text).__name__}.")
        if len(text) > MAX_LINE_CHARS:
            raise LanguageModelError(
                f"A text line of {len(text):,} characters: give one sentence per line "
                f"(at most {MAX_LINE_CHARS:,} characters)."
            )
        words = [w for w in normalize(text).split() if w not in (BOS, EOS, UNK)]
        if words:
            sentences.append(words)
    model = KneserNey(sentences, order)
    vocabulary = sorted(w for w in model.words if w not in (BOS, EOS, UNK))
    target = Path(out).expanduser()
    writable_folder(target.parent, what="language-model folder's parent")
    folder = target.with_name(target.name + ".partial")
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir()
    with open(folder / ARPA_NAME, "w", encoding="utf-8") as arpa:
        model.write_arpa(arpa)
    (folder / "unigrams.txt").write_text("\n".join(vocabulary) + "\n", encoding="utf-8")
    attrs = {"alpha": alpha, "beta": beta, "unk_score_offset": unk_score_offset}
    attrs["score_boundary"] = True
    (folder / "attrs.json").write_text(json.dumps(attrs, indent=2) + "\n", encoding="utf-8")
    replace_folder(folder, target)  # a crash at any moment leaves a whole folder
    return BuiltLM(
        folder=target,
        order=order,
        sentences=len(sentences),
        tokens=sum(len(s) for s in sentences),
        vocabulary=len(vocabulary),
        ngrams=model.ngram_counts(),
        fallback_orders=model.fallback_orders,
        seconds=time.perf_counter() - began,
    )


def read_text_lines(path: str | os.PathLike[str], encoding: str = "utf-8") -> list[str]:
    """The non-empty lines of a text file (one sentence each)."""
    return [line for line in read_text(Path(path), encoding=encoding).splitlines() if line.strip()]
