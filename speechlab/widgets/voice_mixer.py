"""The voice mixer: weight the synthesiser's voices, pick speed and language, listen, look at
the spectrogram, and copy the blend spec (``"jm_kumo:0.7,jf_alpha:0.3"``) that
``Synthesizer.synthesize(voice=...)`` takes.

Synthesis runs on a worker thread, so the kernel stays free to handle the sliders meanwhile.
"""

from __future__ import annotations

import html
import logging
import threading
import time
from dataclasses import dataclass
from typing import Any

import ipywidgets as w

from speechlab.errors import SpeechlabError
from speechlab.tts import MAX_SPEED, MIN_SPEED, Speech, Synthesizer
from speechlab.tts.g2p import LANGUAGES
from speechlab.tts.voices import parse_blend
from speechlab.widgets.copy import CopyButton
from speechlab.widgets.errors import WidgetError
from speechlab.widgets.fallback import StaticFallback
from speechlab.widgets.tiers import speech_tiers
from speechlab.widgets.viewer import AlignmentViewer

__all__ = ["VoiceMixer", "blend_spec", "mixer"]

log = logging.getLogger(__name__)

DEFAULT_TEXT = "Dzień dobry! To jest mieszanka głosów."
_ERROR_STYLE = "color: var(--jp-error-color1, #d32f2f)"


def blend_spec(weights: dict[str, float]) -> str:
    """``{"a": 7, "b": 3}`` → ``"a:0.7,b:0.3"`` (normalised, 3 decimals, zero weights left out)."""
    if not weights or sum(weights.values()) <= 0:
        return ""
    shares = parse_blend(weights)
    parts = [f"{name}:{round(share, 3):g}" for name, share in shares.items()]
    return ",".join(p for p in parts if not p.endswith(":0"))


@dataclass(frozen=True)
class _Request:
    text: str
    voice: dict[str, float]
    speed: float
    lang: str


class VoiceMixer(StaticFallback, w.VBox):
    """One slider per voice (weights normalised; its readout is the voice's share), speed,
    language, text, Synthesize, the result in an alignment viewer (its own player and
    play-head; hidden until the first result), and the blend spec with a copy button."""

    def __init__(
        self,
        tts: Synthesizer,
        *,
        text: str = DEFAULT_TEXT,
        voice: str | dict[str, float] | None = None,
        lang: str | None = None,
        speed: float = 1.0,
        autoplay: bool = True,
    ) -> None:
        voices = list(getattr(tts, "voices", []))
        if not voices or not callable(getattr(tts, "synthesize", None)):
            raise WidgetError(
                f"mixer() needs a Synthesizer with voices (speechlab.load_tts()), got "
                f"{type(tts).__name__}."
            )
        self.tts = tts
        start = parse_blend(voice or getattr(tts, "default_voice", voices[0]))
        unknown = sorted(set(start) - set(voices))
        if unknown:
            raise WidgetError(f"Unknown voice(s) {unknown}; this synthesiser has {voices}.")
        lang = lang or getattr(tts, "default_lang", "pl")
        if lang not in LANGUAGES:
            raise WidgetError(f"Unknown language {lang!r}; choose one of {list(LANGUAGES)}.")

        self.sliders = {
            name: w.FloatSlider(
                value=start.get(name, 0.0),
                min=0.0,
                max=1.0,
                step=0.05,
                description=name,
                readout=False,  # the share beside it is the one readout
                continuous_update=False,
                style={"description_width": "110px"},
            )
            for name in voices
        }
        self.shares = {name: w.HTML(layout=w.Layout(width="4em")) for name in voices}
        self.speed = w.FloatSlider(
            value=speed,
            min=MIN_SPEED,
            max=MAX_SPEED,
            step=0.05,
            description="speed",
            readout_format=".2f",
            continuous_update=False,
        )
        self.language = w.Dropdown(
            options=[(f"{v.name} ({code})", code) for code, v in LANGUAGES.items()],
            value=lang,
            description="language",
        )
        self.text = w.Textarea(
            value=text, description="text", layout=w.Layout(width="100%", height="4em")
        )
        self.button = w.Button(description="Synthesize", button_style="primary", icon="play")
        self.status = w.HTML("")
        #: Play each new result as soon as it is shown (in the viewer's own player).
        self.autoplay = autoplay
        self.viewer = AlignmentViewer(title="")
        self.viewer.layout.display = "none"  # shown with the first result
        self.spec = w.Text(
            value="", description="blend spec", disabled=True, layout=w.Layout(width="32em")
        )
        self.copy = CopyButton(label="Copy blend spec")
        #: The last synthesised Speech, and the last error (both set by the worker thread).
        self.speech: Speech | None = None
        self.error: BaseException | None = None
        self._worker: threading.Thread | None = None
        self._lock = threading.Lock()

        for slider in self.sliders.values():
            slider.observe(self._weights_changed, names="value")
        self.button.on_click(lambda _button: self.synthesize())
        self._weights_changed()

        grid = w.GridBox(
            [w.HBox([self.sliders[n], self.shares[n]]) for n in voices],
            layout=w.Layout(grid_template_columns="repeat(auto-fill, minmax(360px, 1fr))"),
        )
        super().__init__(
            [
                w.HTML("<b>Voices</b> (weights are normalised to sum 1)"),
                grid,
                w.HBox([self.speed, self.language]),
                self.text,
                w.HBox([self.button, self.status]),
                self.viewer,
                w.HBox([self.spec, self.copy]),
            ]
        )
        self.add_class("speechlab-mixer")

    @property
    def weights(self) -> dict[str, float]:
        """The slider weights normalised to sum 1 (zero weights left out; empty if all zero)."""
        raw = {name: s.value for name, s in self.sliders.items() if s.value > 0}
        return parse_blend(raw) if raw else {}

    @property
    def blend_spec(self) -> str:
        """The ``"voice:weight,…"`` string for ``Synthesizer.synthesize(voice=...)``."""
        return blend_spec(self.weights)

    def static_html(self) -> str:
        """For reports: the settings, the blend spec and the last result (static viewer)."""
        shares = ", ".join(f"{name} {100 * share:.0f}%" for name, share in self.weights.items())
        rows = [
            ("voices", shares or "none"),
            ("speed", f"{self.speed.value:.2f}"),
            ("language", self.language.value),
            ("text", self.text.value),
            ("blend spec", self.blend_spec),
        ]
        table = "".join(
            f'<tr><th style="text-align:right;padding-right:8px">{name}</th>'
            f"<td>{html.escape(value)}</td></tr>"
            for name, value in rows
        )
        result = self.viewer.static_html() if self.speech is not None else ""
        note = "" if result else "<div>No synthesis yet: press Synthesize in a live notebook.</div>"
        return (
            '<div class="speechlab-static speechlab-static-mixer" style="font-family:sans-serif">'
            f"<b>Voice mixer</b><table>{table}</table>{note}{result}</div>"
        )

    def synthesize(self) -> threading.Thread | None:
        """Start synthesising on a worker thread (the button does this); returns the thread,
        or None when the inputs are not usable (the reason is shown in the widget)."""
        with self._lock:
            if self._worker is not None and self._worker.is_alive():
                return self._worker
            try:
                request = self._request()
            except WidgetError as exc:
                self.error = exc
                self._show_error(str(exc))
                return None
            self.error = None
            self.button.disabled = True
            self.status.value = "Synthesizing…"
            self._worker = threading.Thread(
                target=self._run, args=(request,), name="speechlab-mixer", daemon=True
            )
            self._worker.start()
            return self._worker

    def wait(self, timeout: float | None = None) -> Speech | None:
        """Block until the running synthesis ends; raise its error, else return the Speech."""
        worker = self._worker
        if worker is not None:
            worker.join(timeout)
            if worker.is_alive():
                raise WidgetError(f"Synthesis still running after {timeout} s.")
        if self.error is not None:
            raise self.error
        return self.speech

    def _request(self) -> _Request:
        weights = self.weights
        if not weights:
            raise WidgetError("Every voice weight is 0: raise at least one voice slider.")
        if not self.text.value.strip():
            raise WidgetError("The text is empty: type something to say.")
        return _Request(self.text.value, weights, float(self.speed.value), self.language.value)

    def _run(self, request: _Request) -> None:
        started = time.perf_counter()
        try:
            speech = self.tts.synthesize(
                request.text, voice=request.voice, speed=request.speed, lang=request.lang
            )
            audio = speech.to_audio()
            self.viewer.load(audio, speech_tiers(speech), title=blend_spec(request.voice))
            self.viewer.layout.display = None
            if self.autoplay:
                self.viewer.play()
        except SpeechlabError as exc:
            self.error = exc
            self._show_error(str(exc))
        except Exception as exc:  # a worker thread has no caller: show it, log the traceback
            log.exception("Voice mixer synthesis failed")
            self.error = exc
            self._show_error(f"{type(exc).__name__}: {exc}")
        else:
            self.speech = speech
            elapsed = time.perf_counter() - started
            self.status.value = f"{speech.duration:.2f} s of speech in {elapsed:.2f} s"
        finally:
            self.button.disabled = False

    def _show_error(self, message: str) -> None:
        self.status.value = f'<span style="{_ERROR_STYLE}">{html.escape(message)}</span>'

    def _weights_changed(self, _change: Any = None) -> None:
        weights = self.weights
        for name, share in self.shares.items():
            share.value = f"{100 * weights.get(name, 0.0):.0f}%"
        self.spec.value = self.copy.text = blend_spec(weights)


def mixer(tts: Synthesizer | str | None = None, **options: Any) -> VoiceMixer:
    """A :class:`VoiceMixer` for ``tts`` (a Synthesizer, a model spec, or the store default)."""
    if tts is None or isinstance(tts, str):
        from speechlab.tts import load_tts

        tts = load_tts() if tts is None else load_tts(tts)
    return VoiceMixer(tts, **options)
