"""speechlab.widgets without a browser: traits, front-end messages, the mixer's worker thread."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import ipywidgets
import numpy as np
import pytest

import speechlab.widgets
from speechlab import Audio, Segment, SpeechlabError, Transcript, load
from speechlab.tts import Speech, SpeechChunk
from speechlab.tts.voices import parse_blend
from speechlab.widgets import AlignmentViewer, VoiceMixer, WidgetError, mixer, view
from speechlab.widgets.copy import CopyButton
from speechlab.widgets.signals import envelope, log_mel, wav_bytes
from speechlab.widgets.tiers import Tier, speech_tiers, transcript_tiers
from speechlab.widgets.voice_mixer import blend_spec

RATE = 24_000


def _tone(seconds: float = 1.0, freq: float = 440.0, rate: int = RATE) -> Audio:
    t = np.arange(round(rate * seconds)) / rate
    return Audio((0.5 * np.sin(2 * np.pi * freq * t)).astype(np.float32), rate)


def _transcript(duration: float = 1.0) -> Transcript:
    words = [Segment("ala", 0.05, 0.4, 0.9), Segment("ma", 0.5, 0.7), Segment("kota", 0.75, 0.98)]
    return Transcript("ala ma kota", words, [], "pl", duration)


def _speech(words: list[Segment] | None = None) -> Speech:
    audio = _tone(1.0).samples
    half = len(audio) // 2
    chunks = [
        SpeechChunk("Ala ma", "ˈala ma", audio[:half], 0.0, words),
        SpeechChunk("kota.", "kˈɔta.", audio[half:], half / RATE, [] if words else None),
    ]
    return Speech(audio, RATE, chunks)


class Sent:
    """Records what a widget sends to its (dummy) comm: state updates and custom messages."""

    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []

    def __call__(self, data: Any = None, metadata: Any = None, buffers: Any = None) -> None:
        self.messages.append(data)

    @property
    def custom(self) -> list[dict[str, Any]]:
        return [m["content"] for m in self.messages if m.get("method") == "custom"]


def _record(widget: Any, monkeypatch: pytest.MonkeyPatch) -> Sent:
    sent = Sent()
    monkeypatch.setattr(widget.comm, "send", sent)
    return sent


# --------------------------------------------------------------------------- front-end files


def test_every_widget_points_at_front_end_files_inside_the_package():
    package = Path(speechlab.widgets.__file__).parent
    for widget in (AlignmentViewer, CopyButton):
        for key in ("_esm", "_css"):
            value = widget.__dict__.get(key)
            if value is None:
                continue
            path = Path(str(getattr(value, "_path", value)))  # anywidget wraps it on subclassing
            assert path.is_file(), path
            assert path.parent == package / "static", path
    assert "export default" in (package / "static" / "viewer.js").read_text()


def test_no_widgets_module_shares_its_name_with_a_public_name():
    """``from speechlab.widgets import mixer`` must give the function, never a module."""
    package = Path(speechlab.widgets.__file__).parent
    modules = {path.stem for path in package.glob("*.py")}
    assert not modules & set(speechlab.widgets.__all__)
    for module in modules:
        source = (package / f"{module}.py").read_text()
        assert f"\ndef {module}(" not in source and f"\nclass {module}(" not in source, module
    assert callable(mixer) and callable(view)


# --------------------------------------------------------------------------- signals


def test_envelope_holds_min_and_max_per_column():
    samples = np.array([0.0, 0.5, -0.25, 1.0, -1.0, 0.1], np.float32)
    env = envelope(samples, columns=3).reshape(-1, 2)
    np.testing.assert_allclose(env, [[0.0, 0.5], [-0.25, 1.0], [-1.0, 0.1]])
    assert envelope(np.zeros(10, np.float32), columns=100).size == 20  # never more than samples
    assert envelope(np.zeros(0, np.float32)).size == 0


def test_log_mel_puts_a_tone_in_its_band_and_silence_at_zero():
    spec = log_mel(_tone(1.0, freq=1000.0))
    pixels = np.frombuffer(spec.pixels, np.uint8).reshape(spec.n_mels, spec.n_frames)
    assert spec.n_mels == 80 and 95 <= spec.n_frames <= 105  # 10 ms hop
    import librosa

    centres = librosa.mel_frequencies(n_mels=82, fmax=spec.fmax)[1:-1]
    loudest = int(np.argmax(pixels[:, spec.n_frames // 2]))
    assert abs(centres[loudest] - 1000.0) < 150.0
    assert pixels.max() == 255
    silent = log_mel(Audio(np.zeros(RATE, np.float32), RATE))
    assert set(silent.pixels) == {0}


def test_log_mel_caps_the_width_of_long_audio():
    spec = log_mel(_tone(5.0), max_frames=100)
    assert spec.n_frames <= 101
    assert spec.hop_seconds == pytest.approx(5.0 / 100, rel=0.01)
    assert (
        log_mel(Audio(np.ones(10, np.float32) * 0.1, RATE)).n_frames >= 1
    )  # shorter than a window


def test_wav_bytes_decode_to_the_same_clip():
    clip = _tone(0.5)
    back = load(wav_bytes(clip), sample_rate=None)
    assert back.sample_rate == RATE and len(back) == len(clip)
    np.testing.assert_allclose(back.samples, clip.samples, atol=1e-4)


# --------------------------------------------------------------------------- tiers


def test_transcript_tiers_words_chars_or_text():
    transcript = _transcript()
    transcript.chars = [Segment("a", 0.05, 0.1)]
    assert [t.name for t in transcript_tiers(transcript)] == ["words", "chars"]
    bare = Transcript("dzień dobry", duration=2.0)
    (tier,) = transcript_tiers(bare)
    assert tier.name == "text" and tier.segments == (Segment("dzień dobry", 0.0, 2.0),)
    assert transcript_tiers(Transcript("", duration=1.0)) == []


def test_speech_tiers_without_and_with_word_times():
    tiers = speech_tiers(_speech())
    assert [t.name for t in tiers] == ["tts text", "phonemes"]
    assert [s.text for s in tiers[1].segments] == ["ˈala ma", "kˈɔta."]
    assert tiers[0].segments[1].start == pytest.approx(0.5)
    assert tiers[0].segments[1].end == pytest.approx(1.0)
    timed = speech_tiers(_speech(words=[Segment("Ala", 0.0, 0.2), Segment("ma", 0.2, 0.4)]))
    assert timed[0].name == "tts words" and len(timed[0].segments) == 2


def test_tier_refuses_backwards_or_foreign_segments():
    with pytest.raises(WidgetError, match="ends"):
        Tier.of("words", [Segment("x", 1.0, 0.5)])
    with pytest.raises(WidgetError, match="Segment"):
        Tier.of("words", [("x", 0.0, 1.0)])  # type: ignore[list-item]


# --------------------------------------------------------------------------- viewer


def test_view_audio_sets_every_trait():
    clip = _tone(1.0)
    viewer = view(clip)
    assert isinstance(viewer, AlignmentViewer)
    assert viewer.duration == pytest.approx(1.0) and viewer.sample_rate == RATE
    assert viewer.wav[:4] == b"RIFF"
    n_mels, n_frames = viewer.spectrogram_shape
    assert len(viewer.spectrogram) == n_mels * n_frames > 0
    assert len(viewer.waveform) == 4 * 2 * 1200
    assert viewer.tiers == []


def test_view_transcript_with_audio_sends_its_words(tmp_path: Path):
    viewer = view(_transcript(), audio=_tone(1.0))
    assert viewer.tier_names == ["words"]
    assert viewer.tiers[0]["segments"][2] == {"text": "kota", "start": 0.75, "end": 0.98}
    assert viewer.title == "“ala ma kota”"
    path = _tone(1.0).save(tmp_path / "clip.wav")
    transcript = _transcript()
    transcript.source = str(path)
    assert view(transcript).duration == pytest.approx(1.0)  # the audio found from its source


def test_view_transcript_with_speech_adds_the_synthesiser_tiers():
    viewer = view(_transcript(), audio=_speech())
    assert viewer.tier_names == ["words", "tts text", "phonemes"]
    assert view(_speech()).tier_names == ["tts text", "phonemes"]


def test_view_path_and_tuple(tmp_path: Path):
    path = _tone(0.5, rate=16_000).save(tmp_path / "a.flac")
    viewer = view(path)
    assert viewer.sample_rate == 16_000 and viewer.title == str(path)
    clip = _tone(0.5)
    assert view(_transcript(0.5), audio=(clip.samples, RATE)).duration == pytest.approx(0.5)


@pytest.mark.parametrize(
    ("args", "kwargs", "match"),
    [
        ((42,), {}, "not a int"),
        ((np.zeros(10),), {}, "source_rate"),
        ((_transcript(),), {}, "needs the audio"),
        ((_transcript(),), {"audio": 3.0}, "audio= must be"),
        ((_tone(1.0),), {"audio": _tone(1.0)}, "goes with a Transcript"),
        ((_transcript(),), {"audio": _tone(0.2)}, "after the audio ends"),
    ],
)
def test_view_bad_input_is_a_typed_error(args: tuple, kwargs: dict, match: str):
    with pytest.raises(WidgetError, match=match):
        view(*args, **kwargs)


def test_view_missing_file_is_an_audio_error(tmp_path: Path):
    with pytest.raises(SpeechlabError, match="not found"):
        view(tmp_path / "missing.wav")


def test_viewer_refuses_too_long_audio(monkeypatch: pytest.MonkeyPatch):
    from speechlab.widgets import viewer as viewer_module

    monkeypatch.setattr(viewer_module, "MAX_SECONDS", 0.5)
    with pytest.raises(WidgetError, match="Cut it first"):
        view(_tone(1.0))
    with pytest.raises(WidgetError, match="needs a speechlab"):
        AlignmentViewer().load(np.zeros(10))  # type: ignore[arg-type]


def test_segment_click_selects_and_calls_back():
    viewer = view(_transcript(), audio=_speech())
    chosen: list[tuple[str, int, Segment]] = []
    viewer.on_select(lambda *args: chosen.append(args))
    viewer._handle_custom_msg({"event": "select", "tier": 0, "index": 1}, [])
    assert viewer.selected == ("words", 1, Segment("ma", 0.5, 0.7))
    viewer._handle_custom_msg({"event": "select", "tier": 2, "index": 0}, [])
    assert chosen[-1] == ("phonemes", 0, Segment("ˈala ma", 0.0, 0.5))
    assert len(chosen) == 2


def test_bad_front_end_messages_change_nothing():
    viewer = view(_transcript(), audio=_tone(1.0))
    calls: list[Any] = []
    viewer.on_select(lambda *args: calls.append(args))
    for content in (
        {"event": "select", "tier": 5, "index": 0},
        {"event": "select", "tier": 0, "index": 99},
        {"event": "select", "tier": "0", "index": 0},
        {"event": "other"},
        "not a dict",
    ):
        viewer._handle_custom_msg(content, [])
    assert viewer.selected is None and calls == []


def test_play_sends_the_span_to_the_browser(monkeypatch: pytest.MonkeyPatch):
    viewer = view(_transcript(), audio=_tone(1.0))
    sent = _record(viewer, monkeypatch)
    viewer.play(0.5, 0.7)
    viewer.play()
    assert sent.custom == [
        {"event": "play", "start": 0.5, "end": 0.7},
        {"event": "play", "start": 0.0, "end": None},
    ]
    with pytest.raises(WidgetError, match="Cannot play"):
        viewer.play(0.8, 0.2)
    with pytest.raises(WidgetError, match="Cannot play"):
        viewer.play(5.0)
    with pytest.raises(WidgetError, match="Cannot play"):
        viewer.play(0.5, 3.0)


def test_load_sends_all_traits_in_one_update(monkeypatch: pytest.MonkeyPatch):
    viewer = AlignmentViewer()
    sent = _record(viewer, monkeypatch)
    viewer.load(_tone(0.5), transcript_tiers(_transcript(0.5)), title="x")
    updates = [m for m in sent.messages if m.get("method") == "update"]
    assert len(updates) == 1
    (update,) = updates
    binary = {path[0] for path in update["buffer_paths"]}  # bytes travel as binary buffers
    assert binary == {"wav", "waveform", "spectrogram"}
    assert {"tiers", "duration", "title", "spectrogram_shape"} <= set(update["state"])
    assert viewer.segments("words")[0].text == "ala"
    with pytest.raises(WidgetError, match="No tier"):
        viewer.segments("chars")


# --------------------------------------------------------------------------- copy button


def test_copy_button_records_what_the_browser_reports():
    button = CopyButton("a:1", label="Copy")
    button._handle_custom_msg({"event": "copied", "text": "a:1"}, [])
    assert button.last_event == "copied"
    button._handle_custom_msg({"event": "copy-failed", "error": "denied"}, [])
    assert button.last_event == "copy-failed: denied"


# --------------------------------------------------------------------------- mixer


class FakeTTS:
    """A Synthesizer stand-in: three voices, a tone whose length follows the speed."""

    voices = ("alpha", "beta", "gamma")
    default_voice = "beta"
    default_lang = "pl"

    def __init__(self, gate: threading.Event | None = None, error: Exception | None = None):
        self.calls: list[dict[str, Any]] = []
        self.gate = gate
        self.error = error

    def synthesize(self, text: str, *, voice: Any, speed: float, lang: str) -> Speech:
        self.calls.append({"text": text, "voice": voice, "speed": speed, "lang": lang})
        if self.gate is not None:
            assert self.gate.wait(10), "the test never opened the gate"
        if self.error is not None:
            raise self.error
        audio = _tone(1.0 / speed).samples
        return Speech(audio, RATE, [SpeechChunk(text, "fonemy", audio, 0.0, None)])


def _click(button: Any) -> None:
    """What the browser sends when a Button is pressed."""
    button._handle_custom_msg({"event": "click"}, [])


def _descendants(widget):
    """Every widget inside ``widget`` (boxes' children, recursively)."""
    for child in getattr(widget, "children", ()):
        yield child
        yield from _descendants(child)


def test_blend_spec_is_normalised_and_parses_back():
    assert blend_spec({"a": 7, "b": 3}) == "a:0.7,b:0.3"
    assert blend_spec({"a": 1, "b": 0, "c": 1}) == "a:0.5,c:0.5"
    assert blend_spec({"a": 0.0}) == "" and blend_spec({}) == ""
    weights = {"x": 0.2, "y": 0.45, "z": 0.35}
    assert parse_blend(blend_spec(weights)) == pytest.approx(weights)


def test_mixer_starts_on_the_default_voice_with_one_player_and_one_readout_per_slider():
    mix = VoiceMixer(FakeTTS())
    assert list(mix.sliders) == ["alpha", "beta", "gamma"]
    assert mix.weights == {"beta": 1.0} and mix.spec.value == "beta:1"
    assert mix.copy.text == "beta:1" and mix.spec.disabled
    # the viewer's player is the only one, hidden (no empty player) until the first result
    assert mix.autoplay and mix.viewer.wav == b"" and mix.viewer.layout.display == "none"
    assert not [child for child in _descendants(mix) if isinstance(child, ipywidgets.Audio)]
    assert not any(slider.readout for slider in mix.sliders.values())  # the share is the readout
    assert [mix.shares[name].value for name in mix.sliders] == ["0%", "100%", "0%"]
    assert (mix.speed.min, mix.speed.max) == (0.5, 2.0)
    assert "pl" in [code for _, code in mix.language.options]


def test_mixer_weights_are_normalised_and_the_spec_follows():
    mix = VoiceMixer(FakeTTS(), voice="alpha:0.75,gamma:0.25")
    assert mix.sliders["alpha"].value == pytest.approx(0.75)
    mix.sliders["alpha"].value = 0.6
    mix.sliders["beta"].value = 0.3
    mix.sliders["gamma"].value = 0.3
    assert mix.weights == pytest.approx({"alpha": 0.5, "beta": 0.25, "gamma": 0.25})
    assert mix.blend_spec == mix.spec.value == mix.copy.text == "alpha:0.5,beta:0.25,gamma:0.25"
    assert mix.shares["alpha"].value == "50%"


def test_synthesize_button_runs_on_a_worker_thread():
    gate = threading.Event()
    tts = FakeTTS(gate)
    mix = VoiceMixer(tts, voice="alpha:1,beta:1", lang="cs", speed=2.0, autoplay=False)
    mix.text.value = "Ahoj."
    _click(mix.button)
    worker = mix._worker
    assert worker is not None and worker.is_alive() and worker is not threading.current_thread()
    assert mix.button.disabled and "Synthesizing" in mix.status.value
    _click(mix.button)  # pressed again while running: no second synthesis
    gate.set()
    speech = mix.wait(timeout=10)
    assert len(tts.calls) == 1
    assert tts.calls[0] == {
        "text": "Ahoj.",
        "voice": {"alpha": 0.5, "beta": 0.5},
        "speed": 2.0,
        "lang": "cs",
    }
    assert speech is mix.speech and not mix.button.disabled
    clip = load(mix.viewer.wav, sample_rate=None)
    assert clip.sample_rate == RATE and clip.duration == pytest.approx(0.5)
    assert mix.viewer.duration == pytest.approx(0.5) and mix.viewer.layout.display is None
    assert mix.viewer.title == "alpha:0.5,beta:0.5"
    assert "0.50 s of speech" in mix.status.value


def test_a_new_result_plays_in_the_viewers_own_player():
    mix = VoiceMixer(FakeTTS())
    sent = []
    mix.viewer.send = sent.append  # what would go to the browser
    mix.synthesize()
    mix.wait(timeout=10)
    assert sent == [{"event": "play", "start": 0.0, "end": None}]
    assert mix.viewer.layout.display is None and mix.viewer.wav


def test_synthesis_errors_are_shown_in_the_widget():
    mix = VoiceMixer(FakeTTS(error=SpeechlabError("speed must be <b>sane</b>")))
    mix.synthesize()
    with pytest.raises(SpeechlabError, match="sane"):
        mix.wait(timeout=10)
    assert "speed must be &lt;b&gt;sane&lt;/b&gt;" in mix.status.value
    assert not mix.button.disabled and mix.viewer.wav == b""

    crash = VoiceMixer(FakeTTS(error=RuntimeError("onnxruntime fell over")))
    crash.synthesize()
    with pytest.raises(RuntimeError):
        crash.wait(timeout=10)
    assert "RuntimeError: onnxruntime fell over" in crash.status.value


def test_unusable_inputs_are_refused_before_the_thread_starts():
    tts = FakeTTS()
    mix = VoiceMixer(tts)
    mix.sliders["beta"].value = 0.0
    assert mix.synthesize() is None
    assert "raise at least one voice" in mix.status.value
    assert isinstance(mix.error, WidgetError) and mix.spec.value == ""
    mix.sliders["gamma"].value = 0.5
    mix.text.value = "   "
    assert mix.synthesize() is None and "text is empty" in mix.status.value
    assert tts.calls == []


def test_mixer_bad_arguments_are_typed_errors():
    with pytest.raises(WidgetError, match="Synthesizer with voices"):
        mixer(object())  # type: ignore[arg-type]
    with pytest.raises(WidgetError, match="Unknown voice"):
        VoiceMixer(FakeTTS(), voice="delta")
    with pytest.raises(WidgetError, match="Unknown language"):
        VoiceMixer(FakeTTS(), lang="xx")


@pytest.mark.realweights
@pytest.mark.slow
def test_mixer_with_the_store_tts_speaks_a_blend(real_store: Path):
    mix = mixer("kokoro-82m-int8", text="Dzień dobry.")
    mix.sliders["jf_alpha"].value = 0.5
    assert mix.blend_spec == "jf_alpha:0.333,jm_kumo:0.667"
    _click(mix.button)
    speech = mix.wait(timeout=120)
    assert speech is not None and 0.5 < speech.duration < 5.0
    # the store model's graph gives durations now (issue 18 item 9): a TTS word tier first
    assert mix.viewer.tier_names == ["tts words", "tts text", "phonemes"]
    assert load(mix.viewer.wav, sample_rate=None).duration == pytest.approx(speech.duration)
