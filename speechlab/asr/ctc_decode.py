"""CTC decoding: greedy (with char/word times and confidences) and LM beam search (pyctcdecode).

Both work on one utterance's log-probabilities, shape ``(frames, vocab)``, after
stitching, so long audio is decoded once over its whole frame sequence.

Confidence of a character is the mean, over the frames of its CTC run, of the
frame's highest softmax probability; a word's is the same mean over every frame from
its first character's first frame to its last character's last frame (blanks inside
the word included). Both lie in [0, 1].
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from speechlab.errors import ModelFileError, ModelNotFoundError, SpeechlabError
from speechlab.store.model_folders import read_json
from speechlab.transcript import Segment

__all__ = ["BeamDecoder", "CTCVocab", "Decoded", "greedy_decode", "load_beam_decoder"]

log = logging.getLogger(__name__)

_LM_ATTRS = ("alpha", "beta", "unk_score_offset")  # the numbers attrs.json holds


@dataclass(frozen=True)
class CTCVocab:
    """The label of every output id, which id is the CTC blank, and the word delimiter."""

    labels: tuple[str, ...]
    blank_id: int
    word_delimiter: str = "|"
    skip_ids: frozenset[int] = frozenset()  # special tokens never written (<s>, </s>, ...)

    @classmethod
    def from_tokenizer(cls, tokenizer) -> CTCVocab:
        size = len(tokenizer)
        labels = tuple(tokenizer.convert_ids_to_tokens(list(range(size))))
        blank = tokenizer.pad_token_id
        if blank is None:
            raise ModelNotFoundError(
                "The tokenizer has no pad token, which CTC models use as the blank; "
                "this is not a CTC checkpoint."
            )
        skip = {
            tokenizer.convert_tokens_to_ids(t)
            for t in (tokenizer.bos_token, tokenizer.eos_token)
            if t is not None and t in labels
        }
        delimiter = getattr(tokenizer, "word_delimiter_token", None) or "|"
        return cls(labels, int(blank), delimiter, frozenset(skip) - {blank})


@dataclass
class Decoded:
    """Text with word and character segments (times in seconds from the utterance start)."""

    text: str
    words: list[Segment]
    chars: list[Segment]


def greedy_decode(
    log_probs: np.ndarray, vocab: CTCVocab, frame_seconds: float, offset: float = 0.0
) -> Decoded:
    """Best-path decoding: argmax per frame, merge repeats, drop blanks."""
    if log_probs.ndim != 2 or log_probs.shape[0] == 0:
        return Decoded("", [], [])
    ids = log_probs.argmax(axis=1)
    conf = np.exp(log_probs.max(axis=1).astype(np.float64))
    conf_sum = np.concatenate([[0.0], np.cumsum(conf)])
    change = np.flatnonzero(ids[1:] != ids[:-1]) + 1
    starts = np.concatenate([[0], change])
    ends = np.concatenate([change, [len(ids)]])
    run_ids = ids[starts]
    keep = (run_ids != vocab.blank_id) & ~np.isin(run_ids, list(vocab.skip_ids))

    def span(first: int, last: int) -> tuple[float, float, float]:
        mean = (conf_sum[last] - conf_sum[first]) / max(1, last - first)
        start = round(offset + first * frame_seconds, 3)
        return start, round(offset + last * frame_seconds, 3), float(mean)

    chars: list[Segment] = []
    words: list[Segment] = []
    current: list[tuple[str, int, int]] = []

    def close_word() -> None:
        if current:
            start, end, mean = span(current[0][1], current[-1][2])
            words.append(Segment("".join(t for t, _, _ in current), start, end, mean))
            current.clear()

    for token_id, first, last in zip(run_ids[keep], starts[keep], ends[keep], strict=True):
        label = vocab.labels[int(token_id)]
        if label == vocab.word_delimiter:
            close_word()
            continue
        start, end, mean = span(int(first), int(last))
        chars.append(Segment(label, start, end, mean))
        current.append((label, int(first), int(last)))
    close_word()
    return Decoded(" ".join(w.text for w in words), words, chars)


class BeamDecoder:
    """Beam search with pyctcdecode, with a KenLM model when one is given and kenlm is installed."""

    def __init__(
        self,
        vocab: CTCVocab,
        kenlm_path: Path | None = None,
        *,
        unigrams: Sequence[str] | None = None,
        alpha: float = 0.5,
        beta: float = 1.0,
        unk_score_offset: float = -10.0,
        score_boundary: bool = True,
        beam_width: int = 100,
    ) -> None:
        try:
            from pyctcdecode import build_ctcdecoder
        except ImportError as exc:
            raise SpeechlabError(
                "LM decoding needs pyctcdecode: pip install 'speechlab[lm]' (see README)."
            ) from exc
        self.vocab = vocab
        self.beam_width = beam_width
        labels = []
        for i, label in enumerate(vocab.labels):
            if i == vocab.blank_id:
                labels.append("")
            elif label == vocab.word_delimiter:
                labels.append(" ")
            elif i in vocab.skip_ids:
                labels.append(f"⁇{i}")  # never part of a word the LM knows
            else:
                labels.append(label)
        self.has_lm = kenlm_path is not None
        try:
            self._decoder = build_ctcdecoder(
                labels,
                kenlm_model_path=str(kenlm_path) if kenlm_path else None,
                unigrams=list(unigrams) if unigrams else None,
                alpha=alpha,
                beta=beta,
                unk_score_offset=unk_score_offset,
                lm_score_boundary=score_boundary,
            )
        except (OSError, RuntimeError, ValueError) as exc:
            raise ModelNotFoundError(
                f"Cannot read the language model {kenlm_path}: {str(exc).splitlines()[0]}. "
                "Pass a KenLM .arpa (at least bigrams) or a binary built with build_binary."
            ) from exc

    def decode(
        self,
        log_probs: np.ndarray,
        frame_seconds: float,
        offset: float = 0.0,
        hotwords: Sequence[str] | None = None,
        hotword_weight: float = 10.0,
    ) -> Decoded:
        """Best beam; word times from the beam's frame spans, confidences as in greedy."""
        if log_probs.ndim != 2 or log_probs.shape[0] == 0:
            return Decoded("", [], [])
        beams = self._decoder.decode_beams(
            np.ascontiguousarray(log_probs, dtype=np.float32),
            beam_width=self.beam_width,
            hotwords=list(hotwords) if hotwords else None,
            hotword_weight=hotword_weight,
        )
        text, _state, word_frames = beams[0][0], beams[0][1], beams[0][2]
        conf = np.exp(log_probs.max(axis=1).astype(np.float64))
        words = []
        for word, (first, last) in word_frames:
            last = max(last, first + 1)
            words.append(
                Segment(
                    word,
                    round(offset + first * frame_seconds, 3),
                    round(offset + last * frame_seconds, 3),
                    float(conf[first:last].mean()),
                )
            )
        return Decoded(" ".join(text.split()), words, [])


def load_beam_decoder(
    vocab: CTCVocab,
    lm: str | Path | None,
    model_dir: Path | None,
    *,
    alpha: float | None = None,
    beta: float | None = None,
    beam_width: int = 100,
) -> BeamDecoder | None:
    """A beam decoder for an explicit ``lm`` file/dir, or the model's ``language_model/``.

    Returns None when neither exists. A ``language_model/`` follows the layout that
    ``Wav2Vec2ProcessorWithLM`` saves: ``attrs.json``, ``unigrams.txt`` and a KenLM
    ``.arpa`` or ``.bin``.
    """
    lm_dir: Path | None = None
    kenlm_file: Path | None = None
    if lm is not None:
        path = Path(lm).expanduser()
        if not path.exists():
            raise ModelNotFoundError(f"Language model not found: {path}. Pass an .arpa/.bin file.")
        if path.is_dir():
            lm_dir = path
        else:
            kenlm_file = path
    elif model_dir is not None and (model_dir / "language_model").is_dir():
        lm_dir = model_dir / "language_model"
    if lm_dir is None and kenlm_file is None:
        return None
    attrs: dict[str, float] = {}
    unigrams: list[str] | None = None
    if lm_dir is not None:
        found = sorted(p for p in lm_dir.iterdir() if p.suffix in {".arpa", ".bin"})
        if not found:
            raise ModelNotFoundError(f"{lm_dir} holds no KenLM model (.arpa or .bin).")
        kenlm_file = found[0]
        if (lm_dir / "attrs.json").is_file():
            attrs = _lm_attrs(lm_dir / "attrs.json")
        if (lm_dir / "unigrams.txt").is_file():
            unigrams = _unigrams(lm_dir / "unigrams.txt")
    if not _kenlm_available():
        log.warning(
            "Found language model %s but the kenlm package is not installed: decoding greedily. "
            "pip install kenlm to use it.",
            kenlm_file,
        )
        return None
    return BeamDecoder(
        vocab,
        kenlm_file,
        unigrams=unigrams,
        alpha=alpha if alpha is not None else attrs.get("alpha", 0.5),
        beta=beta if beta is not None else attrs.get("beta", 1.0),
        unk_score_offset=attrs.get("unk_score_offset", -10.0),
        score_boundary=bool(attrs.get("score_boundary", True)),
        beam_width=beam_width,
    )


def _lm_attrs(path: Path) -> dict[str, float]:
    """``attrs.json`` of a ``language_model/`` folder: numbers (alpha, beta, ...), or a
    ModelFileError naming the file."""
    fix = "fix or delete it (alpha and beta are then 0.5 and 1.0, or pass alpha=/beta=)"
    attrs = read_json(path, fix=fix)
    wrong = {
        k: v
        for k, v in attrs.items()
        if k in _LM_ATTRS and (isinstance(v, bool) or not isinstance(v, int | float))
    }
    if wrong:
        raise ModelFileError(f"{path}: {wrong} should be numbers; {fix}.")
    return attrs


def _unigrams(path: Path) -> list[str]:
    try:
        return path.read_text(encoding="utf-8").split()
    except UnicodeDecodeError as exc:
        raise ModelFileError(
            f"{path} is not UTF-8 text (byte {exc.start}); re-save it as UTF-8 or delete it."
        ) from exc


def _kenlm_available() -> bool:
    try:
        import kenlm  # noqa: F401
    except ImportError:
        return False
    return True
