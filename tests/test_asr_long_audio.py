"""Long files in pieces cut at pauses (speechlab.asr.long_audio) and Whisper beyond 4 h."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

import speechlab
from speechlab.asr import long_audio
from speechlab.transcript import Segment, Transcript


def _bursts(path, rate=16_000, burst=7.0, gap=0.5, n=6):
    """``n`` bursts of noise of ``burst`` s separated by ``gap`` s of silence; returns the
    samples and the (start, end) of each gap in seconds."""
    rng = np.random.default_rng(0)
    parts, gaps, t = [], [], 0.0
    for i in range(n):
        parts.append((0.3 * rng.standard_normal(int(burst * rate))).astype(np.float32))
        t += burst
        if i < n - 1:
            parts.append(np.zeros(int(gap * rate), np.float32))
            gaps.append((t, t + gap))
            t += gap
    samples = np.concatenate(parts)
    sf.write(path, samples, rate, subtype="FLOAT")
    return samples, gaps


def test_pieces_hold_every_sample_once_and_end_in_the_pauses(tmp_path):
    samples, gaps = _bursts(tmp_path / "b.wav")
    pieces = list(long_audio.pieces(tmp_path / "b.wav", 16_000, seconds=10.0, search=4.0))
    assert np.array_equal(np.concatenate([p.samples for p in pieces]), samples)
    offsets = [p.offset for p in pieces]
    assert offsets == sorted(offsets) and offsets[0] == 0.0
    for piece in pieces[1:]:  # every cut falls inside a silent gap
        assert any(start <= piece.offset <= end for start, end in gaps), piece.offset
    assert all(p.duration <= 10.0 + 1e-9 for p in pieces[:-1])


def test_pieces_of_a_file_shorter_than_one_piece(tmp_path):
    sf.write(tmp_path / "s.wav", np.full(800, 0.1, np.float32), 8_000)
    (only,) = long_audio.pieces(tmp_path / "s.wav", 16_000, seconds=60.0)
    assert only.offset == 0.0 and only.duration == pytest.approx(0.1)


def test_join_moves_times_by_each_offset():
    a = Transcript("dzień dobry", [Segment("dzień", 0.1, 0.5, 0.9)], [], "pl", 10.0)
    b = Transcript("", [], [], "en", 5.0)  # a piece with nothing heard
    c = Transcript("do widzenia", [Segment("do", 0.2, 0.3)], [], "pl", 5.0)
    template = Transcript("", [], [], None, 20.0, "x.wav", reference="ref")
    joined = long_audio.join([(0.0, a), (10.0, b), (15.0, c)], template)
    assert joined.text == "dzień dobry do widzenia"
    assert [(w.text, w.start, w.end) for w in joined.words] == [
        ("dzień", 0.1, 0.5),
        ("do", 15.2, 15.3),
    ]
    assert (joined.language, joined.duration, joined.source, joined.reference) == (
        "pl",
        20.0,
        "x.wav",
        "ref",
    )


@pytest.mark.realweights
@pytest.mark.slow
def test_whisper_reads_long_files_in_pieces_and_keeps_every_sentence(
    real_store, polish_clip, tmp_path
):
    """The self-check sentence twice with 1 s between; Whisper's whole-file limit lowered to
    5 s so the file goes in two 8-s pieces (the cut lands in the pause)."""
    clip = speechlab.load(polish_clip)
    two = np.concatenate([clip.samples, np.zeros(16_000, np.float32), clip.samples])
    path = speechlab.Audio(two, 16_000).save(tmp_path / "two.wav")
    asr = speechlab.load_asr("whisper-base", language="pl")
    asr.max_whole_seconds, asr.piece_seconds = 5.0, 8.0
    result = asr.transcribe(path, progress=False)
    assert result.text.count("Kowalski") == 2, result.text
    starts = [w.start for w in result.words]
    assert starts == sorted(starts) and result.words[-1].end <= result.duration
    second = [w for w in result.words if w.text.startswith("Kowalski")][1]
    assert second.start > clip.duration + 1.0  # in the second piece's clock, moved
