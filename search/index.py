"""In-memory search over article titles: TF-IDF candidate retrieval, rapidfuzz rerank.

How a query is answered (see BENCHMARKS.md, "Search", for the measurements behind the numbers):

1. The query is normalised with the same rule as the catalogue (`search.normalize`); the words the
   user separated (by spaces or punctuation) are kept apart as terms for step 3.
2. Retrieval: the query's character n-grams (sklearn's own analyzer) are weighted with the catalogue's
   IDF and multiplied with an n-gram -> documents posting matrix. The sparse product reads only the
   postings of the query's n-grams; the rest is one pass over a dense score vector, where the best
   `CANDIDATES` documents are picked with `np.argpartition` (no full sort).
3. Rerank: each candidate gets `COSINE_WEIGHT * cosine + (1 - COSINE_WEIGHT) * fuzzy`, where `fuzzy`
   is rapidfuzz's `partial_ratio` of the query (or of each of its terms) against the normalised title
   (or, slightly discounted, against summary + tags). The cosine forgives word order; `partial_ratio`
   scores a short query that is a near-exact fragment of a long title high, where the cosine of a
   short query against a long title stays low. Neither alone separates typo'd queries from nonsense
   as well as the blend does.
4. Candidates scoring below `MIN_SCORE` are dropped, so nonsense gets "no result", not random titles.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from rapidfuzz import fuzz, process
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer

from search.normalize import normalize, terms

# 'char_wb' keeps n-grams inside space-separated fields, so the title, summary and tags (joined
# with spaces after normalisation) never produce n-grams that straddle two fields.
ANALYZER = "char_wb"
# (2, 3) answers ~40% faster at 200k titles with equal MRR, but unigrams keep one-character queries working.
NGRAM_RANGE = (1, 3)
# The title is indexed this many times, so its n-grams outweigh the summary's and the tags'.
TITLE_REPEAT = 2
# Size of the candidate pool that is reranked; paging cannot go past it.
CANDIDATES = 100
# Blend weight and threshold were chosen together on the benchmark's typo'd queries and random
# strings: at 0.4 / 0.45 no found target was cut and ~97% of random strings got no result.
COSINE_WEIGHT = 0.4
MIN_SCORE = 0.45
# A match in the summary or tags counts a little less than the same match in the title.
BODY_DISCOUNT = 0.9


@dataclass(frozen=True)
class Doc:
    """One catalogue entry as the index sees it."""

    id: int
    title: str
    summary: str = ""
    tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class Hit:
    """One search result: the document id and its relevance in [0, 1]."""

    id: int
    score: float


class SearchIndex:
    """An immutable search index; build it with `SearchIndex.build`.

    Nothing is mutated after construction (the arrays are made read-only, the title tuples and the
    vocabulary are only read), so any number of threads may call `search` at once, and a rebuilt
    index can replace an old one by a plain assignment.
    """

    __slots__ = ("_ids", "_titles", "_bodies", "_analyzer", "_vocabulary", "_idf", "_unknown_idf", "_postings")

    def __init__(
        self,
        ids: np.ndarray,
        titles: Sequence[str],
        bodies: Sequence[str],
        analyzer: Callable[[str], list[str]],
        vocabulary: dict[str, int],
        idf: np.ndarray,
        postings: sparse.csr_array,
    ) -> None:
        self._ids = ids
        self._titles = titles
        self._bodies = bodies
        self._analyzer = analyzer
        self._vocabulary = vocabulary
        self._idf = idf
        # sklearn's smoothed IDF of an n-gram seen in no document: the weight of a query n-gram that
        # the catalogue lacks, so that it still counts in the query's norm (see `_query_vector`).
        self._unknown_idf = math.log(len(ids) + 1) + 1.0
        self._postings = postings
        for array in (ids, idf, postings.data, postings.indices, postings.indptr):
            array.flags.writeable = False

    @classmethod
    def build(cls, docs: Iterable[Doc]) -> SearchIndex:
        """Index `docs`; ids must be unique."""
        docs = list(docs)
        ids = np.fromiter((doc.id for doc in docs), dtype=np.int64, count=len(docs))
        if len(np.unique(ids)) != len(ids):
            raise ValueError("document ids must be unique")
        titles = tuple(normalize(doc.title) for doc in docs)
        bodies = tuple(_body(doc) for doc in docs)
        vectorizer = TfidfVectorizer(
            analyzer=ANALYZER, ngram_range=NGRAM_RANGE, lowercase=False, dtype=np.float32
        )
        texts = [" ".join([title] * TITLE_REPEAT + [body]) for title, body in zip(titles, bodies)]
        analyzer = vectorizer.build_analyzer()
        if not any(analyzer(text) for text in texts):
            # Nothing to index (no docs, or only punctuation): every query finds nothing.
            return cls(ids, titles, bodies, analyzer, {}, np.zeros(0), sparse.csr_array((0, len(docs))))
        postings = sparse.csr_array(vectorizer.fit_transform(texts).T)
        # Canonical before it is frozen, so no search triggers scipy's lazy in-place index sorting.
        postings.sort_indices()
        return cls(ids, titles, bodies, analyzer, vectorizer.vocabulary_, vectorizer.idf_, postings)

    def __len__(self) -> int:
        return len(self._ids)

    def search(self, query: str, limit: int = 5, offset: int = 0) -> list[Hit]:
        """Return hits `offset`..`offset + limit - 1` of the ranking for `query`, best first.

        The ranking does not depend on `limit` or `offset`, so consecutive pages are disjoint and
        in order. Only the best `CANDIDATES` documents are ranked: deeper pages are empty.
        """
        if limit <= 0 or offset < 0:
            return []
        query_terms = terms(query)
        if not query_terms:
            return []
        return self._rank(query_terms)[offset : offset + limit]

    def _rank(self, query_terms: list[str]) -> list[Hit]:
        """Every candidate above `MIN_SCORE`, best first."""
        text = "".join(query_terms)
        cols, weights = self._query_vector(text)
        if not cols.size:
            return []
        cosine = weights @ self._postings[cols]
        candidates = _top_candidates(cosine)
        fuzzy = np.maximum(
            _fuzzy(query_terms, [self._titles[i] for i in candidates]),
            BODY_DISCOUNT * _fuzzy(query_terms, [self._bodies[i] for i in candidates]),
        )
        # The float32 postings can put an exact match a hair above 1.
        scores = np.minimum(COSINE_WEIGHT * cosine[candidates] + (1.0 - COSINE_WEIGHT) * fuzzy, 1.0)
        keep = scores >= MIN_SCORE
        candidates, scores = candidates[keep], scores[keep]
        # Best score first; equal scores keep catalogue order so the ranking is deterministic.
        order = np.lexsort((candidates, -scores))
        return [Hit(id=int(self._ids[candidates[k]]), score=float(scores[k])) for k in order]

    def _query_vector(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        """Return the catalogue columns of the query's n-grams and their L2-normalised TF-IDF weights.

        Unlike `TfidfVectorizer.transform`, n-grams the catalogue lacks stay in the norm (with the
        largest IDF), so a query that is mostly unknown text cannot reach a high cosine through
        the one n-gram it shares with some title.
        """
        counts = Counter(self._analyzer(text))
        known = [(self._vocabulary[gram], count) for gram, count in counts.items() if gram in self._vocabulary]
        unknown_mass = sum(count for gram, count in counts.items() if gram not in self._vocabulary)
        if not known:
            return np.zeros(0, dtype=np.intp), np.zeros(0)
        cols = np.array([col for col, _ in known], dtype=np.intp)
        weights = np.array([count for _, count in known], dtype=np.float64) * self._idf[cols]
        norm = math.sqrt(float(weights @ weights) + (unknown_mass * self._unknown_idf) ** 2)
        return cols, weights / norm


def _body(doc: Doc) -> str:
    """The summary and tags in matching form, one space-separated field each."""
    fields = (normalize(field) for field in (doc.summary, *doc.tags))
    return " ".join(field for field in fields if field)


def _fuzzy(query_terms: list[str], texts: list[str]) -> np.ndarray:
    """How well the query matches each text, in [0, 1]: rapidfuzz's partial_ratio of the whole
    query, or, if the user separated words, the length-weighted mean of each term's partial_ratio
    when that is higher -- so "入门 机器学习" matches "机器学习入门" as well as the reverse order.
    """
    whole = process.cdist(["".join(query_terms)], texts, scorer=fuzz.partial_ratio, dtype=np.float32)[0]
    if len(query_terms) > 1:
        per_term = process.cdist(query_terms, texts, scorer=fuzz.partial_ratio, dtype=np.float32)
        lengths = np.array([len(term) for term in query_terms], dtype=np.float32)
        whole = np.maximum(whole, lengths @ per_term / lengths.sum())
    return whole / 100.0


def _top_candidates(cosine: np.ndarray) -> np.ndarray:
    """Indices of the (at most) `CANDIDATES` highest positive cosines, unordered."""
    positive = np.flatnonzero(cosine > 0)
    if len(positive) <= CANDIDATES:
        return positive
    top = np.argpartition(cosine[positive], -CANDIDATES)[-CANDIDATES:]
    return positive[top]
