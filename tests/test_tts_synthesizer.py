"""Synthesizer without weights: a stand-in runtime, its label and model folder."""

from __future__ import annotations

import inspect
import json
from pathlib import Path

import numpy as np
import pytest

from speechlab.store import MANIFEST
from speechlab.tts import KokoroRuntime, Output, Synthesizer
from speechlab.tts.voices import PACK_SHAPE, VoiceBank


class _SilentRuntime:
    """10 ms of silence per token, no durations."""

    def __call__(self, ids: list[int], style: np.ndarray, speed: float) -> Output:
        return Output(np.zeros(240 * len(ids), np.float32), None)


def _synthesizer(model_dir: Path | None = None) -> Synthesizer:
    voices = VoiceBank({"xx_test": np.zeros(PACK_SHAPE, np.float32)})
    vocab = {symbol: i + 1 for i, symbol in enumerate("abdeijklmnoprstuwz ")}
    return Synthesizer(_SilentRuntime(), vocab, voices, model_dir=model_dir)


def test_a_stand_in_runtime_meets_the_contract_and_speaks():
    assert isinstance(_SilentRuntime(), KokoroRuntime)
    assert inspect.signature(_SilentRuntime.__call__) == inspect.signature(KokoroRuntime.__call__)
    speech = _synthesizer().synthesize("Ala ma kota.", lang="pl")
    assert speech.duration > 0 and speech.words is None


def test_label_without_a_folder_is_kokoro():
    tts = _synthesizer()
    assert tts.model_dir is None and tts.label == "kokoro"


def test_label_is_the_store_name_from_the_manifest(tmp_path):
    folder = tmp_path / "somewhere"
    folder.mkdir()
    (folder / MANIFEST).write_text(json.dumps({"name": "kokoro-82m-int8"}), encoding="utf-8")
    tts = _synthesizer(str(folder))
    assert tts.model_dir == folder and tts.label == "kokoro-82m-int8"


@pytest.mark.parametrize(
    ("relative", "label"),
    [
        ("my-kokoro", "my-kokoro"),
        (
            "hub/models--onnx-community--Kokoro-82M-ONNX/snapshots/abc123",
            "onnx-community/Kokoro-82M-ONNX",
        ),
    ],
)
def test_label_is_the_hub_id_or_the_folder_name(tmp_path, relative, label):
    folder = tmp_path / relative
    folder.mkdir(parents=True)
    assert _synthesizer(folder).label == label
