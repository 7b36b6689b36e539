"""The work of one bucket of utterances, the same in a Ray actor and in the local engine.

A *bucket* is a list of utterance dicts (``order``, ``id``, ``path``, ``reference``,
``duration``, ``source``: a path, encoded bytes or ``(array, rate)``) of similar length,
formed by the driver, so both engines run exactly the same padded batches and give the
same transcripts (Whisper's sampler starts from the same seed in every process; clips that
fall back to sampling may still differ, see :func:`_same_random_state`). :func:`decode_bucket`
reads the audio (a file that cannot be read gets an ``error``); :class:`BucketTranscriber`
holds one loaded model and turns a decoded bucket into result rows; a file that fails
inside a batch is retried alone, and one that still fails becomes an error row, never a
crash of the job.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from speechlab import audio as audio_io
from speechlab.errors import SpeechlabError
from speechlab.transcript import Transcript

__all__ = ["BucketTranscriber", "decode_bucket", "error_row", "transcript_row"]

#: Files longer than this stay paths: the recognizer reads them in blocks.
LONG_FILE_S = 600.0
SAMPLE_RATE = 16_000


def decode_bucket(bucket: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each utterance's ``audio`` (mono float32 at 16 kHz) or its ``error``."""
    decoded = []
    for item in bucket:
        item = dict(item)
        source = item.pop("source")
        try:
            if isinstance(source, str | os.PathLike) and (item.get("duration") or 0) > LONG_FILE_S:
                item["audio"] = Path(source)
            else:
                item["audio"] = audio_io.load(source, sample_rate=SAMPLE_RATE)
        except SpeechlabError as exc:
            item["error"] = f"{type(exc).__name__}: {exc}"
        decoded.append(item)
    return decoded


class BucketTranscriber:
    """One recognizer, loaded once (``load_asr(model, **options)``), for many buckets."""

    def __init__(self, model: str, options: dict[str, Any], language: str | None) -> None:
        from speechlab.asr import load_asr

        self.recognizer = load_asr(model, **options)
        self.language = language
        self.label = self.recognizer.label

    def __call__(self, bucket: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Result rows for a decoded bucket, in the bucket's order."""
        _same_random_state()
        ready = [item for item in bucket if "error" not in item]
        transcripts = dict(zip([id(i) for i in ready], self._transcribe(ready), strict=True))
        rows = []
        for item in bucket:
            found = transcripts.get(id(item))
            if isinstance(found, Transcript):
                rows.append(transcript_row(item, found, self.label))
            else:
                rows.append(error_row(item, found or item["error"], self.label))
        return rows

    def _transcribe(self, items: list[dict[str, Any]]) -> list[Transcript | str]:
        if not items:
            return []
        inputs = [item["audio"] for item in items]
        try:
            return self.recognizer.transcribe(
                inputs, batch_size=len(inputs), language=self.language, progress=False
            )
        except SpeechlabError as exc:
            if len(items) == 1:
                return [f"{type(exc).__name__}: {exc}"]
        return [self._alone(item) for item in items]  # find the one that fails

    def _alone(self, item: dict[str, Any]) -> Transcript | str:
        try:
            return self.recognizer.transcribe(item["audio"], language=self.language, progress=False)
        except SpeechlabError as exc:
            return f"{type(exc).__name__}: {exc}"


def _same_random_state() -> None:
    """Seed CTranslate2's sampler before every bucket. faster-whisper falls back to sampling
    (temperatures 0.2 ... 1.0) on clips it is unsure of, so a transcript depends on the
    sampler's state. CTranslate2 seeds a decoding thread's generator once, when the thread
    first samples, so this makes every process (the local engine, each actor) start from
    the same state; a later bucket's sampled clips still depend on what ran before them."""
    ctranslate2 = sys.modules.get("ctranslate2")
    if ctranslate2 is not None:
        ctranslate2.set_random_seed(0)


def transcript_row(item: dict[str, Any], transcript: Transcript, model: str) -> dict[str, Any]:
    """A result row: what the merged manifest holds for one utterance."""
    return {
        "order": item["order"],
        "id": item["id"],
        "path": item.get("path"),
        "reference": item.get("reference") or "",
        "text": transcript.text,
        "words": [
            {"text": w.text, "start": w.start, "end": w.end, "confidence": w.confidence}
            for w in transcript.words
        ],
        "language": transcript.language,
        "duration": round(float(transcript.duration), 3),
        "model": model,
        "error": None,
    }


def error_row(item: dict[str, Any], error: str, model: str) -> dict[str, Any]:
    """The row of an utterance that could not be transcribed (``text`` empty)."""
    return {
        "order": item["order"],
        "id": item["id"],
        "path": item.get("path"),
        "reference": item.get("reference") or "",
        "text": "",
        "words": [],
        "language": None,
        "duration": round(float(item.get("duration") or 0.0), 3),
        "model": model,
        "error": error,
    }
