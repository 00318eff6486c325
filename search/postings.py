"""TF-IDF n-gram postings: the candidate step of every index here (titles, pinyin, bodies).

The query's n-grams (sklearn's own analyzer) are weighted with the collection's IDF and multiplied
with an n-gram -> documents posting matrix. The sparse product reads only the postings of the
query's n-grams; the best documents are then picked with `np.argpartition` (no full sort).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Sequence

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer


class Postings:
    """Immutable once built (its arrays are read-only): safe to share between threads."""

    __slots__ = ("_analyzer", "_vocabulary", "_idf", "_unknown_idf", "_matrix", "_documents")

    def __init__(self, analyzer: Callable[[str], list[str]], vocabulary: dict[str, int], idf: np.ndarray,
                 matrix: sparse.csr_array, documents: int) -> None:
        self._analyzer = analyzer
        self._vocabulary = vocabulary
        self._idf = idf
        # sklearn's smoothed IDF of an n-gram seen in no document: the weight of a query n-gram that
        # the collection lacks, so that it still counts in the query's norm (see `query_vector`).
        self._unknown_idf = math.log(documents + 1) + 1.0
        self._matrix = matrix
        self._documents = documents
        for array in (idf, matrix.data, matrix.indices, matrix.indptr):
            array.flags.writeable = False

    @classmethod
    def build(cls, texts: Sequence[str], **vectorizer_options) -> Postings:
        vectorizer = TfidfVectorizer(lowercase=False, dtype=np.float32, **vectorizer_options)
        analyzer = vectorizer.build_analyzer()
        if not any(analyzer(text) for text in texts):
            # Nothing to index (no texts, or only punctuation): every query finds nothing.
            return cls(analyzer, {}, np.zeros(0), sparse.csr_array((0, len(texts))), len(texts))
        matrix = sparse.csr_array(vectorizer.fit_transform(texts).T)
        # Canonical before it is frozen, so no search triggers scipy's lazy in-place index sorting.
        matrix.sort_indices()
        return cls(analyzer, vectorizer.vocabulary_, vectorizer.idf_, matrix, len(texts))

    def cosine(self, text: str) -> np.ndarray | None:
        """The cosine of `text` with every document, or None when it shares no n-gram with any."""
        cols, weights = self.query_vector(text)
        return weights @ self._matrix[cols] if cols.size else None

    def query_vector(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        """Return the columns of the text's n-grams and their L2-normalised TF-IDF weights.

        Unlike `TfidfVectorizer.transform`, n-grams the collection lacks stay in the norm (with the
        largest IDF), so a query that is mostly unknown text cannot reach a high cosine through
        the one n-gram it shares with some document.
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

    def gram_weights(self, text: str) -> dict[str, float]:
        """Each n-gram of `text` -> its weight in the L2-normalised query vector of `text` (n-grams
        the collection lacks included, as in `query_vector`)."""
        counts = Counter(self._analyzer(text))
        raw = {gram: count * (self._idf[self._vocabulary[gram]] if gram in self._vocabulary else self._unknown_idf)
               for gram, count in counts.items()}
        norm = math.sqrt(sum(weight * weight for weight in raw.values())) or 1.0
        return {gram: weight / norm for gram, weight in raw.items()}

    def grams(self, text: str) -> set[str]:
        return set(self._analyzer(text))

    def document_frequency(self, gram: str) -> int:
        """How many documents hold the n-gram `gram` (exactly as the analyzer cuts it)."""
        col = self._vocabulary.get(gram)
        return 0 if col is None else int(self._matrix.indptr[col + 1] - self._matrix.indptr[col])

    def holders(self, gram: str) -> np.ndarray:
        """Positions of the documents that hold the n-gram `gram`."""
        col = self._vocabulary.get(gram)
        if col is None:
            return np.zeros(0, dtype=self._matrix.indices.dtype)
        return self._matrix.indices[self._matrix.indptr[col] : self._matrix.indptr[col + 1]]

    @property
    def documents(self) -> int:
        return self._documents


def top(cosine: np.ndarray, limit: int) -> np.ndarray:
    """Indices of the (at most) `limit` highest positive cosines, unordered."""
    positive = np.flatnonzero(cosine > 0)
    if len(positive) <= limit:
        return positive
    best = np.argpartition(cosine[positive], -limit)[-limit:]
    return positive[best]
