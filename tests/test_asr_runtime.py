"""speechlab's CTC inference runtime gives transformers' numbers, and knows what it cannot run."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file
from transformers import AutoConfig, Wav2Vec2Config, Wav2Vec2ForCTC

from speechlab.asr.ctc_runtime import (
    SpeechlabCTC,
    TransformersCTC,
    load_ctc_model,
    unsupported,
)
from speechlab.errors import ModelNotFoundError

XLSR = {"conv_kernel": [10, 3, 3, 3, 3, 2, 2], "conv_stride": [5, 2, 2, 2, 2, 2, 2]}
VARIANTS = {
    # xlsr-53 / the seed model: layer-norm conv encoder, pre-norm transformer
    "layer-stable": {"feat_extract_norm": "layer", "do_stable_layer_norm": True, "conv_bias": True},
    # wav2vec2-base style: group norm in the first conv layer, post-norm transformer
    "group-postnorm": {"feat_extract_norm": "group", "do_stable_layer_norm": False},
    "layer-postnorm-odd-pos-kernel": {
        "feat_extract_norm": "layer",
        "do_stable_layer_norm": False,
        "num_conv_pos_embeddings": 15,
    },
}


def _save(folder: Path, seed: int = 0, **overrides) -> Path:
    torch.manual_seed(seed)
    options = {
        "vocab_size": 12, "hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 4,
        "intermediate_size": 48, "conv_dim": (16, 16, 24, 24, 24, 32, 32),
        "num_conv_pos_embeddings": 16, "num_conv_pos_embedding_groups": 4, **XLSR, **overrides,
    }  # fmt: skip
    model = Wav2Vec2ForCTC(Wav2Vec2Config(**options)).eval()
    with torch.no_grad():  # random LayerNorm affines, so a mixed-up weight cannot hide
        for name, p in model.named_parameters():
            if "norm" in name:
                p.add_(0.3 * torch.randn_like(p))
    model.save_pretrained(folder)
    return folder


def _batch(lengths: list[int], seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    rng = np.random.default_rng(seed)
    x = torch.zeros(len(lengths), max(lengths))
    mask = torch.zeros(len(lengths), max(lengths), dtype=torch.long)
    for row, n in enumerate(lengths):
        x[row, :n] = torch.from_numpy(rng.standard_normal(n).astype(np.float32))
        mask[row, :n] = 1
    return x, mask


def _both(folder: Path, **options) -> tuple[SpeechlabCTC, TransformersCTC]:
    config = AutoConfig.from_pretrained(folder)
    ours = load_ctc_model(folder, config, runtime="speechlab", **options)
    theirs = load_ctc_model(folder, config, runtime="transformers", **options)
    assert isinstance(ours, SpeechlabCTC) and isinstance(theirs, TransformersCTC)
    return ours, theirs


@pytest.mark.parametrize("variant", sorted(VARIANTS))
@pytest.mark.parametrize("masked", [False, True])
def test_logits_match_transformers(tmp_path, variant, masked):
    ours, theirs = _both(_save(tmp_path, **VARIANTS[variant]))
    lengths = [16_000, 9_431, 401]
    x, mask = _batch(lengths)
    with torch.inference_mode():
        a = ours(x, mask if masked else None)
        b = theirs(x, mask if masked else None)
    assert a.shape == b.shape
    frames = theirs.output_frames(torch.tensor(lengths))
    assert torch.equal(ours.output_frames(torch.tensor(lengths)), frames)
    for row, n in enumerate(frames.tolist()):  # padded frames are never read
        torch.testing.assert_close(a[row, :n], b[row, :n], rtol=1e-4, atol=1e-5)
    assert a.abs().max() > 0.1  # the model really computes something


@pytest.mark.parametrize("samples", [400, 401, 16_319, 16_320, 48_123])
def test_feature_encoder_slices_give_the_frames_of_one_pass(tmp_path, samples):
    folder = _save(tmp_path, **VARIANTS["layer-stable"])
    config = AutoConfig.from_pretrained(folder)
    sliced = SpeechlabCTC(folder, config, None, "cpu", feature_chunk_frames=7)
    whole = SpeechlabCTC(folder, config, None, "cpu", feature_chunk_frames=0)
    assert sliced.chunked_features and not whole.chunked_features
    x, _ = _batch([samples, samples], seed=samples)
    with torch.inference_mode():
        a, b = sliced.features(x), whole.features(x)
    assert a.shape[1] == b.shape[1] == int(whole.output_frames(samples))
    torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5)


def test_group_norm_models_are_never_sliced(tmp_path):
    folder = _save(tmp_path, **VARIANTS["group-postnorm"])
    ours, _ = _both(folder)
    assert not ours.chunked_features


@pytest.mark.parametrize("zip_format", [True, False])  # torch >= 1.6 files, and older ones
def test_old_weight_norm_names_in_a_pytorch_bin_load_the_same(tmp_path, zip_format):
    folder = _save(tmp_path / "new", **VARIANTS["layer-stable"])
    old = tmp_path / "old"
    old.mkdir()
    (old / "config.json").write_text((folder / "config.json").read_text())
    renames = {"parametrizations.weight.original0": "weight_g"}
    renames["parametrizations.weight.original1"] = "weight_v"
    weights = {}
    for name, tensor in load_file(folder / "model.safetensors").items():
        for new, legacy in renames.items():
            name = name.replace(new, legacy)
        weights[name] = tensor
    assert any(name.endswith("weight_g") for name in weights)
    torch.save(weights, old / "pytorch_model.bin", _use_new_zipfile_serialization=zip_format)
    config = AutoConfig.from_pretrained(old)
    legacy = load_ctc_model(old, config, runtime="speechlab")
    ours, _ = _both(folder)
    x, _ = _batch([12_000])
    with torch.inference_mode():
        torch.testing.assert_close(legacy(x), ours(x), rtol=0, atol=0)


def test_bfloat16_weights_follow_the_requested_dtype(tmp_path):
    ours, theirs = _both(_save(tmp_path, **VARIANTS["layer-stable"]), dtype=torch.bfloat16)
    assert ours.dtype == theirs.dtype == torch.bfloat16
    assert {p.dtype for p in ours.parameters()} == {torch.bfloat16}
    x, _ = _batch([16_000])
    with torch.inference_mode():
        a, b = ours(x.bfloat16()).float(), theirs(x.bfloat16()).float()
    assert (a - b).abs().max() < 0.05 * b.abs().max()


def test_parameters_are_every_weight_once(tmp_path):
    folder = _save(tmp_path, **VARIANTS["layer-stable"])
    ours, theirs = _both(folder)
    named = dict(theirs.module.named_parameters())
    named.pop("wav2vec2.masked_spec_embed")  # training only (SpecAugment)
    # weight norm's g (one scale per kernel tap) is folded into the positional conv's weight
    named.pop("wav2vec2.encoder.pos_conv_embed.conv.parametrizations.weight.original0")
    assert sum(p.numel() for p in ours.parameters()) == sum(p.numel() for p in named.values())
    assert len({p.data_ptr() for p in ours.parameters()}) == len(ours.parameters())


def test_what_it_cannot_run_goes_to_transformers_or_is_a_clear_error(tmp_path):
    folder = _save(tmp_path / "adapter", add_adapter=True, adapter_stride=1)
    config = AutoConfig.from_pretrained(folder)
    assert "adapter" in unsupported(config, folder)
    assert isinstance(load_ctc_model(folder, config), TransformersCTC)
    with pytest.raises(ModelNotFoundError, match=r"adapter.*runtime='transformers'"):
        load_ctc_model(folder, config, runtime="speechlab")
    with pytest.raises(ModelNotFoundError, match="runtime must be one of"):
        load_ctc_model(folder, config, runtime="tflite")
    with pytest.raises(ModelNotFoundError, match=r"no \.onnx model"):  # not exported
        load_ctc_model(folder, config, runtime="onnx")


def test_a_checkpoint_missing_a_weight_names_it(tmp_path):
    folder = _save(tmp_path, **VARIANTS["layer-stable"])
    weights = load_file(folder / "model.safetensors")
    del weights["lm_head.bias"]
    from safetensors.torch import save_file

    save_file(weights, folder / "model.safetensors")
    config = AutoConfig.from_pretrained(folder)
    with pytest.raises(ModelNotFoundError, match=r"lm_head\.bias"):
        load_ctc_model(folder, config, runtime="speechlab")


def test_the_recognizer_uses_speechlabs_runtime_and_transcribes_like_transformers(tiny_ctc_dir):
    import speechlab

    ours = speechlab.load_asr(tiny_ctc_dir)
    theirs = speechlab.load_asr(tiny_ctc_dir, runtime="transformers")
    assert (ours.runtime, theirs.runtime) == ("speechlab", "transformers")
    rng = np.random.default_rng(3)
    clips = [speechlab.Audio(0.1 * rng.standard_normal(n).astype(np.float32), 16_000)
             for n in (16_000, 23_456, 5_000)]  # fmt: skip
    a = ours.transcribe(clips, batch_size=3, progress=False)
    b = theirs.transcribe(clips, batch_size=3, progress=False)
    assert [t.text for t in a] == [t.text for t in b]
    assert all(t.text for t in a)


@pytest.mark.realweights
def test_the_real_small_model_gives_transformers_frames(real_store):
    import speechlab
    from speechlab.tts.espeak_speech import EspeakSynthesizer

    speech = EspeakSynthesizer().synthesize(
        "Proszę zamknąć okno, bo wieje. Jutro rano pójdziemy na grzyby do lasu.", voice="pl"
    )
    clip = speechlab.Audio(speech.audio, speech.sample_rate)
    wave = clip.resample(16_000).samples
    for dtype in ("float32", None):  # None: the stored fp16, as transformers would load it
        ours = speechlab.load_asr("speechlab-pl-ctc-small", dtype=dtype)
        theirs = speechlab.load_asr("speechlab-pl-ctc-small", dtype=dtype, runtime="transformers")
        assert ours.runtime == "speechlab" and ours.chunked_features
        a, b = ours.log_probs([wave])[0], theirs.log_probs([wave])[0]
        assert a.shape == b.shape and len(a) > 200  # the feature encoder ran in slices
        agree = (a.argmax(-1) == b.argmax(-1)).mean()
        if dtype == "float32":
            np.testing.assert_allclose(a, b, atol=1e-3)
            assert agree == 1.0
        else:
            assert agree > 0.99  # fp16 rounding can flip a near-tie
        assert ours.transcribe(clip).text == theirs.transcribe(clip).text


@pytest.mark.realweights
def test_bfloat16_transcribes_the_real_small_model_like_float32(real_store):
    import jiwer

    import speechlab
    from speechlab.tts.espeak_speech import EspeakSynthesizer

    speech = EspeakSynthesizer().synthesize(
        "W poniedziałek pojedziemy pociągiem do Krakowa, a we wtorek wrócimy do domu.",
        voice="pl",
    )
    clip = speechlab.Audio(speech.audio, speech.sample_rate)
    fp32 = speechlab.load_asr("speechlab-pl-ctc-small", dtype="float32").transcribe(clip).text
    bf16 = speechlab.load_asr("speechlab-pl-ctc-small", dtype="bfloat16").transcribe(clip).text
    assert len(fp32) > 40
    assert jiwer.cer(fp32, bf16) <= 0.05
