"""speechlab.audio: formats, resampling, mixdown, normalisation, saving, bad input."""

from __future__ import annotations

import io
import struct

import numpy as np
import pytest
import soundfile as sf
from conftest import require_module

from speechlab import audio
from speechlab.audio import Audio, load
from speechlab.errors import AudioError, OutputError

pytestmark = pytest.mark.timeout(60)

# (extension, soundfile format, subtype, rate the format accepts, lossless)
FORMATS = [
    ("wav", "WAV", "PCM_16", 44_100, True),
    ("flac", "FLAC", "PCM_16", 44_100, True),
    ("ogg", "OGG", "VORBIS", 44_100, False),
    ("opus", "OGG", "OPUS", 48_000, False),
    ("mp3", "MP3", "MPEG_LAYER_III", 44_100, False),
]


def _encode(samples, rate, fmt, subtype) -> bytes:
    buf = io.BytesIO()
    sf.write(buf, samples, rate, format=fmt, subtype=subtype)
    return buf.getvalue()


# --------------------------------------------------------------------------- formats


@pytest.mark.parametrize(("ext", "fmt", "subtype", "rate", "lossless"), FORMATS)
def test_every_format_loads_from_path_bytes_and_file_object(
    tmp_path, tone, peak_hz, ext, fmt, subtype, rate, lossless
):
    signal = tone(440, rate, 1.0)
    data = _encode(signal, rate, fmt, subtype)
    path = tmp_path / f"tone.{ext}"
    path.write_bytes(data)

    for source in (path, str(path), data, io.BytesIO(data)):
        a = load(source)
        assert a.sample_rate == 16_000
        assert a.samples.dtype == np.float32
        assert a.samples.ndim == 1
        assert a.duration == pytest.approx(1.0, abs=0.06)  # mp3/opus add encoder padding
        assert peak_hz(a.samples, 16_000) == pytest.approx(440, abs=1.0)
    if lossless:
        native = load(path, sample_rate=None)
        assert native.sample_rate == rate
        np.testing.assert_allclose(native.samples, signal, atol=1 / 2**15 + 1e-6)


def test_resampling_44k1_to_16k_keeps_a_440_hz_tone(tone, peak_hz):
    signal = tone(440, 44_100, 2.0, amplitude=0.5)
    a = load(signal, source_rate=44_100)
    assert a.sample_rate == 16_000
    assert len(a) == 32_000
    assert peak_hz(a.samples, 16_000) == pytest.approx(440.0, abs=0.05)
    # level is kept too (RMS of a 0.5 sine is 0.5/sqrt(2)), away from the edges
    mid = a.samples[1000:-1000]
    assert np.sqrt(np.mean(mid**2)) == pytest.approx(0.5 / np.sqrt(2), rel=0.005)


def test_upsampling_and_audio_resample_method(tone, peak_hz):
    a = Audio(tone(1000, 8_000, 1.0), 8_000)
    b = a.resample(24_000)
    assert b.sample_rate == 24_000
    assert len(b) == 24_000
    assert peak_hz(b.samples, 24_000) == pytest.approx(1000, abs=0.1)
    assert load(a, sample_rate=24_000).sample_rate == 24_000


def test_stereo_is_mixed_down_by_averaging(tmp_path, tone):
    left = tone(440, 16_000, 0.5)
    stereo = np.stack([left, 0.5 * left], axis=1)
    path = tmp_path / "stereo.wav"
    sf.write(path, stereo, 16_000, subtype="FLOAT")
    a = load(path)
    np.testing.assert_allclose(a.samples, 0.75 * left, atol=1e-6)
    # opposite phases cancel
    cancel = load(np.stack([left, -left]), source_rate=16_000)  # channels-first array
    assert np.max(np.abs(cancel.samples)) < 1e-6


def test_arrays_of_every_kind(tone):
    x = tone(440, 16_000, 0.25)
    pcm16 = (x * 32767).astype(np.int16)
    assert np.max(np.abs(load(pcm16, source_rate=16_000).samples - x)) < 1e-4
    pcm32 = (x.astype(np.float64) * (2**31 - 1)).astype(np.int32)
    assert np.max(np.abs(load(pcm32, source_rate=16_000).samples - x)) < 1e-6
    u8 = np.round(x * 127 + 128).astype(np.uint8)
    assert np.max(np.abs(load(u8, source_rate=16_000).samples - x)) < 0.01
    assert len(load((x.tolist(), 16_000))) == len(x)
    assert load(x.astype(np.float64), source_rate=16_000).samples.dtype == np.float32


def test_torch_tensors_are_accepted(tone):
    torch = require_module("torch")
    x = tone(440, 22_050, 0.5)
    a = load(torch.from_numpy(x), source_rate=22_050)
    assert a.sample_rate == 16_000
    assert len(a) == 8_000


def test_normalisation_peak_and_rms(tone):
    x = tone(440, 16_000, 1.0, amplitude=0.1)
    peak = load(x, source_rate=16_000, normalize="peak")
    assert np.max(np.abs(peak.samples)) == pytest.approx(10 ** (-1 / 20), rel=1e-4)
    rms = load(x, source_rate=16_000, normalize="rms", target_db=-20)
    assert np.sqrt(np.mean(rms.samples**2)) == pytest.approx(0.1, rel=1e-3)
    loud = Audio(x, 16_000).normalize("rms", target_db=0)  # would clip: limited to 0 dBFS peak
    assert np.max(np.abs(loud.samples)) == pytest.approx(1.0, rel=1e-5)
    silent = Audio(np.zeros(100, np.float32), 16_000).normalize("peak")
    assert not silent.samples.any()
    with pytest.raises(AudioError, match="'peak' or 'rms'"):
        Audio(x, 16_000).normalize("loudness")
    with pytest.raises(AudioError, match="target_db"):
        Audio(x, 16_000).normalize("peak", target_db=6)


@pytest.mark.parametrize("ext", ["wav", "flac", "ogg", "mp3"])
def test_save_round_trip_is_atomic(tmp_path, tone, peak_hz, ext):
    a = Audio(tone(440, 16_000, 1.0), 16_000)
    path = a.save(tmp_path / f"out.{ext}")
    assert path.exists()
    assert [p.name for p in tmp_path.iterdir()] == [f"out.{ext}"]  # no temp file left
    back = load(path)
    assert peak_hz(back.samples, 16_000) == pytest.approx(440, abs=1.0)


def test_save_errors_are_clear(tmp_path, tone):
    a = Audio(tone(440, 16_000, 0.1), 16_000)
    with pytest.raises(AudioError, match="unknown audio format"):
        a.save(tmp_path / "out.xyz")
    with pytest.raises(OutputError, match="does not exist"):
        a.save(tmp_path / "missing" / "out.wav")
    with pytest.raises(AudioError, match="MP3 and Opus accept only some sample rates"):
        Audio(tone(440, 96_000, 0.1), 96_000).save(tmp_path / "out.mp3")
    assert list(tmp_path.iterdir()) == []


def test_audio_object_basics(tone):
    a = Audio(tone(440, 16_000, 1.5), 16_000, source="x.wav")
    assert a.duration == 1.5
    assert len(a) == 24_000
    assert "1.50 s" in repr(a)
    assert "16000 Hz" in repr(a)
    assert load(a.to_bytes()).duration == pytest.approx(1.5)
    with pytest.raises(AudioError, match="1-D"):
        Audio(np.zeros((2, 10)), 16_000)


def test_info_reads_only_the_header(tmp_path, tone):
    path = tmp_path / "a.flac"
    sf.write(path, np.stack([tone(440, 44_100, 2.0)] * 2, axis=1), 44_100)
    meta = audio.info(path)
    assert (meta.sample_rate, meta.channels, meta.frames, meta.format) == (
        44_100,
        2,
        88_200,
        "FLAC",
    )
    assert meta.duration == 2.0


# --------------------------------------------------------------------------- bad input


def _wav_bytes(samples, rate=16_000, subtype="PCM_16") -> bytes:
    return _encode(samples, rate, "WAV", subtype)


def test_missing_file(tmp_path):
    with pytest.raises(AudioError, match="not found"):
        load(tmp_path / "nope.wav")


def test_directory_instead_of_file(tmp_path):
    with pytest.raises(AudioError, match="is a directory"):
        load(tmp_path)


def test_zero_length_file(tmp_path):
    path = tmp_path / "empty.wav"
    path.touch()
    with pytest.raises(AudioError, match="empty"):
        load(path)


def test_wav_with_a_header_and_no_samples(tmp_path):
    path = tmp_path / "header-only.wav"
    path.write_bytes(_wav_bytes(np.zeros(0, np.float32)))
    with pytest.raises(AudioError, match="no audio samples"):
        load(path)
    with pytest.raises(AudioError, match="no audio samples"):
        list(audio.iter_blocks(path))


@pytest.mark.parametrize("keep", [4, 20, 40])
def test_truncated_header(tmp_path, tone, keep):
    path = tmp_path / "truncated.wav"
    path.write_bytes(_wav_bytes(tone(440, 16_000, 0.5))[:keep])
    with pytest.raises(AudioError, match="Could not decode") as info:
        load(path)
    assert "ffmpeg" in str(info.value)


def test_truncated_data_loads_what_is_there(tmp_path, tone):
    data = _wav_bytes(tone(440, 16_000, 1.0))
    path = tmp_path / "cut.wav"
    path.write_bytes(data[: 44 + 2 * 8_000])  # header + half the samples
    assert load(path).duration == pytest.approx(0.5, abs=0.01)


@pytest.mark.parametrize(
    "payload",
    [
        b"hello world, this is not audio " * 50,
        bytes(range(256)) * 40,
        b"RIFF\x00\x00\x00\x00WAVEjunk",
    ],
)
def test_non_audio_bytes(tmp_path, payload):
    with pytest.raises(AudioError, match="Could not decode"):
        load(payload)
    path = tmp_path / "fake.wav"
    path.write_bytes(payload)
    with pytest.raises(AudioError, match="Could not decode"):
        load(path)


def test_unsupported_container_says_how_to_convert(tmp_path):
    path = tmp_path / "voice.m4a"
    path.write_bytes(b"\x00\x00\x00\x20ftypM4A \x00\x00\x00\x00" + bytes(500))
    with pytest.raises(AudioError, match=r"ffmpeg -i INPUT"):
        load(path)


def test_nan_and_inf_samples(tmp_path, tone):
    x = tone(440, 16_000, 0.5)
    x[100] = np.nan
    with pytest.raises(AudioError, match="1 NaN or infinite"):
        load(x, source_rate=16_000)
    y = tone(440, 16_000, 0.5)
    y[5] = np.inf
    path = tmp_path / "inf.wav"
    path.write_bytes(_wav_bytes(y, subtype="FLOAT"))
    with pytest.raises(AudioError, match="NaN or infinite"):
        load(path)
    with pytest.raises(AudioError, match="NaN or infinite"):
        list(audio.iter_blocks(path, seconds=0.1))


@pytest.mark.parametrize("rate", [0, -16_000, 5, 10**9, 16_000.5, float("nan"), "16k", True])
def test_absurd_or_wrongly_typed_rates(tone, rate):
    with pytest.raises(AudioError, match="source_rate"):
        load(tone(440, 16_000, 0.1), source_rate=rate)
    with pytest.raises(AudioError, match="sample_rate"):
        load(tone(440, 16_000, 0.1), sample_rate=rate, source_rate=16_000)


def test_corrupt_rate_in_a_wav_header(tmp_path, tone):
    data = bytearray(_wav_bytes(tone(440, 16_000, 0.2)))
    data[24:28] = struct.pack("<I", 3)  # the fmt chunk's sample rate field
    path = tmp_path / "rate.wav"
    path.write_bytes(bytes(data))
    with pytest.raises(AudioError, match="3 Hz"):
        load(path)


def test_array_without_a_rate(tone):
    with pytest.raises(AudioError, match="source_rate="):
        load(tone(440, 16_000, 0.1))


@pytest.mark.parametrize(
    ("source", "message"),
    [
        (42, "of type int"),
        (None, "of type NoneType"),
        ({"samples": [0.1]}, "of type dict"),
        (b"", "empty"),
        ((np.zeros(10),), "tuple of 1"),
    ],
)
def test_wrongly_typed_sources(source, message):
    with pytest.raises(AudioError, match=message):
        load(source)


@pytest.mark.parametrize(
    ("array", "message"),
    [
        (np.zeros(0, np.float32), "empty"),
        (np.zeros((2, 3, 4), np.float32), "1-D or 2-D"),
        (np.ones(10, dtype=bool), "dtype bool"),
        (np.array(["a", "b"]), "dtype <U1"),
        (np.ones(10, dtype=np.complex64), "dtype complex64"),
        (np.zeros((100, 100), np.float32), "Cannot tell channels"),
    ],
)
def test_bad_arrays(array, message):
    with pytest.raises(AudioError, match=message):
        load(array, source_rate=16_000)


def test_huge_file_is_refused_before_decoding(tmp_path, tone):
    path = tmp_path / "long.wav"
    sf.write(path, tone(440, 16_000, 3.0), 16_000)
    with pytest.raises(AudioError, match="iter_blocks"):
        load(path, max_duration=2.0)
    assert load(path, max_duration=None).duration == 3.0


# --------------------------------------------------------------------------- block reading


def test_blocks_match_a_whole_read(tmp_path, tone):
    x = tone(440, 44_100, 7.3) + tone(3000, 44_100, 7.3, amplitude=0.2)
    path = tmp_path / "mix.flac"
    sf.write(path, x, 44_100, subtype="PCM_24")
    whole = load(path)
    blocks = list(audio.iter_blocks(path, seconds=2.0))
    assert [len(b) for b in blocks] == [32_000, 32_000, 32_000, len(whole) - 96_000]
    assert [b.offset for b in blocks] == [0.0, 2.0, 4.0, 6.0]
    joined = np.concatenate([b.samples for b in blocks])
    assert len(joined) == len(whole)
    # the streaming resampler has no edge artefacts at block boundaries
    np.testing.assert_allclose(joined, whole.samples, atol=2e-4)
    native = list(audio.iter_blocks(path, seconds=3.0, sample_rate=None))
    assert native[0].sample_rate == 44_100
    assert len(native[0]) == 132_300


def test_block_reading_has_bounded_memory(tmp_path):
    """A 40-minute file (153 MB as float32) is read in 30 s blocks with a few MB of memory."""
    import tracemalloc

    rate, minutes = 16_000, 40
    path = tmp_path / "long.wav"
    rng = np.random.default_rng(0)
    with sf.SoundFile(path, "w", rate, 1, subtype="PCM_16") as f:
        for _ in range(minutes):
            f.write((0.1 * rng.standard_normal(rate * 60)).astype(np.float32))
    whole_bytes = rate * 60 * minutes * 4

    tracemalloc.start()
    try:
        total = 0
        for block in audio.iter_blocks(path, seconds=30.0):
            total += len(block)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert total == rate * 60 * minutes
    assert peak < 8 * 1024 * 1024, f"peak {peak / 1e6:.1f} MB"
    assert peak < whole_bytes / 15


def test_block_reading_bad_input(tmp_path):
    with pytest.raises(AudioError, match="not found"):
        next(audio.iter_blocks(tmp_path / "missing.wav"))
    with pytest.raises(AudioError, match="seconds > 0"):
        next(audio.iter_blocks(tmp_path / "missing.wav", seconds=0))
    (tmp_path / "junk.wav").write_bytes(b"junk" * 100)
    with pytest.raises(AudioError, match="Could not decode"):
        next(audio.iter_blocks(tmp_path / "junk.wav"))
