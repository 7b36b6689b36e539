"""The speechlab-pl-ctc (v2) recipe: its file, its text splits, its voice plans (held-out
voices never trained on) and a tiny end-to-end run of its driver."""

from __future__ import annotations

import dataclasses
import json
import time

import numpy as np
import pandas as pd
import pytest

from speechlab.recipes.polish_ctc_v2 import (
    HELD_OUT_V2,
    Texts,
    corpus_plans,
    load_v2,
    main,
    proper_nouns,
    read_legs,
    selected_stage,
    split_texts,
    status,
    training_config,
    work_texts,
)
from speechlab.recipes.polish_ctc_v2_card import held_out_table, published_results
from speechlab.selfcheck import SELF_CHECK_TEXT
from speechlab.store.assembly import sha256_file
from speechlab.textnorm import model_card
from speechlab.train.errors import ConfigError
from speechlab.train.heldout_text import ood_sentences
from speechlab.train.voice_plan import blend_weights

pytestmark = pytest.mark.timeout(300)


def _texts(train: int = 600) -> Texts:
    """Cheap stand-in sentences (the voice plans do not depend on the words)."""
    return Texts(
        [f"Kokoro mówi zdanie {i}." for i in range(train)],
        [f"Espeak mówi zdanie {i}." for i in range(train)],
        [f"Walidacja {i}." for i in range(50)],
        [f"Odłożone {i}." for i in range(50)],
        ood_sentences(),
        SELF_CHECK_TEXT,
    )


def test_recipe_scales_load_and_build_a_small_enough_model(tmp_path):
    full, demo = load_v2("full"), load_v2("demo")
    assert full.corpus["engines"] == ["kokoro", "espeak"] and demo.corpus["engines"] == ["espeak"]
    assert full.training["precision"] == "fp32" and full.training["threads"] == 1
    manifests = {"train": tmp_path / "train.tsv", "validation": tmp_path / "validation.tsv"}
    config = training_config(full, tmp_path, manifests)
    assert config.eval == str(tmp_path / "validation.tsv")  # never a held-out set
    assert config.effects().reverb_prob > 0 and config.effects().telephone_prob > 0
    from transformers import Wav2Vec2Config, Wav2Vec2ForCTC

    model = Wav2Vec2ForCTC(Wav2Vec2Config(**config.model_config, vocab_size=40))
    parameters = sum(p.numel() for p in model.parameters())
    assert parameters <= 25_000_000 and 2 * parameters <= 50_000_000  # fp16 bytes


def test_held_out_voices_never_appear_in_training_plans():
    recipe = load_v2("full")
    c = recipe.corpus
    plans = corpus_plans(recipe, _texts())
    held_blend, held_variant = c["held_out_blend"], c["held_out_espeak"]
    held = blend_weights(held_blend, c["kokoro_voices"])
    seen = 0
    for name in ("train-kokoro", "train-espeak", "valid-kokoro", "valid-espeak"):
        for plan in plans[name].plans:
            assert plan.voice not in (held_blend, held_variant)
            if plans[name].engine == "kokoro":
                distance = np.linalg.norm(blend_weights(plan.voice, c["kokoro_voices"]) - held)
                assert distance >= c["min_blend_distance"]
                seen += 1
            assert 0.8 <= plan.speed <= 1.25
    assert seen == 650
    assert {p.voice for p in plans["ood-kokoro"].plans} == {held_blend}
    assert {p.voice for p in plans["ood-espeak"].plans} == {held_variant}
    assert {p.speed for p in plans["ood-kokoro"].plans} == {1.0}
    assert [p.voice for p in plans["selfcheck-kokoro"].plans] == ["jm_kumo", held_blend]
    assert len(plans["ood-kokoro"].plans) == len(ood_sentences()) >= 150
    assert list(plans)[-1] == "train-kokoro"  # the long corpus comes last
    assert set(HELD_OUT_V2) <= set(plans)


def test_text_splits_are_disjoint_and_never_hold_out_of_distribution_text():
    recipe = load_v2("demo")
    corpus = {
        **recipe.corpus,
        "text_mix": {"templates": 0.9, "medical": 0.1},
        "heldout_sentences": 40,
        "validation_sentences": 40,
        "espeak_sentences": 400,
        "kokoro_sentences": 100,
    }
    texts = split_texts(dataclasses.replace(recipe, corpus=corpus))
    keys = {
        role: {model_card(t) for t in getattr(texts, role)}
        for role in ("train_kokoro", "train_espeak", "validation", "heldout")
    }
    assert [len(keys[r]) for r in keys] == [100, len(texts.train_espeak), 40, 40]
    assert len(texts.train_espeak) >= 390  # duplicates of held-out keys are dropped
    for a in keys:
        for b in keys:
            assert a == b or not keys[a] & keys[b], (a, b)
    forbidden = {model_card(t) for t in [*ood_sentences(), SELF_CHECK_TEXT]}
    assert not forbidden & set().union(*keys.values())


def test_demo_run_end_to_end_and_resumes(tmp_path, capsys):
    work = tmp_path / "work"
    started = time.perf_counter()
    code = main(["--work-dir", str(work), "--scale", "demo", "--phase", "all", "--no-progress"])
    seconds = time.perf_counter() - started
    assert code == 0
    assert seconds < 60  # measured: 16 s, 47 s with other tests running (load average 9)
    scores = pd.read_csv(work / "scores.csv")
    assert list(scores["set"]) == ["ood-espeak", "heldout-espeak", "selfcheck-espeak"]
    assert scores["synthetic"].all()
    decoders = pd.read_csv(work / "decoders.csv")  # greedy vs an LM of the training text
    assert list(decoders["decoder"])[:2] == ["greedy", "beam + LM"]
    assert set(decoders["set"]) == {"ood-espeak"}
    assert (work / "lm" / "lm.arpa").is_file()
    assert "24 sentences" in capsys.readouterr().out  # the LM's: training sentences only
    fit = json.loads((work / "fit.json").read_text())  # the training items read back
    assert [(r["set"], r["utterances"]) for r in fit] == [("train-espeak", 24)]
    assert fit[0]["synthetic"] and fit[0]["cer"] > 0.5  # a 2-step model fits nothing yet
    raw = [json.loads(line) for line in (work / "legs.jsonl").read_text().splitlines()]
    assert "ended" not in raw[0] and raw[1]["ended"]  # written at the start, then at the end
    legs = read_legs(work)  # a start line and an end line per leg, merged
    assert (legs[0]["from_step"], legs[0]["to_step"]) == (0, 2)
    # a rerun finds every corpus finished and the training at its last step
    argv = ["--work-dir", str(work), "--scale", "demo", "--phase", "train", "--no-progress"]
    assert main([*argv, "--precision", "bf16"]) == 0
    assert "training stage 1 leg from step 2 to 2" in capsys.readouterr().out
    precisions = [leg["precision"] for leg in read_legs(work)]
    assert precisions[1] == "bf16" != precisions[0]  # each leg records its own
    # a leg killed before it could write its end line (a session's end) still counts
    killed = {"started": "2099-01-01T00:00:00+00:00", "from_step": 2, "max_steps": 2}
    with (work / "legs.jsonl").open("a") as f:
        f.write(json.dumps(killed) + "\n")
    # publish: the store folder with fp16 weights, checksums and a card from the results
    out = tmp_path / "store" / "speechlab-pl-ctc"
    argv = ["--work-dir", str(work), "--scale", "demo", "--phase", "publish", "--no-progress"]
    assert main([*argv, "--publish-to", str(out)]) == 0
    card = (out / "README.md").read_text(encoding="utf-8")
    row = scores.iloc[0]
    assert f"| {row['what']} | {row['utterances']} | {100 * row['cer']:.1f} % |" in card
    assert "beam + LM" in card and "Targets:" in card and "synthetic" in card
    assert f"| training items, espeak-ng (fit) | 24 | {100 * fit[0]['cer']:.1f} % |" in card
    text = json.loads((out / "text-stats.json").read_text(encoding="utf-8"))
    assert text["sentences"] == 24 and text["reference_phoneme_pairs"] > 0
    assert f"* Training text coverage: {text['distinct_words']:,} distinct words" in card
    assert "in 3 legs (1 killed at a session's end" in card
    assert " h of wall time (pauses included); best validation CER " in card
    assert "* Published checkpoint: step 2 (validation CER " in card and "Stage 2" not in card
    assert "bf16, " in card.split("* Training: ")[1].split("\n")[0]  # the legs' precisions
    assert "(b) held-out espeak-ng variant, greedy CER <= 10 %" in card
    table = held_out_table(published_results(folder=out))  # what 04_finetune shows
    assert list(table["set"]) == list(scores["what"])
    assert (table["CI low %"] <= table["CER %"]).all() and (
        table["CER %"] <= table["CI high %"]
    ).all()
    assert published_results(folder=tmp_path / "nothing") is None
    sums = json.loads((out / "checksums.json").read_text())
    assert {"model.safetensors", "config.json", "vocab.json"} <= set(sums)
    # the records are summed as they were written: a second publish leaves none stale
    (work / "decoders.json").write_text((work / "decoders.json").read_text() + "\n")
    assert main([*argv, "--publish-to", str(out)]) == 0
    sums = json.loads((out / "checksums.json").read_text())
    assert {"scores.json", "decoders.json", "text-stats.json"} <= set(sums)
    assert all(sha256_file(out / name) == digest for name, digest in sums.items())
    assert {"recipe.yaml", "legs.jsonl", "scores.json", "decoders.json"} <= {
        p.name for p in out.iterdir()
    }
    assert status(load_v2("demo"), work)["training_step"] == "2/2"
    assert status(load_v2("demo"), work)["train-espeak"] == "24/24"
    assert status(load_v2("demo"), work)["training_step_stage2"] == "0/2"
    # stage 2: from stage 1's best, on train-2.tsv (train-espeak listed twice), its own legs
    argv = ["--work-dir", str(work), "--scale", "demo", "--phase", "train", "--no-progress"]
    assert main([*argv, "--stage", "2"]) == 0
    assert "training stage 2 leg from step 0 to 2" in capsys.readouterr().out
    assert len((work / "train-2.tsv").read_text().splitlines()) == 1 + 2 * 24
    assert [(g["from_step"], g["to_step"]) for g in read_legs(work, 2)] == [(0, 2)]
    started = json.loads((work / "training-2" / "best" / "speechlab-training.json").read_text())
    assert started["started_from"] == str(work / "training" / "best")
    # the eval phase and publish take the stage with the lower validation CER; make it stage 2
    record = work / "training-2" / "best" / "speechlab-training.json"
    record.write_text(json.dumps({**started, "cer": 0.0}))
    assert selected_stage(work) == (2, work / "training-2" / "best")
    argv = ["--work-dir", str(work), "--scale", "demo", "--phase", "publish", "--no-progress"]
    assert main([*argv, "--publish-to", str(out)]) == 0
    card = (out / "README.md").read_text(encoding="utf-8")
    assert "* Stage 2: from stage 1's step 2, 2 more steps" in card and "`train-espeak` x2" in card
    assert "* Published checkpoint: stage 2, step 2 (validation CER 0.0 %, the lower" in card
    assert {"legs-2.jsonl", "training-2-metrics.csv"} <= {p.name for p in out.iterdir()}
    # the split is kept: a resumed run reads it back, and refuses other text settings
    demo = load_v2("demo")
    assert work_texts(demo, work) == split_texts(demo)
    other = dataclasses.replace(demo, corpus={**demo.corpus, "espeak_sentences": 25})
    with pytest.raises(ConfigError, match="other text settings"):
        work_texts(other, work)


def test_the_stage_with_the_lower_validation_cer_is_selected(tmp_path):
    with pytest.raises(ConfigError, match="run --phase train first"):
        selected_stage(tmp_path)
    for stage, cer in ((1, 0.20), (2, 0.20)):
        best = tmp_path / ("training" if stage == 1 else "training-2") / "best"
        best.mkdir(parents=True)
        (best / "speechlab-training.json").write_text(json.dumps({"step": 5, "cer": cer}))
    assert selected_stage(tmp_path)[0] == 1  # a tie keeps the earlier stage
    (tmp_path / "training-2" / "best" / "speechlab-training.json").write_text('{"cer": 0.19}')
    assert selected_stage(tmp_path)[0] == 2
    with pytest.raises(ConfigError, match="no stage2 section"):
        training_config(dataclasses.replace(load_v2("demo"), sections={}), tmp_path, {}, 2)


def test_hotwords_are_the_capitalised_words_inside_sentences():
    sentences = ["Jacek pojechał do Gdańska.", "W Łodzi pada, mówi „Basia”.", "Ala ma kota"]
    assert proper_nouns(sentences) == ["gdańska", "łodzi", "basia"]  # first words are not names
    assert len(proper_nouns(ood_sentences())) == 67  # measured on the committed OOD text


def test_legs_killed_at_a_sessions_end_end_where_the_next_leg_resumed(tmp_path):
    # legs write a line when they start and one when they end; a killed one has no end line
    starts = [
        {"started": "2026-11-29T14:55:42+00:00", "from_step": 0, "threads": 2},  # killed
        {"started": "2026-11-29T15:27:59+00:00", "from_step": 100, "threads": 2},  # killed
        {"started": "2026-11-30T09:00:00+00:00", "from_step": 150, "threads": 2},
    ]
    ended = {**starts[2], "ended": "2026-11-30T09:02:00+00:00", "to_step": 200, "seconds": 118.0}
    last = {"started": "2026-11-30T10:00:00+00:00", "from_step": 200, "threads": 1}  # killed
    lines = [*starts, ended, last]
    (tmp_path / "legs.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))
    (tmp_path / "training").mkdir()
    rows = ["step,loss,lr,cer,elapsed", "50,5.0,1e-4,,110.0", "100,4.5,3e-4,,252.5"]
    rows += ["150,3.3,4e-4,,343.8", "200,3.0,5e-4,0.7,460.0"]
    (tmp_path / "training" / "metrics.csv").write_text("\n".join(rows) + "\n")
    legs = read_legs(tmp_path)
    assert [(g["from_step"], g["to_step"]) for g in legs] == [
        (0, 100),
        (100, 150),
        (150, 200),
        (200, 200),
    ]
    assert [g["seconds"] for g in legs] == [252.5, 91.3, 118.0, 0.0]
    assert [g.get("killed", False) for g in legs] == [True, True, False, True]
    assert legs[2]["ended"] == "2026-11-30T09:02:00+00:00" and legs[0]["ended"] is None
    assert read_legs(tmp_path / "nothing") == []


def test_the_card_names_gpu_legs_and_every_legs_note():
    from speechlab.recipes.polish_ctc_v2_card import _gpus, _notes

    cpu = {"from_step": 0, "to_step": 100, "threads": 2, "device": "cpu: Intel(R) Xeon(R)"}
    gpu = {"from_step": 100, "to_step": 7800, "device": "cuda: NVIDIA H200", "note": "Opus"}
    assert _gpus([cpu, gpu]) == "; 1 leg(s), steps 100–7,800, on NVIDIA H200"
    assert _gpus([cpu]) == "" and _gpus([{"from_step": 0, "to_step": 5}]) == ""
    assert _notes([cpu, gpu]) == ["* Steps 100–7,800: Opus"]
