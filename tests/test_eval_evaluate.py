"""speechlab.eval.evaluate: the table and summary, saving, resuming after a crash."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from conftest import require_module
from eval_fixtures import CORPUS, FakeRecognizer, duration_of, heard_by_duration, make_folder

from speechlab.asr import TranscribeOptions
from speechlab.errors import AudioError, DatasetError
from speechlab.eval import EvalResult, evaluate
from speechlab.eval.errors import EvalError
from speechlab.eval.runlog import TRANSCRIPTS_FILE
from speechlab.textnorm import NormalizerError

pytestmark = pytest.mark.timeout(120)
ALL = [duration_of(stem) for stem, _, _ in CORPUS]


@pytest.fixture
def corpus(tmp_path):
    return make_folder(tmp_path / "corpus")


def _without_time(result):
    return {k: v for k, v in result.summary.items() if k != "created"}


def test_table_and_summary(corpus):
    fake = FakeRecognizer(heard_by_duration())
    result = evaluate(fake, corpus, lang="pl", progress=False, n_boot=200)
    table = result.table
    assert list(table["id"]) == [f"{stem}.wav" for stem, _, _ in CORPUS]
    assert list(table["hypothesis"]) == [heard for _, _, heard in CORPUS]
    assert table.loc[0, "reference_norm"] == "zażółć gęślą jaźń" and table.loc[0, "wer"] == 0.0
    row = table.set_index("id").loc["a08.wav"]  # "bardzo" inserted
    assert (row.insertions, row.substitutions, row.deletions, row.hits) == (1, 0, 0, 3)
    assert table.set_index("id").loc["a06.wav", "deletions"] == 1  # "i" missed
    assert not table["synthetic"].any()
    s = result.summary
    errors = s["substitutions"] + s["insertions"] + s["deletions"]
    assert s["wer"] == pytest.approx(errors / s["ref_words"])
    assert (s["substitutions"], s["insertions"], s["deletions"]) == (3, 1, 1)
    assert s["wer_ci"][0] <= s["wer"] <= s["wer_ci"][1]
    assert s["utterances"] == 10 and s["model"] == "fake" and s["language"] == "pl"
    assert s["normalizer"] == "model-card" and s["synthetic"] is False
    assert s["audio_hours"] == pytest.approx(sum(ALL) / 3600)
    # one call for 10 ≤ 4 batches of 8; every recognizer is told the language
    assert fake.options == [TranscribeOptions(language="pl", batch_size=8)]
    assert fake.seen == ALL
    assert "WER" in repr(result) and "fake" in repr(result)
    top = result.top_confusions(20)
    assert set(top["pair"]) == {
        "ż→z",
        "ł→l",
        "e→∅",
        "i→∅",
        "␣→∅",
        "∅→b",
        "∅→a",
        "∅→r",
        "∅→d",
        "∅→z",
        "∅→o",
        "∅→␣",
    }


def test_normaliser_changes_the_scores(corpus):
    fake = FakeRecognizer(heard_by_duration())
    raw = evaluate(fake, corpus, normalizer="none", progress=False, n_boot=0)
    card = evaluate(fake, corpus, progress=False, n_boot=0)
    assert raw.wer > card.wer
    assert raw.summary["normalizer"] == "none"
    custom = evaluate(fake, corpus, normalizer=lambda t: "", progress=False, n_boot=0)
    assert custom.wer == 0.0 and custom.summary["normalizer"] == "<lambda>"


def test_save_and_load_round_trip(corpus, tmp_path):
    result = evaluate(
        FakeRecognizer(heard_by_duration()), corpus, progress=False, n_boot=100, synthetic=True
    )
    folder = result.save(tmp_path / "saved")
    assert {p.name for p in folder.iterdir()} == {"results.json", "summary.json", "utterances.csv"}
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["synthetic"] is True and summary["wer"] == result.wer
    csv = pd.read_csv(folder / "utterances.csv")
    assert csv["synthetic"].all() and len(csv) == 10
    loaded = EvalResult.load(folder)
    assert loaded.summary == result.summary
    pd.testing.assert_frame_equal(loaded.table, result.table, check_dtype=False)
    with pytest.raises(EvalError, match=r"No results\.json"):
        EvalResult.load(tmp_path)


def test_interrupted_run_resumes_without_redoing_work(corpus, tmp_path):
    hear = heard_by_duration()
    whole = evaluate(FakeRecognizer(hear), corpus, progress=False, n_boot=300)
    out = tmp_path / "run"
    crashing = FakeRecognizer(hear, fail_after=5)
    with pytest.raises(RuntimeError, match="simulated crash"):
        evaluate(crashing, corpus, out=out, progress=False, batch_size=1, n_boot=300)
    assert crashing.seen == ALL[:5]
    lines = (out / TRANSCRIPTS_FILE).read_text(encoding="utf-8").splitlines()
    assert [json.loads(line)["id"] for line in lines] == [f"a0{i}.wav" for i in range(1, 6)]
    resumed = FakeRecognizer(hear)
    result = evaluate(resumed, corpus, out=out, progress=False, batch_size=1, n_boot=300)
    assert resumed.seen == ALL[5:]  # the first five were not transcribed again
    pd.testing.assert_frame_equal(result.table, whole.table)
    assert _without_time(result) == {**_without_time(whole), "data": str(corpus)}
    assert EvalResult.load(out).summary == result.summary
    again = FakeRecognizer(hear)
    evaluate(again, corpus, out=out, progress=False)
    assert again.seen == []


def test_torn_last_line_is_dropped_and_redone(corpus, tmp_path):
    hear = heard_by_duration()
    out = tmp_path / "run"
    with pytest.raises(RuntimeError):
        evaluate(FakeRecognizer(hear, fail_after=3), corpus, out=out, progress=False, batch_size=1)
    log = out / TRANSCRIPTS_FILE
    log.write_text(log.read_text() + '{"id": "a04.wav", "hypo', encoding="utf-8")
    resumed = FakeRecognizer(hear)
    result = evaluate(resumed, corpus, out=out, progress=False)
    assert resumed.seen == ALL[3:]
    assert len(result.table) == 10
    assert len(log.read_text().splitlines()) == 10


def test_a_run_folder_is_not_mixed_with_another_model_or_language(corpus, tmp_path):
    out = tmp_path / "run"
    evaluate(FakeRecognizer(heard_by_duration()), corpus, out=out, lang="pl", progress=False)
    with pytest.raises(EvalError, match="language 'pl' \\(now 'cs'\\)"):
        evaluate(FakeRecognizer(heard_by_duration()), corpus, out=out, lang="cs", progress=False)


def test_references_are_taken_from_the_current_data_on_resume(corpus, tmp_path):
    out = tmp_path / "run"
    evaluate(FakeRecognizer(heard_by_duration()), corpus, out=out, progress=False)
    (corpus / "a06.txt").write_text("Gęś kaczka.", encoding="utf-8")  # a fixed reference
    again = FakeRecognizer(heard_by_duration())
    result = evaluate(again, corpus, out=out, progress=False)
    assert again.seen == []
    assert result.table.set_index("id").loc["a06.wav", "wer"] == 0.0


def test_bad_inputs_fail_before_any_transcription(corpus, tmp_path):
    fake = FakeRecognizer(heard_by_duration())
    with pytest.raises(NormalizerError, match="Unknown normaliser 'basic'"):
        evaluate(fake, corpus, normalizer="basic", progress=False)
    with pytest.raises(EvalError, match="batch_size"):
        evaluate(fake, corpus, batch_size=0, progress=False)
    with pytest.raises(EvalError, match="n_boot"):
        evaluate(fake, corpus, n_boot=-5, progress=False)
    (corpus / "a10.wav").write_bytes(b"")
    with pytest.raises(AudioError, match="empty"):
        evaluate(fake, corpus, progress=False)
    (tmp_path / "empty.tsv").write_text("path\ttext\n")
    with pytest.raises(DatasetError, match="no rows"):
        evaluate(fake, tmp_path / "empty.tsv", progress=False)
    assert fake.seen == []


def test_empty_streamed_dataset_is_an_error(corpus):
    datasets = require_module("datasets")
    ds = datasets.Dataset.from_dict({"audio": [str(corpus / "a01.wav")], "sentence": ["x"]})
    empty = ds.to_iterable_dataset().filter(lambda row: False)
    with pytest.raises(EvalError, match="no utterances"):
        evaluate(FakeRecognizer(heard_by_duration()), empty, progress=False)


def test_every_recognizer_gets_the_language_code(corpus):
    fake = FakeRecognizer(heard_by_duration())
    evaluate(fake, corpus, lang="en-us", progress=False, n_boot=0)
    assert fake.options and all(o.language == "en" for o in fake.options)


def test_a_real_ctc_recognizer_runs_through(tiny_ctc_dir, tmp_path):
    from speechlab.asr import load_asr

    corpus = make_folder(tmp_path / "corpus", CORPUS[:4])
    asr = load_asr(tiny_ctc_dir)
    result = evaluate(asr, corpus, lang="pl", progress=False, batch_size=2)
    assert len(result.table) == 4
    assert result.summary["model"] == tiny_ctc_dir.name
    # each row holds what the recognizer hears in that file alone, in the corpus's order
    alone = [asr.transcribe(corpus / f"{stem}.wav").text for stem, _, _ in CORPUS[:4]]
    assert list(result.table["hypothesis"]) == alone
    assert all(alone) and len(set(alone)) == 4  # random weights: non-empty, all different
    assert result.summary["ref_words"] == 3 + 5 + 3 + 5
    # a random model hears none of the reference words (measured: 0 hits), so WER ≥ 1
    assert result.summary["hits"] == 0 and result.wer >= 1.0
