"""Helpers for the speechlab.eval tests: fake recognizers/synthesizers and tiny corpora."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf

from speechlab.asr.base import Recognizer, TranscribeOptions
from speechlab.asr.inputs import AudioItem
from speechlab.transcript import Transcript

RATE = 16_000

#: (stem, reference, what the fake recognizer "hears") for a small Polish corpus.
CORPUS = [
    ("a01", "Zażółć gęślą jaźń.", "zażółć gęślą jaźń"),
    ("a02", "Idę do sklepu po chleb.", "idę do sklepu po chleb"),
    ("a03", "Żółta łódź płynie.", "zółta łódź płynie"),
    ("a04", "Mój brat mieszka w Łodzi.", "mój brat mieszka w lodzi"),
    ("a05", "Dzień dobry, jak się masz?", "dzień dobry jak się masz"),
    ("a06", "Gęś i kaczka.", "gęś kaczka"),
    ("a07", "Proszę o rachunek.", "proszę o rachunek"),
    ("a08", "Źródło jest pewne.", "źródło jest bardzo pewne"),
    ("a09", "Pociąg przyjedzie.", "pociąg przyjdzie"),
    ("a10", "Ćwiczę grę.", "ćwiczę grę"),
]


def tone(seconds: float, freq: float = 220.0, rate: int = RATE) -> np.ndarray:
    t = np.arange(round(rate * seconds)) / rate
    return (0.3 * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def write_wav(path: Path, seconds: float, freq: float = 220.0) -> Path:
    sf.write(path, tone(seconds, freq), RATE)
    return path


def duration_of(stem: str) -> float:
    """Each corpus clip has its own length (0.5, 0.6, ... s), so audio alone identifies it."""
    return round(0.4 + 0.1 * int(stem[1:]), 3)


def make_folder(root: Path, rows: list[tuple[str, str, str]] = CORPUS) -> Path:
    """audio + same-stem .txt for every row."""
    root.mkdir(parents=True, exist_ok=True)
    for stem, reference, _ in rows:
        write_wav(root / f"{stem}.wav", duration_of(stem))
        (root / f"{stem}.txt").write_text(reference + "\n", encoding="utf-8")
    return root


def heard_by_duration(rows: list[tuple[str, str, str]] = CORPUS) -> Callable[[AudioItem], str]:
    table = {duration_of(stem): heard for stem, _, heard in rows}
    return lambda item: table[round(item.duration, 3)]


class FakeRecognizer(Recognizer):
    """Returns ``hear(item)``; records the durations it was asked to transcribe."""

    name = "fake"

    def __init__(self, hear: Callable[[AudioItem], str], fail_after: int | None = None) -> None:
        self.hear = hear
        self.fail_after = fail_after
        self.seen: list[float] = []
        self.options: list[TranscribeOptions] = []

    def _transcribe_items(
        self, items: Iterator[AudioItem], options: TranscribeOptions
    ) -> Iterator[Transcript]:
        self.options.append(options)
        for item in items:
            if self.fail_after is not None and len(self.seen) >= self.fail_after:
                raise RuntimeError("simulated crash")
            self.seen.append(round(item.duration, 3))
            yield Transcript(self.hear(item), duration=item.duration, source=item.source)


class FakeSpeech:
    def __init__(self, samples: np.ndarray) -> None:
        self.audio = samples
        self.sample_rate = RATE

    def to_audio(self) -> Any:
        from speechlab.audio import Audio

        return Audio(self.audio, RATE, source="fake-tts")

    def save(self, path: Path) -> Path:
        return self.to_audio().save(path)


class FakeSynthesizer:
    """Speaks text i of ``texts`` as a tone of length 0.5 + 0.1 i s (+0.05 s per voice)."""

    def __init__(self, texts: list[str], voices: tuple[str, ...] = ("v1", "v2")) -> None:
        self.texts = texts
        self.voices = list(voices)
        self.calls: list[tuple[str, str, str, float]] = []

    def synthesize(self, text: str, *, voice: str, speed: float = 1.0, lang: str = "pl") -> Any:
        self.calls.append((text, voice, lang, speed))
        seconds = 0.5 + 0.1 * self.texts.index(text) + 0.05 * self.voices.index(voice)
        return FakeSpeech(tone(seconds))
