"""speechlab.quantize: every method writes a folder load_asr opens and `models verify` checks.

Mechanics and bad input run on a tiny random CTC model; accuracy runs on the real
``speechlab-pl-ctc-small`` with Polish sentences it never heard, spoken by Kokoro (real int8
weights), each variant's CER compared with fp32's on the same clips.
"""

from __future__ import annotations

import json
from pathlib import Path

import jiwer
import numpy as np
import pytest
from typer.testing import CliRunner

import speechlab
from speechlab.asr import load_asr
from speechlab.audio import Audio
from speechlab.cli import app
from speechlab.cli.quantize import parse_options
from speechlab.errors import ChecksumError, DatasetError, OutputError, SpeechlabError
from speechlab.quantization import METHODS, AlreadyQuantizedError, QuantizationError
from speechlab.quantization.comparing import argmax_agreement
from speechlab.quantization.torch_methods import cpu_has_fast_bf16
from speechlab.store import MANIFEST, verify_folder
from speechlab.textnorm import model_card

pytestmark = pytest.mark.timeout(1800)
runner = CliRunner()
SMALL = "speechlab-pl-ctc-small"


def _calibration_folder(folder: Path, rate: int, count: int = 3, seconds: float = 1.5) -> Path:
    """Clips of noise-like speech stand-ins at ``rate`` with same-stem transcripts."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for i in range(count):
        wave = (0.1 * rng.standard_normal(int(rate * seconds))).astype(np.float32)
        Audio(wave, rate).save(folder / f"c{i}.wav")
        (folder / f"c{i}.txt").write_text("tekst", encoding="utf-8")
    return folder


def _leftovers(parent: Path) -> list[str]:
    return sorted(p.name for p in parent.iterdir() if p.name.endswith(".partial"))


# ---------------------------------------------------------------- mechanics (tiny model)


def test_speechlab_quantize_is_the_function_and_lists_the_methods():
    assert speechlab.quantize.__name__ == "quantize"
    assert list(METHODS) == [
        "fp16",
        "bf16",
        "torch-int8-dynamic",
        "onnx-int8-dynamic",
        "onnx-int8-static",
        "onnx-int4",
        "qat-int8",
        "qat-int4",
    ]


def test_torch_int8_folder_opens_verifies_and_stays_close(tiny_ctc_dir, tmp_path):
    out = speechlab.quantize(tiny_ctc_dir, "torch-int8-dynamic", tmp_path / "int8", progress=False)
    assert sorted(p.name for p in out.iterdir()) == [
        "config.json",
        "model-int8.safetensors",
        "preprocessor_config.json",
        MANIFEST,
        "tokenizer_config.json",
        "vocab.json",
    ]
    manifest = json.loads((out / MANIFEST).read_text())
    recipe = manifest["quantization"]
    assert recipe["method"] == "torch-int8-dynamic"
    assert recipe["source"]["sha256"] == speechlab.store.sha256_file(
        tiny_ctc_dir / "model.safetensors"
    )
    assert "lm_head" in recipe["options"]["modules"]
    assert manifest["packages"]["torch"]
    assert verify_folder(out) == out
    wave = np.random.default_rng(1).standard_normal(16_000).astype(np.float32)
    reference = load_asr(tiny_ctc_dir, dtype="float32").log_probs([wave])[0]
    quantized = load_asr(out)
    assert quantized.runtime == "torch-int8"
    got = quantized.log_probs([wave])[0]
    assert got.shape == reference.shape
    # measured: 0.0091 largest log-prob difference on this random model
    assert np.abs(got - reference).max() < 0.05


def test_a_changed_file_fails_verification(tiny_ctc_dir, tmp_path):
    out = speechlab.quantize(tiny_ctc_dir, "fp16", tmp_path / "half", progress=False)
    result = runner.invoke(app, ["models", "verify", str(out)])
    assert result.exit_code == 0, result.output
    assert "ok" in result.output
    with open(out / "model.safetensors", "r+b") as f:
        f.seek(-4, 2)
        f.write(b"\x00\x01\x02\x03")
    with pytest.raises(ChecksumError, match="changed after it was written"):
        verify_folder(out)
    assert runner.invoke(app, ["models", "verify", str(out)]).exit_code == 2


def test_cli_quantize_writes_a_folder(tiny_ctc_dir, tmp_path):
    out = tmp_path / "cli-int8"
    result = runner.invoke(
        app,
        [
            *("quantize", str(tiny_ctc_dir), "--method", "torch-int8-dynamic", "--out", str(out)),
            *("-O", "per_channel=false", "-O", 'skip=["lm_head"]'),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "models verify" in result.output
    options = json.loads((out / MANIFEST).read_text())["quantization"]["options"]
    assert options["per_channel"] is False
    assert "lm_head" not in options["modules"]
    assert load_asr(out).runtime == "torch-int8"


def test_parse_options_reads_json_values_and_text():
    assert parse_options(["a=1", "b=false", "c=entropy", 'd=["x"]']) == {
        "a": 1,
        "b": False,
        "c": "entropy",
        "d": ["x"],
    }
    with pytest.raises(QuantizationError, match="KEY=VALUE"):
        parse_options(["novalue"])


def test_bf16_detection_reads_the_cpu_flags():
    flags = Path("/proc/cpuinfo").read_text().split() if Path("/proc/cpuinfo").exists() else []
    assert cpu_has_fast_bf16() == ("amx_bf16" in flags or "avx512_bf16" in flags)


# ---------------------------------------------------------------- bad input


def test_unknown_method_lists_the_methods(tiny_ctc_dir, tmp_path):
    with pytest.raises(QuantizationError, match="Unknown quantization method 'int3'") as info:
        speechlab.quantize(tiny_ctc_dir, "int3", tmp_path / "x", progress=False)
    assert all(name in str(info.value) for name in METHODS)
    result = runner.invoke(
        app, ["quantize", str(tiny_ctc_dir), "--method", "int3", "--out", str(tmp_path / "y")]
    )
    assert result.exit_code == 2
    assert "onnx-int8-static" in result.output
    assert not (tmp_path / "x").exists() and not (tmp_path / "y").exists()


def test_unknown_option_names_the_methods_options(tiny_ctc_dir, tmp_path):
    with pytest.raises(QuantizationError, match="takes no option bits; it takes engine="):
        speechlab.quantize(tiny_ctc_dir, "torch-int8-dynamic", tmp_path / "x", bits=4)


def test_calibration_missing_empty_or_not_wanted(tiny_ctc_dir, tmp_path):
    with pytest.raises(QuantizationError, match="calibrates on audio and none was given"):
        speechlab.quantize(tiny_ctc_dir, "onnx-int8-static", tmp_path / "a", progress=False)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DatasetError):
        speechlab.quantize(tiny_ctc_dir, "onnx-int8-static", tmp_path / "b", empty)
    with pytest.raises(QuantizationError, match="uses no calibration data"):
        speechlab.quantize(tiny_ctc_dir, "fp16", tmp_path / "c", empty)
    short = tmp_path / "short"
    _calibration_folder(short, 16_000, count=2, seconds=0.05)
    with pytest.raises(QuantizationError, match=r"no audio of 0\.1 s or more"):
        speechlab.quantize(tiny_ctc_dir, "onnx-int8-static", tmp_path / "d", short)
    assert not any((tmp_path / n).exists() for n in "abcd")
    assert _leftovers(tmp_path) == []


def test_an_already_quantized_folder_names_its_source(tiny_ctc_dir, tmp_path):
    first = speechlab.quantize(tiny_ctc_dir, "fp16", tmp_path / "half", progress=False)
    with pytest.raises(AlreadyQuantizedError, match=f"Quantize {tiny_ctc_dir} instead"):
        speechlab.quantize(first, "torch-int8-dynamic", tmp_path / "twice", progress=False)


def test_an_existing_folder_is_never_written_over(tiny_ctc_dir, tmp_path):
    taken = tmp_path / "taken"
    taken.mkdir()
    (taken / "keep.txt").write_text("mine")
    with pytest.raises(OutputError, match="not an empty folder"):
        speechlab.quantize(tiny_ctc_dir, "fp16", taken, progress=False)
    assert (taken / "keep.txt").read_text() == "mine"


def test_a_failed_quantization_leaves_no_folder(tiny_ctc_dir, tmp_path, monkeypatch):
    import speechlab.quantization.torch_methods as torch_methods

    def broken(*args, **kwargs):
        raise RuntimeError("disk went away")

    monkeypatch.setattr(torch_methods, "_set_config_dtype", broken)
    with pytest.raises(RuntimeError, match="disk went away"):
        speechlab.quantize(tiny_ctc_dir, "fp16", tmp_path / "half", progress=False)
    assert not (tmp_path / "half").exists()
    assert _leftovers(tmp_path) == []


def test_argmax_agreement_takes_log_probs_or_saved_label_ids():
    rng = np.random.default_rng(0)
    a = rng.standard_normal((10, 5))
    b = a.copy()
    b[:3] = -b[:3]  # different best labels (almost surely) on the first three frames
    changed = int((a[:3].argmax(-1) != b[:3].argmax(-1)).sum())
    assert changed == 3
    # clips of unequal length are compared over their common frames
    assert argmax_agreement([a], [b[:8]]) == pytest.approx(5 / 8)
    assert argmax_agreement([a.argmax(-1)], [b]) == pytest.approx(7 / 10)
    assert argmax_agreement([a, a], [a, b]) == pytest.approx(17 / 20)
    assert np.isnan(argmax_agreement([], []))


def test_a_tts_model_is_refused(tmp_path):
    folder = tmp_path / "tts"
    folder.mkdir()
    (folder / MANIFEST).write_text(json.dumps({"task": "tts", "backend": "kokoro"}))
    with pytest.raises(SpeechlabError, match="takes wav2vec2-family CTC models"):
        speechlab.quantize(folder, "fp16", tmp_path / "out", progress=False)


# ---------------------------------------------------------------- real weights

#: The issue's targets, in CER points above fp32: PTQ int8 <= 0.5, int4 <= 1.0. Measured
#: 2026-11-28 on these 6 clips: fp32 0.0390; fp16 0.0390, bf16 0.0390, torch-int8-dynamic
#: 0.0346, onnx-int8-dynamic 0.0346, onnx-int8-static (minmax) 0.0390, onnx-int4 0.0346;
#: qat-int8 and qat-int4 (6 steps on the calibration sentences) 0.0346.
CER_SLACK = {
    "fp16": 0.005,
    "bf16": 0.005,
    "torch-int8-dynamic": 0.005,
    "onnx-int8-dynamic": 0.005,
    "onnx-int8-static": 0.005,
    "onnx-int4": 0.01,
    "qat-int8": 0.005,
    "qat-int4": 0.01,
}
#: QAT fine-tunes briefly on the 8 calibration sentences (training-side, never the clips).
QAT_OPTIONS = {
    "steps": 6,
    "batch_size": 4,
    "learning_rate": 1e-5,
    "config": {"threads": 2, "group_batches": 2, "checkpoint_every": 0},
}


@pytest.fixture(scope="module")
def polish_set(real_store_home, tmp_path_factory):
    """Held-out sentences (never trained on) as 16 kHz clips, and 8 training-side sentences
    as a 24 kHz calibration folder (resampled by quantize)."""
    from speechlab.train.sentences import polish_sentences, split_sentences
    from speechlab.tts import load_tts

    train, held_out = split_sentences(polish_sentences(2000, seed=0), held_out=0.06, seed=0)
    tts = load_tts(real_store_home / "models" / "kokoro-82m-int8")
    texts = held_out[:6]
    clips = []
    for text in texts:
        speech = tts.synthesize(text, voice="jm_kumo", lang="pl")
        clips.append(Audio(speech.audio, speech.sample_rate).resample(16_000))
    calibration = tmp_path_factory.mktemp("calibration")
    for i, text in enumerate(train[:8]):
        speech = tts.synthesize(text, voice=("jm_kumo", "jf_alpha")[i % 2], lang="pl")
        Audio(speech.audio, speech.sample_rate).save(calibration / f"c{i}.wav")
        (calibration / f"c{i}.txt").write_text(text, encoding="utf-8")
    return clips, [model_card(t) for t in texts], calibration


def _cer(recognizer, clips, references) -> float:
    hypotheses = [model_card(t.text) for t in recognizer.transcribe(clips, progress=False)]
    return jiwer.cer(references, hypotheses)


@pytest.fixture(scope="module")
def fp32_cer(real_store_home, polish_set) -> float:
    clips, references, _ = polish_set
    return _cer(load_asr(real_store_home / "models" / SMALL, dtype="float32"), clips, references)


@pytest.mark.realweights
@pytest.mark.slow
@pytest.mark.parametrize("method", list(METHODS))
def test_each_method_on_real_weights(method, real_store_home, polish_set, fp32_cer, tmp_path):
    clips, references, calibration = polish_set
    options = {"measure": False} if method == "bf16" else {}
    if method.startswith("qat-"):
        options = {**QAT_OPTIONS, "train": str(calibration), "work_dir": str(tmp_path / "qat")}
    out = speechlab.quantize(
        real_store_home / "models" / SMALL,
        method,
        tmp_path / method,
        calibration if method == "onnx-int8-static" else None,
        progress=False,
        **options,
    )
    assert verify_folder(out) == out
    recipe = json.loads((out / MANIFEST).read_text())["quantization"]
    assert recipe["source"]["model"].endswith(SMALL)
    if method == "onnx-int8-static":
        summary = recipe["calibration"]
        assert summary["count"] == 8 and summary["sample_rate"] == 16_000
        assert summary["source_sample_rates"] == [24_000]
        assert summary["seconds"] > 8
    recognizer = load_asr(out)
    assert recognizer.runtime == {"torch-int8-dynamic": "torch-int8"}.get(
        method, "onnx" if method.startswith(("onnx", "qat")) else "speechlab"
    )
    if method.startswith("qat-"):
        assert recipe["notes"]["qat"]["steps"] == QAT_OPTIONS["steps"]
    cer = _cer(recognizer, clips, references)
    print(f"\n{method}: CER {cer:.4f} (fp32 {fp32_cer:.4f})")
    assert cer <= fp32_cer + CER_SLACK[method]
