"""The wav2vec2 feature encoder run in slices of time gives the frames of one pass."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from transformers import Wav2Vec2Config, Wav2Vec2ForCTC

from speechlab.asr.feature_chunks import chunk_feature_encoder, receptive_field

XLSR = {"conv_kernel": [10, 3, 3, 3, 3, 2, 2], "conv_stride": [5, 2, 2, 2, 2, 2, 2]}


def test_receptive_field_of_the_wav2vec2_encoder():
    assert receptive_field(XLSR["conv_kernel"], XLSR["conv_stride"]) == (400, 320)
    assert receptive_field([3], [1]) == (3, 1)


def _model(norm: str) -> Wav2Vec2ForCTC:
    torch.manual_seed(0)
    config = Wav2Vec2Config(
        vocab_size=12, hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
        intermediate_size=64, conv_dim=(32,) * 7, feat_extract_norm=norm,
        num_conv_pos_embeddings=16, num_conv_pos_embedding_groups=4, **XLSR,
    )  # fmt: skip
    return Wav2Vec2ForCTC(config).eval()


@pytest.mark.parametrize("samples", [400, 401, 16_000, 16_319, 16_320, 48_123])
def test_slices_give_the_frames_of_one_pass(samples):
    model = _model("layer")
    x = torch.from_numpy(np.random.default_rng(samples).standard_normal((2, samples))).float()
    with torch.inference_mode():
        whole = model.wav2vec2.feature_extractor(x)
        assert chunk_feature_encoder(model, frames=7)
        sliced = model.wav2vec2.feature_extractor(x)
    expected = int(model._get_feat_extract_output_lengths(torch.tensor(samples)))
    assert whole.shape[-1] == sliced.shape[-1] == expected
    torch.testing.assert_close(sliced, whole, rtol=1e-5, atol=1e-5)


def test_group_norm_encoders_are_left_alone():
    model = _model("group")
    forward = model.wav2vec2.feature_extractor.forward
    assert not chunk_feature_encoder(model)
    assert model.wav2vec2.feature_extractor.forward == forward


@pytest.mark.realweights
def test_the_real_small_model_transcribes_the_same_with_slices(real_store):
    import speechlab
    from speechlab.tts.espeak_speech import EspeakSynthesizer

    speech = EspeakSynthesizer().synthesize(
        "Proszę zamknąć okno, bo wieje. Jutro rano pójdziemy na grzyby do lasu.", voice="pl"
    )
    clip = speechlab.Audio(speech.audio, speech.sample_rate)
    sliced = speechlab.load_asr("speechlab-pl-ctc-small")
    whole = speechlab.load_asr("speechlab-pl-ctc-small", feature_chunk_frames=0)
    assert sliced.chunked_features and not whole.chunked_features
    wave = clip.resample(16_000).samples
    a, b = sliced.log_probs([wave])[0], whole.log_probs([wave])[0]
    assert len(wave) > 200 * 320  # two slices or more
    np.testing.assert_allclose(a, b, atol=1e-3)
    assert (a.argmax(-1) == b.argmax(-1)).all()
    assert sliced.transcribe(clip).text == whole.transcribe(clip).text
