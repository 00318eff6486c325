"""Pruning an item x item similarity to each item's k nearest neighbours, one block of rows at a time."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy import sparse
from tqdm import tqdm

BLOCK = 1024

# (start, stop) -> the dense similarity of items start..stop-1 to every item
Block = Callable[[int, int], np.ndarray]
# (start, block): sees each dense block (self-similarity zeroed) before it is pruned
Watch = Callable[[int, np.ndarray], None]


def top_k(similarity: Block, n: int, k: int, progress: bool = False, label: str = "",
          watch: Watch | None = None) -> sparse.csr_matrix:
    """Row i keeps the k largest positive similarities of item i to other items (never to itself).

    Memory stays at one BLOCK x n dense block, so 20,000 items need ~80 MB whatever k is.
    """
    rows, cols, vals = [], [], []
    keep = min(k, max(n - 1, 0))
    for start in tqdm(range(0, n, BLOCK), desc=label, disable=not progress, unit="block"):
        stop = min(start + BLOCK, n)
        block = np.asarray(similarity(start, stop), dtype=np.float32)
        block[np.arange(stop - start), np.arange(start, stop)] = 0.0
        if watch is not None:
            watch(start, block)
        if keep == 0:
            continue
        best = np.argpartition(-block, keep - 1, axis=1)[:, :keep]
        values = np.take_along_axis(block, best, axis=1)
        positive = values > 0
        rows.append(np.nonzero(positive)[0] + start)
        cols.append(best[positive])
        vals.append(values[positive])
    if not rows:
        return sparse.csr_matrix((n, n), dtype=np.float32)
    matrix = sparse.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                               shape=(n, n), dtype=np.float32)
    matrix.sort_indices()
    return matrix
