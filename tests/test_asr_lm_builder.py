"""Word n-gram LMs: the Kneser-Ney estimator, its ARPA file in KenLM, the LM folder, the CLI."""

from __future__ import annotations

import io
import json
import math

import pytest
from conftest import require_module
from typer.testing import CliRunner

from speechlab.asr.ctc_decode import CTCVocab, load_beam_decoder
from speechlab.asr.kneser_ney import KneserNey, LanguageModelError
from speechlab.asr.lm_builder import build_lm
from speechlab.cli import app
from speechlab.textnorm import model_card
from speechlab.train.sentences import polish_sentences

TOY = [["a", "b"], ["a", "c"], ["b", "c"]]


def _ids(model: KneserNey, *words: str) -> tuple[int, ...]:
    return tuple(model.words.index(w) for w in words)


def test_a_bigram_model_by_hand():
    """<s> a b </s>, <s> a c </s>, <s> b c </s> with every discount 0.5. Continuation
    counts: a 1 (after <s>), b 2, c 2, </s> 2 (total 7); 5 predictable words (a b c </s>
    <unk>), so the unigram interpolation weight is 0.5 * 4 / 7 = 2/7 and
    p(a) = 0.5/7 + (2/7)/5 = 0.9/7, p(b) = p(c) = p(</s>) = 1.9/7, p(<unk>) = 0.4/7.
    After a: a b 1, a c 1 (total 2), weight 0.5 * 2 / 2, so p(b|a) = 0.25 + 0.5 * 1.9/7
    and an unseen p(a|a) = 0.5 * 0.9/7."""
    model = KneserNey(TOY, 2, discounts=(0.5, 0.5, 0.5))
    p = model.probability
    assert p(_ids(model, "a")) == pytest.approx(0.9 / 7, abs=1e-12)
    for word in ("b", "c", "</s>"):
        assert p(_ids(model, word)) == pytest.approx(1.9 / 7, abs=1e-12)
    assert p(_ids(model, "<unk>")) == pytest.approx(0.4 / 7, abs=1e-12)
    assert p(_ids(model, "a", "b")) == pytest.approx(0.25 + 0.5 * 1.9 / 7, abs=1e-12)
    assert p(_ids(model, "a", "a")) == pytest.approx(0.5 * 0.9 / 7, abs=1e-12)
    assert p(_ids(model, "<s>", "a")) == pytest.approx(
        1.5 / 3 + (0.5 * 2 / 3) * 0.9 / 7, abs=1e-12
    )  # <s> a 2, <s> b 1: raw counts (nothing comes before <s>)
    arpa = io.StringIO()
    model.write_arpa(arpa)
    lines = arpa.getvalue().splitlines()
    assert "ngram 1=6" in lines and "ngram 2=7" in lines
    assert f"{math.log10(0.9 / 7):.7f}\ta\t{math.log10(0.5):.7f}" in lines
    assert any(line.startswith("-99.0000000\t<s>\t") for line in lines)


@pytest.fixture(scope="module")
def polish_lm(tmp_path_factory):
    texts = polish_sentences(3000, seed=1)
    folder = tmp_path_factory.mktemp("lm") / "pl-3gram"
    return build_lm(texts, folder, order=3), texts


def test_probabilities_sum_to_one_in_kenlm_and_match_ours(polish_lm):
    """What a decoder reads: for seen, unseen and sentence-start contexts the ARPA file's
    probabilities over the vocabulary sum to one (measured: within 1.1e-7, the rounding of
    7-decimal logs), and KenLM scores sentences as the estimator does."""
    kenlm = require_module("kenlm")
    built, texts = polish_lm
    assert built.fallback_orders == []  # 3,000 sentences give every order its discounts
    assert built.ngrams == [413, 1528, 3615]
    model = kenlm.Model(str(built.folder / "lm.arpa"))
    words = [*(built.folder / "unigrams.txt").read_text().split(), "</s>", "<unk>"]
    sentences = [model_card(t).split() for t in texts[:5]]
    ours = KneserNey(sentences + [model_card(t).split() for t in texts[5:]], 3)
    for context in ([], sentences[0][:1], sentences[1][:2], ["nieznane", "słowa"]):
        state = kenlm.State()
        model.BeginSentenceWrite(state)
        for word in context:
            after = kenlm.State()
            model.BaseScore(state, word, after)
            state = after
        total = sum(10 ** model.BaseScore(state, w, kenlm.State()) for w in words)
        assert total == pytest.approx(1.0, abs=1e-5), context
    for sentence in [*sentences, ["ala", "nieznane", "ma"]]:
        assert model.score(" ".join(sentence)) == pytest.approx(ours.score(sentence), abs=1e-5)


def test_the_folder_is_what_the_beam_decoder_reads(polish_lm):
    require_module("kenlm")
    built, _ = polish_lm
    assert sorted(p.name for p in built.folder.iterdir()) == [
        "attrs.json",
        "lm.arpa",
        "unigrams.txt",
    ]
    attrs = json.loads((built.folder / "attrs.json").read_text())
    assert attrs == {"alpha": 0.5, "beta": 1.0, "unk_score_offset": -10.0, "score_boundary": True}
    unigrams = (built.folder / "unigrams.txt").read_text().split()
    assert len(unigrams) == built.vocabulary == 410 and unigrams == sorted(unigrams)
    assert all(w == model_card(w) for w in unigrams)  # normalised as transcripts are scored
    labels = ["<pad>", "|", *"abcdefghijklmnopqrstuvwxyzóąćęłńśźż"]
    vocab = CTCVocab(tuple(labels), 0, "|")
    assert load_beam_decoder(vocab, built.folder, None) is not None
    assert "3,000 sentences" in built.describe() and "3-grams" in built.describe()


def test_small_texts_fall_back_to_fixed_discounts_and_bad_input_is_refused(tmp_path):
    built = build_lm(["Ala ma kota.", "Kot ma Alę!"], tmp_path / "tiny", order=2)
    assert built.fallback_orders == [1, 2] and built.sentences == 2 and built.tokens == 6
    assert "fixed discounts" in built.describe()
    with pytest.raises(LanguageModelError, match="no words"):
        build_lm(["", "  ", "?!"], tmp_path / "empty")
    for order in (0, 7, "3", True):
        with pytest.raises(LanguageModelError, match="order must be"):
            build_lm(["ala ma kota"], tmp_path / "bad", order=order)
    with pytest.raises(LanguageModelError, match="must be strings"):
        build_lm(["ala", 3], tmp_path / "bad")
    with pytest.raises(LanguageModelError, match="one sentence per line"):
        build_lm(["ala " * 30_000], tmp_path / "bad")
    with pytest.raises(LanguageModelError, match="reserved token"):
        KneserNey([["a", "</s>"]])
    assert not (tmp_path / "bad").exists() and not (tmp_path / "empty").exists()


def test_cli_builds_a_folder_from_a_text_file(tmp_path):
    text = tmp_path / "corpus.txt"
    text.write_text("\n".join(polish_sentences(200, seed=2)) + "\n", encoding="utf-8")
    result = CliRunner().invoke(
        app, ["lm", "build", str(text), str(tmp_path / "lm"), "--order", "2"]
    )
    assert result.exit_code == 0, result.output
    assert "200 sentences" in result.output and (tmp_path / "lm" / "lm.arpa").is_file()
    missing = CliRunner().invoke(
        app, ["lm", "build", str(tmp_path / "no.txt"), str(tmp_path / "x")]
    )
    assert missing.exit_code != 0 and "no.txt" in missing.output
