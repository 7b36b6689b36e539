"""The mic recorder: record in the browser, see the live transcript, get Audio + Transcript.

```python
from speechlab.widgets import record
rec = record(speechlab.load_asr("speechlab-pl-ctc-small", dtype="float32"))
rec                                  # Record / Stop, level meter, device picker, live text
rec.audio, rec.transcript            # after Stop: speechlab Audio (16 kHz) and Transcript
rec.save("take.wav")                 # the recording (+ take.json, the transcript)
```

The browser (``static/recorder.js``) captures the microphone with ``getUserMedia`` and an
AudioWorklet and sends 40 ms frames of 16 kHz mono int16 PCM as binary comm buffers. Here
each frame goes into a :class:`~speechlab.widgets.recording.RecordingBuffer` (16 kHz int16,
at most ``max_seconds``: one hour is 115.2 MB) and into a recognition stream opened with
``background=True``: the model runs on a worker thread, so the kernel stays responsive, and
when recognition falls behind partials are skipped, audio never. A second thread reads the
stream's events and sends the text back through traits: the committed words and the tail
that may still change, which the browser styles differently. After Stop the recording and
its transcript appear in the alignment viewer below the recorder.

Audio reaches the kernel only while it is idle (the kernel handles widget messages between
cells): record with no cell running.
"""

from __future__ import annotations

import html
import logging
import threading
from pathlib import Path
from typing import Any

import anywidget
import ipywidgets as w
import traitlets as t

from speechlab.asr.streaming import Final, Partial, RecognitionStream
from speechlab.audio import Audio, Seconds
from speechlab.errors import SpeechlabError
from speechlab.transcript import Transcript
from speechlab.widgets.errors import WidgetError
from speechlab.widgets.fallback import StaticFallback
from speechlab.widgets.recording import MAX_SECONDS, RecordingBuffer, frame_samples
from speechlab.widgets.viewer import MAX_SECONDS as VIEWER_SECONDS
from speechlab.widgets.viewer import AlignmentViewer, view

__all__ = ["Recorder", "RecorderPanel", "record"]

log = logging.getLogger(__name__)


class RecorderPanel(anywidget.AnyWidget):
    """The browser half of :class:`Recorder`: buttons, meter, device picker, live text.

    Traits set here: ``state`` (idle, recording, finishing, stopped, error), ``message``
    (shown under the buttons), ``final_text`` (every finished utterance), ``stable_text``
    and ``unstable_text`` (the utterance in progress), ``max_seconds``, ``live`` (whether
    there is a recognizer). Messages from the browser: ``start`` (rate, device), ``audio``
    (+ one PCM buffer), ``stop``, ``error`` (name, message); to it: ``stop``.
    """

    _esm = Path(__file__).parent / "static" / "recorder.js"
    _css = Path(__file__).parent / "static" / "recorder.css"

    state = t.Unicode("idle").tag(sync=True)
    message = t.Unicode("").tag(sync=True)
    final_text = t.Unicode("").tag(sync=True)
    stable_text = t.Unicode("").tag(sync=True)
    unstable_text = t.Unicode("").tag(sync=True)
    max_seconds = t.Float(MAX_SECONDS).tag(sync=True)
    live = t.Bool(True).tag(sync=True)


class Recorder(StaticFallback, w.VBox):
    """Records the microphone in the browser and transcribes it live (see the module).

    ``recognizer``: a speechlab Recognizer (None: record only). ``stream_options`` go to
    ``recognizer.stream()`` (e.g. ``vad=True``, ``language="pl"``, ``hop_s=0.3``).
    ``max_seconds``: the longest recording (one hour: 115.2 MB of 16 kHz int16).
    ``show_viewer``: show the recording and its transcript in the alignment viewer after Stop.
    """

    def __init__(
        self,
        recognizer: Any = None,
        *,
        max_seconds: Seconds = MAX_SECONDS,
        show_viewer: bool = True,
        **stream_options: Any,
    ) -> None:
        if recognizer is not None and not callable(getattr(recognizer, "stream", None)):
            raise WidgetError(
                f"record() needs a speechlab Recognizer (speechlab.load_asr()) or None, got "
                f"{type(recognizer).__name__}."
            )
        RecordingBuffer(max_seconds)  # checks max_seconds now, not at the first Record
        self.recognizer = recognizer
        self.stream_options = stream_options
        self.max_seconds = float(max_seconds)
        self.show_viewer = show_viewer
        self.panel = RecorderPanel(max_seconds=self.max_seconds, live=recognizer is not None)
        super().__init__([self.panel])
        #: After Stop: the recording (16 kHz mono) and its transcript (None without a recognizer).
        self.audio: Audio | None = None
        self.transcript: Transcript | None = None
        #: The last error the browser reported (``"NotAllowedError: ..."``), or None.
        self.browser_error: str | None = None
        #: Frames received in the current recording, and frames the browser numbered but
        #: that never arrived.
        self.frames = 0
        self.frames_lost = 0
        self._buffer = RecordingBuffer(max_seconds)
        self._rate = 0
        self._seq = -1
        self._stream: RecognitionStream | None = None
        self._reader: threading.Thread | None = None
        self._finisher: threading.Thread | None = None
        self._finals: list[str] = []
        self.panel.on_msg(self._handle_message)

    # ------------------------------------------------------------------ public

    @property
    def recording(self) -> bool:
        return self.panel.state == "recording"

    @property
    def seconds(self) -> Seconds:
        """Seconds recorded so far."""
        return self._buffer.seconds

    def stop(self) -> None:
        """Ask the browser to stop recording (as the Stop button does)."""
        self.panel.send({"event": "stop"})

    def wait(self, timeout: Seconds | None = None) -> bool:
        """Wait until the last recording is finished (transcript made); False on timeout."""
        finisher = self._finisher
        if finisher is not None:
            finisher.join(timeout)
            return not finisher.is_alive()
        return True

    def save(self, path: str | Path, *, transcript: bool = True) -> Path:
        """Write the recording to ``path`` (format from the extension) and, with
        ``transcript``, its transcript as JSON beside it (``path`` with ``.json``)."""
        if self.audio is None:
            raise WidgetError("Nothing recorded yet: press Record, then Stop, then save.")
        saved = self.audio.save(path)
        if transcript and self.transcript is not None:
            json_path = saved.with_suffix(".json")
            if json_path == saved:
                raise WidgetError(f"{path} would be overwritten by the transcript; use .wav.")
            json_path.write_text(self.transcript.to_json(), encoding="utf-8")
        return saved

    def viewer(self) -> AlignmentViewer:
        """The last recording (and its transcript) in the alignment viewer."""
        if self.audio is None or not len(self.audio):
            raise WidgetError("Nothing recorded yet: press Record, then Stop.")
        if self.transcript is None:
            return view(self.audio, title="recording")
        return view(self.transcript, audio=self.audio)

    def static_html(self) -> str:
        """What reports show instead of the live widget: the state and the transcript."""
        if self.audio is None:
            body = "speechlab recorder: open this notebook in JupyterLab to record."
        else:
            text = self.transcript.text if self.transcript is not None else ""
            body = f"speechlab recorder: {self.audio.duration:.1f} s recorded. {text}"
        return f'<div class="speechlab-recorder-static">{html.escape(body)}</div>'

    # ------------------------------------------------------------------ messages

    def _handle_message(self, _widget: Any, content: Any, buffers: list[Any]) -> None:
        """Messages from the browser; runs in the kernel's main thread, so it stays short."""
        if not isinstance(content, dict):
            log.debug("Recorder ignored a front-end message: %r", content)
            return
        event = content.get("event")
        try:
            if event == "audio":
                self._on_audio(content, buffers)
            elif event == "start":
                self._on_start(content)
            elif event == "stop":
                self._on_stop()
            elif event == "error":
                self.browser_error = f"{content.get('name')}: {content.get('message')}"
                log.warning("The recorder's browser side failed: %s", self.browser_error)
            else:
                log.debug("Recorder ignored a front-end message: %r", content)
        except SpeechlabError as exc:
            self._fail(str(exc))

    def _on_start(self, content: dict[str, Any]) -> None:
        if self._finisher is not None and self._finisher.is_alive():
            self._finisher.join()  # the previous take is still being finished
        rate = content.get("sample_rate")
        if not isinstance(rate, int) or not 8_000 <= rate <= 192_000:
            raise WidgetError(f"The browser reported an unusable sample rate {rate!r}.")
        self._rate = rate
        self._buffer = RecordingBuffer(self.max_seconds)
        self._seq = -1
        self.frames = self.frames_lost = 0
        self._finals = []
        self.audio = self.transcript = None
        self.browser_error = None
        self.children = [self.panel]
        self._reader = None
        with self.panel.hold_sync():
            self.panel.final_text = self.panel.stable_text = self.panel.unstable_text = ""
            self.panel.message = ""
            self.panel.state = "recording"
        if self.recognizer is not None:
            self._stream = self.recognizer.stream(
                sample_rate=rate, background=True, source="microphone", **self.stream_options
            )
            self._reader = threading.Thread(
                target=self._read_events, args=(self._stream,), name="speechlab-recorder"
            )
            self._reader.daemon = True
            self._reader.start()

    def _on_audio(self, content: dict[str, Any], buffers: list[Any]) -> None:
        if self.panel.state != "recording":
            return  # frames still in flight after a stop or an error
        samples = frame_samples(content, buffers)
        seq = content.get("seq")
        if isinstance(seq, int):
            if self._seq >= 0 and seq > self._seq + 1:
                self.frames_lost += seq - self._seq - 1
            self._seq = seq
        self.frames += 1
        room = self._buffer.add(samples, self._rate)
        if self._stream is not None and not self._stream.closed:
            self._stream.push(samples, self._rate)
        if not room:
            self.panel.message = (
                f"Stopped at the limit of {_span(self.max_seconds)} (max_seconds="
                f"{self.max_seconds:g}; {_size(self._buffer.nbytes)} of audio kept)."
            )
            self.stop()
            self._on_stop()

    def _on_stop(self) -> None:
        if self.panel.state != "recording":
            return
        self.panel.state = "finishing"
        self._finisher = threading.Thread(
            target=self._finish, name="speechlab-recorder-finish", daemon=True
        )
        self._finisher.start()

    def _fail(self, message: str) -> None:
        log.warning("Recorder: %s", message)
        self.panel.message = message
        if self.panel.state == "recording":
            self.stop()
            self._on_stop()

    # ------------------------------------------------------------------ threads

    def _read_events(self, stream: RecognitionStream) -> None:
        """Send the stream's partials and finals to the browser until the stream ends."""
        try:
            for event in stream.events():
                if isinstance(event, Partial):
                    with self.panel.hold_sync():
                        self.panel.stable_text = event.stable_text
                        self.panel.unstable_text = event.unstable_text
                elif isinstance(event, Final) and event.text:
                    self._finals.append(event.text)
                    with self.panel.hold_sync():
                        self.panel.final_text = " ".join(self._finals)
                        self.panel.stable_text = self.panel.unstable_text = ""
        except SpeechlabError as exc:
            self.panel.message = f"Live recognition stopped: {exc}"
            log.warning("Recorder: live recognition stopped: %s", exc)

    def _finish(self) -> None:
        """After Stop: decode what is left, then publish ``audio`` and ``transcript``."""
        stream, self._stream = self._stream, None
        transcript = None
        if stream is not None:
            try:
                transcript = stream.close()
            except SpeechlabError as exc:
                self.panel.message = f"Live recognition failed: {exc}"
                transcript = stream.transcript
            if self._reader is not None:
                self._reader.join()
        self._buffer.finish()
        self.audio = self._buffer.to_audio(source="microphone")
        self.transcript = transcript
        with self.panel.hold_sync():
            if transcript is not None:
                self.panel.final_text = transcript.text
            self.panel.stable_text = self.panel.unstable_text = ""
            self.panel.state = "stopped"
        if self.show_viewer and len(self.audio):
            self._show_viewer()

    def _show_viewer(self) -> None:
        if self.audio is None or self.audio.duration > VIEWER_SECONDS:
            log.info("Recorder: the recording is too long for the viewer; use rec.audio.")
            return
        try:
            self.children = [self.panel, self.viewer()]
        except SpeechlabError as exc:
            log.warning("Recorder: cannot show the viewer: %s", exc)


def _span(seconds: Seconds) -> str:
    if seconds >= 3600:
        return f"{seconds / 3600:g} h"
    return f"{seconds / 60:g} min" if seconds >= 60 else f"{seconds:g} s"


def _size(nbytes: int) -> str:
    return f"{nbytes / 1e6:.1f} MB" if nbytes >= 100_000 else f"{nbytes / 1e3:.0f} kB"


def record(recognizer: Any = None, **options: Any) -> Recorder:
    """A :class:`Recorder` transcribing with ``recognizer`` (None: record only)."""
    return Recorder(recognizer, **options)
