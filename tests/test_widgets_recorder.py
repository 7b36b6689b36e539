"""The mic recorder without a browser: the browser's messages are fed to the handler directly.

A fake engine checks the plumbing (frames → buffer + stream, partials → traits, Stop →
``audio``/``transcript``, limits, errors); speechlab's own Polish CTC model checks a real
take: Kokoro speaks a sentence, sent as the browser sends it (40 ms int16 frames at 16 kHz).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import speechlab.widgets
from speechlab import Audio, Segment, Transcript
from speechlab.asr.streaming import Final, Partial, RecognitionStream, StreamEngine
from speechlab.store import STORE
from speechlab.widgets import AlignmentViewer, Recorder, WidgetError, record
from speechlab.widgets.recorder import RecorderPanel
from speechlab.widgets.recording import MAX_SECONDS, RATE, RecordingBuffer, frame_samples

FRAME = 640  # 40 ms at 16 kHz, what recorder.js sends


class CountingEngine(StreamEngine):
    """A stand-in model: one word per 0.2 s of audio heard, the last one unstable."""

    def __init__(self) -> None:
        super().__init__()
        self.heard = 0
        self.stepped = 0
        self.start = 0.0

    def begin(self, start: float) -> None:
        self.start, self.heard, self.stepped = start, 0, 0

    def accept(self, samples: np.ndarray) -> None:
        self.heard += len(samples)

    def due(self) -> bool:
        return self.heard - self.stepped >= 3200

    def _words(self) -> tuple[Segment, ...]:
        n = self.heard // 3200
        return tuple(Segment(f"w{i}", i * 0.2, i * 0.2 + 0.2) for i in range(n))

    def step(self) -> list[Any]:
        self.model_calls += 1
        self.stepped = self.heard
        words = self._words()
        return [Partial(words, max(0, len(words) - 1), self.start, self.heard / RATE)]

    def finish(self) -> list[Any]:
        words = list(self._words())
        end = self.heard / RATE
        text = " ".join(w.text for w in words)
        return [Final(Transcript(text, words, [], "pl", end), self.start, end)]


class FakeRecognizer:
    def __init__(self) -> None:
        self.streams: list[RecognitionStream] = []

    def stream(self, **options: Any) -> RecognitionStream:
        options.pop("language", None)
        self.streams.append(RecognitionStream(CountingEngine(), **options))
        return self.streams[-1]


def _frames(samples: np.ndarray) -> list[tuple[dict[str, Any], list[bytes]]]:
    pcm = (np.clip(samples, -1, 32767 / 32768) * 32768).astype(np.int16)
    return [
        ({"event": "audio", "seq": i, "dtype": "int16", "sample_rate": RATE}, [chunk.tobytes()])
        for i, chunk in enumerate(np.array_split(pcm, max(1, len(pcm) // FRAME)))
    ]


def _take(rec: Recorder, samples: np.ndarray, rate: int = RATE) -> list[float]:
    """Start, send every frame, stop; the handler's wall time per frame."""
    rec._handle_message(rec.panel, {"event": "start", "sample_rate": rate}, [])
    spent = []
    for content, buffers in _frames(samples):
        began = time.perf_counter()
        rec._handle_message(rec.panel, content, buffers)
        spent.append(time.perf_counter() - began)
    rec._handle_message(rec.panel, {"event": "stop"}, [])
    assert rec.wait(60)
    return spent


def _noise(seconds: float, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (0.1 * rng.standard_normal(round(seconds * RATE))).astype(np.float32)


# --------------------------------------------------------------------------- frames, buffer


def test_frames_decode_int16_and_float32_and_refuse_broken_ones():
    pcm = np.array([0, 16384, -32768], np.int16)
    assert frame_samples({"dtype": "int16"}, [pcm.tobytes()]).tolist() == [0, 16384, -32768]
    floats = np.array([0.5, -0.25], np.float32)
    assert frame_samples({"dtype": "float32"}, [memoryview(floats.tobytes())]).tolist() == [
        0.5,
        -0.25,
    ]
    with pytest.raises(WidgetError, match="int16 or float32"):
        frame_samples({"dtype": "int8"}, [b"\x00"])
    with pytest.raises(WidgetError, match="whole number"):
        frame_samples({"dtype": "int16"}, [b"\x00\x01\x02"])
    with pytest.raises(WidgetError, match="one binary buffer"):
        frame_samples({"dtype": "int16"}, [])
    with pytest.raises(WidgetError, match="NaN"):
        frame_samples({"dtype": "float32"}, [np.array([np.nan], np.float32).tobytes()])


def test_an_hour_is_kept_as_115_mb_of_int16_and_the_buffer_stops_at_its_limit():
    assert MAX_SECONDS == 3600 and round(MAX_SECONDS) * RATE * 2 == 115_200_000
    buffer = RecordingBuffer(max_seconds=1.0)
    assert buffer.add(np.zeros(8000, np.int16), RATE)
    assert not buffer.add(np.ones(12000, np.int16), RATE)  # fills up: the rest is dropped
    assert not buffer.add(np.ones(100, np.int16), RATE)
    assert buffer.seconds == 1.0 and buffer.nbytes == 32_000
    assert all(chunk.dtype == np.int16 for chunk in buffer._chunks)
    audio = buffer.to_audio()
    assert audio.sample_rate == RATE and len(audio) == RATE
    with pytest.raises(WidgetError, match="positive"):
        RecordingBuffer(max_seconds=0)


def test_frames_at_another_rate_are_kept_at_16_khz():
    rate = 48_000
    t = np.arange(rate) / rate
    tone = (0.5 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    buffer = RecordingBuffer()
    for block in np.array_split(tone, 25):  # 40 ms frames
        buffer.add(block, rate)
    buffer.finish()  # soxr's filter delay: the last samples come out here
    audio = buffer.to_audio()
    assert len(audio) == RATE
    spectrum = np.abs(np.fft.rfft(audio.samples))
    assert abs(np.argmax(spectrum) * RATE / len(audio) - 440) < 5
    with pytest.raises(WidgetError, match="changed the sample rate"):
        buffer.add(tone[:100], 44_100)


# --------------------------------------------------------------------------- the widget


def test_a_take_with_a_fake_model_updates_the_live_text_then_gives_audio_and_transcript():
    fake = FakeRecognizer()
    rec = record(fake, show_viewer=False)
    seen: list[tuple[str, str]] = []
    rec.panel.observe(lambda c: seen.append((c["name"], c["new"])), ["stable_text", "final_text"])
    spent = _take(rec, _noise(2.0))
    assert rec.panel.state == "stopped"
    assert rec.frames == 50 and rec.frames_lost == 0
    assert isinstance(rec.audio, Audio) and rec.audio.duration == pytest.approx(2.0)
    assert isinstance(rec.transcript, Transcript)
    assert rec.transcript.text == " ".join(f"w{i}" for i in range(10))
    # live partials arrived before the final; which ones depends on the worker thread's
    # pace (partials are skipped when it falls behind, by design), but each stable text is
    # a prefix of the final text
    stable = [text for name, text in seen if name == "stable_text" and text]
    finals = [i for i, (name, text) in enumerate(seen) if name == "final_text" and text]
    assert stable and finals and seen.index(("stable_text", stable[0])) < finals[0]
    assert all(rec.transcript.text.startswith(text) for text in stable)
    assert rec.panel.final_text == rec.transcript.text
    assert rec.panel.stable_text == rec.panel.unstable_text == ""
    assert fake.streams[0].closed
    # push only queues audio for the worker thread: the kernel's handler stays short
    assert max(spent) < 0.1  # the real-weights take below measured 0.03 ms median, 14.6 ms max


@pytest.mark.slow  # the viewer's first use imports librosa: 15-31 s on the busy machine
def test_without_a_recognizer_it_only_records_and_shows_the_viewer_after_stop():
    rec = record()
    assert not rec.panel.live
    _take(rec, _noise(1.0))
    assert rec.transcript is None and rec.audio is not None
    assert rec.audio.duration == pytest.approx(1.0)
    assert isinstance(rec.children[-1], AlignmentViewer)
    assert "1.0 s recorded" in rec.static_html()


def test_lost_frames_are_counted_and_late_frames_after_stop_ignored():
    rec = record(show_viewer=False)
    rec._handle_message(rec.panel, {"event": "start", "sample_rate": RATE}, [])
    frames = _frames(_noise(0.4))
    for content, buffers in frames[:3] + frames[5:]:
        rec._handle_message(rec.panel, content, buffers)
    rec._handle_message(rec.panel, {"event": "stop"}, [])
    rec._handle_message(rec.panel, *frames[3])  # in flight when Stop was pressed
    assert rec.wait(10)
    assert rec.frames == 8 and rec.frames_lost == 2
    assert len(rec.audio) == 8 * FRAME


def test_the_length_limit_stops_the_take_and_says_so():
    rec = record(FakeRecognizer(), max_seconds=1.0, show_viewer=False)
    sent: list[Any] = []
    rec.panel.send = sent.append
    _take(rec, _noise(1.6))
    assert rec.audio.duration == 1.0
    assert {"event": "stop"} in sent
    assert "limit of 1 s (max_seconds=1; 32 kB of audio kept)" in rec.panel.message


def test_browser_errors_and_bad_frames_are_reported_not_raised():
    rec = record(show_viewer=False)
    message = "The browser denied the microphone. Allow it for this page"
    denied = {"event": "error", "name": "NotAllowedError", "message": message}
    rec._handle_message(rec.panel, denied, [])
    assert rec.browser_error.startswith("NotAllowedError: The browser denied")
    rec._handle_message(rec.panel, {"event": "start", "sample_rate": 3}, [])
    assert "sample rate" in rec.panel.message and rec.panel.state == "idle"
    rec._handle_message(rec.panel, {"event": "start", "sample_rate": RATE}, [])
    rec._handle_message(rec.panel, {"event": "audio", "dtype": "int16"}, [b"\x00\x01\x02"])
    assert "whole number" in rec.panel.message
    assert rec.wait(10) and rec.panel.state == "stopped"  # a broken frame ends the take cleanly
    rec._handle_message(rec.panel, "not a dict", [])  # ignored


def test_save_writes_the_recording_and_its_transcript(tmp_path: Path):
    rec = record(FakeRecognizer(), show_viewer=False)
    with pytest.raises(WidgetError, match="Nothing recorded"):
        rec.save(tmp_path / "none.wav")
    _take(rec, _noise(1.0))
    path = rec.save(tmp_path / "take.wav")
    assert path.is_file()
    saved = Transcript.from_json((tmp_path / "take.json").read_text(encoding="utf-8"))
    assert saved.text == rec.transcript.text == "w0 w1 w2 w3 w4"
    assert isinstance(rec.viewer(), AlignmentViewer)


def test_record_refuses_what_is_not_a_recognizer():
    with pytest.raises(WidgetError, match="Recognizer"):
        record("speechlab-pl-ctc-small")
    with pytest.raises(WidgetError, match="positive"):
        record(max_seconds=-1)


def test_the_panel_loads_its_front_end_files_from_the_package():
    static = Path(speechlab.widgets.__file__).parent / "static"
    for key, name in (("_esm", "recorder.js"), ("_css", "recorder.css")):
        value = RecorderPanel.__dict__[key]
        assert Path(str(getattr(value, "_path", value))) == static / name  # wrapped by anywidget
    assert "export default { render }" in (static / "recorder.js").read_text(encoding="utf-8")


def test_the_static_fallback_for_reports_says_where_to_record():
    bundle = record()._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert "open this notebook in JupyterLab" in bundle["text/html"]


# --------------------------------------------------------------------------- real weights

NAME = "speechlab-pl-ctc-small"
SENTENCE = "Czy Tomasz miesiąc temu napisał długi artykuł?"


@pytest.mark.realweights
@pytest.mark.slow
@pytest.mark.timeout(300)
@pytest.mark.skipif(NAME not in STORE, reason="speechlab-pl-ctc-small not trained yet")
def test_a_spoken_sentence_is_transcribed_live_and_after_stop(real_store_home: Path):
    from speechlab.asr import load_asr
    from speechlab.tts import load_tts

    tts = load_tts(real_store_home / "models" / "kokoro-82m-int8")
    speech = tts.synthesize(SENTENCE, voice="jm_kumo", lang="pl")
    clip = Audio(speech.audio, speech.sample_rate).resample(RATE).samples
    samples = np.concatenate([np.zeros(RATE // 2, np.float32), clip, np.zeros(RATE, np.float32)])
    asr = load_asr(real_store_home / "models" / NAME, dtype="float32")
    rec = record(asr)
    partials: list[str] = []
    rec.panel.observe(lambda c: partials.append(c["new"]), ["stable_text", "unstable_text"])
    spent = _take(rec, samples)
    print(
        f"\nhandler per 40 ms frame: median {np.median(spent) * 1e3:.2f} ms, max "
        f"{max(spent) * 1e3:.1f} ms; transcript {rec.transcript.text!r}"
    )
    assert any("miesiąc" in p for p in partials)  # live, before Stop
    words = rec.transcript.text.split()
    # measured: 'czy tomasz miesiąc temu napisał długi ertytkuł' (6 of 7 words)
    assert {"tomasz", "miesiąc", "temu", "napisał", "długi"} <= set(words)
    assert rec.transcript.words[0].start >= 0.4  # stream times: after the half second of silence
    assert isinstance(rec.children[-1], AlignmentViewer)
    assert max(spent) < 0.1  # measured 14.6 ms max: the model runs on the worker thread
