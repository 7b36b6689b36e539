"""speechlab.plots for the notebooks: waveform, word_timeline, stream_timeline."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from speechlab.audio import Audio
from speechlab.plots import stream_timeline, waveform, word_timeline
from speechlab.transcript import Segment, Transcript

pytestmark = pytest.mark.timeout(120)
WORDS = [Segment("Dzień", 0.1, 0.4, 0.9), Segment("dobry", 0.5, 0.8, None)]


def test_waveform_is_a_min_max_envelope_with_word_spans(tone):
    audio = Audio(tone(220, 16_000, 1.0, amplitude=0.5), 16_000)
    figure = waveform(audio, WORDS, bins=100)
    high, low = figure.data
    assert len(high.x) == len(low.x) == 100
    assert high.x[0] == 0.0 and high.x[-1] == pytest.approx(0.99)
    assert max(high.y) == pytest.approx(0.5, abs=1e-3) and min(low.y) == pytest.approx(-0.5, 1e-3)
    assert all(h >= lo for h, lo in zip(high.y, low.y, strict=True))
    assert [(s.x0, s.x1) for s in figure.layout.shapes] == [(0.1, 0.4), (0.5, 0.8)]
    assert [a.text for a in figure.layout.annotations] == ["Dzień", "dobry"]
    assert "1.00 s, 16000 Hz" in figure.layout.title.text


def test_waveform_takes_speech_and_short_or_empty_audio():
    class Speech:  # a TTS Speech: samples in .audio
        audio = np.array([0.0, 0.25, -0.5], dtype=np.float32)
        sample_rate = 24_000

    figure = waveform(Speech(), None, title="three samples")
    assert len(figure.data[0].x) == 3 and not figure.layout.shapes
    assert figure.layout.title.text == "three samples"
    empty = waveform(Audio(np.zeros(0, np.float32), 16_000))
    assert len(empty.data[0].x) == 0


def test_word_timeline_puts_each_input_on_its_row():
    first = Transcript("Dzień dobry", WORDS, source="/data/a.wav")
    second = Transcript("tak", [Segment("tak", 1.0, 1.2, 0.5)])
    figure = word_timeline([first, second])
    (bars,) = figure.data
    assert list(bars.y) == ["1: a.wav", "1: a.wav", "input 2"]
    assert list(bars.base) == [0.1, 0.5, 1.0]
    assert list(bars.x) == pytest.approx([0.3, 0.3, 0.2])
    assert list(bars.text) == ["Dzień", "dobry", "tak"]
    colours = list(bars.marker.color)
    assert colours[0] == 0.9 and math.isnan(colours[1]) and colours[2] == 0.5
    assert len(word_timeline(first).data[0].x) == 2  # one transcript works too


def test_stream_timeline_places_playback_after_the_first_chunk():
    chunks = pd.DataFrame(
        {
            "ready": [0.4, 1.0, 3.5],
            "start": [0.0, 0.8, 3.0],
            "end": [0.8, 3.0, 4.0],
            "text": ["Dzień dobry", "jak się masz dzisiaj rano", "Dobrze."],
        }
    )
    plays, ready = stream_timeline(chunks).data
    assert list(plays.base) == pytest.approx([0.4, 1.2, 3.4])  # playback starts at 0.4 s
    assert list(plays.x) == pytest.approx([0.8, 2.2, 1.0])
    assert list(ready.x) == [0.4, 1.0, 3.5]  # the third chunk is late: 3.5 > 3.4
    assert plays.y[0] == "1: Dzień dobry"
    assert "first chunk after 0.40 s" in stream_timeline(chunks).layout.title.text
