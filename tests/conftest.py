"""Shared fixtures: synthetic signals, an isolated model cache, the real offline store."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch):
    """Every test gets a fresh, empty SPEECHLAB_HOME unless it asks for the shared store."""
    monkeypatch.setenv("SPEECHLAB_HOME", str(tmp_path_factory.mktemp("speechlab-home")))


@pytest.fixture(scope="session")
def real_store_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A cache with both store models assembled once from the installed packages."""
    from speechlab import models

    home = tmp_path_factory.mktemp("real-store")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SPEECHLAB_HOME", str(home))
        for name in models.STORE:
            models.assemble(name)
    return home


@pytest.fixture
def real_store(real_store_home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SPEECHLAB_HOME", str(real_store_home))
    return real_store_home


@pytest.fixture
def tone() -> Callable[..., np.ndarray]:
    """``tone(freq, rate, seconds, amplitude=0.5)`` -> float32 sine."""

    def make(freq: float, rate: int, seconds: float, amplitude: float = 0.5) -> np.ndarray:
        t = np.arange(round(rate * seconds)) / rate
        return (amplitude * np.sin(2 * np.pi * freq * t)).astype(np.float32)

    return make


def dominant_frequency(samples: np.ndarray, rate: int) -> float:
    """Peak of the Hann-windowed spectrum, refined by parabolic interpolation."""
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(len(samples))))
    k = int(np.argmax(spectrum[1:-1])) + 1
    a, b, c = np.log(spectrum[k - 1 : k + 2] + 1e-12)
    shift = 0.5 * (a - c) / (a - 2 * b + c)
    return (k + shift) * rate / len(samples)


@pytest.fixture
def peak_hz() -> Callable[[np.ndarray, int], float]:
    return dominant_frequency
