"""The informative core of a query: what a question is about, found with the catalogue's statistics.

Followers wrap what they look for in words that ask (「有没有讲…的」, 「想了解一下…」, 「…是怎么回事」,
in endless variants). No list of such phrasings is kept here. Instead:

1. jieba cuts the query into words.
2. Each word weighs its IDF in the catalogue, `log((N + 1) / (df + 1))`, times its rarity in
   everyday Chinese (jieba's dictionary frequencies, `everyday_rarity`) squared: a word many
   documents hold weighs little; a word no document holds weighs nothing (it cannot point to
   anything the catalogue has); a word that is everywhere in the language (「吗」, 「关于」, 「一下」)
   weighs little even where the catalogue seldom uses it.
3. The candidates are the documents that hold the most of the query's word weight, taken word by
   word (an IDF-weighted OR query of words). A document's core is the query's words it holds. The
   sought piece is, by nature, what some document holds; the asking words around it are held, if
   at all, by other documents, and rarely together with the piece -- so they fall out, whatever
   their wording.

The caller (`search.index`) scores each candidate as if its core had been the query, times the
core's `specificity` (how few documents hold its words together) and its `share` of the query's
word weight: a document holding only a common word or an asking word ranks low, the one holding
the informative part of the question ranks high.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import partial, reduce

import jieba
import numpy as np

from search.postings import Postings, top

jieba.setLogLevel(logging.WARNING)  # it announces loading its dictionary at INFO level
_segmenter = jieba.Tokenizer()
_LONGEST_GRAM = 3  # the index's longest n-gram (search.index.NGRAM_RANGE)
# How strongly everyday frequency takes weight away (chosen on question templates of a scratch
# set, neither the benchmark's nor the tests'): 1 halves an asking word's weight, 2 quarters it.
EVERYDAY_POWER = 2.0


@dataclass(frozen=True)
class Core:
    text: str
    share: float  # the core's share of the query's total word weight, in (0, 1]
    specificity: float  # how few documents hold the core's words: 1 = one, 0 = all (see `specificity`)
    words: tuple[str, ...] = ()  # the query's words the document holds


def prepare() -> None:
    """Load jieba's dictionary now (about a second) rather than in the first query that needs it."""
    _segmenter.initialize()


def words(text: str) -> list[str]:
    return _segmenter.lcut(text)


def rarest_gram(word: str, postings: Postings) -> str:
    """The word itself up to the longest n-gram; beyond, its n-gram that the fewest documents hold."""
    size = min(len(word), _LONGEST_GRAM)
    grams = [word[i : i + size] for i in range(len(word) - size + 1)]
    return min(grams, key=postings.document_frequency)


def document_frequency(word: str, postings: Postings) -> int:
    """Exact up to the longest n-gram; beyond, an upper bound (see `rarest_gram`)."""
    return postings.document_frequency(rarest_gram(word, postings))


def weight(word: str, postings: Postings) -> float:
    """The word's IDF in the catalogue (0 for a word no document holds) times how rare it is in
    everyday Chinese (`everyday_rarity`) to the `EVERYDAY_POWER`."""
    df = document_frequency(word, postings)
    return math.log((postings.documents + 1) / (df + 1)) * everyday_rarity(word) ** EVERYDAY_POWER if df else 0.0


def everyday_rarity(word: str) -> float:
    """-log of the word's frequency in jieba's dictionary (counted over a large general corpus),
    over the largest such value, in (0, 1]; 1 for a word the dictionary lacks (names, new words).

    The catalogue alone cannot tell asking words from content: a catalogue of news titles seldom
    asks 「吗」, so there 「吗」 is rare and would weigh as much as a name. In the language at large
    asking words are among the most common, so this factor takes their weight away.
    """
    total = _segmenter.total
    return math.log(total / (_segmenter.FREQ.get(word, 0) + 1)) / math.log(total)


def everyday_surprisal(text: str) -> float:
    """-log of the probability of `text` in everyday Chinese: that of its most probable cut into
    words under jieba's unigram model (the dictionary's frequencies; an unknown character counts as
    seen once), so a common phrase costs little and a chance run of characters much."""
    return sum(cost for _, cost in everyday_cut(text))


def everyday_cut(text: str) -> list[tuple[str, float]]:
    """The words of `text`'s most probable cut, each with its everyday surprisal (see `everyday_surprisal`)."""
    _segmenter.check_initialized()
    route: dict[int, tuple[float, int]] = {}
    _segmenter.calc(text, _segmenter.get_DAG(text), route)
    cut, start = [], 0
    while start < len(text):
        end = route[start][1] + 1
        cut.append((text[start:end], route[end][0] - route[start][0]))
        start = end
    return cut


def specificity(holders: list[np.ndarray], documents: int) -> float:
    """How few documents hold all the given words (each word's holders given), as their joint IDF
    over the largest IDF the catalogue allows, in [0, 1]: on any catalogue size, 1 when one document
    holds them and 0 when all do."""
    together = reduce(partial(np.intersect1d, assume_unique=True), sorted(holders, key=len))
    if documents < 2:
        return 1.0
    return math.log(documents / max(len(together), 1)) / math.log(documents)


def held_cores(query: str, postings: Postings, text_of: Callable[[int], str], pool: int,
               also: Iterable[int] = ()) -> dict[int, Core]:
    """The `pool` documents that hold the most of the query's word weight, and those in `also`, each
    with the core of `query` it holds (the query's words it contains, in query order; all of them
    for a document that holds every word, in whatever order). `text_of(position)` is a document's
    text in matching form."""
    tokens = words(query)
    if len(tokens) < 2:
        return {}
    weights = [weight(token, postings) for token in tokens]
    if not any(weights):
        return {}
    holders = {token: postings.holders(rarest_gram(token, postings)) for token, w in zip(tokens, weights) if w}
    held_weight = np.zeros(postings.documents, dtype=np.float32)
    for token, token_weight in zip(tokens, weights):
        if token in holders:
            held_weight[holders[token]] += token_weight
    # Each word brings the documents holding it that hold the most weight besides, so that asking
    # words held together by many documents cannot crowd out the one word that matters.
    per_word = max(1, pool // len(holders))
    positions = set(also)
    for found in holders.values():
        positions.update(found[top(held_weight[found], per_word)].tolist())
    cores: dict[int, Core] = {}
    by_held: dict[tuple[bool, ...], Core | None] = {}
    for position in positions:
        text = text_of(position)
        held = tuple(token in text for token in tokens)
        if held not in by_held:
            by_held[held] = _core(tokens, weights, held, holders, postings.documents)
        if (core := by_held[held]) is not None:
            cores[position] = core
    return cores


def _core(tokens: list[str], weights: list[float], held: tuple[bool, ...], holders: dict[str, np.ndarray],
          documents: int) -> Core | None:
    held_words = tuple(token for token, h in zip(tokens, held) if h)
    text = "".join(held_words)
    counted = [holders[word] for word in held_words if word in holders]
    if len(text) < 2 or not counted:
        return None
    share = sum(w for w, h in zip(weights, held) if h) / sum(weights)
    return Core(text, share, specificity(counted, documents), held_words)
