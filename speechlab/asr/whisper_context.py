"""Whisper with its encoder's context fitted to short audio (live recognition).

faster-whisper pads every window to Whisper's 30 s (3,000 mel frames) before the encoder,
so decoding a 2 s buffer costs as much encoder work as 30 s of speech. CTranslate2's
Whisper encoder also takes shorter inputs (what whisper.cpp calls ``audio_ctx``): the
encoder then hears the audio plus a little padding, and the decoder cross-attends to that.
On 2 CPU cores whisper-base (int8) encodes 3,000 frames in 0.70 s and 1,000 in 0.12 s.

How short may it be? 60 out-of-distribution sentences (``ood-kokoro`` of the v2 recipe,
3-6 s each, beam 5), WER against the text given: Whisper's 30 s 0.334 (90 s in all); the
audio plus 1-2 s 0.347 (28 s); at least 10 s 0.323 (34 s); at least 15 s 0.316 (41 s).
Single sentences vary more: the self-check sentence (5.1 s, Kokoro) loses "i" and "Jan
Kowalski" becomes one word with 6 or 10 s of context at beam 5, and is decoded exactly with
15 s or more. So the context is at least ``MIN_FRAMES`` (15 s): on the 60 sentences as
accurate as 30 s, 2.2 times faster.

:func:`fitted_whisper` wraps a loaded ``faster_whisper.WhisperModel`` (sharing its weights,
tokenizer and feature extractor) so that its own ``transcribe`` runs unchanged except for
the encoder's input: cut to :func:`context_frames` of the audio set on the wrapper before
each call. Whisper was trained on 30 s windows only; the stream benchmark measures what the
cut costs in words (``benchmarks/stream_bench.py``).
"""

from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np

__all__ = ["FULL_FRAMES", "MIN_FRAMES", "PAD_FRAMES", "context_frames", "fitted_whisper"]

FULL_FRAMES = 3000  # Whisper's 30 s window: 100 mel frames per second
MIN_FRAMES = 1500  # 15 s at least (measured above)
PAD_FRAMES = 100  # at least 1 s of padding after the audio (as the decoder expects silence)
_STEP_FRAMES = 100  # context lengths are whole seconds: few distinct shapes


def context_frames(samples: int, sample_rate: int = 16_000, *, minimum: int = MIN_FRAMES) -> int:
    """Mel frames the encoder hears for ``samples`` of audio: the audio plus 1-2 s of
    padding in whole seconds, at least ``minimum``, never more than Whisper's 3,000."""
    content = math.ceil(samples * 100 / sample_rate)
    fitted = math.ceil((content + PAD_FRAMES) / _STEP_FRAMES) * _STEP_FRAMES
    return min(FULL_FRAMES, max(minimum, fitted))


def fitted_whisper(model: Any) -> Any:
    """A view of ``model`` (a loaded ``faster_whisper.WhisperModel``) whose encoder hears
    ``view.frames`` mel frames (set it with :func:`context_frames` before ``transcribe``;
    3,000 means Whisper's usual window). Weights are shared, nothing is copied."""
    fitted = _fitted_class(type(model))
    view = fitted.__new__(fitted)
    view.__dict__.update(model.__dict__)
    view.frames = FULL_FRAMES
    return view


@functools.cache
def _fitted_class(base: type) -> type:
    class FittedWhisper(base):  # type: ignore[misc, valid-type]
        frames: int

        def encode(self, features: np.ndarray) -> Any:
            # faster-whisper pads each window to 3,000 frames just before this call
            keep = min(features.shape[-1], self.frames)
            return super().encode(np.ascontiguousarray(features[..., :keep]))

    FittedWhisper.__name__ = FittedWhisper.__qualname__ = f"Fitted{base.__name__}"
    return FittedWhisper
