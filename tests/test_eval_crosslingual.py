"""speechlab.eval.crosslingual and roundtrip with fake models: tables, labels, files."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from eval_fixtures import FakeRecognizer, FakeSynthesizer

from speechlab.eval import (
    SENTENCES,
    CrossLingualResult,
    RoundTripResult,
    cross_lingual,
    roundtrip,
    synth_test_set,
)
from speechlab.eval.errors import EvalError

pytestmark = pytest.mark.timeout(120)
TEXTS = {"pl": ["Dzień dobry.", "Żółta łódź."], "cs": ["Dobrý den.", "Jdu domů."]}


def _by_length(texts: list[str], voices=("v1", "v2"), wrong: dict[str, str] | None = None):
    """A recognizer that 'hears' the text whose fake speech has this length."""
    table = {
        round(0.5 + 0.1 * i + 0.05 * v, 3): text
        for i, text in enumerate(texts)
        for v in range(len(voices))
    }
    wrong = wrong or {}
    return FakeRecognizer(
        lambda item: wrong.get(table[round(item.duration, 3)], table[round(item.duration, 3)])
    )


def test_shipped_sentences():
    assert set(SENTENCES) == {"pl", "cs", "sk", "uk"}
    assert all(len(s) >= 4 for s in SENTENCES.values())
    assert all(not any(c.isdigit() for c in t) for s in SENTENCES.values() for t in s)
    polish = " ".join(SENTENCES["pl"]).lower()
    assert set("ąćęłńóśźż") <= set(polish)


def test_synth_test_set_writes_a_labelled_corpus(tmp_path):
    all_texts = [t for texts in TEXTS.values() for t in texts]
    tts = FakeSynthesizer(all_texts)
    sets = synth_test_set(tts, TEXTS, {"pl": ["v1", "v2"], "cs": "v2"}, tmp_path, progress=False)
    assert set(sets) == {"pl", "cs"}
    manifest = sets["pl"].read_text(encoding="utf-8").splitlines()
    assert manifest == [
        "path\ttext\tvoice",
        "pl-001.wav\tDzień dobry.\tv1",
        "pl-002.wav\tŻółta łódź.\tv2",
    ]
    assert (tmp_path / "pl" / "pl-002.wav").is_file()
    meta = json.loads((tmp_path / "cs" / "metadata.json").read_text())
    assert meta["synthetic"] is True and meta["voices"] == ["v2"] and meta["language"] == "cs"
    assert "SYNTHETIC" in (tmp_path / "README.md").read_text()
    assert ("Dobrý den.", "v2", "cs", 1.0) in tts.calls
    with pytest.raises(EvalError, match="No voice given for 'cs'"):
        synth_test_set(tts, TEXTS, {"pl": "v1"}, tmp_path / "x", progress=False)
    with pytest.raises(EvalError, match="at least one sentence"):
        synth_test_set(tts, {"pl": []}, "v1", tmp_path / "y", progress=False)


def test_cross_lingual_table_is_labelled_synthetic_and_saved(tmp_path):
    all_texts = [t for texts in TEXTS.values() for t in texts]
    sets = synth_test_set(
        FakeSynthesizer(all_texts), TEXTS, "v1", tmp_path / "sets", progress=False
    )
    asr = _by_length(all_texts, wrong={"Jdu domů.": "jdu domu"})
    result = cross_lingual(asr, sets, out=tmp_path / "out", progress=False, n_boot=100)
    table = result.table
    assert list(table["language"]) == ["pl", "cs"]
    assert table["synthetic"].all() and (table["utterances"] == 2).all()
    assert table.set_index("language").loc["pl", "wer"] == 0.0
    assert table.set_index("language").loc["cs", "wer"] == pytest.approx(1 / 4)
    assert result.results["cs"].summary["language"] == "cs"
    assert result.results["cs"].table["synthetic"].all()
    loaded = CrossLingualResult.load(tmp_path / "out")
    pd.testing.assert_frame_equal(loaded.table, table, check_dtype=False)
    assert set(loaded.results) == {"pl", "cs"}
    saved = json.loads((tmp_path / "out" / "crosslingual.json").read_text())
    assert saved["synthetic"] is True
    assert json.loads((tmp_path / "out" / "cs" / "summary.json").read_text())["synthetic"]
    with pytest.raises(EvalError, match="No test sets"):
        cross_lingual(asr, {})


def test_roundtrip_per_voice_and_per_text(tmp_path):
    texts = ["Żółta łódź płynie.", "Gęś i kaczka.", "Dzień dobry."]
    asr = _by_length(texts, wrong={"Gęś i kaczka.": "gęś kaczka"})
    tts = FakeSynthesizer(texts)
    result = roundtrip(
        tts,
        asr,
        texts,
        voices=["v1", "v2"],
        lang="pl",
        out=tmp_path,
        keep_audio=True,
        progress=False,
        n_boot=100,
    )
    assert list(result.table["voice"]) == ["v1", "v2"]
    assert list(result.table["wer"]) == pytest.approx([1 / 8, 1 / 8])
    assert (result.table["kind"] == "TTS→ASR round trip").all() and result.table["synthetic"].all()
    assert len(result.rows) == 6 and result.rows["synthetic"].all()
    assert list(result.rows["text_id"]) == [1, 2, 3, 1, 2, 3]
    assert result.summary["kind"] == "TTS→ASR round trip" and result.summary["synthetic"]
    assert result.summary["tts"] == "FakeSynthesizer" and result.summary["asr"] == "fake"
    assert {c[2] for c in tts.calls} == {"pl"}
    assert (tmp_path / "audio" / "v2-003.wav").is_file()
    loaded = RoundTripResult.load(tmp_path)
    pd.testing.assert_frame_equal(loaded.table, result.table, check_dtype=False)
    assert loaded.summary == result.summary
    assert "v1 WER 12.5%" in repr(result)
    # pooled over both voices, with an interval from resampling the three texts: the voices
    # read each text alike here, so it is one voice's interval (resampling the six rows
    # as if they were independent would not be)
    assert result.summary["wer"] == pytest.approx(1 / 8)
    one_voice = result.table.iloc[0]
    assert result.summary["wer_ci"] == [one_voice["wer_low"], one_voice["wer_high"]]
    assert result.summary["wer_ci"][0] < 1 / 8 < result.summary["wer_ci"][1]
    assert result.summary["cer_ci"][0] <= result.summary["cer"] <= result.summary["cer_ci"][1]
    with pytest.raises(EvalError, match="at least one text and one voice"):
        roundtrip(tts, asr, [], progress=False)
    with pytest.raises(EvalError, match="keep_audio needs out"):
        roundtrip(tts, asr, texts, voices="v1", keep_audio=True, progress=False)
