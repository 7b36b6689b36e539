"""ONNX export of CTC models and the ONNX Runtime runtime (``runtime="onnx"``).

Real weights: the store's ``speechlab-pl-ctc-small`` (stored in fp16, exported in fp32) on
held-out Polish sentences spoken by Kokoro (real int8 weights), against speechlab's torch
runtime in fp32. Tiny random models cover the other architecture (group-norm conv encoder,
post-norm transformer, no attention mask) and the command line.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import build_tiny_ctc, require_module
from typer.testing import CliRunner

from speechlab.asr import load_asr
from speechlab.asr.onnx_export import ExportError, export_ctc_onnx
from speechlab.audio import Audio
from speechlab.errors import ModelFileError, ModelNotFoundError, OutputError, SpeechlabError
from speechlab.store import MANIFEST, STORE, sha256_file, verify_folder
from speechlab.textnorm import model_card
from speechlab.train.sentences import polish_sentences, split_sentences

NAME = "speechlab-pl-ctc-small"
HELD_OUT = split_sentences(polish_sentences(2000, seed=0), held_out=0.06, seed=0)[1]


def real(test):
    """Marks a test that runs the store's real weights (the CLI and bad-input tests need none)."""
    test = pytest.mark.skipif(NAME not in STORE, reason=f"{NAME} not trained yet")(test)
    return pytest.mark.realweights(test)


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def small_dir(real_store_home):
    return real_store_home / "models" / NAME


@pytest.fixture(scope="module")
def exported(small_dir, tmp_path_factory):
    return export_ctc_onnx(small_dir, tmp_path_factory.mktemp("onnx") / "small-onnx")


@pytest.fixture(scope="module")
def onnx_asr(exported):
    return load_asr(exported)


@pytest.fixture(scope="module")
def torch_asr(small_dir):
    return load_asr(small_dir, dtype="float32")


@pytest.fixture(scope="module")
def clips(real_store_home) -> list[Audio]:
    """Four held-out sentences (about 2.5-4.5 s each), 16 kHz."""
    from speechlab.tts import load_tts

    tts = load_tts(real_store_home / "models" / "kokoro-82m-int8")
    out = []
    for text in HELD_OUT[:4]:
        speech = tts.synthesize(text, voice="jm_kumo", lang="pl")
        out.append(Audio(speech.audio, speech.sample_rate).resample(16_000))
    return out


def _logits(asr, wave: np.ndarray) -> np.ndarray:
    import torch

    wave = (wave - wave.mean()) / np.sqrt(wave.var() + 1e-7)
    return asr.model(torch.from_numpy(wave.astype(np.float32))[None]).float().numpy()[0]


# --------------------------------------------------------------------------- real weights


@real
def test_the_export_is_a_verified_model_folder_opened_on_onnx_runtime(
    exported, small_dir, onnx_asr
):
    import onnx

    names = {p.name for p in exported.iterdir()}
    assert {"model.onnx", "config.json", "vocab.json", "preprocessor_config.json"} <= names
    assert not any(n.endswith(".safetensors") for n in names)
    graph = onnx.load(str(exported / "model.onnx"), load_external_data=False).graph
    dims = {
        v.name: [d.dim_param or d.dim_value for d in v.type.tensor_type.shape.dim]
        for v in [*graph.input, *graph.output]
    }
    assert dims == {
        "input_values": ["batch", "time"],
        "attention_mask": ["batch", "time"],  # feat_extract_norm == "layer"
        "logits": ["batch", "frames", 37],
    }
    manifest = json.loads((exported / MANIFEST).read_text())
    source = manifest["export"]["source"]
    assert source["sha256"] == sha256_file(small_dir / "model.safetensors")
    assert manifest["export"]["dtype"] == "float32" and manifest["export"]["opset"] == 17
    assert json.loads((exported / "config.json").read_text())["dtype"] == "float32"
    assert verify_folder(exported) == exported
    assert onnx_asr.runtime == "onnx"  # chosen from the folder, no runtime= needed


@real
def test_logits_match_torch_fp32_and_the_argmax_is_identical(onnx_asr, torch_asr, clips):
    worst = 0.0
    for clip in clips:
        ours, reference = _logits(onnx_asr, clip.samples), _logits(torch_asr, clip.samples)
        assert ours.shape == reference.shape
        np.testing.assert_array_equal(ours.argmax(-1), reference.argmax(-1))
        worst = max(worst, float(np.abs(ours - reference).max()))
    print(f"\nlargest logit difference ONNX Runtime vs torch fp32: {worst:.2e}")
    assert worst <= 1e-4  # the bound; measured 1.5e-05


@real
def test_batches_of_different_lengths_give_what_one_by_one_gives(onnx_asr, torch_asr, clips):
    together = onnx_asr.transcribe(clips, batch_size=4, progress=False)
    alone = [onnx_asr.transcribe(c, progress=False) for c in clips]
    assert [t.text for t in together] == [t.text for t in alone]
    assert [t.text for t in together] == [
        t.text for t in torch_asr.transcribe(clips, batch_size=4, progress=False)
    ]
    lengths = {len(c.samples) for c in clips}
    assert len(lengths) == len(clips)  # really padded: every clip has its own length
    batch = onnx_asr.log_probs([c.samples for c in clips])
    for row, clip in zip(batch, clips, strict=True):
        (single,) = onnx_asr.log_probs([clip.samples])
        assert row.shape == single.shape
        assert float(np.abs(row - single).max()) <= 1e-4  # measured 0.0 (padding masked)


@real
def test_word_timestamps_match_the_torch_runtime(onnx_asr, torch_asr, clips):
    ours = onnx_asr.transcribe(clips[0], progress=False)
    reference = torch_asr.transcribe(clips[0], progress=False)
    assert ours.words and [w.text for w in ours.words] == [w.text for w in reference.words]
    for mine, theirs in zip(ours.words, reference.words, strict=True):
        assert (mine.start, mine.end) == (theirs.start, theirs.end)  # same frames
        assert mine.confidence == pytest.approx(theirs.confidence, abs=1e-4)
        assert 0 <= mine.start < mine.end <= ours.duration


@real
def test_long_audio_in_windows_matches_the_torch_runtime(exported, small_dir, clips):
    audio = Audio(np.concatenate([c.samples for c in clips]), 16_000)  # about 14 s
    windows = {"chunk_length_s": 6.0, "stride_length_s": 1.0}  # three windows and more
    ours = load_asr(exported, **windows).transcribe(audio, progress=False)
    reference = load_asr(small_dir, dtype="float32", **windows).transcribe(audio, progress=False)
    assert audio.duration > 12.0
    assert ours.text == reference.text
    assert [(w.start, w.end) for w in ours.words] == [(w.start, w.end) for w in reference.words]


def _bigram_arpa(path, sentences) -> None:
    """A KenLM ARPA file of the sentences' words and word pairs (flat scores: enough to bias
    the beam search towards these words)."""
    import itertools

    sentences = [["<s>", *model_card(s).split(), "</s>"] for s in sentences]
    words = sorted({w for s in sentences for w in s} | {"<unk>"})
    pairs = sorted({p for s in sentences for p in itertools.pairwise(s)})
    lines = ["\\data\\", f"ngram 1={len(words)}", f"ngram 2={len(pairs)}", "", "\\1-grams:"]
    lines += [f"{-99 if w == '<s>' else -1.5}\t{w}\t-0.3" for w in words]
    lines += ["", "\\2-grams:"] + [f"-0.2\t{a} {b}" for a, b in pairs]
    path.write_text("\n".join([*lines, "", "\\end\\", ""]))


@real
def test_lm_beam_search_decodes_the_same_on_both_runtimes(exported, small_dir, clips, tmp_path):
    require_module("kenlm")
    lm = tmp_path / "lm.arpa"
    _bigram_arpa(lm, HELD_OUT[:4])
    onnx_lm = load_asr(exported, lm=lm)
    assert onnx_lm.beam is not None and onnx_lm.beam.has_lm
    ours = onnx_lm.transcribe(clips[:2], progress=False)
    reference = load_asr(small_dir, dtype="float32", lm=lm).transcribe(clips[:2], progress=False)
    assert [t.text for t in ours] == [t.text for t in reference]
    assert all(t.words for t in ours)


@real
def test_live_recognition_runs_on_the_onnx_runtime(onnx_asr, torch_asr, clips):
    from speechlab.asr.streaming import Final

    ours = [e.text for e in onnx_asr.listen(clips[0]) if isinstance(e, Final)]
    reference = [
        e.text for e in torch_asr.listen(clips[0], cache_features=False) if isinstance(e, Final)
    ]
    assert ours and " ".join(ours) == " ".join(reference)


@real
def test_float16_export_keeps_float32_inputs_and_the_text(
    exported, small_dir, clips, tmp_path, torch_asr
):
    folder = export_ctc_onnx(small_dir, tmp_path / "fp16", dtype="float16", progress=False)
    asr = load_asr(folder)
    size = (folder / "model.onnx").stat().st_size
    assert size < 0.6 * (exported / "model.onnx").stat().st_size  # about half of fp32's
    ours = [t.text for t in asr.transcribe(clips[:2], progress=False)]
    assert ours == [t.text for t in torch_asr.transcribe(clips[:2], progress=False)]


# --------------------------------------------------------------------------- tiny models


def _group_norm_model(folder):
    """A random wav2vec2-base-style model: group-norm conv encoder, post-norm layers, no mask."""
    build_tiny_ctc(folder, feat_extract_norm="group", do_stable_layer_norm=False)
    features = json.loads((folder / "preprocessor_config.json").read_text())
    features["return_attention_mask"] = False
    (folder / "preprocessor_config.json").write_text(json.dumps(features))
    return folder


def test_a_group_norm_model_exports_without_a_mask_and_matches(tmp_path):
    import onnx

    source = _group_norm_model(tmp_path / "base")
    folder = export_ctc_onnx(source, tmp_path / "base-onnx", opset=14, progress=False)
    graph = onnx.load(str(folder / "model.onnx")).graph
    assert [i.name for i in graph.input] == ["input_values"]
    wave = np.random.default_rng(0).standard_normal(23_456).astype(np.float32)
    ours, reference = _logits(load_asr(folder), wave), _logits(load_asr(source), wave)
    assert float(np.abs(ours - reference).max()) <= 1e-4  # measured 4.1e-07


def test_the_command_line_exports_a_folder(tiny_ctc_dir, tmp_path):
    from speechlab.cli import app

    out = tmp_path / "tiny-onnx"
    result = CliRunner().invoke(
        app, ["export", "asr", str(tiny_ctc_dir), "--to", "onnx", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert "model.onnx" in result.output and (out / "model.onnx").is_file()
    assert load_asr(out).runtime == "onnx"
    again = CliRunner().invoke(app, ["export", "asr", str(tiny_ctc_dir), "--out", str(out)])
    assert again.exit_code == 2 and "not an empty folder" in again.output


# --------------------------------------------------------------------------- bad input


def test_bad_sources_and_options_are_typed_errors(tiny_ctc_dir, tmp_path):
    out = tmp_path / "out"
    with pytest.raises(ModelNotFoundError, match="No such model"):
        export_ctc_onnx(tmp_path / "missing", out)
    not_ctc = tmp_path / "not-ctc"
    not_ctc.mkdir()
    (not_ctc / "config.json").write_text(
        json.dumps({"model_type": "bert", "architectures": ["BertForMaskedLM"]})
    )
    with pytest.raises(ModelNotFoundError, match="not a CTC speech recognizer"):
        export_ctc_onnx(not_ctc, out)
    with pytest.raises(ModelNotFoundError, match=r"no config\.json"):
        export_ctc_onnx(tmp_path, out)  # a folder of something else
    with pytest.raises(ExportError, match="14-20"):
        export_ctc_onnx(tiny_ctc_dir, out, opset=11)
    with pytest.raises(ExportError, match="float32 or float16"):
        export_ctc_onnx(tiny_ctc_dir, out, dtype="bfloat16")
    (out / "x").mkdir(parents=True)
    with pytest.raises(OutputError, match="not an empty folder"):
        export_ctc_onnx(tiny_ctc_dir, out)
    with pytest.raises(ModelNotFoundError, match=r"no \.onnx model"):
        load_asr(tiny_ctc_dir, runtime="onnx")


def test_a_failed_export_leaves_no_folder(tiny_ctc_dir, tmp_path, monkeypatch):
    from speechlab.asr import onnx_export

    def broken(*args, **kwargs):
        raise RuntimeError("the exporter failed")

    monkeypatch.setattr(onnx_export, "_export_graph", broken)
    with pytest.raises(RuntimeError, match="exporter failed"):
        export_ctc_onnx(tiny_ctc_dir, tmp_path / "out", progress=False)
    assert list(tmp_path.iterdir()) == []


def test_damaged_or_mismatched_onnx_folders_are_typed_errors(tiny_ctc_dir, tmp_path):
    folder = export_ctc_onnx(tiny_ctc_dir, tmp_path / "tiny-onnx", progress=False)
    with pytest.raises(ExportError, match="already holds an ONNX graph"):
        export_ctc_onnx(folder, tmp_path / "again")
    with pytest.raises(SpeechlabError, match="precision it was exported"):
        load_asr(folder, dtype="float16")
    with pytest.raises(ModelNotFoundError, match="runtime='onnx'"):
        load_asr(folder, runtime="speechlab")
    data = (folder / "model.onnx").read_bytes()
    (folder / "model.onnx").write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelFileError, match="cannot open"):
        load_asr(folder)
    with pytest.raises(SpeechlabError, match="sha256"):
        verify_folder(folder)
