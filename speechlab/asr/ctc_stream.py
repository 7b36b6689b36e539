"""Live recognition with wav2vec2-family CTC models: a sliding window with kept state.

Every ``hop_s`` of new audio the engine runs the model over a window that ends at the
newest audio and reaches ``left_context_s`` back from the first frame not yet committed.
Frames more than ``lookahead_s`` from the window's right edge are *committed*: their
log-probabilities are final and never computed again; the frames nearer the edge are
decoded for the partial's unstable tail and recomputed next hop, with more right context.

What is kept across hops, so that audio already seen is not recomputed from scratch:

* **feature-encoder frames.** With per-frame layer norms (``feat_extract_norm="layer"``:
  XLS-R, speechlab's own models) a frame depends only on its receptive field (400 samples
  for wav2vec2), so each hop runs the conv feature encoder on the new samples only and
  keeps the frames of the window (speechlab's runtime; other checkpoints run the window
  from samples);
* **committed frames and words.** Committed log-probabilities are decoded once; words
  closed by a committed word delimiter (``|``) are stable and leave the decoding, so each
  hop decodes only the open word and the tail;
* **input normalisation.** Models that normalise their input (``do_normalize``) see it
  normalised with the running mean and standard deviation of the utterance (offline
  decoding uses the whole clip's), the deviation never below ``min_level`` (so that leading
  silence or faint noise is not blown up to speech level). Kept features are recomputed
  over the window when the statistics have moved by more than ``restat_tolerance`` since
  they were computed (often in the first seconds, rarely after).

The transformer layers run over the whole window each hop: attention is bidirectional, so
their outputs for old frames change with every new frame and cannot be kept. Decoding is
greedy (an LM beam search could rewrite committed words); an *endpoint* is
``endpoint_silence_s`` of committed non-speech frames after a word: the segment up to the
middle of that silence becomes a Final.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from speechlab.asr.ctc_decode import greedy_decode
from speechlab.asr.feature_chunks import receptive_field
from speechlab.asr.streaming import Final, Partial, StreamEngine, StreamEvent
from speechlab.audio import Seconds
from speechlab.errors import SpeechlabError
from speechlab.transcript import Segment, Transcript

__all__ = ["CTCStreamEngine"]


class CTCStreamEngine(StreamEngine):
    """Sliding-window CTC recognition of 16 kHz speech (see the module docstring).

    ``hop_s``: new audio per decoding step. ``left_context_s``: audio before the first
    uncommitted frame that the model sees again. ``lookahead_s``: right context a frame
    needs before it is committed. ``endpoint_silence_s``: committed silence after a word
    that ends a segment (None: endpoints only from the VAD or the end of the stream).
    ``min_level``: the smallest input standard deviation used for normalising (-40 dBFS).
    ``restat_tolerance``: relative change of the input statistics that makes kept
    features stale.
    ``max_step_s``: new audio decoded in one model call at most (a stream that fell behind
    is caught up in steps of this size). ``cache_features``: keep feature-encoder frames
    (where the model allows it; False recomputes each window from samples).
    ``agreement``: commit a frame only once its best label is the same in two consecutive
    windows (or it is ``2 * lookahead_s`` from the edge): the frame-level analogue of
    LocalAgreement, for models whose outputs still move with more right context.
    """

    def __init__(
        self,
        recognizer: Any,
        *,
        hop_s: Seconds = 0.5,
        left_context_s: Seconds = 4.0,
        lookahead_s: Seconds = 2.0,
        endpoint_silence_s: Seconds | None = 1.0,
        min_level: float = 0.01,
        restat_tolerance: float = 0.05,
        max_step_s: Seconds = 8.0,
        cache_features: bool = True,
        agreement: bool = True,
    ) -> None:
        super().__init__()
        for name, value, low in (
            ("hop_s", hop_s, 0.02),
            ("left_context_s", left_context_s, 0.0),
            ("lookahead_s", lookahead_s, 0.0),
            ("min_level", min_level, 0.0),
            ("restat_tolerance", restat_tolerance, 0.0),
            ("max_step_s", max_step_s, 0.1),
        ):
            if not isinstance(value, int | float) or not low <= value <= 600:
                raise SpeechlabError(f"{name} must be seconds in [{low}, 600], got {value!r}.")
        if endpoint_silence_s is not None and not 0.1 <= endpoint_silence_s <= 60:
            raise SpeechlabError(
                f"endpoint_silence_s must be seconds in [0.1, 60] or None, got "
                f"{endpoint_silence_s!r}."
            )
        self.recognizer = recognizer
        self.model = recognizer.model
        self.vocab = recognizer.vocab
        self.sample_rate = recognizer.sample_rate
        self.language = recognizer.language
        self.frame_seconds = recognizer.frame_seconds
        config = self.model.config
        self._kernels = list(config.conv_kernel)
        self._strides = list(config.conv_stride)
        self.field, self.hop = receptive_field(self._kernels, self._strides)
        self.cache_features = bool(cache_features and self.model.cacheable_features)
        self._agree = bool(agreement)
        self._hop_samples = max(1, round(hop_s * self.sample_rate))
        self._left = round(left_context_s / self.frame_seconds)
        self._lookahead = round(lookahead_s / self.frame_seconds)
        self._endpoint = (
            None if endpoint_silence_s is None else round(endpoint_silence_s / self.frame_seconds)
        )
        self._min_level = float(min_level)
        self._tolerance = float(restat_tolerance)
        self._max_step = max(1, round(max_step_s / self.frame_seconds))
        self._delimiter = (
            self.vocab.labels.index(self.vocab.word_delimiter)
            if (self.vocab.word_delimiter in self.vocab.labels)
            else -1
        )
        quiet = {self.vocab.blank_id, self._delimiter, *self.vocab.skip_ids}
        self._is_char = np.array([i not in quiet for i in range(len(self.vocab.labels))])
        self.feature_frames_computed = 0  # feature-encoder frames computed (all hops)
        self.begin(0.0)

    # ------------------------------------------------------------------ engine

    def begin(self, start: Seconds) -> None:
        self.t0 = start
        self._audio = np.zeros(0, dtype=np.float32)
        self._audio_from = 0  # utterance sample index of _audio[0]
        self._n = 0  # samples accepted in this utterance
        self._sum = 0.0
        self._sumsq = 0.0
        self._feats: Any = None  # (frames, channels) tensor of frames [_feats_from, _feats_end)
        self._feats_from = 0
        self._feats_end = 0
        self._feats_scale = (0.0, 0.0)  # (mean, deviation) the kept features were made with
        self._stepped_at = 0
        self._commit = 0  # frames [0, _commit) are committed
        self._open: np.ndarray = np.zeros((0, len(self.vocab.labels)), np.float32)
        self._open_from = 0  # committed frames [_open_from, _commit) not yet in stable words
        self._tail: np.ndarray = self._open[:0]  # uncommitted frames [_commit, _edge)
        self._edge = 0  # right edge (frames) of the last window
        self._stable: list[Segment] = []
        self._stable_chars: list[Segment] = []
        self._segment_from = 0  # frame where the current segment (the next Final) starts
        self._last_char_end: int | None = None  # frame after the segment's last character

    def accept(self, samples: np.ndarray) -> None:
        samples = np.asarray(samples, dtype=np.float32)
        self._audio = np.concatenate([self._audio, samples])
        self._n += len(samples)
        wide = samples.astype(np.float64)
        self._sum += float(wide.sum())
        self._sumsq += float(np.dot(wide, wide))

    def due(self) -> bool:
        return (
            self._n - self._stepped_at >= self._hop_samples and self._frames(self._n) > self._commit
        )

    def step(self) -> list[StreamEvent]:
        events = self._advance_to(self._frames(self._n), final=False)
        events.append(
            Partial(
                tuple(self._stable) + tuple(self._open_words()),
                len(self._stable),
                self._time(self._segment_from),
                self.t0 + self._n / self.sample_rate,
            )
        )
        return events

    def finish(self) -> list[StreamEvent]:
        events = self._advance_to(self._frames(self._n), final=True)
        end = self.t0 + self._n / self.sample_rate
        final = self._final(self._commit, end)
        if final is not None:
            events.append(final)
        self.begin(end)
        return events

    # ------------------------------------------------------------------ windows

    def _frames(self, samples: int) -> int:
        """Output frames of the model for ``samples`` input samples."""
        for kernel, stride in zip(self._kernels, self._strides, strict=True):
            samples = (samples - kernel) // stride + 1
            if samples <= 0:
                return 0
        return samples

    def _advance_to(self, frames: int, *, final: bool) -> list[StreamEvent]:
        """Decode up to frame ``frames`` in steps of at most ``max_step_s`` new audio."""
        self._stepped_at = self._n
        events: list[StreamEvent] = []
        if final and frames == self._edge and len(self._tail):
            # no audio since the last window: its tail only needs committing
            self._open = np.concatenate([self._open, self._tail])
            self._tail = self._tail[:0]
            self._commit = frames
            return self._settle()
        while frames > self._commit:
            edge = min(frames, self._commit + self._max_step + self._lookahead)
            last = edge == frames
            events += self._window(edge, commit_all=final and last)
            if last:
                break
        return events

    def _window(self, edge: int, *, commit_all: bool) -> list[StreamEvent]:
        """Run the model over the window ending at frame ``edge``; commit what is settled."""
        import torch

        start = max(0, self._commit - self._left)
        with self.recognizer._threads(), torch.inference_mode():
            if self.cache_features:
                self._extend_features(start, edge)
                window = self._feats[start - self._feats_from : edge - self._feats_from]
                logits = self.model.from_features(window[None])
            else:
                first, last = start * self.hop, (edge - 1) * self.hop + self.field
                wave = self._normalized(self._audio_span(first, last))
                logits = self.model(torch.from_numpy(wave)[None].to(self.model.dtype))
            log_probs = torch.log_softmax(logits[0].float(), dim=-1).numpy()
        self.model_calls += 1
        log_probs = log_probs[self._commit - start : edge - start]
        commit = edge if commit_all else max(self._commit, edge - self._lookahead)
        if self._agree and not commit_all and len(self._tail):
            # frames whose best label changed since the last window wait for more context,
            # unless they are twice the lookahead from the edge
            before = self._tail[: commit - self._commit].argmax(axis=1)
            now = log_probs[: len(before)].argmax(axis=1)
            changed = np.flatnonzero(before != now)
            if len(changed):
                forced = max(self._commit, edge - 2 * self._lookahead)
                commit = max(forced, self._commit + int(changed[0]))
        settled = commit - self._commit
        self._open = np.concatenate([self._open, log_probs[:settled]])
        self._tail = log_probs[settled:]
        self._commit, self._edge = commit, edge
        self._forget(max(0, commit - self._left))
        return self._settle()

    def _extend_features(self, start: int, edge: int) -> None:
        """Feature-encoder frames ``[start, edge)``: only the new ones, unless the input
        statistics have moved since the kept ones were made (then the whole window)."""
        import torch

        mean, deviation = scale = self._scale()
        kept_mean, kept_deviation = self._feats_scale
        stale = (
            self._feats is None
            or abs(deviation - kept_deviation) > self._tolerance * kept_deviation
            or abs(mean - kept_mean) > self._tolerance * kept_deviation
        )
        begin = start if stale else self._feats_end
        if begin >= edge:
            return
        first, last = begin * self.hop, (edge - 1) * self.hop + self.field
        wave = torch.from_numpy(self._normalized(self._audio_span(first, last), scale))
        new = self.model.features(wave[None].to(self.model.dtype))[0]
        self.feature_frames_computed += len(new)
        if stale:
            self._feats, self._feats_from, self._feats_scale = new, begin, scale
        else:
            self._feats = torch.cat([self._feats, new])
        self._feats_end = edge

    def _audio_span(self, first: int, last: int) -> np.ndarray:
        return self._audio[first - self._audio_from : last - self._audio_from]

    def _scale(self) -> tuple[float, float]:
        """(mean, deviation) the input is normalised with: the utterance's so far."""
        if not self.recognizer.normalize:
            return 0.0, 1.0
        mean = self._sum / self._n
        var = max(0.0, self._sumsq / self._n - mean * mean)
        return mean, max(math.sqrt(var + 1e-7), self._min_level)

    def _normalized(self, wave: np.ndarray, scale: tuple[float, float] | None = None) -> np.ndarray:
        if not self.recognizer.normalize:
            return np.ascontiguousarray(wave, dtype=np.float32)
        mean, deviation = scale or self._scale()
        return ((wave - mean) / deviation).astype(np.float32)

    def _forget(self, window_start: int) -> None:
        """Drop features and audio that no later window needs (the next window starts at
        ``window_start`` or later; stale features are recomputed from its audio)."""
        if self._feats is not None and window_start > self._feats_from:
            self._feats = self._feats[window_start - self._feats_from :]
            self._feats_from = window_start
        needed = window_start * self.hop
        if needed > self._audio_from:
            self._audio = self._audio[needed - self._audio_from :].copy()
            self._audio_from = needed

    # ------------------------------------------------------------------ words

    def _settle(self) -> list[StreamEvent]:
        """Move words closed by a committed delimiter into the stable words; a Final where
        the committed frames end in ``endpoint_silence_s`` of non-speech after a word."""
        ids = self._open.argmax(axis=1)
        chars = np.flatnonzero(self._is_char[ids])
        if len(chars):
            self._last_char_end = self._open_from + int(chars[-1]) + 1
        closing = np.flatnonzero(ids == self._delimiter)
        if len(chars) and len(closing) and closing[-1] > chars[0]:
            cut = int(closing[closing > chars[0]][-1]) + 1
            decoded = greedy_decode(
                self._open[:cut], self.vocab, self.frame_seconds, self._time(self._open_from)
            )
            self._stable += decoded.words
            self._stable_chars += decoded.chars
            self._drop_open(cut)
        elif not len(chars):
            self._drop_open(len(self._open))  # blanks and delimiters decode to nothing
        if self._endpoint is None or self._last_char_end is None:
            return []
        if self._commit - self._last_char_end < self._endpoint:
            return []
        cut = self._last_char_end + self._endpoint // 2
        final = self._final(cut, self._time(cut))
        return [final] if final is not None else []

    def _final(self, cut: int, end: Seconds) -> Final | None:
        """The segment up to frame ``cut`` as a Final (None when it holds no words); the
        next segment starts there."""
        inside = max(0, cut - self._open_from)  # frames before _open_from held no letters
        decoded = greedy_decode(
            self._open[:inside],
            self.vocab,
            self.frame_seconds,
            self._time(self._open_from),
        )
        words = self._stable + decoded.words
        chars = self._stable_chars + decoded.chars
        start = self._time(self._segment_from)
        self._drop_open(inside)
        self._stable, self._stable_chars = [], []
        self._segment_from = cut
        self._last_char_end = None
        if not words:
            return None
        text = " ".join(w.text for w in words)
        transcript = Transcript(text, words, chars, self.language, end - start)
        return Final(transcript, start, end)

    def _open_words(self) -> list[Segment]:
        frames = np.concatenate([self._open, self._tail])
        return greedy_decode(
            frames, self.vocab, self.frame_seconds, self._time(self._open_from)
        ).words

    def _drop_open(self, count: int) -> None:
        self._open = self._open[count:]
        self._open_from += count

    def _time(self, frame: int) -> Seconds:
        return self.t0 + frame * self.frame_seconds
