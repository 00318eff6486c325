"""The informative core of a query: what a question is about, found with the catalogue's statistics.

Followers wrap what they look for in words that ask (「有没有讲…的」, 「想了解一下…」, 「…是怎么回事」,
in endless variants). No list of such phrasings is kept here. Instead:

1. jieba cuts the query into words.
2. Each word weighs its IDF in the catalogue, `log((N + 1) / (df + 1))`: a word that many documents
   hold weighs little, and a word that no document holds weighs nothing (whatever it means, it
   cannot point to anything the catalogue has).
3. The candidates are the documents that hold the most of the query's word weight (an OR query of
   words, IDF-weighted). A document's core is the query's words that it holds. The sought piece is, by nature, what some
   document holds; the asking words around it are held, if at all, by other documents, and rarely
   together with the piece -- so they fall out, whatever their wording.

The caller scores each candidate on its core and scales that by the share of the query's weight
the core carries (`share`): a document that holds only a word or two of little weight ranks low,
the one that holds the informative part of the question ranks high.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import jieba
import numpy as np

from search.postings import Postings, top

jieba.setLogLevel(logging.WARNING)  # it announces loading its dictionary at INFO level
_segmenter = jieba.Tokenizer()
_LONGEST_GRAM = 3  # the index's longest n-gram (search.index.NGRAM_RANGE)


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
    """The word's IDF in the catalogue, 0 for a word no document holds."""
    df = document_frequency(word, postings)
    return math.log((postings.documents + 1) / (df + 1)) if df else 0.0


def specificity(core: str, postings: Postings) -> float:
    """The core's IDF over the largest IDF the catalogue allows, in [0, 1]: on any catalogue size,
    about 1 for a core that one document holds and 0 for one that all hold."""
    df = document_frequency(core, postings)
    return math.log((postings.documents + 1) / (df + 1)) / math.log(postings.documents + 1)


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
    held_weight = np.zeros(postings.documents, dtype=np.float32)
    for token, token_weight in zip(tokens, weights):
        if token_weight:
            held_weight[postings.holders(rarest_gram(token, postings))] += token_weight
    cores: dict[int, Core] = {}
    by_held: dict[tuple[bool, ...], Core | None] = {}
    for position in set(top(held_weight, pool).tolist()).union(also):
        text = text_of(position)
        held = tuple(token in text for token in tokens)
        if held not in by_held:
            by_held[held] = _core(tokens, weights, held, postings)
        if (core := by_held[held]) is not None:
            cores[position] = core
    return cores


def _core(tokens: list[str], weights: list[float], held: tuple[bool, ...], postings: Postings) -> Core | None:
    held_words = tuple(token for token, h in zip(tokens, held) if h)
    text = "".join(held_words)
    if len(text) < 2:
        return None
    share = sum(w for w, h in zip(weights, held) if h) / sum(weights)
    return Core(text, share, specificity(text, postings), held_words)
