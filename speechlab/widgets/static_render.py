"""The static rendering of the viewer, for executed notebooks and reports that have no widget
manager: waveform + log-mel spectrogram as one inline PNG, tiers as HTML, and an ``<audio>``
element with the clip inline as Ogg/Opus (about a tenth of a 16-bit WAV).

Everything is self-contained HTML (data URIs, inline styles, no script), so it shows in
nbconvert's HTML, ``report.html`` opened offline and GitHub-style static views."""

from __future__ import annotations

import base64
import html
import struct
import zlib
from collections.abc import Sequence

import numpy as np

from speechlab.audio import Audio
from speechlab.report_html import opus_bytes
from speechlab.widgets.signals import Spectrogram, envelope, log_mel
from speechlab.widgets.tiers import Tier

__all__ = ["audio_html", "picture", "png_bytes", "viewer_html"]

#: The picture is at most this many pixels wide (spectrogram frames are resampled).
MAX_WIDTH = 1000
WAVE_HEIGHT = 60
SPECTROGRAM_ROW_HEIGHT = 2  # pixels per mel band
_STOPS = (  # magma-like, as in static/viewer.js
    (0.0, (0, 0, 4)),
    (0.25, (59, 15, 112)),
    (0.5, (140, 41, 129)),
    (0.75, (241, 96, 93)),
    (1.0, (252, 253, 191)),
)
_WAVE_RGB = (59, 110, 168)
_SPECTROGRAM_COLOURS = 254
_LABEL_STYLE = "flex:0 0 6.5em;font-size:11px;color:#555;padding-right:4px;text-align:right"
_SEG_STYLE = (
    "position:absolute;top:1px;bottom:1px;overflow:hidden;white-space:nowrap;"
    "font-size:12px;line-height:1.5em;padding:0 2px;box-sizing:border-box;"
    "border:1px solid #64b5f6;background:#e3f2fd;color:#111"
)


def png_bytes(rgb: np.ndarray) -> bytes:
    """An (height, width, 3) uint8 image as PNG bytes (zlib only, no imaging library):
    indexed colour when it has at most 256 colours (half the size of RGB for the picture),
    every row filtered against the row above (PNG filter "Up")."""
    rgb = np.ascontiguousarray(rgb, dtype=np.uint8)
    height, width, _ = rgb.shape
    colours, index = np.unique(rgb.reshape(-1, 3), axis=0, return_inverse=True)
    palette = b""
    if len(colours) <= 256:
        pixels, colour_type = index.reshape(height, width).astype(np.uint8), 3
        palette = colours.astype(np.uint8).tobytes()
    else:
        pixels, colour_type = rgb.reshape(height, -1), 2
    up = pixels.copy()
    up[1:] -= pixels[:-1]  # uint8 arithmetic wraps modulo 256, as the filter wants
    rows = np.concatenate([np.full((height, 1), 2, np.uint8), up], axis=1)

    def chunk(tag: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(tag + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, colour_type, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + (chunk(b"PLTE", palette) if palette else b"")
        + chunk(b"IDAT", zlib.compress(rows.tobytes(), 9))
        + chunk(b"IEND", b"")
    )


def _colours(levels: int) -> np.ndarray:
    x = np.arange(levels) / (levels - 1)
    stops = np.array([s for s, _ in _STOPS])
    rgb = np.array([c for _, c in _STOPS], np.float64)
    return np.stack([np.interp(x, stops, rgb[:, c]) for c in range(3)], axis=1).astype(np.uint8)


def picture(audio: Audio, spec: Spectrogram | None = None) -> np.ndarray:
    """Waveform (top) over the log-mel spectrogram (low bands at the bottom), as RGB."""
    spec = spec or log_mel(audio)
    width = max(1, min(MAX_WIDTH, spec.n_frames))
    pixels = np.frombuffer(spec.pixels, np.uint8).reshape(spec.n_mels, spec.n_frames)
    columns = np.linspace(0, spec.n_frames, width, endpoint=False).astype(np.int64)
    # 254 colours for the spectrogram, + white and blue: the picture fits a PNG palette
    levels = _SPECTROGRAM_COLOURS - 1
    bands = _colours(_SPECTROGRAM_COLOURS)[pixels[::-1, columns].astype(np.uint16) * levels // 255]
    bands = np.repeat(bands, SPECTROGRAM_ROW_HEIGHT, axis=0)
    wave = np.full((WAVE_HEIGHT, width, 3), 255, np.uint8)
    env = envelope(audio.samples, width).reshape(-1, 2)
    peak = max(float(np.abs(env).max()), 1e-6)
    mid = (WAVE_HEIGHT - 1) / 2
    top = np.round(mid - env[:, 1] / peak * mid).astype(np.int64)
    bottom = np.round(mid - env[:, 0] / peak * mid).astype(np.int64)
    rows = np.arange(WAVE_HEIGHT)[:, None]
    wave[(rows >= top[None, :]) & (rows <= bottom[None, :])] = _WAVE_RGB
    return np.concatenate([wave, bands], axis=0)


def audio_html(audio: Audio, *, css_class: str = "speechlab-static-audio") -> str:
    """A playable ``<audio controls>`` with the clip inline (Ogg/Opus data URI)."""
    data = base64.b64encode(opus_bytes(audio)).decode("ascii")
    return (
        f'<audio class="{css_class}" controls preload="metadata" '
        f'src="data:audio/ogg;base64,{data}"></audio>'
    )


def _tier_row(tier: Tier, duration: float) -> str:
    name = html.escape(tier.name, quote=True)
    spans = []
    for seg in tier.segments:
        left = 100 * max(0.0, seg.start) / duration
        width = max(0.0, 100 * (min(seg.end, duration) - max(0.0, seg.start)) / duration)
        text = html.escape(seg.text)
        spans.append(
            f'<span class="speechlab-static-seg" data-tier="{name}" '
            f'data-start="{seg.start:.3f}" data-end="{seg.end:.3f}" '
            f'title="{html.escape(seg.text, quote=True)} {seg.start:.2f}–{seg.end:.2f} s" '
            f'style="{_SEG_STYLE};left:{left:.3f}%;width:{width:.3f}%">{text}</span>'
        )
    return (
        f'<div class="speechlab-static-tier" data-tier="{name}" style="display:flex">'
        f'<div style="{_LABEL_STYLE}">{name}</div>'
        '<div style="flex:1;position:relative;height:1.7em;border-bottom:1px solid #ddd">'
        f"{''.join(spans)}</div></div>"
    )


def viewer_html(
    audio: Audio,
    tiers: Sequence[Tier] = (),
    *,
    title: str = "",
    spec: Spectrogram | None = None,
) -> str:
    """The viewer as static HTML: title, picture, one row per tier, a player."""
    spec = spec or log_mel(audio)
    rgb = picture(audio, spec)
    image = base64.b64encode(png_bytes(rgb)).decode("ascii")
    duration = max(audio.duration, 1e-6)
    heading = (
        f'<div style="font-weight:600;margin-bottom:4px">{html.escape(title)}</div>'
        if title
        else ""
    )
    rows = "".join(_tier_row(tier, duration) for tier in tiers)
    return (
        '<div class="speechlab-static speechlab-static-viewer" '
        'style="font-family:sans-serif;max-width:1000px;margin:4px 0">'
        f"{heading}"
        '<div style="display:flex">'
        f'<div style="{_LABEL_STYLE}">wave<br><br>log-mel<br>0–{spec.fmax / 1000:.0f} kHz</div>'
        '<img class="speechlab-static-picture" alt="waveform and log-mel spectrogram" '
        f'src="data:image/png;base64,{image}" '
        f'style="flex:1;min-width:0;width:100%;height:{rgb.shape[0]}px;display:block"></div>'
        f"{rows}"
        f'<div style="margin-top:4px">{audio_html(audio)}</div>'
        f'<div style="font-size:11px;color:#777">{audio.duration:.2f} s · static view; '
        "run the notebook for the interactive viewer</div></div>"
    )
