"""Training data: collator, filtering, resampling, augmentation, seeded length-grouped batches."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import soundfile as sf
from conftest import require_module
from train_fixtures import RATE, TEXTS, clip, make_manifest

from speechlab.train.augment import (
    AugmentPlan,
    add_noise,
    apply_plan,
    change_speed,
    choose_plan,
    make_noise,
    seeded,
)
from speechlab.train.data import (
    Position,
    TrainingData,
    collate,
    ctc_min_frames,
    load_eval_set,
    prefetch,
    rank_batches,
    read_texts,
)
from speechlab.train.errors import ConfigError, TrainDataError
from speechlab.train.vocab import build_vocab

pytestmark = pytest.mark.timeout(120)


def frames(samples: int) -> int:  # wav2vec2's 320 samples per frame, near enough
    return samples // 320


def data(source, **options):
    vocab = build_vocab(read_texts(source))
    return TrainingData(source, vocab, frames, **{"min_seconds": 0.1, **options})


# --------------------------------------------------------------------------- collator


def test_collate_pads_inputs_with_a_mask_and_labels_with_minus_100():
    waves = [np.array([1, 2, 3], np.float32), np.array([1, -1, 1, -1, 1], np.float32)]
    batch = collate(waves, [[5, 6], [7]])
    values, mask, labels = batch["input_values"], batch["attention_mask"], batch["labels"]
    assert values.shape == (2, 5) and mask.tolist() == [[1, 1, 1, 0, 0], [1] * 5]
    assert values[0, 3:].tolist() == [0.0, 0.0]
    valid = values[0, :3].numpy()
    assert abs(valid.mean()) < 1e-6 and abs(valid.std() - 1) < 1e-3  # per-utterance norm
    assert labels.tolist() == [[5, 6], [7, -100]]
    raw = collate(waves, normalize=False)
    assert raw["input_values"][0, :3].tolist() == [1, 2, 3] and "labels" not in raw


def test_collate_refuses_an_empty_batch():
    with pytest.raises(TrainDataError):
        collate([])


def test_ctc_needs_a_blank_between_repeated_labels():
    assert ctc_min_frames([1, 1, 2]) == 4
    assert ctc_min_frames([1, 2, 3]) == 3


# --------------------------------------------------------------------------- filtering


def test_length_filtering_drops_short_long_and_over_labelled_utterances(tmp_path):
    specs = [("short", 0.2, "ala"), ("ok", 1.0, "ala ma kota"), ("long", 3.0, "ala"),
             ("dense", 0.5, "a" * 40), ("empty", 1.0, "?!")]  # fmt: skip
    lines = ["path\ttext"]
    for i, (name, seconds, text) in enumerate(specs):
        sf.write(tmp_path / f"{name}.wav", clip(i, seconds), RATE)
        lines.append(f"{name}.wav\t{text}")
    (tmp_path / "m.tsv").write_text("\n".join(lines) + "\n")
    training = data(tmp_path / "m.tsv", min_seconds=0.5, max_seconds=2.0, batch_size=8)
    batch, _ = next(training.batches())
    assert [item.text for item in batch] == ["ala ma kota"]
    stats = training.stats.describe()
    assert stats.startswith("epoch 0: 1 kept")
    for reason in ("shorter than 0.5 s", "longer than 2.0 s", "more labels than frames", "empty"):
        assert reason in stats


def test_nothing_left_after_filtering_is_a_typed_error(tmp_path):
    manifest = make_manifest(tmp_path, TEXTS[:2])
    with pytest.raises(TrainDataError, match="No usable training utterance"):
        next(data(manifest, min_seconds=5.0, max_seconds=9.0).batches())


def test_empty_manifest_is_a_typed_error(tmp_path):
    (tmp_path / "m.tsv").write_text("path\ttext\n")
    with pytest.raises(TrainDataError, match="no rows"):
        TrainingData(tmp_path / "m.tsv", build_vocab(["a"]), frames)


# --------------------------------------------------------------------------- audio


def test_items_are_resampled_to_16_khz(tmp_path):
    manifest = make_manifest(tmp_path, TEXTS[:1], rate=44_100)
    item = next(data(manifest).batches())[0][0]
    assert abs(len(item.load()) - 0.8 * RATE) <= 2
    assert item.samples == round(0.8 * RATE)


def test_speed_perturbation_changes_length_by_the_factor():
    wave = clip(0, 1.0)
    assert abs(len(change_speed(wave, 1.1, RATE)) - RATE / 1.1) <= 1
    assert abs(len(change_speed(wave, 0.9, RATE)) - RATE / 0.9) <= 1
    assert change_speed(wave, 1.0, RATE) is wave


@pytest.mark.parametrize("color", ["white", "pink"])
def test_noise_is_added_at_the_requested_snr(color):
    wave = clip(3, 1.0)
    noisy = add_noise(wave, 10.0, color, seeded(0, 1))
    noise = noisy - wave
    snr = 10 * np.log10(np.mean(wave.astype(np.float64) ** 2) / np.mean(noise**2))
    assert abs(snr - 10.0) < 0.05
    assert np.array_equal(noisy, add_noise(wave, 10.0, color, seeded(0, 1)))  # seeded
    assert not np.array_equal(noisy, add_noise(wave, 10.0, color, seeded(0, 2)))


def test_pink_noise_has_less_power_at_high_frequencies():
    spectrum = np.abs(np.fft.rfft(make_noise(2**15, "pink", seeded(1)))) ** 2
    low, high = spectrum[10:200].mean(), spectrum[-2000:].mean()
    assert low > 50 * high
    white = np.abs(np.fft.rfft(make_noise(2**15, "white", seeded(1)))) ** 2
    assert 0.5 < white[10:2000].mean() / white[-2000:].mean() < 2


def test_silence_gets_no_noise_and_unknown_colours_are_refused():
    silence = np.zeros(100, np.float32)
    assert np.array_equal(add_noise(silence, 10.0, "white", seeded(0)), silence)
    with pytest.raises(ConfigError):
        make_noise(10, "brown", seeded(0))


def test_augmentation_plan_depends_only_on_the_seed_and_keys():
    choices = ([0.9, 1.0, 1.1], [None, 20.0, 10.0], ["white", "pink"])
    plans = [choose_plan(seeded(7, 0, i), *choices) for i in range(30)]
    assert plans == [choose_plan(seeded(7, 0, i), *choices) for i in range(30)]
    assert {p.speed for p in plans} == {0.9, 1.0, 1.1}
    assert {p.snr_db for p in plans} == {None, 20.0, 10.0}
    wave = clip(1, 0.5)
    plan = AugmentPlan(1.1, 20.0, "pink", 5)
    assert np.array_equal(apply_plan(wave, plan, RATE), apply_plan(wave, plan, RATE))


# --------------------------------------------------------------------------- order


def _signature(batches):
    return [[(item.epoch, item.index, tuple(item.labels)) for item in batch] for batch in batches]


def test_a_stream_started_at_a_position_continues_the_uninterrupted_stream(tmp_path):
    manifest = make_manifest(tmp_path, TEXTS)
    options = {"batch_size": 2, "group_batches": 2, "speeds": [0.9, 1.1], "snrs_db": [None, 15]}
    straight = list(itertools.islice(data(manifest, **options).batches(), 14))  # > 3 epochs
    for k in (1, 3, 4, 9):
        resumed = list(
            itertools.islice(data(manifest, **options).batches(straight[k][1]), 14 - k - 1)
        )
        assert _signature(b for b, _ in resumed) == _signature(b for b, _ in straight[k + 1 :])
        first, expected = resumed[0][0][0], straight[k + 1][0][0]
        assert first.plan == expected.plan
        assert np.array_equal(first.load(), expected.load())  # same augmented audio
    assert straight[3][1] == Position(0, 1, 2)  # 4 batches of 2 per epoch, 2 per group


def test_epochs_are_shuffled_differently_and_reproducibly(tmp_path):
    manifest = make_manifest(tmp_path, TEXTS)

    def first_batches(seed: int) -> list:
        training = data(manifest, seed=seed, batch_size=2, group_batches=2)
        return [b for b, _ in itertools.islice(training.batches(), 8)]  # two epochs

    first = first_batches(1)
    assert _signature(first) == _signature(first_batches(1))
    assert _signature(first) != _signature(first_batches(2))
    texts = [item.text for batch in first for item in batch]
    assert sorted(texts[:8]) == sorted(texts[8:])  # each epoch has every utterance once
    assert texts[:8] != texts[8:]  # in a new order


def test_batches_are_length_grouped_within_a_group(tmp_path):
    manifest = make_manifest(tmp_path, TEXTS)
    batches = [
        b for b, _ in itertools.islice(data(manifest, batch_size=2, group_batches=4).batches(), 4)
    ]
    lengths = sorted((sorted(item.samples for item in b) for b in batches), key=lambda x: x[0])
    flat = [n for pair in lengths for n in pair]
    assert flat == sorted(flat)  # batches hold neighbours in length, no interleaving


# --------------------------------------------------------------------------- datasets


def _rows(n: int = 6) -> dict[str, list]:
    return {
        "audio": [{"array": clip(i, 0.6), "sampling_rate": RATE} for i in range(n)],
        "sentence": TEXTS[:n],
    }


def test_a_datasets_dataset_and_its_stream_give_the_same_items(tmp_path):
    datasets = require_module("datasets")
    table = datasets.Dataset.from_dict(_rows())
    mapped = data(table, batch_size=3, group_batches=2, shuffle=False)
    streamed = data(table.to_iterable_dataset(), batch_size=3, group_batches=2, shuffle=False)
    one = list(itertools.islice(mapped.batches(), 4))
    two = list(itertools.islice(streamed.batches(), 4))
    assert _signature(b for b, _ in one) == _signature(b for b, _ in two)
    assert {item.text for b, _ in one[:2] for item in b} == {
        "ala ma kota", "żółw pije wodę", "dzień dobry", "gęś kot i pies", "idę do domu",
        "źle się czuję",
    }  # fmt: skip
    resumed = list(itertools.islice(streamed.batches(one[0][1]), 3))
    assert _signature(b for b, _ in resumed) == _signature(b for b, _ in one[1:])
    shuffled = data(table, batch_size=3, group_batches=1)
    epoch0 = [i.text for b, _ in itertools.islice(shuffled.batches(), 2) for i in b]
    in_order = [i.text for b, _ in one[:2] for i in b]
    assert sorted(epoch0) == sorted(in_order) and epoch0 != in_order


def test_eval_set_is_normalised_and_longest_first(tmp_path):
    manifest = make_manifest(tmp_path, TEXTS[:3])
    items = load_eval_set(manifest)
    assert [text for _, text in items] == ["dzień dobry", "żółw pije wodę", "ala ma kota"]
    assert len(items[0][0]) >= len(items[-1][0])
    assert load_eval_set(manifest, max_items=1)[0][1] == "ala ma kota"


def test_unknown_data_objects_are_refused_with_a_typed_error():
    with pytest.raises(TrainDataError, match="Cannot"):
        TrainingData(42, build_vocab(["a"]), frames)


@pytest.mark.parametrize(("depth", "processes"), [(0, 0), (3, 0), (3, 2)])
def test_prefetched_batches_are_the_batches_loaded_in_order(tmp_path, depth, processes):
    manifest = make_manifest(tmp_path, TEXTS)
    options = {"batch_size": 2, "group_batches": 2, "speeds": [0.9, 1.1], "snrs_db": [None, 15]}
    direct = list(itertools.islice(data(manifest, **options).batches(), 6))
    stream = prefetch(data(manifest, **options).batches(), RATE, depth, processes)
    for (items, position), (got, got_position, waves) in zip(direct, stream, strict=False):
        assert _signature([got]) == _signature([items]) and got_position == position
        assert all(np.array_equal(w, i.load()) for w, i in zip(waves, items, strict=True))


def test_each_rank_takes_every_world_th_batch(tmp_path):
    manifest = make_manifest(tmp_path, TEXTS)
    direct = list(itertools.islice(data(manifest, batch_size=1).batches(), 6))
    for rank in (0, 1):
        mine = list(
            itertools.islice(rank_batches(data(manifest, batch_size=1).batches(), 2, rank), 3)
        )
        assert _signature(b for b, _ in mine) == _signature(b for b, _ in direct[rank::2])
        assert [p for _, p in mine] == [p for _, p in direct[1::2]]
