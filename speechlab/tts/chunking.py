"""Split text of any length into chunks whose phonemes fit Kokoro's context; drop nothing.

Text is cut at sentence ends, then (for a sentence whose phonemes are still too long) at
clause punctuation, then between words, halving until every piece fits. Each chunk keeps
its graphemes and its phonemes, so what reached the model can always be checked.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass

__all__ = ["MAX_TOKENS", "TextChunk", "clean_text", "split_first", "split_text"]

log = logging.getLogger(__name__)

#: Kokoro's context is 512 positions: 510 phonemes plus the BOS/EOS pads.
MAX_TOKENS = 510
_SENTENCE = re.compile(r"(?<=[.!?…;])\s+|\n+")
_CLAUSE = re.compile(r"(?<=[,:;—–])\s+")


@dataclass(frozen=True)
class TextChunk:
    """A piece of the input text and its vocabulary-mapped phonemes."""

    graphemes: str
    phonemes: str


def clean_text(text: str) -> str:
    """NFC, no control characters (newlines become sentence breaks), single spaces."""
    text = unicodedata.normalize("NFC", text)
    text = "".join(
        "\n" if ch in "\n\r\u2028\u2029" else (" " if unicodedata.category(ch)[0] == "C" else ch)
        for ch in text
    )
    lines = (" ".join(line.split()) for line in text.split("\n"))
    return "\n".join(line for line in lines if line)


def split_text(
    text: str, phonemize: Callable[[str], str], max_tokens: int = MAX_TOKENS
) -> Iterator[TextChunk]:
    """Yield chunks in order; ``phonemize`` maps graphemes to vocabulary phonemes."""
    for sentence in _SENTENCE.split(clean_text(text)):
        if sentence.strip():
            yield from _fit(sentence.strip(), phonemize, max_tokens, level=0)


def split_first(
    chunks: Iterator[TextChunk], phonemize: Callable[[str], str], words: int
) -> Iterator[TextChunk]:
    """Cut the first chunk after ``words`` words (when it has more); the rest pass unchanged."""
    first = next(chunks, None)
    if first is None:
        return
    parts = first.graphemes.split()
    if len(parts) <= words:
        yield first
    else:
        for piece in (" ".join(parts[:words]), " ".join(parts[words:])):
            phonemes = phonemize(piece)
            if phonemes.strip():
                yield TextChunk(piece, phonemes)
    yield from chunks


def _fit(
    text: str, phonemize: Callable[[str], str], max_tokens: int, level: int
) -> Iterator[TextChunk]:
    phonemes = phonemize(text)
    if len(phonemes) <= max_tokens:
        if phonemes.strip():
            yield TextChunk(text, phonemes)
        return
    if level == 0:
        parts = [p for p in _CLAUSE.split(text) if p.strip()]
        if len(parts) > 1:
            for part in _group(parts, phonemize, max_tokens):
                yield from _fit(part, phonemize, max_tokens, level=1)
            return
    words = text.split()
    if len(text) < 2:  # one character whose phonemes alone overflow: keep what fits
        log.warning("%r gives %d phonemes; the first %d are kept", text, len(phonemes), max_tokens)
        yield TextChunk(text, phonemes[:max_tokens])
        return
    if len(words) == 1:  # one enormous "word": cut it by characters
        half = len(text) // 2
        yield from _fit(text[:half], phonemize, max_tokens, level=2)
        yield from _fit(text[half:], phonemize, max_tokens, level=2)
        return
    half = len(words) // 2
    yield from _fit(" ".join(words[:half]), phonemize, max_tokens, level=2)
    yield from _fit(" ".join(words[half:]), phonemize, max_tokens, level=2)


def _group(parts: list[str], phonemize: Callable[[str], str], max_tokens: int) -> list[str]:
    """Join neighbouring clauses while their phonemes still fit (fewer, more natural chunks)."""
    groups: list[str] = []
    for part in parts:
        if groups and len(phonemize(groups[-1] + " " + part)) <= max_tokens:
            groups[-1] = groups[-1] + " " + part
        else:
            groups.append(part)
    return groups
