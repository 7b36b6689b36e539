"""What synthesis returns: ``Speech`` (the audio) made of ``SpeechChunk``s, with word times."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from speechlab.audio import Audio
from speechlab.transcript import Segment
from speechlab.tts.base import SAMPLE_RATE, SAMPLES_PER_DURATION_FRAME

__all__ = ["Speech", "SpeechChunk", "word_times"]


@dataclass
class SpeechChunk:
    """One synthesised piece: its text, the phonemes the model got, audio and word times."""

    graphemes: str
    phonemes: str
    audio: np.ndarray
    start: float  # seconds from the start of the whole Speech
    words: list[Segment] | None = None  # None when the model gives no durations

    @property
    def duration(self) -> float:
        return len(self.audio) / SAMPLE_RATE

    def shifted(self, offset: float) -> SpeechChunk:
        """The same chunk placed ``offset`` seconds later (start and word times)."""
        words = None
        if self.words is not None:
            words = [
                Segment(w.text, round(w.start + offset, 3), round(w.end + offset, 3), w.confidence)
                for w in self.words
            ]
        return SpeechChunk(self.graphemes, self.phonemes, self.audio, self.start + offset, words)


@dataclass
class Speech:
    """Synthesised audio (float32 mono, 24 kHz) and the chunks it was made of."""

    audio: np.ndarray
    sample_rate: int = SAMPLE_RATE
    chunks: list[SpeechChunk] = field(default_factory=list)

    @property
    def duration(self) -> float:
        return len(self.audio) / self.sample_rate

    @property
    def words(self) -> list[Segment] | None:
        if any(c.words is None for c in self.chunks):
            return None
        return [w for c in self.chunks for w in c.words or []]

    def to_audio(self) -> Audio:
        return Audio(self.audio, self.sample_rate, source="speechlab.tts")

    def save(self, path: str | Path) -> Path:
        return self.to_audio().save(path)


def word_times(
    phonemes: str, graphemes: str, durations: np.ndarray, start: float
) -> list[Segment] | None:
    """Word spans from per-token durations (BOS first); None if words do not line up."""
    frames = np.asarray(durations, dtype=np.float64)[1:-1]
    if len(frames) != len(phonemes):
        return None
    edges = np.concatenate([[0.0], np.cumsum(frames)]) * SAMPLES_PER_DURATION_FRAME / SAMPLE_RATE
    edges += float(durations[0]) * SAMPLES_PER_DURATION_FRAME / SAMPLE_RATE
    words, spans, begin = graphemes.split(), [], None
    for i, symbol in enumerate(phonemes + " "):
        if symbol != " " and begin is None:
            begin = i
        elif symbol == " " and begin is not None:
            spans.append((begin, i))
            begin = None
    if len(spans) != len(words):
        return None
    return [
        Segment(w, round(start + edges[a], 3), round(start + edges[b], 3))
        for w, (a, b) in zip(words, spans, strict=True)
    ]
