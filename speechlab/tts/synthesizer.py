"""``Synthesizer``: text → phonemes → chunks → a ``KokoroRuntime`` → ``Speech``.

Speechlab's G2P (Polish included), voice packs and blends, sentence chunking, synthesis
ahead in background threads, and word times when the runtime gives durations.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from speechlab.errors import SpeechlabError, checked_arguments
from speechlab.store import model_label
from speechlab.tts.base import SAMPLE_RATE, KokoroRuntime
from speechlab.tts.chunking import MAX_TOKENS, TextChunk, split_first, split_text
from speechlab.tts.g2p import REPLACEMENTS, get_g2p, resolve_language, to_vocab
from speechlab.tts.speech import Speech, SpeechChunk, word_times
from speechlab.tts.voices import VoiceBank, style_row

__all__ = [
    "AHEAD",
    "DEFAULT_VOICE",
    "MAX_CHARACTERS",
    "MAX_SPEED",
    "MIN_SPEED",
    "Synthesizer",
    "TextError",
]

MIN_SPEED, MAX_SPEED = 0.5, 2.0
#: Refused above this many characters per call (about 30 h of speech); stream in pieces.
MAX_CHARACTERS = 2_000_000
#: Chunks synthesised in the background while the current one is consumed (see ``stream``).
AHEAD = 1
DEFAULT_VOICE = "jm_kumo"  # tied with jf_gongitsune, most intelligible in Polish (eval_report)


class TextError(SpeechlabError, ValueError):
    """Text that cannot be spoken: empty, whitespace only, or absurdly long."""


class Synthesizer:
    """Kokoro text-to-speech with speechlab's G2P (Polish included), voices and chunking.

    ``model`` is any :class:`~speechlab.tts.base.KokoroRuntime`; ``model_dir`` the folder it
    was opened from (``load_tts`` sets it), which names it in reports (:attr:`label`).
    """

    def __init__(
        self,
        model: KokoroRuntime,
        vocab: Mapping[str, int],
        voices: VoiceBank,
        *,
        voice: str | Mapping[str, float] | None = None,
        lang: str = "pl",
        replacements: Mapping[str, str] | None = None,
        stress: bool = True,
        model_dir: str | Path | None = None,
    ) -> None:
        self.model = model
        self.model_dir = None if model_dir is None else Path(model_dir)
        self.replacements = dict(REPLACEMENTS if replacements is None else replacements)
        if not stress:  # drop espeak-ng's stress marks
            self.replacements.update({"ˈ": "", "ˌ": ""})
        self.vocab = dict(vocab)
        self.voice_bank = voices
        if voice is None:  # jm_kumo where the model has it, else the model's first voice
            voice = DEFAULT_VOICE if DEFAULT_VOICE in voices else voices.names[0]
        voices.pack(voice)  # an unknown voice or a bad blend: a VoiceError listing the voices
        self.default_voice = voice
        self.default_lang = resolve_language(lang).code

    @property
    def voices(self) -> list[str]:
        return self.voice_bank.names

    @property
    def label(self) -> str:
        """A readable model name: the store name, ``org/name`` for a Hub snapshot, the folder
        name, or ``"kokoro"`` when no folder is known."""
        if self.model_dir is None:
            return "kokoro"
        return model_label(self.model_dir)

    @checked_arguments
    def phonemize(self, text: str, lang: str | None = None) -> str:
        """Vocabulary-mapped phonemes for ``text`` (what the model will get)."""
        g2p = get_g2p(lang or self.default_lang)
        return to_vocab(g2p.phonemize(text), self.vocab, self.replacements)[0]

    @checked_arguments
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

    @checked_arguments
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

    @checked_arguments
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
            word_times(phonemes, graphemes, out.durations, start)
            if out.durations is not None
            else None
        )
        return SpeechChunk(graphemes, phonemes, out.audio, start, words)


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
