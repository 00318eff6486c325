"""Catalog + behaviour -> a fitted model."""

from __future__ import annotations

import time
from collections.abc import Sequence

import numpy as np
from scipy import sparse

from recommender.collab import co_reading
from recommender.content import content_neighbours, embedding, fit_vectors
from recommender.model import FittedModel
from recommender.types import Item

NEIGHBOURS = 100  # per item, in each neighbour matrix


def fit_model(items: Sequence[Item], weights: sparse.csr_matrix, freshness: Sequence[float] | None = None,
              analyzer: str = "char", progress: bool = False, meta: dict | None = None) -> FittedModel:
    """`weights` is follower x item (columns in the order of `items`), as interactions.weight_matrix makes it."""
    started = time.monotonic()
    vectors, features = fit_vectors(items, analyzer)
    readers = np.asarray(weights.maximum(0).sum(axis=0)).ravel().astype(np.float32)
    model = FittedModel(
        item_ids=np.array([item.id for item in items], dtype=np.int64),
        titles=[item.title for item in items],
        vectors=vectors,
        features=features,
        content=content_neighbours(vectors, NEIGHBOURS, progress),
        co=co_reading(weights, NEIGHBOURS, progress),
        embedding=embedding(vectors),
        popularity=readers / readers.max() if readers.size and readers.max() > 0 else readers,
        freshness=np.asarray(freshness if freshness is not None else np.zeros(len(items)), dtype=np.float32),
        meta=dict(meta or {}, analyzer=analyzer, users=int(weights.shape[0]), events=int(weights.nnz)),
    )
    model.meta["seconds"] = round(time.monotonic() - started, 3)
    return model


def freshness_of(created: Sequence[float]) -> np.ndarray:
    """1 for the newest down to 0 for the oldest, by rank (equal times: the later item is newer)."""
    values = np.asarray(created, dtype=np.float64)
    if values.size < 2:
        return np.ones(values.size, dtype=np.float32)
    ranks = np.argsort(np.argsort(values, kind="stable"), kind="stable")
    return (ranks / (values.size - 1)).astype(np.float32)
