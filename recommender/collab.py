"""The collaborative signal, as item x item neighbours so every recommendation can name the item behind it.

Two candidates, measured on the benchmarks (BENCHMARKS.md, "Recommender"); `[recommend] collaborative`:

- "als" (default): implicit's ALS, the product's r = mu + u.v on implicit feedback; items are neighbours by
  the cosine of their factors, damped by n / (n + SHRINK) for an item read by n followers. It learns taste
  groups from sparse evidence (two titles never read together still meet through the readers' factors):
  on the sparse co-reading protocol it found 0.979 where co-reading found 0.213.
- "co_reading": for items i and j read by n_i and n_j of U followers, c_ij of whom read both, the similarity is

    max(c_ij - n_i * n_j / U, 0) / sqrt(n_i * n_j)  *  c_ij / (c_ij + SHRINK)      (0 when c_ij < MIN_SUPPORT)

the cosine of their reader sets less what chance alone would give, shrunk towards zero when few followers
support the pair. Exact and cheap, but blind to pairs fewer than MIN_SUPPORT followers share.
"""

from __future__ import annotations

import numpy as np
from scipy import sparse

from recommender.neighbours import BLOCK, top_k

SHRINK = 5.0
MIN_SUPPORT = 2
FACTORS = 64


def co_reading(weights: sparse.csr_matrix, k: int, progress: bool = False) -> sparse.csr_matrix:
    """Each item's k best co-read items, from the follower x item weights (read = positive weight)."""
    readers = sparse.csr_matrix(weights > 0, dtype=np.float32)
    users, n = readers.shape
    by_item = readers.T.tocsr()
    counts = np.asarray(readers.sum(axis=0)).ravel()

    def block(start: int, stop: int) -> np.ndarray:
        both = (by_item[start:stop] @ readers).toarray()
        expected = np.outer(counts[start:stop], counts) / max(users, 1)
        scale = np.sqrt(np.outer(counts[start:stop], counts))
        excess = np.divide(np.maximum(both - expected, 0.0), scale, out=np.zeros_like(both), where=scale > 0)
        return np.where(both >= MIN_SUPPORT, excess * both / (both + SHRINK), 0.0)

    return top_k(block, n, k, progress, "co-reading")


def als_neighbours(weights: sparse.csr_matrix, k: int, progress: bool = False) -> sparse.csr_matrix:
    """Each item's k nearest items by the cosine of implicit's ALS item factors (r = u.v fitted on who read
    what), damped for items few followers read (their factors are mostly the random start)."""
    from implicit.als import AlternatingLeastSquares
    from threadpoolctl import threadpool_limits

    readers = sparse.csr_matrix(weights > 0, dtype=np.float32)
    counts = np.asarray(readers.sum(axis=0)).ravel()
    if readers.nnz == 0:
        return sparse.csr_matrix((readers.shape[1], readers.shape[1]), dtype=np.float32)
    with threadpool_limits(1, "blas"):  # implicit asks for it; one thread: the same factors every fit
        model = AlternatingLeastSquares(factors=_factors(*readers.shape), regularization=0.05, iterations=15, alpha=10.0,
                                        random_state=0, num_threads=1)
        model.fit(readers, show_progress=progress)
    factors = np.asarray(model.item_factors, dtype=np.float32)
    norms = np.linalg.norm(factors, axis=1, keepdims=True)
    unit = factors / np.where(norms > 0, norms, 1.0) * (counts / (counts + SHRINK))[:, None]
    return top_k(lambda start, stop: unit[start:stop] @ unit.T, readers.shape[1], k, progress, "als")



def _factors(users: int, items: int) -> int:
    """FACTORS, or fewer for a small audience: more factors than half of it learn each item apart."""
    return int(np.clip(min(users, items) // 2, 2, FACTORS))


METHODS = {"als": als_neighbours, "co_reading": co_reading}


def pair_support(weights: sparse.csr_matrix, pattern: sparse.csr_matrix) -> sparse.csr_matrix:
    """How many followers read both items of each pair stored in `pattern` (0 for a pair ALS linked
    without anyone reading both): the reason says 「读过《X》的人也在读」 only when someone did."""
    readers = sparse.csr_matrix(weights > 0, dtype=np.float32)
    by_item = readers.T.tocsr()
    values = np.zeros(pattern.nnz, dtype=np.float32)
    for start in range(0, pattern.shape[0], BLOCK):
        stop = min(start + BLOCK, pattern.shape[0])
        counts = (by_item[start:stop] @ readers).toarray()
        rows = np.repeat(np.arange(stop - start), np.diff(pattern.indptr[start:stop + 1]))
        span = slice(pattern.indptr[start], pattern.indptr[stop])
        values[span] = counts[rows, pattern.indices[span]]
    return sparse.csr_matrix((values, pattern.indices.copy(), pattern.indptr.copy()), shape=pattern.shape)
