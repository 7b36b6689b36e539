"""What an executed notebook's HTML report shows, made self-contained and small.

* **Widgets**: a live widget view (``application/vnd.jupyter.widget-view+json``) is drawn
  in nbconvert's HTML by a widget manager loaded from a CDN, so offline it is empty.
  speechlab's widgets put a static ``text/html`` rendering beside their view
  (``speechlab.widgets.fallback``); ``static_widget_outputs`` keeps only that HTML, and
  drops the saved widget state when no widget view is left (then the page loads nothing
  from a CDN).
* **Audio**: players with an inline 16-bit WAV (``IPython.display.Audio``: 64 kB per
  second once base64-encoded) are re-encoded as Ogg/Opus (~6 kB per second) by
  ``compact_audio``; Chromium, Firefox and Safari ≥ 15 play it.
* **plotly.js**: plotly's ``notebook`` renderer inlines the whole plotly.js (4.8 MB) once;
  ``lighter_plotly`` swaps it for a partial bundle (``speechlab/data/plotly/``: 1.2 MB for
  bar/pie/scatter, 1.5 MB with heatmaps and histograms) when that draws every figure of
  the notebook and has the same version.

Only the report's copy of the notebook changes; the executed ``.ipynb`` keeps everything.
"""

from __future__ import annotations

import base64
import binascii
import functools
import gzip
import logging
import re
from importlib import resources
from typing import Any

from speechlab.audio import Audio, load
from speechlab.errors import AudioError

__all__ = [
    "OPUS_RATES",
    "PLOTLY_BUNDLES",
    "compact_audio",
    "lighter_plotly",
    "opus_bytes",
    "static_widget_outputs",
]

log = logging.getLogger(__name__)

WIDGET_VIEW_MIME = "application/vnd.jupyter.widget-view+json"
#: Opus encodes at these rates; audio at another rate is resampled to 24 kHz first.
OPUS_RATES = (8_000, 12_000, 16_000, 24_000, 48_000)
OPUS_RATE = 24_000
_WAV_URI = re.compile(r"data:audio/(?:x-)?wav;base64,([A-Za-z0-9+/=\s]+)")
_WAV_TYPE = re.compile(r"""type=(["'])audio/(?:x-)?wav\1""")
PLOTLY_MIME = "application/vnd.plotly.v1+json"
#: The banner that opens the full plotly.js bundle (a partial one says "(basic - minified)").
_PLOTLY_BANNER = re.compile(r"/\*\*\s*\*\s*plotly\.js v(\d+\.\d+\.\d+)\s")
#: Partial plotly.js bundles in ``speechlab/data/plotly/``, smallest first: the trace types
#: each draws. Figures with geo, map, polar, 3-D or ternary layouts keep the full bundle.
_CARTESIAN = "bar box contour heatmap histogram histogram2d histogram2dcontour image pie scatter"
PLOTLY_BUNDLES: dict[str, frozenset[str]] = {
    "basic": frozenset({"bar", "pie", "scatter"}),
    "cartesian": frozenset(f"{_CARTESIAN} scatterternary violin".split()),
}
_FULL_ONLY_LAYOUT = ("geo", "map", "mapbox", "polar", "scene", "ternary", "smith")


def opus_bytes(audio: Audio) -> bytes:
    """``audio`` as Ogg/Opus (libsndfile's default bitrate, about 38 kb/s for speech), at its
    own rate when Opus has it, else resampled to 24 kHz."""
    if audio.sample_rate not in OPUS_RATES:
        import soxr

        audio = Audio(soxr.resample(audio.samples, audio.sample_rate, OPUS_RATE), OPUS_RATE)
    return audio.to_bytes("OGG", "OPUS")


def _outputs(notebook: Any) -> list[dict[str, Any]]:
    return [
        output
        for cell in notebook.get("cells", [])
        if cell.get("cell_type") == "code"
        for output in cell.get("outputs", [])
        if output.get("output_type") in ("display_data", "execute_result")
    ]


def static_widget_outputs(notebook: Any) -> int:
    """Drop the widget view from outputs that also hold ``text/html`` (in place), and the
    saved widget state when no view is left; returns how many views were dropped."""
    dropped = 0
    outputs = _outputs(notebook)
    for output in outputs:
        data = output.get("data", {})
        if WIDGET_VIEW_MIME in data and "text/html" in data:
            del data[WIDGET_VIEW_MIME]
            dropped += 1
    if not any(WIDGET_VIEW_MIME in output.get("data", {}) for output in outputs):
        notebook.get("metadata", {}).pop("widgets", None)
    return dropped


def compact_audio(notebook: Any) -> int:
    """Re-encode the inline WAV players of ``text/html`` outputs as Ogg/Opus (in place);
    returns how many were re-encoded. A WAV that does not decode is left as it is."""
    done = 0

    def opus_uri(match: re.Match[str]) -> str:
        nonlocal done
        try:
            wav = base64.b64decode(re.sub(r"\s", "", match.group(1)), validate=True)
            encoded = opus_bytes(load(wav, sample_rate=None))
        except (binascii.Error, AudioError) as exc:
            log.warning("report: an inline WAV stays as it is (%s)", exc)
            return match.group(0)
        done += 1
        return "data:audio/ogg;base64," + base64.b64encode(encoded).decode("ascii")

    for output in _outputs(notebook):
        data = output.get("data", {})
        page = data.get("text/html")
        if page is None:
            continue
        text = "".join(page) if isinstance(page, list) else page
        if "data:audio/" not in text:
            continue
        before = done
        text = _WAV_URI.sub(opus_uri, text)
        if done > before:
            data["text/html"] = _WAV_TYPE.sub(r"type=\1audio/ogg\1", text)
    return done


def lighter_plotly(notebook: Any) -> str | None:
    """Replace the inline full plotly.js in the ``text/html`` outputs (in place) with the
    smallest partial bundle that draws every plotly figure of ``notebook``; returns its name
    (``"basic"``, ``"cartesian"``), or None when the full bundle stays."""
    outputs = _outputs(notebook)
    traces: set[str] = set()
    for output in outputs:
        figure = output.get("data", {}).get(PLOTLY_MIME)
        if not isinstance(figure, dict):
            continue
        layout = figure.get("layout", {})
        if any(key.rstrip("0123456789") in _FULL_ONLY_LAYOUT for key in layout):
            return None
        traces |= {trace.get("type", "scatter") for trace in figure.get("data", [])}
    chosen = None
    for output in outputs:
        data = output.get("data", {})
        page = data.get("text/html")
        if page is None:
            continue
        text = "".join(page) if isinstance(page, list) else page
        banner = _PLOTLY_BANNER.search(text)
        if banner is None:
            continue
        end = text.find("</script>", banner.end())
        name = next((n for n, kinds in PLOTLY_BUNDLES.items() if traces <= kinds), None)
        bundle = _plotly_bundle(name, banner.group(1)) if name else None
        if end < 0 or bundle is None:
            return None
        data["text/html"] = text[: banner.start()] + bundle + text[end:]
        chosen = name
    return chosen


@functools.cache
def _plotly_bundle(name: str, version: str) -> str | None:
    """The partial bundle ``name`` of plotly.js ``version``, when speechlab ships it."""
    path = resources.files("speechlab") / "data" / "plotly" / f"plotly-{name}-{version}.min.js.gz"
    if not path.is_file():
        log.info("report: no plotly.js %s bundle for version %s; the full one stays", name, version)
        return None
    return gzip.decompress(path.read_bytes()).decode("utf-8")
