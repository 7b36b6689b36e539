"""Time-aligned text: ``Segment`` and ``Transcript``, with JSON, SRT and WebVTT output."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

from speechlab.audio import Seconds

__all__ = ["Segment", "Transcript"]

# Subtitle cues: at most this long, this many characters, and split at pauses this long.
_CUE_MAX_SECONDS = 6.0
_CUE_MAX_CHARS = 84
_CUE_SPLIT_PAUSE = 0.8


@dataclass(frozen=True)
class Segment:
    """A span of text (a word, character or phoneme) with times in seconds.

    ``confidence`` is in [0, 1]; how it is computed depends on the backend (see
    the recognizer's docs). ``None`` means the backend gives none.
    """

    text: str
    start: Seconds
    end: Seconds
    confidence: float | None = None

    @property
    def duration(self) -> Seconds:
        return self.end - self.start


@dataclass
class Transcript:
    """What a recognizer heard in one input."""

    text: str
    words: list[Segment] = field(default_factory=list)
    chars: list[Segment] = field(default_factory=list)
    language: str | None = None
    duration: Seconds = 0.0
    source: str | None = None
    reference: str | None = None  # the expected text, when the input came with one

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_json(self, **kwargs: Any) -> str:
        """JSON with every field (``ensure_ascii=False`` keeps Polish letters readable)."""
        kwargs.setdefault("ensure_ascii", False)
        return json.dumps(self.to_dict(), **kwargs)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Transcript:
        fields = dict(data)
        fields["words"] = [Segment(**w) for w in data.get("words", [])]
        fields["chars"] = [Segment(**c) for c in data.get("chars", [])]
        return cls(**fields)

    @classmethod
    def from_json(cls, text: str) -> Transcript:
        return cls.from_dict(json.loads(text))

    def cues(self) -> list[Segment]:
        """Subtitle cues built from the words (≤ 6 s, ≤ 84 characters, split at pauses)."""
        if not self.words:
            text = self.text.strip()
            return [Segment(text, 0.0, self.duration)] if text else []
        cues: list[Segment] = []
        group: list[Segment] = []
        for word in self.words:
            if group:
                joined = len(" ".join(w.text for w in group)) + 1 + len(word.text)
                if (
                    word.end - group[0].start > _CUE_MAX_SECONDS
                    or joined > _CUE_MAX_CHARS
                    or word.start - group[-1].end > _CUE_SPLIT_PAUSE
                ):
                    cues.append(_join(group))
                    group = []
            group.append(word)
        if group:
            cues.append(_join(group))
        return cues

    def to_srt(self) -> str:
        """SubRip subtitles."""
        blocks = [
            f"{i}\n{_stamp(c.start, ',')} --> {_stamp(c.end, ',')}\n{c.text}\n"
            for i, c in enumerate(self.cues(), start=1)
        ]
        return "\n".join(blocks)

    def to_vtt(self) -> str:
        """WebVTT subtitles."""
        blocks = [
            f"{_stamp(c.start, '.')} --> {_stamp(c.end, '.')}\n{c.text}\n" for c in self.cues()
        ]
        return "WEBVTT\n\n" + "\n".join(blocks)


def _join(words: list[Segment]) -> Segment:
    return Segment(" ".join(w.text for w in words), words[0].start, words[-1].end)


def _stamp(seconds: Seconds, sep: str) -> str:
    ms = max(0, round(seconds * 1000))
    h, rest = divmod(ms, 3_600_000)
    m, rest = divmod(rest, 60_000)
    s, ms = divmod(rest, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}{sep}{ms:03d}"
