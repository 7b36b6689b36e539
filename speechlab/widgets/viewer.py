"""The spectrogram / alignment viewer: waveform, log-mel spectrogram, tiers of time-aligned
segments and a player; click a segment to hear just that span.

```python
from speechlab.widgets import view
view(transcript, audio="clip.wav")     # ASR words (and characters) over the clip
view(speech)                           # what the synthesiser said, chunk by chunk
```
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import anywidget
import traitlets as t

from speechlab.audio import Audio, load
from speechlab.transcript import Segment, Transcript
from speechlab.tts import Speech
from speechlab.widgets.errors import WidgetError
from speechlab.widgets.fallback import StaticFallback
from speechlab.widgets.signals import Spectrogram, envelope, log_mel, wav_bytes
from speechlab.widgets.static_render import viewer_html
from speechlab.widgets.tiers import Tier, speech_tiers, transcript_tiers

__all__ = ["MAX_SECONDS", "AlignmentViewer", "view"]

log = logging.getLogger(__name__)

#: Longer audio is refused (the whole clip travels to the browser as a WAV).
MAX_SECONDS = 600.0
# Segments may end this far past the audio (rounding) before the pair is called a mismatch.
_END_SLACK = 0.5

SelectCallback = Callable[[str, int, Segment], Any]


class AlignmentViewer(StaticFallback, anywidget.AnyWidget):
    """Waveform + log-mel spectrogram + segment tiers + an audio player with a play-head.

    The browser gets a 16-bit WAV, a (min, max) waveform envelope and 8-bit spectrogram
    pixels; it draws them on canvases. Clicking a segment plays its span and reports it back
    (see :meth:`on_select`); :meth:`play` does the same from Python. Executed notebooks
    and reports show :meth:`static_html` (picture, tiers, player) where no widget manager is.
    """

    _esm = Path(__file__).parent / "static" / "viewer.js"
    _css = Path(__file__).parent / "static" / "viewer.css"

    title = t.Unicode("").tag(sync=True)
    duration = t.Float(0.0).tag(sync=True)
    sample_rate = t.Int(0).tag(sync=True)
    wav = t.Bytes(b"").tag(sync=True)
    waveform = t.Bytes(b"").tag(sync=True)  # float32 (min, max) pairs
    spectrogram = t.Bytes(b"").tag(sync=True)  # uint8, (n_mels, n_frames) row-major
    spectrogram_shape = t.List(t.Int(), default_value=[0, 0]).tag(sync=True)
    fmax = t.Float(0.0).tag(sync=True)
    tiers = t.List(t.Dict()).tag(sync=True)

    def __init__(
        self, audio: Audio | None = None, tiers: Iterable[Tier] = (), *, title: str = ""
    ) -> None:
        super().__init__()
        self._tiers: list[Tier] = []
        self._shown: tuple[Audio, Spectrogram] | None = None
        self._select_callbacks: list[SelectCallback] = []
        #: The last segment clicked in the browser (tier name, index, segment), or None.
        self.selected: tuple[str, int, Segment] | None = None
        self.on_msg(self._handle_message)
        if audio is not None:
            self.load(audio, tiers, title=title)
        else:
            self.title = title

    def load(self, audio: Audio, tiers: Iterable[Tier] = (), *, title: str | None = None) -> None:
        """Show ``audio`` with ``tiers`` (replacing what was shown)."""
        if not isinstance(audio, Audio):
            raise WidgetError(
                f"AlignmentViewer.load needs a speechlab.Audio, got {type(audio).__name__}; "
                "use speechlab.widgets.view(x) for transcripts, speech, paths and arrays."
            )
        if audio.duration > MAX_SECONDS:
            raise WidgetError(
                f"The audio is {audio.duration:.0f} s long; the viewer shows at most "
                f"{MAX_SECONDS:.0f} s. Cut it first, e.g. Audio(audio.samples[a:b], "
                "audio.sample_rate)."
            )
        if len(audio) == 0:
            raise WidgetError("The audio has no samples; there is nothing to show.")
        tiers = list(tiers)
        for tier in tiers:
            if not isinstance(tier, Tier):
                raise WidgetError(
                    f"tiers must be speechlab.widgets.tiers.Tier objects, got "
                    f"{type(tier).__name__}."
                )
            _check_fits(tier, audio.duration)
        spec = log_mel(audio)
        with self.hold_sync():
            if title is not None:
                self.title = title
            self.duration = audio.duration
            self.sample_rate = audio.sample_rate
            self.wav = wav_bytes(audio)
            self.waveform = envelope(audio.samples).tobytes()
            self.spectrogram = spec.pixels
            self.spectrogram_shape = [spec.n_mels, spec.n_frames]
            self.fmax = spec.fmax
            self.tiers = [tier.to_json() for tier in tiers]
        self._tiers = tiers
        self._shown = (audio, spec)
        self.selected = None

    def static_html(self) -> str:
        """The viewer as self-contained HTML: waveform + spectrogram PNG, tiers, a player."""
        if self._shown is None:
            return ""
        audio, spec = self._shown
        return viewer_html(audio, self._tiers, title=self.title, spec=spec)

    @property
    def tier_names(self) -> list[str]:
        return [tier.name for tier in self._tiers]

    def segments(self, tier: str) -> tuple[Segment, ...]:
        """The segments of the tier called ``tier``."""
        for candidate in self._tiers:
            if candidate.name == tier:
                return candidate.segments
        raise WidgetError(f"No tier called {tier!r}; this viewer has {self.tier_names}.")

    def play(self, start: float = 0.0, end: float | None = None) -> None:
        """Ask the browser to play from ``start`` to ``end`` seconds (the end when None)."""
        if not 0 <= start <= self.duration or (
            end is not None and not start < end <= self.duration + _END_SLACK
        ):
            raise WidgetError(
                f"Cannot play {start}–{end} s of {self.duration:.2f} s of audio; "
                "give 0 ≤ start < end ≤ duration."
            )
        self.send({"event": "play", "start": float(start), "end": None if end is None else end})

    def on_select(self, callback: SelectCallback, remove: bool = False) -> None:
        """Call ``callback(tier_name, index, segment)`` when a segment is clicked in the browser."""
        if remove:
            self._select_callbacks.remove(callback)
        else:
            self._select_callbacks.append(callback)

    def _handle_message(self, _widget: Any, content: Any, _buffers: list[Any]) -> None:
        if not isinstance(content, dict) or content.get("event") != "select":
            log.debug("AlignmentViewer ignored a front-end message: %r", content)
            return
        tier, index = content.get("tier"), content.get("index")
        if not (isinstance(tier, int) and 0 <= tier < len(self._tiers)):
            log.warning("AlignmentViewer: the browser selected an unknown tier %r", tier)
            return
        segments = self._tiers[tier].segments
        if not (isinstance(index, int) and 0 <= index < len(segments)):
            log.warning("AlignmentViewer: the browser selected an unknown segment %r", index)
            return
        self.selected = (self._tiers[tier].name, index, segments[index])
        for callback in list(self._select_callbacks):
            callback(*self.selected)


def view(
    x: Transcript | Speech | Audio | str | os.PathLike[str],
    audio: Audio | Speech | str | os.PathLike[str] | tuple[Any, int] | None = None,
    *,
    title: str | None = None,
) -> AlignmentViewer:
    """An :class:`AlignmentViewer` for a Transcript (with its audio), a Speech, an Audio or a file.

    A Transcript needs ``audio=`` unless its ``source`` is an audio file on disk; when that
    audio is a Speech, the synthesiser's tiers are shown under the recognizer's.
    """
    if isinstance(x, Transcript):
        if audio is None:
            if not (x.source and Path(x.source).is_file()):
                raise WidgetError(
                    "view(transcript) needs the audio it came from: "
                    "view(transcript, audio=path_or_Audio_or_Speech)."
                )
            audio = x.source
        clip = _as_audio(audio)
        tiers = transcript_tiers(x)
        if isinstance(audio, Speech):
            tiers += speech_tiers(audio)
        name = title if title is not None else f"“{x.text.strip()}”"
        return AlignmentViewer(clip, tiers, title=name)
    if audio is not None:
        raise WidgetError("audio= goes with a Transcript; a Speech, Audio or file has its own.")
    if isinstance(x, Speech):
        return AlignmentViewer(x.to_audio(), speech_tiers(x), title=title or "synthesised speech")
    if isinstance(x, Audio | str | os.PathLike):
        clip = _as_audio(x)
        return AlignmentViewer(clip, (), title=title if title is not None else clip.source or "")
    raise WidgetError(
        f"view() shows a Transcript, a Speech, an Audio or an audio file path, not a "
        f"{type(x).__name__}. For a bare array use view(speechlab.load(array, source_rate=SR))."
    )


def _as_audio(x: Any) -> Audio:
    if isinstance(x, Speech):
        return x.to_audio()
    if isinstance(x, Audio):
        return x
    if isinstance(x, str | os.PathLike | tuple):
        return load(x, sample_rate=None)
    raise WidgetError(
        f"audio= must be an Audio, a Speech, a path or a (samples, rate) tuple, not a "
        f"{type(x).__name__}."
    )


def _check_fits(tier: Tier, duration: float) -> None:
    late = [s for s in tier.segments if s.end > duration + _END_SLACK]
    if late:
        raise WidgetError(
            f"Tier {tier.name!r} has segments after the audio ends ({late[0].text!r} ends at "
            f"{late[0].end:.2f} s, the audio is {duration:.2f} s): is this the right audio?"
        )
