"""Property-based tests of the audio input path: whatever array, rate or bytes ``load`` is
given, it returns a valid ``Audio`` or raises ``AudioError`` -- never another exception."""

from __future__ import annotations

import io

import numpy as np
import pytest
import soundfile as sf
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import speechlab
from speechlab.audio import MAX_SAMPLE_RATE, MIN_SAMPLE_RATE, Audio
from speechlab.errors import AudioError

SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

#: Every kind of dtype numpy has: bool, (u)int, float, complex, datetime, timedelta, bytes,
#: unicode; sizes 0..100 per axis so both channel layouts and the >64-channel case occur.
DTYPES = st.one_of(
    hnp.scalar_dtypes(),
    hnp.byte_string_dtypes(max_len=4),
    hnp.unicode_string_dtypes(max_len=4),
)
ARRAYS = hnp.arrays(
    dtype=DTYPES,
    shape=hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=100),
)
RATES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**9), max_value=10**9),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([8_000, 16_000, 44_100, 48_000, MIN_SAMPLE_RATE, MAX_SAMPLE_RATE]),
    st.sampled_from([np.int64(22_050), np.float32(16_000.0), np.float64(16_000.5)]),
    st.text(max_size=5),
)
TARGET_RATES = st.one_of(st.none(), st.sampled_from([16_000, 24_000]), RATES)


def _check(result: Audio) -> None:
    assert isinstance(result, Audio)
    assert result.samples.ndim == 1 and result.samples.dtype == np.float32
    assert len(result.samples) > 0 and np.isfinite(result.samples).all()
    assert isinstance(result.sample_rate, int)
    assert MIN_SAMPLE_RATE <= result.sample_rate <= MAX_SAMPLE_RATE


@SETTINGS
@given(samples=ARRAYS, source_rate=RATES, sample_rate=TARGET_RATES)
def test_any_array_and_rate_give_audio_or_an_audio_error(samples, source_rate, sample_rate):
    try:
        result = speechlab.load(samples, sample_rate=sample_rate, source_rate=source_rate)
    except AudioError:
        return
    _check(result)


@SETTINGS
@given(
    samples=hnp.arrays(
        dtype=st.sampled_from([np.float32, np.float64, np.int16, np.int32, np.uint8]),
        shape=hnp.array_shapes(min_dims=1, max_dims=2, min_side=0, max_side=100),
    ),
    normalize=st.sampled_from([None, "peak", "rms", "loud"]),
    target_db=st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True)),
)
def test_normalisation_of_any_pcm_array_gives_audio_or_an_audio_error(
    samples, normalize, target_db
):
    try:
        result = speechlab.load(
            samples, sample_rate=None, source_rate=16_000, normalize=normalize, target_db=target_db
        )
    except AudioError:
        return
    _check(result)
    assert float(np.max(np.abs(result.samples))) <= 1.0 + 1e-6 or normalize is None


@SETTINGS
@given(
    samples=hnp.arrays(
        dtype=np.float32,
        shape=hnp.array_shapes(min_dims=1, max_dims=2, min_side=1, max_side=64),
        elements=st.floats(-1, 1, width=32),
    ),
    rate=st.integers(MIN_SAMPLE_RATE, MAX_SAMPLE_RATE),
)
def test_finite_pcm_keeps_its_length_and_rate_without_resampling(samples, rate):
    """Channels are averaged, never dropped into the time axis: (n, c) with c <= n keeps
    n samples, (c, n) with c < n too."""
    result = speechlab.load(samples, sample_rate=None, source_rate=rate)
    _check(result)
    assert result.sample_rate == rate
    assert len(result.samples) == (max(samples.shape) if samples.ndim == 2 else len(samples))


def _encoded(fmt: str, subtype: str) -> bytes:
    buf = io.BytesIO()
    sf.write(buf, np.linspace(-0.5, 0.5, 800, dtype=np.float32), 8_000, format=fmt, subtype=subtype)
    return buf.getvalue()


#: Real file starts (WAV, FLAC, OGG) whose tails hypothesis cuts and scrambles.
HEADERS = [_encoded("WAV", "PCM_16"), _encoded("FLAC", "PCM_16"), _encoded("OGG", "VORBIS")]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    header=st.sampled_from(HEADERS),
    keep=st.integers(0, 1200),
    tail=st.binary(max_size=400),
)
def test_any_bytes_give_audio_or_an_audio_error(header, keep, tail):
    try:
        result = speechlab.load(header[:keep] + tail)
    except AudioError:
        return
    _check(result)


@pytest.mark.parametrize("layout", ["empty-1d", "empty-rows", "empty-cols", "empty-3d"])
def test_empty_arrays_are_called_empty(layout):
    shape = {"empty-1d": (0,), "empty-rows": (0, 2), "empty-cols": (5, 0), "empty-3d": (0, 2, 2)}
    with pytest.raises(AudioError, match="empty"):
        speechlab.load(np.zeros(shape[layout]), source_rate=16_000)
