"""Live recognition with Whisper (faster-whisper): LocalAgreement-2 over a growing buffer.

Whisper has no streaming mode: it decodes whole windows of up to 30 s. As in
ufal/whisper_streaming (Macháček et al., 2023), the engine keeps the audio of the current
segment in a buffer and decodes all of it every ``hop_s`` of new audio. A word is
*committed* when two consecutive hypotheses agree on it (the longest common prefix of the
words after the already committed ones: LocalAgreement-2); committed words never change.
The words already committed whose audio has left the buffer are the prompt of the next
decoding (``prompt_chars`` at most), so Whisper continues the text instead of restarting it.

The buffer is trimmed once it holds more than ``buffer_s``: at the end of the last
Whisper segment that lies within the committed words. The committed words before that
point leave the buffer as a Final, so finals come at Whisper's own segment ends, at VAD
endpoints and at the end of the stream. At an endpoint the remaining audio is decoded once
more and all of its words are committed.

When consecutive hypotheses keep disagreeing, nothing is committed and nothing can be
trimmed; Whisper hears 30 s at most, and a longer buffer is decoded window by window, ever
slower. So once the buffer outgrows ``buffer_s`` by ``_FORCE_AFTER_S`` (10 s, never past
28 s), the latest hypothesis is committed up to its last segment end within ``buffer_s``
(or up to ``buffer_s`` when no segment ends there) and the buffer is cut at that point.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from speechlab.asr.streaming import Final, Partial, StreamEngine, StreamEvent
from speechlab.asr.whisper_context import context_frames, fitted_whisper
from speechlab.audio import Seconds
from speechlab.errors import SpeechlabError
from speechlab.transcript import Segment, Transcript

__all__ = ["WhisperStreamEngine"]

_WORD_CHARS = re.compile(r"[\W_]+", re.UNICODE)
_OVERLAP_WORDS = 5  # the longest run of re-heard committed words removed from a hypothesis
_MIN_AUDIO = 1.0  # seconds in the buffer before the first decoding (less is too short)
_FORCE_AFTER_S = 10.0  # buffer beyond buffer_s at which the latest hypothesis is committed
_MAX_BUFFER_S = 28.0  # ... and never more than this (Whisper hears 30 s)
# Whisper writes about 6 tokens per second of Polish speech (the stream bench's sentences);
# a hypothesis may write 10 per second of buffer plus 10: a repetition loop on a word cut at
# the buffer's edge otherwise runs to Whisper's 448 tokens
_TOKENS_PER_S = 10
_TOKENS_SPARE = 10
_MAX_NEW_TOKENS = 224
_MAX_COMPRESSION = 2.4  # faster-whisper's threshold: a segment this repetitive is a loop


class WhisperStreamEngine(StreamEngine):
    """LocalAgreement-2 streaming over a faster-whisper model (see the module docstring).

    ``hop_s``: new audio between decodings (1 s). Each decodes the whole buffer; a stream
    that falls behind decodes less often and never loses audio. ``fit_context``: the
    encoder hears the buffer plus 1-2 s, at least 15 s (:mod:`speechlab.asr.whisper_context`)
    instead of Whisper's 30 s, a fraction of the work for short buffers. ``buffer_s``: the
    buffer length that triggers trimming.
    ``prompt_chars``: committed text given as prompt (None: 0 on a CPU, 200 on a GPU: with
    a prompt, faster-whisper often decodes the audio after the last word once more, a second
    encoder pass). ``beam_size``: Whisper's beam (None: the recognizer's). Hypotheses are
    decoded at temperature 0 only, with a bounded number of tokens.
    """

    def __init__(
        self,
        recognizer: Any,
        language: str | None,
        *,
        hop_s: Seconds = 1.0,
        buffer_s: Seconds = 15.0,
        prompt_chars: int | None = None,
        beam_size: int | None = None,
        fit_context: bool = True,
    ) -> None:
        super().__init__()
        on_gpu = bool(getattr(recognizer, "on_gpu", False))
        if prompt_chars is None:
            prompt_chars = 200 if on_gpu else 0
        if not isinstance(hop_s, int | float) or not 0.1 <= hop_s <= 30:
            raise SpeechlabError(f"hop_s must be seconds in [0.1, 30], got {hop_s!r}.")
        if not isinstance(buffer_s, int | float) or not 2 * hop_s <= buffer_s <= 25:
            raise SpeechlabError(
                f"buffer_s must be seconds in [2 * hop_s, 25] (Whisper hears 30 s at most), "
                f"got {buffer_s!r}."
            )
        if not isinstance(prompt_chars, int) or prompt_chars < 0:
            raise SpeechlabError(f"prompt_chars must be >= 0, got {prompt_chars!r}.")
        self.recognizer = recognizer
        self.fit_context = bool(fit_context)
        self.model = fitted_whisper(recognizer.model) if self.fit_context else recognizer.model
        self.sample_rate = recognizer.sample_rate
        self.language = language or recognizer.language
        self.beam_size = beam_size or recognizer.beam_size
        self._hop = round(hop_s * self.sample_rate)
        self._buffer_limit = buffer_s
        self._force_limit = min(buffer_s + _FORCE_AFTER_S, _MAX_BUFFER_S)
        self._prompt_chars = prompt_chars
        self._context = ""  # committed text whose audio has left the buffer (the prompt)
        self.forced_trims = 0  # times the buffer was cut without agreement (all utterances)
        self.begin(0.0)

    # ------------------------------------------------------------------ engine

    def begin(self, start: Seconds) -> None:
        self._audio = np.zeros(0, dtype=np.float32)
        self._audio_start = start  # stream time of _audio[0]
        self._end = start  # stream time of the end of the audio heard
        self._segment_start = start
        self._committed: list[Segment] = []  # committed words of the current segment
        self._last_committed = start  # end time of the last committed word
        self._previous: list[Segment] = []  # the last hypothesis after the committed words
        self._new = 0  # samples since the last decoding
        self._decoded = False

    def accept(self, samples: np.ndarray) -> None:
        self._audio = np.concatenate([self._audio, np.asarray(samples, dtype=np.float32)])
        self._new += len(samples)
        self._end = self._audio_start + len(self._audio) / self.sample_rate

    def due(self) -> bool:
        return self._new >= self._hop and len(self._audio) >= _MIN_AUDIO * self.sample_rate

    def step(self) -> list[StreamEvent]:
        words, segment_ends = self._hypothesis()
        fresh = self._after_committed(words)
        agreed = _common_prefix(fresh, self._previous)
        self._commit(agreed)
        self._previous = fresh[len(agreed) :]
        events: list[StreamEvent] = []
        if self._end - self._audio_start > self._buffer_limit:
            events += self._trim(segment_ends)
        if self._end - self._audio_start > self._force_limit:
            events += self._force_trim(segment_ends)
        events.append(
            Partial(
                tuple(self._committed + self._previous),
                len(self._committed),
                self._segment_start,
                self._end,
            )
        )
        return events

    def finish(self) -> list[StreamEvent]:
        if self._new or not self._decoded:
            rest = self._after_committed(self._hypothesis()[0]) if len(self._audio) else []
        else:
            rest = self._previous
        self._commit(rest)
        end = self._end
        events: list[StreamEvent] = []
        if self._committed:
            events.append(self._final(self._committed, end))
            self._remember(self._committed)
        self.begin(end)
        return events

    # ------------------------------------------------------------------ pieces

    def _hypothesis(self) -> tuple[list[Segment], list[Seconds]]:
        """Whisper's words for the whole buffer (stream times) and its segments' ends;
        segments whose text compresses like a repetition loop are left out."""
        prompt = self._context[-self._prompt_chars :].strip() if self._prompt_chars else ""
        seconds = len(self._audio) / self.sample_rate
        if self.fit_context:
            self.model.frames = context_frames(len(self._audio), self.sample_rate)
        segments, info = self.model.transcribe(
            self._audio,
            language=self.language,
            beam_size=self.beam_size,
            word_timestamps=True,
            condition_on_previous_text=False,
            initial_prompt=prompt or None,
            vad_filter=False,
            # one decoding per hypothesis: the next hop decodes again anyway, so no
            # temperature fallback (each retry is a whole decoding), and a bounded length
            temperature=0.0,
            max_new_tokens=min(_MAX_NEW_TOKENS, int(_TOKENS_PER_S * seconds) + _TOKENS_SPARE),
        )
        segments = list(segments)  # the decoding happens here
        self.model_calls += 1
        self._new = 0
        self._decoded = True
        if self.language is None:  # detected once, then kept for the stream
            self.language = info.language
        words: list[Segment] = []
        ends: list[Seconds] = []
        for segment in segments:
            if segment.compression_ratio > _MAX_COMPRESSION:
                continue
            ends.append(self._audio_start + float(segment.end))
            for word in segment.words or []:
                text = word.word.strip()
                if text:
                    end = min(self._end, self._audio_start + float(word.end))
                    start = min(end, self._audio_start + float(word.start))
                    words.append(Segment(text, start, end, float(word.probability)))
        return words, ends

    def _after_committed(self, words: list[Segment]) -> list[Segment]:
        """The hypothesis' words that come after what is committed: those starting after
        the last committed word (less 0.1 s of timing slack), without a re-heard run of
        committed words at their head."""
        fresh = [w for w in words if w.start > self._last_committed - 0.1]
        if fresh and self._committed and fresh[0].start - self._last_committed < 1.0:
            tail = [_key(w) for w in self._committed]
            for size in range(min(_OVERLAP_WORDS, len(tail), len(fresh)), 0, -1):
                if tail[-size:] == [_key(w) for w in fresh[:size]]:
                    return fresh[size:]
        return fresh

    def _commit(self, words: list[Segment]) -> None:
        if words:
            self._committed += words
            self._last_committed = words[-1].end

    def _trim(self, segment_ends: list[Seconds]) -> list[StreamEvent]:
        """Cut the buffer at the last Whisper segment end within the committed words; the
        committed words before the cut become a Final."""
        cuts = [t for t in segment_ends if self._audio_start < t <= self._last_committed]
        if not cuts:
            return []
        cut = max(cuts)
        done = [w for w in self._committed if w.end <= cut]
        self._committed = self._committed[len(done) :]
        drop = round((cut - self._audio_start) * self.sample_rate)
        self._audio = self._audio[drop:].copy()
        self._audio_start = cut
        events: list[StreamEvent] = []
        if done:
            events.append(self._final(done, cut))
            self._remember(done)
        self._segment_start = cut
        return events

    def _force_trim(self, segment_ends: list[Seconds]) -> list[StreamEvent]:
        """Commit the latest hypothesis up to its last segment end within ``buffer_s`` (or
        up to ``buffer_s``) and cut the buffer there: hypotheses that never agree must not
        grow the buffer past what Whisper hears."""
        limit = self._audio_start + self._buffer_limit
        ends = [
            t for t in segment_ends if max(self._audio_start, self._last_committed) < t <= limit
        ]
        cut = max(ends) if ends else max(limit, self._last_committed)
        self._commit([w for w in self._previous if w.end <= cut])
        self._previous = [w for w in self._previous if w.end > cut]
        self._last_committed = cut
        self.forced_trims += 1
        return self._trim([cut])

    def _final(self, words: list[Segment], end: Seconds) -> Final:
        start = self._segment_start
        text = " ".join(w.text for w in words)
        return Final(Transcript(text, list(words), [], self.language, end - start), start, end)

    def _remember(self, words: list[Segment]) -> None:
        self._context = (self._context + " " + " ".join(w.text for w in words)).strip()
        self._context = self._context[-4 * max(self._prompt_chars, 1) :]


def _key(word: Segment) -> str:
    """A word as agreement compares it: case and punctuation ignored."""
    return _WORD_CHARS.sub("", word.text).casefold()


def _common_prefix(new: list[Segment], old: list[Segment]) -> list[Segment]:
    """The leading words of ``new`` that ``old`` has too, in the same order."""
    count = 0
    for a, b in zip(new, old, strict=False):
        if _key(a) != _key(b):
            break
        count += 1
    return new[:count]
