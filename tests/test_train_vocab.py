"""Character vocabularies: layout, encoding, saving for load_asr, reading a model's own."""

from __future__ import annotations

import json

import pytest
from conftest import POLISH_CHARACTERS

from speechlab.asr.ctc_files import SPECIAL_TOKENS
from speechlab.train.errors import VocabError
from speechlab.train.vocab import Vocab, build_vocab

pytestmark = pytest.mark.timeout(60)


def test_build_vocab_has_the_wav2vec2_ctc_layout():
    vocab = build_vocab(["żółw pije", "ala ma kota"])
    assert vocab.labels[:5] == SPECIAL_TOKENS
    assert vocab.labels[0] == "<pad>" and vocab.pad_id == 0  # CTC blank
    assert vocab.labels[vocab.unk_id] == "<unk>"
    assert vocab.labels[4] == "|" and vocab.delimiter == "|"
    assert vocab.labels[5:] == tuple(sorted(set("żółwpijealamakota")))
    assert " " not in vocab.labels


def test_encode_uses_the_delimiter_between_words_and_unk_for_unknown_characters():
    vocab = build_vocab(["ab ba"])
    ids = vocab.ids
    assert vocab.encode("ab  ba ") == [ids["a"], ids["b"], ids["|"], ids["b"], ids["a"]]
    assert vocab.encode("ax") == [ids["a"], ids["<unk>"]]
    assert vocab.missing(["ax y"]) == {"x": 1, "y": 1}
    assert vocab.encode("   ") == []


def test_saved_vocabulary_is_what_the_ctc_tokenizer_reads(tmp_path):
    from transformers import Wav2Vec2CTCTokenizer

    vocab = build_vocab(["zażółć gęślą jaźń"])
    vocab.save(tmp_path, normalize=False)
    tokenizer = Wav2Vec2CTCTokenizer.from_pretrained(tmp_path)
    assert tokenizer.convert_ids_to_tokens(list(range(len(tokenizer)))) == list(vocab.labels)
    assert tokenizer.pad_token_id == 0
    features = json.loads((tmp_path / "preprocessor_config.json").read_text())
    assert features["do_normalize"] is False and features["sampling_rate"] == 16_000
    assert Vocab.from_folder(tmp_path) == vocab


def test_a_models_vocabulary_in_another_layout_is_read_and_copied(tmp_path):
    # the layout of the "fine-tune XLSR" blog recipe: letters first, [UNK] and [PAD] last
    labels = ["a", "b", "|", "[UNK]", "[PAD]"]
    source = tmp_path / "model"
    source.mkdir()
    (source / "vocab.json").write_text(json.dumps({c: i for i, c in enumerate(labels)}))
    (source / "tokenizer_config.json").write_text(
        json.dumps({"unk_token": "[UNK]", "pad_token": "[PAD]", "word_delimiter_token": "|"})
    )
    vocab = Vocab.from_folder(source)
    assert vocab is not None
    # the tokenizer appends its bos/eos as added tokens, and models count them as outputs
    assert vocab.labels == (*labels, "<s>", "</s>")
    assert vocab.pad_id == 4 and vocab.unk_id == 3 and vocab.source == source
    assert vocab.encode("ab a") == [0, 1, 2, 0]
    vocab.save(tmp_path / "out")
    assert json.loads((tmp_path / "out" / "vocab.json").read_text()) == {
        c: i for i, c in enumerate(labels)
    }
    assert Vocab.from_folder(tmp_path / "out").labels == vocab.labels


def test_tiny_models_vocabulary_is_read_with_its_polish_characters(tiny_ctc_dir):
    vocab = Vocab.from_folder(tiny_ctc_dir)
    assert vocab is not None and vocab.source is None  # the standard layout
    assert vocab.labels[5:] == tuple(POLISH_CHARACTERS)
    assert vocab.ctc().blank_id == 0


def test_no_characters_is_a_typed_error():
    with pytest.raises(VocabError, match="no characters"):
        build_vocab(["", "   "])


def test_folder_without_vocab_json_has_no_vocabulary(tmp_path):
    assert Vocab.from_folder(tmp_path) is None


def test_an_upper_case_model_vocabulary_gets_upper_cased_targets():
    vocab = Vocab(("<pad>", "<s>", "</s>", "<unk>", "|", "A", "Ł", "K"))
    assert vocab.upper_case and not build_vocab(["ala"]).upper_case
    assert vocab.encode("ała ka") == [5, 6, 5, 4, 7, 5]
    assert vocab.missing(["ała kąt"]) == {"Ą": 1, "T": 1}
