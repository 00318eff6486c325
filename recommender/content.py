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
TOPIC_DIMS = 256  # LSA dimensions of the topic similarity
LEXICAL = 0.7  # share of the TF-IDF cosine in the content similarity (0.5: 0.865, 0.7: 0.891, 1.0: 0.871)
SKETCH_DIMS = 128  # dense item vectors for diversification only
FLOOR_SHARE = 0.25  # reason floor: this share of the way from an item's median similarity to its best
FLOOR_SAMPLE = 2000  # columns a floor is estimated from


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


def content_neighbours(vectors: sparse.csr_matrix, topics: np.ndarray, k: int,
                       progress: bool = False) -> tuple[sparse.csr_matrix, np.ndarray]:
    """Each item's k most similar items: LEXICAL x the TF-IDF cosine + the rest x the cosine of their topics;
    and each item's reason floor (`reason_floors`).

    The topic part (LSA) lets two titles about one subject meet without a shared n-gram; on the class
    protocol it lifted precision@10 from 0.871 to 0.891 (BENCHMARKS.md, "Recommender").
    """
    transposed = vectors.T.tocsc()
    floors = np.zeros(vectors.shape[0], dtype=np.float32)

    def block(start: int, stop: int) -> np.ndarray:
        lexical = (vectors[start:stop] @ transposed).toarray()
        return LEXICAL * lexical + (1 - LEXICAL) * np.clip(topics[start:stop] @ topics.T, 0.0, None)

    def watch(start: int, similarities: np.ndarray) -> None:
        floors[start:start + len(similarities)] = reason_floors(similarities)

    return top_k(block, vectors.shape[0], k, progress, "content", watch), floors


def reason_floors(similarities: np.ndarray) -> np.ndarray:
    """Per row: how similar an item must be to this one before 「因为你读过《this》」 may be said of it.

    Character n-grams give every two Chinese texts some similarity (的, 是, 入门 ...), more the longer they
    are, so no one constant tells a related article from the background; and in a small catalog one
    subject can be half of it, so the spread of a row is no measure either. The floor is FLOOR_SHARE of the
    way from the row's median (the background, over at most FLOOR_SAMPLE evenly spaced columns) to its
    best neighbour."""
    sample = similarities[:, ::max(1, similarities.shape[1] // FLOOR_SAMPLE)]
    median = np.median(sample, axis=1)
    return (median + FLOOR_SHARE * (similarities.max(axis=1, initial=0.0) - median)).astype(np.float32)


def topics(vectors: sparse.csr_matrix) -> np.ndarray:
    """Unit LSA vectors (truncated SVD of the TF-IDF matrix): what an item is about, beyond its n-grams."""
    n, features = vectors.shape
    if n == 0 or features == 0:
        return np.zeros((n, 1), dtype=np.float32)
    if min(n, features) <= TOPIC_DIMS + 1:  # a small catalog: the exact factorisation of its cosines
        values, vecs = np.linalg.eigh((vectors @ vectors.T).toarray().astype(np.float64))
        dense = vecs * np.sqrt(np.clip(values, 0.0, None))
    else:
        dense = TruncatedSVD(TOPIC_DIMS, random_state=0).fit_transform(vectors)
    return _unit(dense)


def sketch(vectors: sparse.csr_matrix, dims: int = SKETCH_DIMS) -> np.ndarray:
    """Dense unit vectors whose dot products approximate the TF-IDF cosines (a count sketch: each feature
    adds to one of `dims` coordinates with a random sign). For diversification: near-copies stay near."""
    features = vectors.shape[1]
    rng = np.random.default_rng(0)
    signs = rng.choice(np.array([-1.0, 1.0], dtype=np.float32), features)
    hashing = sparse.csr_matrix((signs, (np.arange(features), rng.integers(0, dims, features))),
                                shape=(features, dims))
    return _unit((vectors @ hashing).toarray())


def _unit(dense: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(dense, axis=1, keepdims=True)
    return (dense / np.where(norms > 0, norms, 1.0)).astype(np.float32)
