"""Text to speech: ``load_tts(spec) -> Synthesizer`` over Kokoro-82M (ONNX Runtime or torch).

```python
tts = speechlab.load_tts()                       # kokoro-82m-int8 from the store, offline
speech = tts.synthesize("Dzień dobry!", voice="jm_kumo", lang="pl", speed=1.1)
for chunk in tts.stream(long_text, lang="pl"):   # chunks as soon as each is ready
    play(chunk.audio)
```
"""

from __future__ import annotations

import json
import math
from collections import deque
from collections.abc import Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from speechlab.audio import Audio
from speechlab.errors import ModelNotFoundError, SpeechlabError
from speechlab.models import resolve
from speechlab.transcript import Segment
from speechlab.tts.chunking import MAX_TOKENS, TextChunk, split_first, split_text
from speechlab.tts.g2p import LANGUAGES, REPLACEMENTS, get_g2p, resolve_language, to_vocab
from speechlab.tts.kokoro_onnx import SAMPLES_PER_DURATION_FRAME, KokoroOnnx
from speechlab.tts.voices import VoiceBank, VoiceError, style_row

__all__ = [
    "BACKENDS",
    "LANGUAGES",
    "Speech",
    "SpeechChunk",
    "Synthesizer",
    "TextError",
    "VoiceError",
    "detect_backend",
    "load_tts",
]

SAMPLE_RATE = 24_000
MIN_SPEED, MAX_SPEED = 0.5, 2.0
#: Refused above this many characters per call (about 30 h of speech); stream in pieces.
MAX_CHARACTERS = 2_000_000
DEFAULT_MODEL = "kokoro-82m-int8"
#: Chunks synthesised in the background while the current one is consumed (see ``stream``).
AHEAD = 1
DEFAULT_VOICE = "jm_kumo"  # most intelligible Polish voice of the pack (benchmarks/results)


class TextError(SpeechlabError, ValueError):
    """Text that cannot be spoken: empty, whitespace only, or absurdly long."""


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


class Synthesizer:
    """Kokoro text-to-speech with speechlab's G2P (Polish included), voices and chunking."""

    def __init__(
        self,
        model: Any,
        vocab: Mapping[str, int],
        voices: VoiceBank,
        *,
        voice: str = DEFAULT_VOICE,
        lang: str = "pl",
        replacements: Mapping[str, str] | None = None,
        stress: bool = True,
    ) -> None:
        self.model = model
        self.replacements = dict(REPLACEMENTS if replacements is None else replacements)
        if not stress:  # drop espeak-ng's stress marks
            self.replacements.update({"ˈ": "", "ˌ": ""})
        self.vocab = dict(vocab)
        self.voice_bank = voices
        self.default_voice = voice if voice in voices else voices.names[0]
        self.default_lang = resolve_language(lang).code

    @property
    def voices(self) -> list[str]:
        return self.voice_bank.names

    def phonemize(self, text: str, lang: str | None = None) -> str:
        """Vocabulary-mapped phonemes for ``text`` (what the model will get)."""
        g2p = get_g2p(lang or self.default_lang)
        return to_vocab(g2p.phonemize(text), self.vocab, self.replacements)[0]

    def stream(
        self,
        text: str,
        *,
        voice: str | Mapping[str, float] | None = None,
        speed: float = 1.0,
        lang: str | None = None,
        first_chunk_words: int | None = None,
        ahead: int = AHEAD,
    ) -> Iterator[SpeechChunk]:
        """Yield chunks (sentence-sized) in order, each as soon as it is synthesised.

        ``first_chunk_words=N`` speaks the first N words on their own first, for a low time
        to first audio (Kokoro's cost is proportional to the audio it makes: about 0.3 s of
        compute per second of speech on 2 cores) at a small cost in prosody there.
        ``ahead=K``: after the first chunk (which runs alone, for the lowest latency), up to K
        further chunks are phonemized and synthesised in background threads while the
        caller consumes the current one; ``ahead=0`` works strictly one chunk at a time.
        """
        if not isinstance(ahead, int) or isinstance(ahead, bool) or ahead < 0:
            raise SpeechlabError(f"ahead must be an integer ≥ 0, got {ahead!r}.")
        text = _check_text(text)
        speed = _check_speed(speed)
        voice = self.default_voice if voice is None else voice
        pack = self.voice_bank.pack(voice)  # once per text; unknown voices fail here
        g2p = get_g2p(lang or self.default_lang)

        def phonemize(piece: str) -> str:
            return to_vocab(g2p.phonemize(piece), self.vocab, self.replacements)[0]

        pieces = split_text(text, phonemize, MAX_TOKENS)
        if first_chunk_words is not None:
            if not isinstance(first_chunk_words, int) or first_chunk_words < 1:
                raise SpeechlabError(f"first_chunk_words must be ≥ 1, got {first_chunk_words!r}.")
            pieces = split_first(pieces, phonemize, first_chunk_words)
        start = 0.0
        for chunk in self._in_order(pieces, pack, speed, ahead):
            chunk = chunk.shifted(start)
            start += chunk.duration
            yield chunk

    def _in_order(
        self, pieces: Iterator[TextChunk], pack: np.ndarray, speed: float, ahead: int
    ) -> Iterator[SpeechChunk]:
        """The pieces' chunks in order, each starting at 0 s; with ``ahead`` > 0 the first
        runs alone and up to ``ahead`` later ones are made in background threads."""
        if ahead == 0:
            for piece in pieces:
                yield self._speak(piece.graphemes, piece.phonemes, pack, speed, 0.0)
            return
        with ThreadPoolExecutor(max_workers=ahead, thread_name_prefix="speechlab-tts") as pool:
            pending: deque[Future[SpeechChunk]] = deque()
            first = True
            try:
                for piece in pieces:
                    pending.append(
                        pool.submit(self._speak, piece.graphemes, piece.phonemes, pack, speed, 0.0)
                    )
                    # the first chunk runs alone; later ones overlap the caller and each other
                    while pending and (first or len(pending) > ahead):
                        first = False
                        yield pending.popleft().result()
                while pending:
                    yield pending.popleft().result()
            finally:  # the caller stopped early, or an error: drop what was not started
                for future in pending:
                    future.cancel()

    def synthesize(
        self,
        text: str,
        *,
        voice: str | Mapping[str, float] | None = None,
        speed: float = 1.0,
        lang: str | None = None,
    ) -> Speech:
        """The whole text as one Speech (chunks concatenated)."""
        chunks = list(self.stream(text, voice=voice, speed=speed, lang=lang))
        audio = np.concatenate([c.audio for c in chunks]) if chunks else np.zeros(0, np.float32)
        return Speech(audio, SAMPLE_RATE, chunks)

    def synthesize_phonemes(
        self, phonemes: str, *, voice: str | Mapping[str, float] | None = None, speed: float = 1.0
    ) -> Speech:
        """Speak phonemes directly (no G2P); they must fit one chunk."""
        mapped = to_vocab(phonemes, self.vocab, self.replacements)[0]
        if not mapped:
            raise TextError("No phoneme in the input is in the model's vocabulary.")
        if len(mapped) > MAX_TOKENS:
            raise TextError(f"{len(mapped)} phonemes exceed the {MAX_TOKENS}-token context.")
        pack = self.voice_bank.pack(self.default_voice if voice is None else voice)
        chunk = self._speak("", mapped, pack, _check_speed(speed), 0.0)
        return Speech(chunk.audio, SAMPLE_RATE, [chunk])

    def _speak(
        self, graphemes: str, phonemes: str, pack: np.ndarray, speed: float, start: float
    ) -> SpeechChunk:
        ids = [self.vocab[p] for p in phonemes]
        style = style_row(pack, len(ids))
        out = self.model([0, *ids, 0], style, speed)
        words = (
            _word_times(phonemes, graphemes, out.durations, start)
            if out.durations is not None
            else None
        )
        return SpeechChunk(graphemes, phonemes, out.audio, start, words)


def _word_times(
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


def _check_text(text: Any) -> str:
    if not isinstance(text, str):
        raise TextError(f"Text must be a str, got {type(text).__name__}.")
    if not text.strip():
        raise TextError("The text is empty; give at least one word to speak.")
    if len(text) > MAX_CHARACTERS:
        raise TextError(
            f"The text has {len(text):,} characters (limit {MAX_CHARACTERS:,} per call); "
            "split it and call stream() per part."
        )
    return text


def _check_speed(speed: Any) -> float:
    try:
        value = float(speed)
    except (TypeError, ValueError):
        raise SpeechlabError(f"speed must be a number, got {speed!r}.") from None
    if not math.isfinite(value) or not MIN_SPEED <= value <= MAX_SPEED:
        raise SpeechlabError(f"speed must be between {MIN_SPEED} and {MAX_SPEED}, got {speed!r}.")
    return value


BACKENDS = ("onnx", "torch")


def load_tts(
    spec: str | Path = DEFAULT_MODEL,
    *,
    voice: str = DEFAULT_VOICE,
    lang: str = "pl",
    backend: str = "auto",
    model_file: str | None = None,
    threads: int | None = None,
    device: str = "cpu",
    fast_int8: bool = True,
    **options: Any,
) -> Synthesizer:
    """Open Kokoro from a store name, a local directory or a Hub id.

    ``backend``: ``"onnx"`` (a folder with a Kokoro ``.onnx``, voices and a vocabulary),
    ``"torch"`` (a folder like ``hexgrad/Kokoro-82M``: ``config.json``, a ``.pth``,
    ``voices/*.pt``; needs the ``kokoro`` package) or ``"auto"`` (ONNX when the folder has
    an ``.onnx`` file, else torch). ``model_file`` picks one ``.onnx`` of several (e.g.
    ``"model_int8.onnx"`` of an export). ``fast_int8`` (ONNX on CPU): run int8 convolutions
    as signed-weight ``MatMulInteger`` (bit-identical, about 1.6× faster on 2 cores); False runs
    the file exactly as stored. ``options``: ``replacements`` (symbol → in-vocabulary
    symbol, see ``g2p.REPLACEMENTS``) and ``stress`` (keep espeak-ng's stress marks).
    """
    path = resolve(spec)
    if path.is_file():
        raise ModelNotFoundError(
            f"{path} is a file; pass the directory holding the model, voices and vocabulary."
        )
    if backend == "auto":
        backend = detect_backend(path)
    if backend not in BACKENDS:
        raise ModelNotFoundError(f"Unknown TTS backend {backend!r}; choose {BACKENDS} or 'auto'.")
    voice_files = _voice_files(path)
    vocab = _vocab(path)
    if backend == "torch":
        from speechlab.tts.kokoro_torch import KokoroTorch

        model: KokoroOnnx | Any = KokoroTorch(path, threads=threads, device=device)
    else:
        model = KokoroOnnx(
            _onnx_file(path, model_file), threads=threads, device=device, fast_int8=fast_int8
        )
    return Synthesizer(
        model, vocab, VoiceBank.load(*voice_files), voice=voice, lang=lang, **options
    )


def detect_backend(path: Path) -> str:
    """``"onnx"`` when ``path`` holds a Kokoro .onnx, ``"torch"`` when it holds a .pth."""
    if _onnx_candidates(path):
        return "onnx"
    if any(path.glob("*.pth")):
        return "torch"
    raise ModelNotFoundError(
        f"{path} holds no Kokoro model (.onnx or .pth). Use the store's 'kokoro-82m-int8', "
        "a folder with kokoro-v1.0*.onnx, voices (.npz/.bin) and vocab.json or config.json, "
        "or a hexgrad/Kokoro-82M folder (config.json, kokoro-v1_0.pth, voices/)."
    )


def _onnx_candidates(path: Path) -> list[Path]:
    return sorted(path.glob("*.onnx")) or sorted(path.glob("onnx/*.onnx"))


def _onnx_file(path: Path, model_file: str | None) -> Path:
    onnx = _onnx_candidates(path)
    if model_file is not None:
        chosen = [p for p in onnx if p.name == model_file]
        if not chosen:
            raise ModelNotFoundError(
                f"{path} has no {model_file!r}; it has {[p.name for p in onnx]}."
            )
        return chosen[0]
    if not onnx:
        raise ModelNotFoundError(f"{path} holds no .onnx model for the ONNX backend.")
    preferred = [p for p in onnx if p.name in {"model.onnx", "kokoro-v1.0.onnx"}]
    return (preferred or onnx)[0]


def _voice_files(path: Path) -> list[Path]:
    voices = sorted(path.glob("voices*.npz")) + sorted(path.glob("voices*.bin"))
    if (path / "voices").is_dir():
        voices.append(path / "voices")
    if not voices:
        raise ModelNotFoundError(f"{path} holds no voices (voices*.npz, voices*.bin or voices/).")
    return voices


def _vocab(path: Path) -> dict[str, int]:
    vocab = None
    for name in ("vocab.json", "config.json", "tokenizer.json"):
        candidate = path / name
        if candidate.is_file():
            data = json.loads(candidate.read_text(encoding="utf-8"))
            vocab = data.get("vocab") or data.get("model", {}).get("vocab")
            if vocab:
                break
    if not vocab:
        raise ModelNotFoundError(f"{path} has no phoneme vocabulary (vocab.json or config.json).")
    return {k: int(v) for k, v in vocab.items()}
