"""Catalog + behaviour -> a fitted model."""

from __future__ import annotations

import time
from collections.abc import Sequence

import numpy as np
from scipy import sparse

from recommender.collab import METHODS, WEIGHTS, pair_support
from recommender.content import content_neighbours, fit_vectors, sketch, topics
from recommender.model import FittedModel
from recommender.types import Item

CONTENT_NEIGHBOURS = 300  # per item (100 lost 0.006 of precision@10 on the class protocol)
CO_NEIGHBOURS = 100
NEW_DAYS = 14  # an article this young may be recommended as 「新上架」


def fit_model(items: Sequence[Item], weights: sparse.csr_matrix, freshness: Sequence[float] | None = None,
              analyzer: str = "char", collaborative: str = "co_reading", progress: bool = False,
              meta: dict | None = None, recent: Sequence[bool] | None = None) -> FittedModel:
    """`weights` is follower x item (columns in the order of `items`), as interactions.weight_matrix makes it;
    `freshness` as freshness_of makes it, `recent` as recent_of (default: nothing is new)."""
    started = time.monotonic()
    vectors, features = fit_vectors(items, analyzer)
    content, floors = content_neighbours(vectors, topics(vectors), CONTENT_NEIGHBOURS, progress)
    reach = np.asarray(weights.maximum(0).sum(axis=0)).ravel().astype(np.float32)
    co = METHODS[collaborative](weights, CO_NEIGHBOURS, progress)
    model = FittedModel(
        item_ids=np.array([item.id for item in items], dtype=np.int64),
        titles=[item.title for item in items],
        vectors=vectors,
        features=features,
        content=content,
        co=co,
        support=pair_support(weights, co),
        embedding=sketch(vectors),
        popularity=reach / reach.max() if reach.size and reach.max() > 0 else reach,
        readers=np.asarray((weights > 0).sum(axis=0)).ravel().astype(np.int32),
        freshness=np.asarray(freshness if freshness is not None else np.zeros(len(items)), dtype=np.float32),
        recent=np.asarray(recent if recent is not None else np.zeros(len(items)), dtype=bool),
        content_floor=floors,
        meta=dict(meta or {}, analyzer=analyzer, collaborative=collaborative, co_weight=WEIGHTS[collaborative],
                  users=int(weights.shape[0]), events=int(weights.nnz)),
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


def recent_of(created: Sequence[float], now: float) -> np.ndarray:
    """True for articles published (`created`, epoch seconds) within NEW_DAYS before `now`."""
    return np.asarray(created, dtype=np.float64) >= now - NEW_DAYS * 86400.0
