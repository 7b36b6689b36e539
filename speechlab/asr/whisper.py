"""Whisper recognizer on faster-whisper (CTranslate2). The store's ``whisper-base`` runs offline.

``compute_type`` defaults to int8 on CPU (float16 on GPU). Word times and confidences
are faster-whisper's (cross-attention alignment; the
confidence is the word's token probability). Whisper gives no character times.
faster-whisper needs the whole input in memory (it windows internally), so inputs are
loaded whole up to ``speechlab.audio.DEFAULT_MAX_DURATION`` (4 h); longer files are read in
30-minute pieces cut at pauses (:mod:`speechlab.asr.long_audio`), so any length works.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from speechlab.asr import long_audio
from speechlab.asr.base import SILENCE_PEAK, Recognizer, TranscribeOptions, language_code
from speechlab.asr.inputs import AudioItem
from speechlab.asr.speech_groups import GROUP_SECONDS
from speechlab.audio import DEFAULT_MAX_DURATION
from speechlab.devices import check_gpus, check_threads, parse_device
from speechlab.errors import (
    DeviceError,
    ModelFileError,
    ModelNotFoundError,
    UnsupportedLanguageError,
)
from speechlab.store.model_folders import how_to_replace, read_json
from speechlab.transcript import Segment, Transcript

__all__ = ["WhisperRecognizer"]


class WhisperRecognizer(Recognizer):
    """Speech recognition with a CTranslate2 Whisper model directory."""

    name = "whisper"
    #: Files longer than this are read in pieces of ``piece_seconds`` cut at pauses
    #: (:mod:`speechlab.asr.long_audio`); shorter ones whole, as faster-whisper wants them.
    max_whole_seconds: float = DEFAULT_MAX_DURATION
    piece_seconds: float = long_audio.PIECE_SECONDS
    #: Whisper pads every call to a 30 s window: VAD regions are decoded in groups.
    vad_group_seconds: float = GROUP_SECONDS

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
        import ctranslate2
        from faster_whisper import WhisperModel

        self.model_dir = Path(model_dir)
        threads = check_threads(threads)
        checked = parse_device(device)
        gpus = ctranslate2.get_cuda_device_count()
        check_gpus(checked, gpus, f"CTranslate2 {ctranslate2.__version__}")
        supported = sorted(ctranslate2.get_supported_compute_types(checked.kind))
        if compute_type is not None and compute_type not in {*supported, "auto", "default"}:
            raise DeviceError(
                f"compute_type {compute_type!r} is not one CTranslate2 runs on {checked}; use "
                f"{', '.join(map(repr, supported))} or 'auto'."
            )
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
        self.on_gpu = checked.is_cuda
        if (self.model_dir / "config.json").is_file():
            read_json(self.model_dir / "config.json")  # damage named here, not in CTranslate2
        try:
            self.model = WhisperModel(
                str(self.model_dir),
                device=checked.kind,
                device_index=checked.index or 0,
                compute_type=compute_type or ("float16" if checked.is_cuda else "int8"),
                cpu_threads=threads or 0,
                local_files_only=True,
            )
        except RuntimeError as exc:  # CTranslate2 reports a damaged model.bin this way
            raise ModelFileError(
                f"CTranslate2 cannot read {self.model_dir / 'model.bin'} ({exc}): the file is "
                f"damaged or incomplete (e.g. truncated); {how_to_replace(self.model_dir)}."
            ) from exc

    @property
    def stream_options(self) -> Any:
        """Live recognition's engine, whose keyword options ``stream()`` takes."""
        from speechlab.asr.whisper_stream import WhisperStreamEngine

        return WhisperStreamEngine

    def _stream_engine(self, language: str | None, **tuning: Any) -> Any:
        from speechlab.asr.whisper_stream import WhisperStreamEngine

        _check_language(language)
        return WhisperStreamEngine(self, language, **tuning)

    def _transcribe_items(
        self, items: Iterator[AudioItem], options: TranscribeOptions
    ) -> Iterator[Transcript]:
        language = options.language or self.language
        _check_language(language)
        for item in items:
            if not self._decodes_whole(item):
                yield self._transcribe_long(item, language)
                continue
            yield self._transcribe_one(item, item.load(self.sample_rate).samples, language)

    def _decodes_whole(self, item: AudioItem) -> bool:
        return item.path is None or item.duration <= self.max_whole_seconds

    def _transcribe_long(self, item: AudioItem, language: str | None) -> Transcript:
        """A file longer than ``max_whole_seconds``, in pieces cut at pauses (silent pieces
        never reach the model), joined into one transcript in the file's clock."""
        parts = []
        for piece in long_audio.pieces(item.path, self.sample_rate, seconds=self.piece_seconds):
            if np.any(np.abs(piece.samples) > SILENCE_PEAK):
                parts.append((piece.offset, self._transcribe_one(item, piece.samples, language)))
        template = Transcript("", [], [], language, item.duration, item.source, item.reference)
        return long_audio.join(parts, template)

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
