"""Word n-gram language models with interpolated modified Kneser-Ney smoothing, as ARPA text.

Chen & Goodman's estimator, as KenLM's ``lmplz`` builds it (no pruning): the highest order
uses raw counts, lower orders the number of distinct words seen before each n-gram
(continuation counts; n-grams that start with ``<s>`` keep raw counts), three discounts per
order from the counts of counts, and every order interpolated with the next lower one down
to a uniform distribution over the vocabulary (``<unk>`` included). Written as a back-off
ARPA file: a listed n-gram's probability is the interpolated one, a context's back-off
weight its interpolation weight, so KenLM and pyctcdecode read it as they read ``lmplz``'s.

Why not a PyPI package: ``kenlm`` queries models but does not build them, and the pure-Python
builder found (``arpabo`` 0.3.0) writes back-off weights of 1.0 for its Kneser-Ney models,
so their probabilities do not sum to one.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TextIO

from speechlab.errors import SpeechlabError

__all__ = ["BOS", "EOS", "UNK", "KneserNey", "LanguageModelError"]

BOS, EOS, UNK = "<s>", "</s>", "<unk>"
#: discounts used for an order whose counts of counts cannot give them (tiny corpora)
FALLBACK_DISCOUNTS = (0.5, 1.0, 1.5)
_NEVER = -99.0  # log10 probability ARPA files give <s>, which is never predicted

Gram = tuple[int, ...]


class LanguageModelError(SpeechlabError, ValueError):
    """A language model cannot be built from what was given (no words, a bad order)."""


@dataclass
class _Order:
    """One order's statistics: adjusted counts, discounts, and per-context sums."""

    counts: dict[Gram, int]
    discounts: tuple[float, float, float]
    fallback: bool = False


class KneserNey:
    """An interpolated modified Kneser-Ney model of ``order`` over tokenised sentences.

    ``sentences``: each a sequence of words (already normalised); ``discounts``: fixed
    (D1, D2, D3+) for every order instead of the counts-of-counts estimate (tests).
    """

    def __init__(
        self,
        sentences: Iterable[Sequence[str]],
        order: int = 3,
        *,
        discounts: tuple[float, float, float] | None = None,
    ) -> None:
        if not isinstance(order, int) or isinstance(order, bool) or not 1 <= order <= 6:
            raise LanguageModelError(f"order must be a whole number from 1 to 6, got {order!r}.")
        self.order = order
        self.words: list[str] = [BOS, EOS, UNK]
        self._ids: dict[str, int] = {w: i for i, w in enumerate(self.words)}
        raw = self._count(sentences)
        if len(self.words) == 3:
            raise LanguageModelError("The text holds no words: give at least one sentence.")
        self.orders = self._adjust(raw, discounts)
        self._probs: list[dict[Gram, float]] = []
        self._backoffs: list[dict[Gram, float]] = []
        self._estimate()

    # ------------------------------------------------------------------ counting

    def _count(self, sentences: Iterable[Sequence[str]]) -> Counter[Gram]:
        """Raw counts of every window of 1..order words of each ``<s> ... </s>`` sentence."""
        counts: Counter[Gram] = Counter()
        ids, n = self._ids, self.order
        for sentence in sentences:
            if not sentence:
                continue
            tokens = [0]
            for word in sentence:
                if word in (BOS, EOS, UNK):
                    raise LanguageModelError(
                        f"{word!r} is a reserved token; remove it from the text."
                    )
                if word not in ids:
                    ids[word] = len(self.words)
                    self.words.append(word)
                tokens.append(ids[word])
            tokens.append(1)
            t = tuple(tokens)
            for size in range(1, n + 1):
                for start in range(len(t) - size + 1):
                    counts[t[start : start + size]] += 1
        return counts

    def _adjust(self, raw: Counter[Gram], fixed: tuple[float, float, float] | None) -> list[_Order]:
        """Per order (index 0: unigrams): the counts Kneser-Ney smooths with, and discounts."""
        by_order: list[dict[Gram, int]] = [{} for _ in range(self.order)]
        for gram, count in raw.items():
            by_order[len(gram) - 1][gram] = count
        adjusted = [dict(by_order[-1])]
        for n in range(self.order - 1, 0, -1):  # orders below the highest, from the top
            left: Counter[Gram] = Counter(gram[1:] for gram in by_order[n])
            adjusted.insert(
                0,
                {g: (c if g[0] == 0 else left[g]) for g, c in by_order[n - 1].items()},
            )
        adjusted[0].pop((0,), None)  # <s> is never predicted
        orders = []
        for counts in adjusted:
            if fixed is not None:
                orders.append(_Order(counts, tuple(fixed)))  # type: ignore[arg-type]
            else:
                found = _discounts(counts)
                orders.append(_Order(counts, found or FALLBACK_DISCOUNTS, found is None))
        return orders

    # ------------------------------------------------------------------ estimating

    def _estimate(self) -> None:
        vocabulary = len(self.words) - 1  # every word but <s>, <unk> included
        for n, level in enumerate(self.orders):
            totals: dict[Gram, float] = defaultdict(float)
            mass: dict[Gram, float] = defaultdict(float)
            d = level.discounts
            for gram, count in level.counts.items():
                totals[gram[:-1]] += count
                mass[gram[:-1]] += d[min(count, 3) - 1]
            gammas = {h: mass[h] / totals[h] for h in totals}
            probs: dict[Gram, float] = {}
            lower = self._probs[n - 1] if n else None
            for gram, count in level.counts.items():
                h = gram[:-1]
                below = self._lower(gram[1:], lower) if n else 1.0 / vocabulary
                probs[gram] = (count - d[min(count, 3) - 1]) / totals[h] + gammas[h] * below
            if n == 0:
                probs[(2,)] = gammas[()] / vocabulary  # <unk>: the uniform share only
            self._probs.append(probs)
            self._backoffs.append(gammas)

    def _lower(self, gram: Gram, lower: dict[Gram, float] | None) -> float:
        """p(w | shorter context) for ``gram``, backing off through the lower orders."""
        if lower is not None and gram in lower:
            return lower[gram]
        return self.probability(gram)

    def probability(self, gram: Gram) -> float:
        """p(last word | the words before it) by back-off over the estimated orders."""
        weight = 1.0
        while gram:
            probs = self._probs[len(gram) - 1] if len(gram) <= len(self._probs) else {}
            if gram in probs:
                return weight * probs[gram]
            context = gram[:-1]
            if context:
                weight *= self._backoffs[len(context)].get(context, 1.0)
            gram = gram[1:]
        return weight * self._probs[0][(2,)]  # an unknown word

    def score(self, words: Sequence[str]) -> float:
        """log10 probability of the sentence ``words`` with ``<s>``/``</s>`` around it."""
        ids = [0] + [self._ids.get(w, 2) for w in words] + [1]
        total = 0.0
        for i in range(1, len(ids)):
            gram = tuple(ids[max(0, i - self.order + 1) : i + 1])
            total += math.log10(self.probability(gram))
        return total

    # ------------------------------------------------------------------ writing

    @property
    def fallback_orders(self) -> list[int]:
        """Orders (1-based) whose discounts are the fixed fallback (too few counts)."""
        return [n + 1 for n, level in enumerate(self.orders) if level.fallback]

    def ngram_counts(self) -> list[int]:
        """How many n-grams of each order the ARPA file lists."""
        return [len(p) + (1 if n == 0 else 0) for n, p in enumerate(self._probs)]

    def write_arpa(self, out: TextIO) -> None:
        """The model in ARPA text format (log10 probabilities and back-off weights)."""
        out.write("\n\\data\\\n")
        for n, count in enumerate(self.ngram_counts(), start=1):
            out.write(f"ngram {n}={count}\n")
        for n, probs in enumerate(self._probs):
            out.write(f"\n\\{n + 1}-grams:\n")
            backoffs = self._backoffs[n + 1] if n + 1 < self.order else {}
            rows = sorted(probs.items())
            if n == 0:
                rows.insert(0, ((0,), None))  # type: ignore[arg-type]
            for gram, prob in rows:
                words = " ".join(self.words[i] for i in gram)
                logp = _NEVER if prob is None else math.log10(prob)
                line = f"{logp:.7f}\t{words}"
                if gram in backoffs:
                    line += f"\t{math.log10(backoffs[gram]):.7f}"
                out.write(line + "\n")
        out.write("\n\\end\\\n")


def _discounts(counts: dict[Gram, int]) -> tuple[float, float, float] | None:
    """Chen & Goodman's D1, D2, D3+ from the counts of counts; None where they are not all
    in (0, k) (too few n-grams seen once to four times)."""
    t = Counter(c for c in counts.values() if c <= 4)
    t1, t2, t3, t4 = (t[k] for k in (1, 2, 3, 4))
    if not (t1 and t2 and t3 and t4):
        return None
    y = t1 / (t1 + 2 * t2)
    found = (1 - 2 * y * t2 / t1, 2 - 3 * y * t3 / t2, 3 - 4 * y * t4 / t3)
    if not all(0 < d < k for k, d in enumerate(found, start=1)):
        return None
    return found
