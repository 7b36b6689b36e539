"""Rows of labelled time spans drawn under the spectrogram, from a Transcript or a Speech."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from speechlab.transcript import Segment, Transcript
from speechlab.tts import Speech
from speechlab.widgets.errors import WidgetError

__all__ = ["Tier", "speech_tiers", "transcript_tiers"]


@dataclass(frozen=True)
class Tier:
    """A named row of segments (times in seconds)."""

    name: str
    segments: tuple[Segment, ...]

    def __post_init__(self) -> None:
        for seg in self.segments:
            if not isinstance(seg, Segment):
                raise WidgetError(
                    f"Tier {self.name!r} holds a {type(seg).__name__}; tiers hold "
                    "speechlab.Segment(text, start, end)."
                )
            if not seg.start <= seg.end:
                raise WidgetError(
                    f"Segment {seg.text!r} in tier {self.name!r} ends ({seg.end}) before it "
                    f"starts ({seg.start})."
                )

    @classmethod
    def of(cls, name: str, segments: Iterable[Segment]) -> Tier:
        return cls(name, tuple(segments))

    def to_json(self) -> dict[str, Any]:
        """What the front end gets: ``{"name", "segments": [{"text", "start", "end"}]}``."""
        return {
            "name": self.name,
            "segments": [
                {"text": s.text, "start": float(s.start), "end": float(s.end)}
                for s in self.segments
            ],
        }


def transcript_tiers(transcript: Transcript) -> list[Tier]:
    """``words`` and ``chars`` when the recognizer gave them, else the whole ``text``."""
    tiers = [
        Tier.of(name, segments)
        for name, segments in (("words", transcript.words), ("chars", transcript.chars))
        if segments
    ]
    if not tiers and transcript.text.strip():
        tiers.append(Tier.of("text", [Segment(transcript.text.strip(), 0.0, transcript.duration)]))
    return tiers


def speech_tiers(speech: Speech) -> list[Tier]:
    """The synthesiser's word times (when the model gives durations), chunk texts and phonemes."""
    tiers = []
    if speech.words is not None:
        tiers.append(Tier.of("tts words", speech.words))
    spans = [(c, c.start, c.start + c.duration) for c in speech.chunks]
    if any(c.graphemes for c, _, _ in spans):
        tiers.append(Tier.of("tts text", [Segment(c.graphemes, a, b) for c, a, b in spans]))
    tiers.append(Tier.of("phonemes", [Segment(c.phonemes, a, b) for c, a, b in spans]))
    return tiers
