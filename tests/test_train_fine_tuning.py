"""Fine-tuning on tiny random models: strategies, new heads, overfitting, exact resume, export."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file
from train_fixtures import NO_DROPOUT, TEXTS, TINY_CONFIG, config, make_manifest

import speechlab
from speechlab.eval.metrics import score
from speechlab.train import StepInfo, finetune
from speechlab.train.errors import ConfigError, TrainDataError, VocabError
from speechlab.train.optim import lr_lambda

pytestmark = pytest.mark.timeout(300)


@pytest.fixture(scope="module")
def manifest(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_manifest(tmp_path_factory.mktemp("train-data"), TEXTS)


def _final_weights(result) -> dict[str, torch.Tensor]:
    return load_file(str(result.model_dir / "model.safetensors"))


def _snapshot(store: dict):
    def on_step(info: StepInfo) -> None:
        store["params"] = {
            name: (p.detach().clone(), p.requires_grad) for name, p in info.model.named_parameters()
        }

    return on_step


def _plain(name: str) -> str:
    """A peft parameter name as the plain model's state-dict key."""
    name = name.removeprefix("base_model.model.").replace(".base_layer.", ".")
    return name.replace(".modules_to_save.default.", ".")


# --------------------------------------------------------------------------- strategies

EXPECTED_TRAINABLE = {
    "head": lambda n: n.startswith("lm_head."),
    "adapter": lambda n: n.startswith("lm_head.") or ".lora_" in n,
    "encoder": lambda n: not n.startswith("wav2vec2.feature_extractor."),
    "full": lambda n: True,
}


@pytest.mark.parametrize("strategy", ["head", "adapter", "encoder", "full"])
def test_each_strategy_trains_only_its_parameters(strategy, tiny_ctc_dir, manifest, tmp_path):
    before = load_file(str(tiny_ctc_dir / "model.safetensors"))
    seen: dict = {}
    result = finetune(
        config(tmp_path, manifest, model=str(tiny_ctc_dir), model_config=None, vocab="auto",
               strategy=strategy, max_steps=3, learning_rate=1e-2),
        on_step=_snapshot(seen),
    )  # fmt: skip
    assert result.vocab == "model" and not result.new_head  # Polish vocab covers the texts
    params = {  # peft keeps the head it trains whole beside a frozen original: skip that
        _plain(name): value
        for name, value in seen["params"].items()
        if ".original_module." not in name
    }
    trainable = {name for name, (_, grad) in params.items() if grad}
    assert trainable == {name for name in params if EXPECTED_TRAINABLE[strategy](name)}
    for name, (value, grad) in params.items():
        if ".lora_" in name:
            continue
        if not grad:
            assert torch.equal(value, before[name]), f"frozen {name} changed"
    changed = {
        name
        for name, (value, _) in params.items()
        if ".lora_" not in name and not torch.equal(value, before[name])
    }
    assert "lm_head.weight" in changed
    if strategy in ("encoder", "full"):
        assert "wav2vec2.encoder.layers.0.attention.q_proj.weight" in changed
    if strategy == "full":
        assert "wav2vec2.feature_extractor.conv_layers.0.conv.weight" in changed
    if strategy == "adapter":
        lora_b = [v for n, (v, _) in params.items() if ".lora_B." in n]
        assert lora_b and all(v.abs().sum() > 0 for v in lora_b)  # B starts at zero
        merged = _final_weights(result)["wav2vec2.encoder.layers.0.attention.q_proj.weight"]
        assert not torch.equal(merged, before["wav2vec2.encoder.layers.0.attention.q_proj.weight"])
    assert result.trainable_parameters < result.total_parameters or strategy == "full"


@pytest.mark.parametrize("strategy", ["head", "adapter", "encoder", "full"])
def test_frozen_layers_build_no_backward_graph(strategy, tiny_ctc_dir, manifest, tmp_path):
    """Only ``full`` trains the conv feature encoder; for the others its output must not
    need a gradient, or autograd runs the backward pass through the whole frozen network."""
    from transformers import AutoModelForCTC

    from speechlab.train.model import apply_strategy, base_model

    cfg = config(tmp_path, manifest, model=str(tiny_ctc_dir), model_config=None,
                 vocab="auto", strategy=strategy)  # fmt: skip
    model = apply_strategy(AutoModelForCTC.from_pretrained(tiny_ctc_dir), cfg)
    model.train()
    features = base_model(model).wav2vec2.feature_extractor(torch.randn(1, 4000))
    assert features.requires_grad == (strategy == "full")


def test_adapter_targets_that_match_nothing_are_a_typed_error(tiny_ctc_dir, manifest, tmp_path):
    cfg = config(tmp_path, manifest, model=str(tiny_ctc_dir), model_config=None, vocab="auto",
                 strategy="adapter", lora_targets=["query"])  # fmt: skip
    with pytest.raises(ConfigError, match="q_proj"):
        finetune(cfg)


# --------------------------------------------------------------------------- vocabulary


def _blog_layout_model(folder: Path) -> Path:
    """A tiny CTC model whose vocabulary is letters first, [UNK]/[PAD] last (pad id 4)."""
    from transformers import Wav2Vec2Config, Wav2Vec2ForCTC

    labels = ["a", "b", "|", "[UNK]", "[PAD]"]
    folder.mkdir()
    (folder / "vocab.json").write_text(json.dumps({c: i for i, c in enumerate(labels)}))
    (folder / "tokenizer_config.json").write_text(
        json.dumps({"unk_token": "[UNK]", "pad_token": "[PAD]", "word_delimiter_token": "|"})
    )
    torch.manual_seed(0)
    cfg = {k: v for k, v in TINY_CONFIG.items()}
    model = Wav2Vec2ForCTC(Wav2Vec2Config(**cfg, vocab_size=len(labels) + 2, pad_token_id=4))
    model.save_pretrained(folder)
    return folder


def test_a_new_vocabulary_gets_a_new_head_sized_to_it(manifest, tmp_path):
    start = _blog_layout_model(tmp_path / "start")
    before = load_file(str(start / "model.safetensors"))
    result = finetune(
        config(tmp_path / "out", manifest, model=str(start), model_config=None, vocab="auto",
               max_steps=2)
    )  # fmt: skip
    assert result.vocab == "new" and result.new_head  # the old vocab lacks most letters
    saved = json.loads((result.model_dir / "config.json").read_text())
    vocab = json.loads((result.model_dir / "vocab.json").read_text())
    assert saved["vocab_size"] == len(vocab) == result.vocab_size
    assert saved["pad_token_id"] == 0 == vocab["<pad>"]
    weights = _final_weights(result)
    assert weights["lm_head.weight"].shape == (len(vocab), TINY_CONFIG["hidden_size"])
    assert before["lm_head.weight"].shape[0] == 7
    # the encoder kept its pretrained start (only lm_head was replaced): closer to it than random
    key = "wav2vec2.encoder.layers.0.feed_forward.output_dense.weight"
    assert (weights[key] - before[key]).abs().max() < 0.05
    recognizer = speechlab.load_asr(result.model_dir)
    assert recognizer.vocab.labels[0] == "<pad>" and recognizer.vocab.blank_id == 0


def test_vocab_model_with_missing_characters_is_a_typed_error(tiny_ctc_dir, tmp_path):
    manifest = make_manifest(tmp_path / "data", ["Quo vadis, Xavier?"])
    cfg = config(tmp_path / "out", manifest, model=str(tiny_ctc_dir), model_config=None,
                 vocab="model")  # fmt: skip
    with pytest.raises(VocabError, match=r"'q'.*vocab: new"):
        finetune(cfg)


def test_empty_training_corpus_is_a_typed_error(tmp_path):
    (tmp_path / "empty.tsv").write_text("path\ttext\n")
    with pytest.raises(TrainDataError, match="no rows"):
        finetune(config(tmp_path / "out", tmp_path / "empty.tsv"))


# --------------------------------------------------------------------------- learning


def test_a_tiny_model_overfits_one_batch_and_load_asr_transcribes_it(tmp_path):
    manifest = make_manifest(tmp_path / "data", TEXTS[:2])
    result = finetune(
        config(tmp_path / "out", manifest, model_config=NO_DROPOUT, max_steps=150,
               learning_rate=1e-2, schedule="constant", shuffle=False, group_batches=1,
               eval=str(manifest), eval_every=50)
    )  # fmt: skip
    rows = list(csv.DictReader(result.metrics_path.open()))
    assert list(rows[0]) == ["step", "loss", "lr", "cer", "elapsed"]
    first, last = float(rows[0]["loss"]), float(rows[-1]["loss"])
    assert last < 0.1 * first, (first, last)
    cers = {int(r["step"]): float(r["cer"]) for r in rows if r["cer"]}
    assert list(cers) == [50, 100, 150]
    assert result.best_cer == min(cers.values()) <= 0.3 and result.best_step == min(
        cers, key=cers.get
    )
    assert (result.best_dir / "model.safetensors").is_file()
    # the exported folder decodes as the training-time evaluation did on the final weights
    recognizer = speechlab.load_asr(result.model_dir)
    clips = [str(manifest.parent / f"u0{i}.wav") for i in range(2)]
    hypotheses = [t.text for t in recognizer.transcribe(clips, progress=False)]
    _, corpus = score(["ala ma kota", "żółw pije wodę"], hypotheses, n_boot=0)
    assert corpus["cer"] == pytest.approx(cers[150])


def test_gradient_accumulation_matches_one_bigger_batch(tmp_path):
    manifest = make_manifest(tmp_path / "data", TEXTS[:2])
    common = {"model_config": NO_DROPOUT, "max_steps": 3, "shuffle": False, "max_grad_norm": None}
    whole = finetune(config(tmp_path / "a", manifest, batch_size=2, group_batches=1, **common))
    split = finetune(
        config(tmp_path / "b", manifest, batch_size=1, group_batches=2, grad_accum=2, **common)
    )
    a, b = _final_weights(whole), _final_weights(split)
    assert all(torch.allclose(a[k], b[k], atol=1e-5) for k in a)
    assert not torch.equal(a["lm_head.weight"], _final_weights(
        finetune(config(tmp_path / "c", manifest, batch_size=1, group_batches=2, **common))
    )["lm_head.weight"])  # fmt: skip


def test_warmup_then_linear_or_cosine_decay():
    linear = lr_lambda("linear", 4, 12)
    assert [linear(s) for s in range(4)] == [0.25, 0.5, 0.75, 1.0]
    assert linear(8) == pytest.approx(0.5) and linear(12) == 0.0
    cosine = lr_lambda("cosine", 0, 10)
    assert cosine(0) == 1.0 and cosine(5) == pytest.approx(0.5) and cosine(10) < 1e-12
    assert lr_lambda("constant", 2, 10)(9) == 1.0


def test_cpu_bf16_autocast_trains_and_fp16_on_cpu_is_refused(manifest, tmp_path):
    result = finetune(config(tmp_path / "bf16", manifest, precision="bf16", max_steps=2))
    assert math.isfinite(result.final_loss)
    with pytest.raises(ConfigError, match="fp16"):
        finetune(config(tmp_path / "fp16", manifest, precision="fp16"))


# --------------------------------------------------------------------------- resume


class Interrupt(Exception):
    pass


def test_a_resumed_run_ends_with_the_weights_of_an_uninterrupted_run(manifest, tmp_path):
    # dropout, SpecAugment, speed perturbation and noise all draw random numbers
    options = {"max_steps": 7, "checkpoint_every": 2, "mask_time_prob": 0.3,
               "mask_time_length": 2, "speeds": [0.9, 1.0, 1.1], "noise_snr_db": [None, 15],
               "eval": str(manifest), "eval_every": 3}  # fmt: skip
    straight = finetune(config(tmp_path / "straight", manifest, **options))

    def crash_at_5(info: StepInfo) -> None:
        if info.step == 5:
            raise Interrupt

    with pytest.raises(Interrupt):
        finetune(config(tmp_path / "resumed", manifest, **options), on_step=crash_at_5)
    checkpoints = sorted(p.name for p in (tmp_path / "resumed" / "checkpoints").iterdir())
    assert checkpoints == ["step-00000002", "step-00000004"]  # keep_checkpoints=2
    resumed = finetune(config(tmp_path / "resumed", manifest, **options))
    assert resumed.resumed_from == 4 and resumed.steps == 7
    a, b = _final_weights(straight), _final_weights(resumed)
    assert a.keys() == b.keys()
    assert all(torch.allclose(a[k], b[k], rtol=0, atol=1e-6) for k in a)
    rows = [list(csv.DictReader((r.metrics_path).open())) for r in (straight, resumed)]
    assert [r["step"] for r in rows[1]] == [str(s) for s in range(1, 8)]  # no duplicate rows
    assert [(r["loss"], r["lr"], r["cer"]) for r in rows[0]] == [
        (r["loss"], r["lr"], r["cer"]) for r in rows[1]
    ]
    assert straight.best_cer == resumed.best_cer
    # a different interruption point gives the same end too: control that the test can fail
    changed = finetune(config(tmp_path / "other-seed", manifest, **{**options, "seed": 1}))
    assert not torch.equal(_final_weights(changed)["lm_head.weight"], a["lm_head.weight"])


def test_resume_with_a_different_config_or_resume_off_is_refused(manifest, tmp_path):
    finetune(config(tmp_path, manifest, max_steps=2, checkpoint_every=1))
    with pytest.raises(ConfigError, match="batch_size"):
        finetune(config(tmp_path, manifest, max_steps=3, batch_size=1))
    with pytest.raises(ConfigError, match="resume: true"):
        finetune(config(tmp_path, manifest, max_steps=3, resume=False))
    more = finetune(config(tmp_path, manifest, max_steps=3))  # extending a run is fine
    assert more.resumed_from == 2 and more.steps == 3
