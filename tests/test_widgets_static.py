"""The widgets' static rendering (``text/html`` beside the live view) for reports and static
notebook views: picture, tiers, a playable Ogg/Opus player; no browser needed."""

from __future__ import annotations

import base64
import io
import logging
import re
import struct
import zlib

import anywidget
import numpy as np
import pytest
import soundfile as sf

from speechlab import Audio, Segment, Transcript
from speechlab.tts import Speech, SpeechChunk
from speechlab.widgets import AlignmentViewer, VoiceMixer, view
from speechlab.widgets.fallback import STATIC_MIME, WIDGET_VIEW_MIME, StaticFallback
from speechlab.widgets.static_render import (
    SPECTROGRAM_ROW_HEIGHT,
    WAVE_HEIGHT,
    picture,
    png_bytes,
    viewer_html,
)
from speechlab.widgets.tiers import Tier

RATE = 24_000


def _speechlike(seconds: float = 2.0, rate: int = RATE) -> Audio:
    """A 200 Hz buzz with harmonics, on for the first half of each second."""
    t = np.arange(round(rate * seconds)) / rate
    buzz = sum(np.sin(2 * np.pi * 200 * k * t) / k for k in range(1, 12))
    return Audio((0.2 * buzz * ((t % 1) < 0.5)).astype(np.float32), rate)


def _bundle(widget) -> dict:
    bundle = widget._repr_mimebundle_(include=None, exclude=None)
    return bundle[0] if isinstance(bundle, tuple) else bundle


def _png_pixels(data: bytes) -> np.ndarray:
    """Decode the 8-bit RGB or indexed PNG, rows filtered "Up", that ``png_bytes`` writes."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height, depth, colour_type = struct.unpack(">IIBB", data[16:26])
    chunks, at = {}, 8
    while at < len(data):
        length, tag = struct.unpack(">I4s", data[at : at + 8])
        chunks[tag] = data[at + 8 : at + 8 + length]
        at += 12 + length
    per_pixel = 3 if colour_type == 2 else 1
    raw = np.frombuffer(zlib.decompress(chunks[b"IDAT"]), np.uint8)
    rows = raw.reshape(height, 1 + per_pixel * width)
    assert depth == 8 and (rows[:, 0] == 2).all()
    pixels = np.cumsum(rows[:, 1:], axis=0, dtype=np.uint64).astype(np.uint8)  # undo "Up"
    if colour_type == 3:
        palette = np.frombuffer(chunks[b"PLTE"], np.uint8).reshape(-1, 3)
        return palette[pixels]
    return pixels.reshape(height, width, 3)


@pytest.mark.parametrize("kind", ["indexed", "rgb"])
def test_png_bytes_round_trip(kind):
    rng = np.random.default_rng(0)
    if kind == "indexed":  # 3 colours: a palette
        rgb = rng.integers(0, 256, (3, 3), dtype=np.uint8)[rng.integers(0, 3, (17, 19))]
    else:  # ~320 distinct colours: more than a palette holds
        rgb = rng.integers(0, 256, (17, 19, 3), dtype=np.uint8)
    data = png_bytes(rgb)
    assert data[25] == (3 if kind == "indexed" else 2)  # the colour type
    np.testing.assert_array_equal(_png_pixels(data), rgb)


def test_picture_has_the_waveform_over_the_spectrogram():
    audio = _speechlike()
    rgb = picture(audio)
    assert rgb.shape == (WAVE_HEIGHT + 80 * SPECTROGRAM_ROW_HEIGHT, 201, 3)  # 10 ms frames, centred
    wave, spec = rgb[:WAVE_HEIGHT], rgb[WAVE_HEIGHT:].astype(int).sum(axis=2)
    blue = (wave == (59, 110, 168)).all(axis=2)
    on, off = np.r_[5:45, 105:145], np.r_[55:95, 155:195]  # columns of 10 ms
    assert blue[:, on].mean() > 0.5 and blue[:, off].mean() < 0.05  # sound, then silence
    assert spec[:, on].mean() > 3 * spec[:, off].mean()  # bright where it sounds


def test_viewer_bundle_keeps_the_widget_and_adds_static_html():
    words = [Segment("ala", 0.05, 0.45), Segment("<ma>", 1.05, 1.45)]
    viewer = view(Transcript("ala <ma>", words, [], "pl", 2.0), audio=_speechlike())
    data = _bundle(viewer)
    assert data[WIDGET_VIEW_MIME]["model_id"] == viewer.model_id
    page = data[STATIC_MIME]
    assert "<script" not in page and "http" not in page  # self-contained
    segs = re.findall(r'class="speechlab-static-seg" data-tier="words"[^>]*>([^<]*)<', page)
    assert segs == ["ala", "&lt;ma&gt;"]
    assert "left:2.500%;width:20.000%" in page
    (png,) = re.findall(r'src="data:image/png;base64,([^"]+)"', page)
    assert _png_pixels(base64.b64decode(png)).shape[1] == 201
    (ogg,) = re.findall(r'<audio[^>]*src="data:audio/ogg;base64,([^"]+)"', page)
    clip, rate = sf.read(io.BytesIO(base64.b64decode(ogg)))
    assert rate == RATE and len(clip) == pytest.approx(2 * RATE, abs=0.02 * RATE)
    # measured 9.7 kB of Ogg/Opus for these 2 s, against 96 kB of 16-bit WAV
    assert len(base64.b64decode(ogg)) < 0.25 * 2 * 2 * RATE


def test_an_empty_viewer_has_only_the_widget_view():
    data = _bundle(AlignmentViewer())
    assert WIDGET_VIEW_MIME in data and STATIC_MIME not in data


def test_a_failing_static_rendering_still_shows_the_widget(monkeypatch, caplog):
    viewer = view(_speechlike())

    def broken(*args, **kwargs):
        raise ValueError("boom")

    monkeypatch.setattr("speechlab.widgets.viewer.viewer_html", broken)
    with caplog.at_level(logging.WARNING, logger="speechlab.widgets.fallback"):
        data = _bundle(viewer)
    assert WIDGET_VIEW_MIME in data and STATIC_MIME not in data
    assert "no static rendering" in caplog.text


def test_the_mixin_works_for_any_widget():
    class Probe(StaticFallback, anywidget.AnyWidget):
        _esm = "export default { render() {} }"

        def static_html(self) -> str:
            return "<b>probe</b>"

    data = _bundle(Probe())
    assert data[STATIC_MIME] == "<b>probe</b>" and WIDGET_VIEW_MIME in data


class _OneVoiceTTS:
    voices = ("alpha", "beta")
    default_voice = "alpha"
    default_lang = "pl"

    def synthesize(self, text, *, voice, speed, lang):
        audio = _speechlike(1.0).samples
        words = [Segment(w, 0.1 + i * 0.3, 0.35 + i * 0.3) for i, w in enumerate(text.split())]
        return Speech(audio, RATE, [SpeechChunk(text, "ala", audio, 0.0, words)])


def test_mixer_static_html_shows_settings_then_the_result():
    mixer = VoiceMixer(_OneVoiceTTS(), text="Ala ma <kota>", autoplay=False)
    before = _bundle(mixer)
    assert WIDGET_VIEW_MIME in before
    assert "alpha 100%" in before[STATIC_MIME] and "Ala ma &lt;kota&gt;" in before[STATIC_MIME]
    assert "No synthesis yet" in before[STATIC_MIME]
    mixer.synthesize().join(10)
    after = _bundle(mixer)[STATIC_MIME]
    assert "speechlab-static-viewer" in after and 'data-tier="tts words"' in after
    assert after.count("<audio") == 1


def test_viewer_html_escapes_tier_names_and_titles():
    tier = Tier.of('a"b', [Segment("x", 0.0, 0.5)])
    page = viewer_html(_speechlike(1.0), [tier], title="<t>")
    assert 'data-tier="a&quot;b"' in page and "&lt;t&gt;" in page
