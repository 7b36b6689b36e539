"""The ``Recognizer`` contract every ASR backend implements.

A backend subclasses :class:`Recognizer` and implements one method,
``_transcribe_items(items, options)``: it receives only audible items (never shorter than
:data:`MIN_DURATION`, never digital silence; whole-decoded items carry their ``audio``) and
yields one Transcript per item, in order. The base class handles everything else once:
the inputs (paths, arrays, lists, datasets), the per-call :class:`TranscribeOptions`, the
empty/silent short-circuit, voice activity detection (``vad=True``: the backend only sees
the speech regions and the base class stitches their transcripts), input order and the
progress bar.

Live recognition: a backend that can stream implements ``_stream_engine(language,
**tuning)`` returning a :class:`~speechlab.asr.streaming.StreamEngine`; ``stream()`` and
``listen()`` are the base class's (``asr/streaming.py``, ``asr/sources.py``).
"""

from __future__ import annotations

import contextlib
import inspect
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from speechlab.asr.inputs import AudioItem, is_single, iter_items
from speechlab.asr.sources import listen
from speechlab.asr.speech_groups import RegionGroup, group_regions
from speechlab.asr.streaming import (
    RecognitionStream,
    StreamEngine,
    StreamEvent,
    StreamingUnsupportedError,
)
from speechlab.asr.vad import VAD_RATE, VadOptions, speech_regions
from speechlab.audio import DEFAULT_RESAMPLE_QUALITY, Audio, ResampleQuality, Seconds
from speechlab.audio import iter_blocks as audio_blocks
from speechlab.errors import OptionError, SpeechlabError, checked_arguments
from speechlab.store import model_label
from speechlab.transcript import Transcript

__all__ = [
    "BATCH_VAD",
    "MIN_DURATION",
    "SILENCE_PEAK",
    "Recognizer",
    "TranscribeOptions",
    "language_code",
]

#: Inputs shorter than this (seconds) give an empty transcript, not an error.
MIN_DURATION = 0.1
#: Inputs whose peak amplitude is at most this are digital silence: an empty transcript.
SILENCE_PEAK = 1e-5
#: ``transcribe(..., vad=True)``: regions end after 1 s of silence (streams end theirs after
#: 0.5 s), so that the pauses between a speaker's sentences do not cut them apart.
BATCH_VAD = VadOptions(min_silence_s=1.0)


def language_code(language: str | None) -> str | None:
    """``"pl"`` for ``"pl"``, ``"PL"``, ``"pl-PL"`` or ``"pl_PL"``; None stays None."""
    if language is None:
        return None
    if not isinstance(language, str) or not language.strip():
        raise SpeechlabError(
            f"language must be a language code such as 'pl' or None, got {language!r}."
        )
    return language.strip().lower().replace("_", "-").split("-")[0]


@dataclass(frozen=True)
class TranscribeOptions:
    """The per-call options of :meth:`Recognizer.transcribe`, checked once for every backend.

    ``language``: an ISO 639-1 code (``"pl"``; regional forms such as ``"pl-PL"`` are cut to
    the language) or None. Whisper decodes in it (None: detect); a CTC model always
    transcribes the language it was trained on and records its own. ``batch_size``: inputs
    per forward pass (CTC) or per group (Whisper). ``vad``: ``True`` (:data:`BATCH_VAD`) or
    :class:`~speechlab.asr.vad.VadOptions` runs Silero VAD first and transcribes only the
    speech regions (word times stay those of the input); ``False`` transcribes everything.
    """

    language: str | None = None
    batch_size: int = 8
    vad: bool | VadOptions = False

    def __post_init__(self) -> None:
        batch = self.batch_size
        if not isinstance(batch, int) or isinstance(batch, bool) or batch < 1:
            raise SpeechlabError(f"batch_size must be a positive integer, got {batch!r}.")
        if not isinstance(self.vad, bool | VadOptions):
            raise SpeechlabError(
                f"vad must be True, False or a speechlab.asr.VadOptions, got {self.vad!r}."
            )
        object.__setattr__(self, "language", language_code(self.language))


class Recognizer(ABC):
    """Speech to text. ``transcribe`` takes a path, an Audio, a list, or a datasets dataset."""

    sample_rate: int = 16_000
    #: The backend's name (``"wav2vec2"``, ``"whisper"``).
    name: str = "recognizer"
    #: The model's folder; None for models that do not come from one.
    model_dir: Path | None = None
    #: The language the model transcribes when none is asked for (None: detected).
    language: str | None = None
    #: ``transcribe(..., vad=True)``: speech regions are joined into groups of at most this
    #: many seconds and decoded together (:mod:`speechlab.asr.speech_groups`); 0: each
    #: region by itself.
    vad_group_seconds: float = 0.0

    @property
    def label(self) -> str:
        """A readable model name: the store name, ``org/name`` for Hub snapshots, the
        folder's name, else the backend's name."""
        return model_label(self.model_dir) if self.model_dir is not None else self.name

    @checked_arguments
    def transcribe(
        self,
        x: Any,
        *,
        language: str | None = None,
        batch_size: int = 8,
        progress: bool = True,
        audio_column: str = "audio",
        text_column: str | None = None,
        vad: bool | VadOptions = False,
    ) -> Transcript | list[Transcript]:
        """Transcribe ``x``: one Transcript for a single input, else a list in input order.

        ``language``, ``batch_size`` and ``vad``: see :class:`TranscribeOptions`.
        ``audio_column``/``text_column`` name a dataset's columns (the text, when given,
        is kept as ``Transcript.reference``). ``progress``: a tqdm bar over audio seconds.
        """
        results = list(
            self.transcribe_iter(
                x,
                language=language,
                batch_size=batch_size,
                progress=progress,
                audio_column=audio_column,
                text_column=text_column,
                vad=vad,
            )
        )
        return results[0] if is_single(x) else results

    @checked_arguments
    def transcribe_iter(
        self,
        x: Any,
        *,
        language: str | None = None,
        batch_size: int = 8,
        progress: bool = True,
        audio_column: str = "audio",
        text_column: str | None = None,
        vad: bool | VadOptions = False,
    ) -> Iterator[Transcript]:
        """Like ``transcribe`` but yields Transcripts in input order as they are ready."""
        options = TranscribeOptions(language=language, batch_size=batch_size, vad=vad)
        items: Iterator[AudioItem] | list[AudioItem]
        items = iter_items(x, audio_column=audio_column, text_column=text_column)
        total = None
        if isinstance(x, list | tuple):  # headers already read: the total audio time is known
            items = list(items)
            total = sum(item.duration for item in items)
        with self._progress(x, progress, total) as bar:
            for transcript in self._in_order(iter(items), options):
                if bar is not None:  # never past the total (float sums), no tqdm warning
                    step = transcript.duration
                    bar.update(step if bar.total is None else min(step, bar.total - bar.n))
                yield transcript

    @abstractmethod
    def _transcribe_items(
        self, items: Iterator[AudioItem], options: TranscribeOptions
    ) -> Iterator[Transcript]:
        """Yield one Transcript per (audible) item, in item order."""

    def _decodes_whole(self, item: AudioItem) -> bool:
        """Whether the backend reads ``item`` in one piece (then it is decoded and checked
        for silence before the backend sees it); long inputs read in blocks are not."""
        return True

    def _in_order(
        self, items: Iterator[AudioItem], options: TranscribeOptions
    ) -> Iterator[Transcript]:
        """The backend's transcripts with the empty ones for silent inputs put in place."""
        queued: deque[tuple[AudioItem, bool]] = deque()  # (item, audible), input order

        def audible() -> Iterator[AudioItem]:
            for item in items:
                heard = self._audible(item)
                queued.append((item, heard))
                if heard:
                    yield item

        def silent_ones() -> Iterator[Transcript]:
            while queued and not queued[0][1]:
                yield self._empty(queued.popleft()[0], options)

        transcribe = self._transcribe_speech if options.vad else self._transcribe_items
        for transcript in transcribe(audible(), options):
            yield from silent_ones()
            queued.popleft()  # the audible item this transcript belongs to
            yield transcript
        yield from silent_ones()

    def _transcribe_speech(
        self, items: Iterator[AudioItem], options: TranscribeOptions
    ) -> Iterator[Transcript]:
        """``_transcribe_items`` on the speech regions of each item only (VAD), stitched back
        into one Transcript per item with the item's times."""
        vad = options.vad if isinstance(options.vad, VadOptions) else BATCH_VAD
        for item in items:
            regions = list(speech_regions(self._vad_blocks(item), vad))
            groups = group_regions(regions, self.vad_group_seconds)
            parts = [
                AudioItem(
                    i, item.source, len(g.samples) / VAD_RATE, audio=Audio(g.samples, VAD_RATE)
                )
                for i, g in enumerate(groups)
            ]
            transcripts = list(self._transcribe_items(iter(parts), options)) if parts else []
            yield _stitch(
                item,
                groups,
                transcripts,
                transcripts[0].language if transcripts else self._result_language(options),
            )

    def _vad_blocks(self, item: AudioItem) -> Iterator[np.ndarray]:
        """An item's samples at the VAD's rate, in blocks (long files are never read whole)."""
        if item.path is not None and item.audio is None:
            for block in audio_blocks(item.path, seconds=30.0, sample_rate=VAD_RATE):
                yield block.samples
            return
        yield item.load(VAD_RATE).samples

    # ------------------------------------------------------------------ live recognition

    @checked_arguments
    def stream(
        self,
        *,
        sample_rate: int | None = None,
        language: str | None = None,
        vad: bool | VadOptions = False,
        quality: ResampleQuality = DEFAULT_RESAMPLE_QUALITY,
        background: bool = False,
        source: str | None = None,
        **tuning: Any,
    ) -> RecognitionStream:
        """Open a live-recognition stream (see :mod:`speechlab.asr.streaming`).

        ``sample_rate``: the rate of the pushed blocks (else given with the first block);
        blocks are resampled to the model's rate with soxr at ``quality``. ``language``:
        as for ``transcribe``. ``vad``: gate the audio with Silero VAD (True or
        :class:`~speechlab.asr.vad.VadOptions`): silence never reaches the model and each
        end of speech is an endpoint (a Final). ``background``: decode on a worker thread,
        so ``push`` never waits for the model. ``source``: a label kept on the transcript.
        ``tuning``: the backend's own options (``help(recognizer.stream_options)``).
        """
        engine = self._stream_engine(language_code(language), **self._tuning(tuning))
        return RecognitionStream(
            engine,
            sample_rate=sample_rate,
            vad=vad,
            quality=quality,
            background=background,
            source=source,
        )

    def listen(
        self,
        source: Any,
        *,
        block_seconds: Seconds = 0.1,
        realtime: bool = False,
        speed: float = 1.0,
        **options: Any,
    ) -> Iterator[StreamEvent]:
        """Stream a file, an Audio, ``(samples, rate)`` or an iterable of blocks and yield
        the events: the iterator form of :meth:`stream` (whose options it takes).

        ``block_seconds``: the size of the blocks cut from files and arrays.
        ``realtime=True`` feeds paths and arrays at the pace of real time (``speed`` times
        faster) from a feeder thread while decoding runs in the background, as a
        microphone would; ``False`` pushes as fast as decoding goes (deterministic).
        """
        return listen(
            self.stream,
            source,
            block_seconds=block_seconds,
            realtime=realtime,
            speed=speed,
            **options,
        )

    @property
    def stream_options(self) -> Any:
        """The class whose keyword options tune this backend's streams (None: cannot stream)."""
        return None

    def _stream_engine(self, language: str | None, **tuning: Any) -> StreamEngine:
        """The backend's streaming engine; backends that can stream override this."""
        raise StreamingUnsupportedError(
            f"The {self.name} backend ({type(self).__name__}) has no streaming engine; "
            "transcribe whole inputs with transcribe(), or use a wav2vec2 CTC or Whisper model."
        )

    def _tuning(self, tuning: dict[str, Any]) -> dict[str, Any]:
        """``tuning`` checked against the backend's stream options (an OptionError naming
        the unknown ones and listing the valid ones)."""
        engine = self.stream_options
        if engine is None:
            return tuning  # _stream_engine will refuse
        known = [
            p.name
            for p in inspect.signature(engine).parameters.values()
            if p.kind is p.KEYWORD_ONLY
        ]
        unknown = sorted(set(tuning) - set(known))
        if unknown:
            verb = "is not an option" if len(unknown) == 1 else "are not options"
            raise OptionError(
                f"stream(): {', '.join(unknown)} {verb} of {self.name} streams. "
                "Their options: sample_rate, language, vad, quality, "
                f"background, source, {', '.join(known)}."
            )
        return tuning

    def _audible(self, item: AudioItem) -> bool:
        """False for inputs shorter than MIN_DURATION or digitally silent (whole-decoded
        inputs keep their decoded audio, so it is read once)."""
        if item.duration < MIN_DURATION:
            return False
        if not self._decodes_whole(item):
            return True
        item.audio = item.load(self.sample_rate)
        return bool(np.any(np.abs(item.audio.samples) > SILENCE_PEAK))

    def _empty(self, item: AudioItem, options: TranscribeOptions) -> Transcript:
        """The result for silence or audio shorter than MIN_DURATION."""
        return Transcript(
            "",
            [],
            [],
            self._result_language(options),
            item.duration,
            item.source,
            reference=item.reference,
        )

    def _result_language(self, options: TranscribeOptions) -> str | None:
        """The language recorded on a transcript the model did not decode."""
        return options.language or self.language

    @contextlib.contextmanager
    def _progress(self, x: Any, show: bool, total: float | None) -> Iterator[Any]:
        if not show or is_single(x):
            yield None
            return
        from tqdm.auto import tqdm

        counts = "{n:.1f}/{total:.1f}" if total is not None else "{n:.1f}"
        bar = tqdm(
            total=total,
            unit="s audio",
            desc=f"{self.name}",
            dynamic_ncols=True,
            bar_format="{l_bar}{bar}| " + counts + " s audio [{elapsed}<{remaining}, {rate_fmt}]",
        )
        try:
            yield bar
        finally:
            bar.close()


def _stitch(
    item: AudioItem, groups: list[RegionGroup], parts: list[Transcript], language: str | None
) -> Transcript:
    """One Transcript for ``item`` from the transcripts of its region groups (their times
    moved to the item's)."""

    def moved(segments: list[Any], group: RegionGroup) -> list[Any]:
        return [
            type(s)(
                s.text,
                round(group.to_input(s.start), 3),
                round(group.to_input(s.end), 3),
                s.confidence,
            )
            for s in segments
        ]

    return Transcript(
        " ".join(t.text for t in parts if t.text),
        [w for t, g in zip(parts, groups, strict=True) for w in moved(t.words, g)],
        [c for t, g in zip(parts, groups, strict=True) for c in moved(t.chars, g)],
        language,
        item.duration,
        item.source,
        reference=item.reference,
    )
