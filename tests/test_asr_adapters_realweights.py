"""A LoRA adapter trained on speechlab-pl-ctc-small's real weights, saved on its own and
applied to the base model: the same output as the merged export, at a fraction of its size."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import require

from speechlab.asr import load_asr
from speechlab.audio import Audio, load
from speechlab.store import STORE
from speechlab.train import finetune
from speechlab.train.medical_sentences import medical_sentences
from speechlab.tts.espeak_speech import EspeakSynthesizer

NAME = "speechlab-pl-ctc-small"
pytestmark = [pytest.mark.realweights, pytest.mark.timeout(600)]


@pytest.fixture(scope="module")
def run(real_store_home: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(base folder, adapter run's model folder): 8 steps of LoRA on clinical sentences."""
    require(NAME in STORE, f"{NAME} not in the store")
    base = real_store_home / "models" / NAME
    root = tmp_path_factory.mktemp("real-adapter")
    espeak = EspeakSynthesizer()
    lines = ["path\ttext"]
    for i, text in enumerate(medical_sentences(8, seed=3)):
        speech = espeak.synthesize(text, voice=("pl+m1", "pl+f2")[i % 2])
        Audio(speech.audio, speech.sample_rate).resample(16_000).save(root / f"{i}.wav")
        lines.append(f"{i}.wav\t{text}")
    (root / "train.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = finetune({
        "model": str(base), "train": str(root / "train.tsv"), "out_dir": str(root / "out"),
        "strategy": "adapter", "vocab": "model", "max_steps": 8, "batch_size": 4,
        "learning_rate": 3e-3, "warmup_steps": 0, "lora_r": 8, "mask_time_prob": 0.0,
        "eval_every": 0, "checkpoint_every": 0, "threads": 1, "progress": False,
    })  # fmt: skip
    return base, result.model_dir


def test_the_saved_adapter_on_the_real_base_is_the_merged_model(run, polish_clip):
    base_dir, merged_dir = run
    adapter = merged_dir / "adapter"
    stored = (adapter / "adapter_model.safetensors").stat().st_size
    full = (merged_dir / "model.safetensors").stat().st_size
    print(f"\nadapter {stored / 1e6:.2f} MB, merged model {full / 1e6:.2f} MB")
    # LoRA r=8 on the default targets of 6 layers plus the whole CTC head, fp32: measured
    # 0.93 MB of the merged fp32 model's 21.1 MB; a bug saving the base along is > 20 MB
    assert stored < 0.05 * full
    audio = load(polish_clip).resample(16_000)
    base = load_asr(base_dir)
    before = base.log_probs([audio.samples])[0]
    base_text = base.transcribe(audio, progress=False).text
    merged = load_asr(merged_dir).log_probs([audio.samples])[0]
    base.load_adapter(adapter, "clinical")
    adapted = base.log_probs([audio.samples])[0]
    np.testing.assert_allclose(adapted, merged, atol=1e-4)
    assert np.abs(adapted - before).max() > 0.01  # eight steps moved the real model
    base.use_adapter(None)
    np.testing.assert_array_equal(base.log_probs([audio.samples])[0], before)
    assert base.transcribe(audio, progress=False).text == base_text
