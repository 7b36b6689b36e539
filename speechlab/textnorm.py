"""Every text normaliser speechlab applies before comparing texts (WER/CER, training targets).

``model-card`` reproduces the normaliser of the evaluation script on the model card of
jonatasgrosman/wav2vec2-large-xlsr-53-polish (and his other XLSR-53 cards), so published
Common Voice numbers can be compared: every character of ``CHARS_TO_IGNORE`` is *deleted*
(the card's ``re.sub(f"[{re.escape(''.join(CHARS_TO_IGNORE))}]", "", text)``, a character
class, replaced by nothing), so ``"tak,nie"`` becomes ``"taknie"`` while ``"tak, nie"``
becomes ``"tak nie"``. The hyphen ``-`` and the ASCII apostrophe ``'`` are not in the list
and are kept; the en/em dashes and the minus sign are removed. The card upper-cases, we
lower-case (the same for WER/CER); we also collapse whitespace and apply the normaliser to
hypotheses as well as references (the card's CTC outputs had no punctuation to remove).
No Unicode normalisation is done, as on the card.

``whisper`` is the multilingual ``BasicTextNormalizer`` of OpenAI Whisper (from
transformers when installed, else the same steps here): lower-case, drop ``[...]``/``<...>``
and ``(...)`` spans, NFKC, every mark/symbol/punctuation character (Unicode categories
M, S, P) becomes a space, whitespace collapsed. Diacritics are kept.

``none`` only strips the ends.

``plain`` is the quick form used by the self-check, tests and benchmarks: lower-case words,
punctuation turned into spaces.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Callable

from speechlab.errors import SpeechlabError

__all__ = [
    "CHARS_TO_IGNORE",
    "NORMALIZERS",
    "Normalizer",
    "NormalizerError",
    "get_normalizer",
    "model_card",
    "normalizer_name",
    "plain",
    "unchanged",
    "whisper",
]

Normalizer = Callable[[str], str]


class NormalizerError(SpeechlabError, ValueError):
    """An unknown normaliser name."""


#: Verbatim from the model card's eval script (``'""'`` is two quotes; in a class, one).
CHARS_TO_IGNORE = [
    ",", "?", "¿", ".", "!", "¡", ";", "；", ":", '""', "%", '"', "�", "ʿ", "·",
    "჻", "~", "՞", "؟", "،", "।", "॥", "«", "»", "„", "“", "”", "「", "」", "‘",
    "’", "《", "》", "(", ")", "[", "]", "{", "}", "=", "`", "_", "+", "<", ">",
    "…", "–", "°", "´", "ʾ", "‹", "›", "©", "®", "—", "→", "。", "、", "﹂", "﹁",
    "‧", "～", "﹏", "，", "｛", "｝", "（", "）", "［", "］", "【", "】", "‥", "〽", "『",
    "』", "〝", "〟", "⟨", "⟩", "〜", "：", "！", "？", "♪", "؛", "/", "\\", "º", "−",
    "^", "ʻ", "ˆ",
]  # fmt: skip
_IGNORED = re.compile(f"[{re.escape(''.join(CHARS_TO_IGNORE))}]")


def model_card(text: str) -> str:
    """The model card's normaliser: lower-case, delete CHARS_TO_IGNORE, collapse whitespace."""
    return " ".join(_IGNORED.sub("", text.lower()).split())


def whisper(text: str) -> str:
    """Whisper's multilingual BasicTextNormalizer (diacritics kept), ends stripped."""
    return " ".join(_basic_normalizer()(text).split())


def plain(text: str) -> str:
    """Lower-case words: punctuation becomes space (apostrophes kept), whitespace collapsed.

    Polish letters are kept (``str.isalnum`` is Unicode-aware).
    """
    kept = "".join(c if c.isalnum() or c.isspace() or c == "'" else " " for c in text.lower())
    return " ".join(kept.split())


def unchanged(text: str) -> str:
    """The text as it is, ends stripped."""
    return text.strip()


#: Normalisers by name (what ``normalizer=`` and ``--normalizer`` take).
NORMALIZERS: dict[str, Normalizer] = {
    "model-card": model_card,
    "whisper": whisper,
    "none": unchanged,
}


def get_normalizer(name: str | Normalizer) -> Normalizer:
    """A normaliser by name (``NORMALIZERS``); a callable is returned as it is."""
    if callable(name):
        return name
    if name not in NORMALIZERS:
        raise NormalizerError(
            f"Unknown normaliser {name!r}; choose one of {', '.join(NORMALIZERS)} "
            "or pass a function str -> str."
        )
    return NORMALIZERS[name]


def normalizer_name(normalizer: str | Normalizer) -> str:
    """The registry name of a normaliser, or the function's name for a custom one."""
    if isinstance(normalizer, str):
        return normalizer
    for name, function in NORMALIZERS.items():
        if function is normalizer:
            return name
    return getattr(normalizer, "__name__", type(normalizer).__name__)


@functools.cache
def _basic_normalizer() -> Normalizer:
    try:
        from transformers.models.whisper.english_normalizer import BasicTextNormalizer
    except ImportError:
        return _basic_text_normalizer
    return BasicTextNormalizer()


def _basic_text_normalizer(text: str) -> str:
    """Whisper's BasicTextNormalizer without transformers (same steps, same order)."""
    text = text.lower()
    text = re.sub(r"[<\[][^>\]]*[>\]]", "", text)
    text = re.sub(r"\(([^)]+?)\)", "", text)
    text = unicodedata.normalize("NFKC", text)
    text = "".join(" " if unicodedata.category(c)[0] in "MSP" else c for c in text)
    return re.sub(r"\s+", " ", text.lower())
