"""Whisper recognizer on faster-whisper (CTranslate2). The store's ``whisper-base`` runs offline.

``compute_type`` defaults to int8 on CPU (float16 on GPU). Word times and confidences
are faster-whisper's (cross-attention alignment; the
confidence is the word's token probability). Whisper gives no character times.
faster-whisper needs the whole input in memory (it windows internally), so inputs are
loaded whole, up to ``speechlab.audio.DEFAULT_MAX_DURATION``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np

from speechlab.asr.base import Recognizer, TranscribeOptions, language_code
from speechlab.asr.inputs import AudioItem
from speechlab.errors import ModelNotFoundError, UnsupportedLanguageError
from speechlab.transcript import Segment, Transcript

__all__ = ["WhisperRecognizer"]


class WhisperRecognizer(Recognizer):
    """Speech recognition with a CTranslate2 Whisper model directory."""

    name = "whisper"

    def __init__(
        self,
        model_dir: Path,
        *,
        device: str = "cpu",
        compute_type: str | None = None,
        threads: int | None = None,
        language: str | None = None,
        beam_size: int = 5,
        word_timestamps: bool = True,
    ) -> None:
        from faster_whisper import WhisperModel

        self.model_dir = Path(model_dir)
        if not (self.model_dir / "model.bin").is_file():
            raise ModelNotFoundError(
                f"{self.model_dir} is not a CTranslate2 Whisper model (no model.bin). Use the "
                "store's 'whisper-base' or a faster-whisper directory such as "
                "Systran/faster-whisper-small."
            )
        language = language_code(language)
        _check_language(language)
        self.language = language
        self.beam_size = beam_size
        self.word_timestamps = word_timestamps
        self.model = WhisperModel(
            str(self.model_dir),
            device=device,
            compute_type=compute_type or ("int8" if device == "cpu" else "float16"),
            cpu_threads=threads or 0,
            local_files_only=True,
        )

    def _transcribe_items(
        self, items: Iterator[AudioItem], options: TranscribeOptions
    ) -> Iterator[Transcript]:
        language = options.language or self.language
        _check_language(language)
        for item in items:
            yield self._transcribe_one(item, item.load(self.sample_rate).samples, language)

    def _transcribe_one(
        self, item: AudioItem, samples: np.ndarray, language: str | None
    ) -> Transcript:
        segments, info = self.model.transcribe(
            samples,
            language=language,
            beam_size=self.beam_size,
            word_timestamps=self.word_timestamps,
            condition_on_previous_text=False,
        )
        words: list[Segment] = []
        texts = []
        for segment in segments:
            texts.append(segment.text.strip())
            for word in segment.words or []:
                text = word.word.strip()
                if text:
                    end = min(float(word.end), item.duration)
                    start = min(float(word.start), end)
                    words.append(Segment(text, start, end, float(word.probability)))
        return Transcript(
            " ".join(t for t in texts if t),
            words,
            [],
            info.language,
            item.duration,
            item.source,
            reference=item.reference,
        )


def _check_language(language: str | None) -> None:
    """A typed error, before any decoding, for a code Whisper does not know."""
    from faster_whisper.tokenizer import _LANGUAGE_CODES

    if language is not None and language not in _LANGUAGE_CODES:
        raise UnsupportedLanguageError(
            f"Whisper does not know the language {language!r}; use an ISO 639-1 code such "
            "as 'pl' or 'en', or None to detect it."
        )
