"""The content model: TF-IDF over each article's title, summary, tags and body.

Character n-grams by default (Chinese needs no segmentation for them); `jieba` word segmentation is the
measured alternative (BENCHMARKS.md, "Recommender"). Text is first put in the search's matching form
(search.normalize), its runs of letters kept apart, so no n-gram straddles punctuation.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import sparse
from sklearn.decomposition import TruncatedSVD
from sklearn.feature_extraction.text import TfidfVectorizer

from recommender.neighbours import top_k
from recommender.types import Item
from search.normalize import terms

ANALYZERS = ("char", "jieba")
NGRAM_RANGE = (1, 2)
TITLE_REPEAT = 2  # the title outweighs the body
BODY_CHARS = 3000  # enough of a long body to know its subject
EMBEDDING_DIMS = 64  # dense item vectors for diversification only


def item_text(item: Item) -> str:
    fields = [item.title] * TITLE_REPEAT + [item.summary, *item.tags, item.body[:BODY_CHARS]]
    return " ".join(" ".join(terms(field)) for field in fields if field)


def _jieba_words(text: str) -> list[str]:
    import jieba

    return [word for word in jieba.lcut(text) if word.strip()]


def vectorizer(analyzer: str = "char") -> TfidfVectorizer:
    if analyzer == "char":
        return TfidfVectorizer(analyzer="char_wb", ngram_range=NGRAM_RANGE, lowercase=False,
                               sublinear_tf=True, dtype=np.float32)
    if analyzer == "jieba":
        return TfidfVectorizer(analyzer=_jieba_words, lowercase=False, sublinear_tf=True, dtype=np.float32)
    raise ValueError(f"unknown analyzer {analyzer!r}; choose one of {ANALYZERS}")


def fit_vectors(items: Sequence[Item], analyzer: str = "char") -> tuple[sparse.csr_matrix, list[str]]:
    """The L2-normalised item x feature matrix and the feature names."""
    texts = [item_text(item) for item in items]
    if not any(texts):
        return sparse.csr_matrix((len(items), 0), dtype=np.float32), []
    model = vectorizer(analyzer)
    matrix = sparse.csr_matrix(model.fit_transform(texts), dtype=np.float32)
    return matrix, [str(name) for name in model.get_feature_names_out()]


def content_neighbours(vectors: sparse.csr_matrix, k: int, progress: bool = False) -> sparse.csr_matrix:
    """Each item's k most similar items by cosine of their TF-IDF vectors."""
    transposed = vectors.T.tocsc()
    return top_k(lambda a, b: (vectors[a:b] @ transposed).toarray(), vectors.shape[0], k, progress, "content")


def embedding(vectors: sparse.csr_matrix) -> np.ndarray:
    """Unit dense vectors whose dot products approximate the TF-IDF cosines (for MMR)."""
    n, features = vectors.shape
    if n == 0 or features == 0:
        return np.zeros((n, 1), dtype=np.float32)
    if min(n, features) <= EMBEDDING_DIMS + 1:
        gram = (vectors @ vectors.T).toarray().astype(np.float64)
        values, vecs = np.linalg.eigh(gram)
        dense = vecs * np.sqrt(np.clip(values, 0.0, None))
    else:
        dense = TruncatedSVD(EMBEDDING_DIMS, random_state=0).fit_transform(vectors)
    norms = np.linalg.norm(dense, axis=1, keepdims=True)
    return (dense / np.where(norms > 0, norms, 1.0)).astype(np.float32)
