"""Files too long to decode whole, read in pieces cut at pauses, and their transcripts joined.

Whisper (faster-whisper) needs its input in memory, so ``speechlab.audio.load`` refuses
files longer than ``max_duration`` (4 h). A recognizer that meets such a file reads it
with :func:`pieces` instead: blocks of about ``seconds`` each, each cut at the quietest
100 ms of its last ``search`` seconds, so a cut falls in a pause whenever there is one and
never splits a word that is followed by one. :func:`join` puts the pieces' transcripts
back together with times in the file's clock. Memory stays about one piece (30 min of
16 kHz float32: 115 MB) whatever the file's length.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np

from speechlab import audio as audio_io
from speechlab.audio import Audio, Seconds
from speechlab.transcript import Segment, Transcript

__all__ = ["PIECE_SECONDS", "SEARCH_SECONDS", "join", "pieces"]

#: Length of one piece of a long file.
PIECE_SECONDS: Seconds = 30 * 60.0
#: A piece ends at the quietest 100 ms of its last this-many seconds.
SEARCH_SECONDS: Seconds = 30.0
_FRAME_SECONDS = 0.1


def pieces(
    path: str | Path,
    sample_rate: int,
    *,
    seconds: Seconds = PIECE_SECONDS,
    search: Seconds = SEARCH_SECONDS,
) -> Iterator[Audio]:
    """Consecutive pieces of ``path`` (each about ``seconds`` long, ``offset`` set), cut at
    the quietest 100 ms of the last ``search`` seconds of each; together they hold every
    sample exactly once."""
    search = min(search, seconds / 2)
    size = round(seconds * sample_rate)
    held: list[np.ndarray] = []
    n_held = 0
    start = 0  # sample index of held[0][0] in the file
    for block in audio_io.iter_blocks(path, seconds=search, sample_rate=sample_rate):
        held.append(block.samples)
        n_held += len(block.samples)
        if n_held < size:
            continue
        joined = np.concatenate(held)
        held.clear()
        cut = _quietest_cut(joined, size, round(search * sample_rate), sample_rate)
        rest = joined[cut:].copy()  # so the piece's memory goes once the caller is done
        yield Audio(joined[:cut], sample_rate, str(path), start / sample_rate)
        del joined
        start += cut
        held, n_held = [rest], len(rest)
    if n_held:
        yield Audio(np.concatenate(held), sample_rate, str(path), start / sample_rate)


def join(parts: Sequence[tuple[Seconds, Transcript]], template: Transcript) -> Transcript:
    """One transcript from ``(offset, transcript)`` pieces: texts joined with a space, word
    and character times moved by each piece's offset. ``template`` gives the fields that
    describe the whole input (duration, source, reference); the language is the one most
    pieces were heard in."""
    words: list[Segment] = []
    chars: list[Segment] = []
    languages: list[str] = []
    for offset, part in parts:
        words += [_shift(w, offset) for w in part.words]
        chars += [_shift(c, offset) for c in part.chars]
        if part.text and part.language:
            languages.append(part.language)
    language = max(set(languages), key=languages.count) if languages else template.language
    return Transcript(
        " ".join(part.text for _, part in parts if part.text),
        words,
        chars,
        language,
        template.duration,
        template.source,
        reference=template.reference,
    )


def _quietest_cut(samples: np.ndarray, size: int, search: int, rate: int) -> int:
    """The sample index, within ``[size - search, size]``, at the middle of the 100 ms frame
    with the least energy."""
    frame = max(1, round(_FRAME_SECONDS * rate))
    lo = max(0, size - search)
    window = samples[lo:size]
    n = len(window) // frame
    if n == 0:
        return size
    energy = np.square(window[: n * frame].reshape(n, frame), dtype=np.float64).sum(axis=1)
    return lo + int(np.argmin(energy)) * frame + frame // 2


def _shift(segment: Segment, offset: Seconds) -> Segment:
    return Segment(
        segment.text,
        round(segment.start + offset, 3),
        round(segment.end + offset, 3),
        segment.confidence,
    )
