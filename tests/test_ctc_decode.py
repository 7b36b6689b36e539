"""CTC decoding on hand-built probabilities: greedy timings, LM beam search, hotwords."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import require_module

from speechlab.asr.ctc_decode import BeamDecoder, CTCVocab, greedy_decode, load_beam_decoder

LABELS = ("<pad>", "<s>", "</s>", "<unk>", "|", "k", "o", "t", "d", "a")
VOCAB = CTCVocab(LABELS, blank_id=0, word_delimiter="|", skip_ids=frozenset({1, 2}))


def _log_probs(frames: list[dict[str, float]]) -> np.ndarray:
    """Each frame: {label: probability}; the rest of the mass is spread over the others."""
    out = np.zeros((len(frames), len(LABELS)))
    for t, probs in enumerate(frames):
        rest = (1.0 - sum(probs.values())) / (len(LABELS) - len(probs))
        out[t] = rest
        for label, p in probs.items():
            out[t, LABELS.index(label)] = p
    return np.log(out)


def _frames(spec: str) -> list[dict[str, float]]:
    """'kk_o|' -> one confident frame per character; '_' is the blank."""
    return [{"<pad>" if c == "_" else c: 0.9} for c in spec]


def test_greedy_merges_repeats_drops_blanks_and_times_chars():
    lp = _log_probs(_frames("_kk_oo_t_|__aa_"))
    out = greedy_decode(lp, VOCAB, frame_seconds=0.02)
    assert out.text == "kot a"
    assert [(c.text, c.start, c.end) for c in out.chars] == [
        ("k", 0.02, 0.06),
        ("o", 0.08, 0.12),
        ("t", 0.14, 0.16),
        ("a", 0.24, 0.28),
    ]
    kot, a = out.words
    assert (kot.text, kot.start, kot.end) == ("kot", 0.02, 0.16)
    assert kot.confidence == pytest.approx(0.9)
    assert (a.text, a.start, a.end) == ("a", 0.24, 0.28)


def test_greedy_keeps_double_letters_split_by_blank_and_skips_special_tokens():
    lp = _log_probs([*_frames("k_k"), {"<s>": 0.9}, *_frames("o")])
    out = greedy_decode(lp, VOCAB, frame_seconds=0.02, offset=10.0)
    assert out.text == "kko"
    assert out.chars[0].start == 10.0


def test_word_confidence_is_the_mean_frame_maximum():
    frames = [{"k": 0.9}, {"<pad>": 0.5}, {"o": 0.7}]
    out = greedy_decode(_log_probs(frames), VOCAB, frame_seconds=0.02)
    assert out.words[0].confidence == pytest.approx((0.9 + 0.5 + 0.7) / 3)


def test_empty_input_decodes_to_nothing():
    empty = np.zeros((0, len(LABELS)))
    assert greedy_decode(empty, VOCAB, 0.02).text == ""


AMBIGUOUS = [{"k": 0.9}, {"o": 0.9}, {"d": 0.5, "t": 0.4}]  # greedy says "kod"

ARPA = """\\data\\
ngram 1=5
ngram 2=2

\\1-grams:
-0.2\tkot\t-0.1
-4.0\tkod\t-0.1
-0.5\t</s>\t0
-99\t<s>\t-0.1
-3.0\t<unk>\t0

\\2-grams:
-0.1\t<s> kot
-0.1\tkot </s>

\\end\\
"""


def test_kenlm_language_model_fixes_what_greedy_gets_wrong(tmp_path):
    require_module("kenlm")
    lp = _log_probs(AMBIGUOUS)
    assert greedy_decode(lp, VOCAB, 0.02).text == "kod"
    arpa = tmp_path / "tiny.arpa"
    arpa.write_text(ARPA)
    decoder = load_beam_decoder(VOCAB, arpa, None, alpha=1.0, beta=0.0)
    assert decoder is not None and decoder.has_lm
    out = decoder.decode(lp, 0.02)
    assert out.text == "kot"
    assert (out.words[0].text, out.words[0].start, out.words[0].end) == ("kot", 0.0, 0.06)


def test_language_model_dir_layout_is_picked_up(tmp_path):
    require_module("kenlm")
    lm_dir = tmp_path / "model" / "language_model"
    lm_dir.mkdir(parents=True)
    (lm_dir / "5gram.arpa").write_text(ARPA)
    (lm_dir / "attrs.json").write_text('{"alpha": 1.0, "beta": 0.0, "unk_score_offset": -10.0}')
    (lm_dir / "unigrams.txt").write_text("kot\nkod\n")
    decoder = load_beam_decoder(VOCAB, None, tmp_path / "model")
    assert decoder is not None and decoder.has_lm
    assert decoder.decode(_log_probs(AMBIGUOUS), 0.02).text == "kot"
    assert load_beam_decoder(VOCAB, None, tmp_path) is None  # no language_model/: greedy


def test_hotwords_steer_beam_search_without_an_lm():
    decoder = BeamDecoder(VOCAB, None)
    lp = _log_probs(AMBIGUOUS)
    assert decoder.decode(lp, 0.02).text == "kod"
    assert decoder.decode(lp, 0.02, hotwords=["kot"]).text == "kot"


def test_missing_lm_file_is_a_clear_error(tmp_path):
    from speechlab.errors import ModelNotFoundError

    with pytest.raises(ModelNotFoundError, match="Language model not found"):
        load_beam_decoder(VOCAB, tmp_path / "nope.arpa", None)
    (tmp_path / "broken.arpa").write_text("not an arpa file")
    with pytest.raises(ModelNotFoundError, match="Cannot read the language model"):
        load_beam_decoder(VOCAB, tmp_path / "broken.arpa", None)
    (tmp_path / "empty_lm").mkdir()
    with pytest.raises(ModelNotFoundError, match="no KenLM model"):
        load_beam_decoder(VOCAB, tmp_path / "empty_lm", None)
