"""Behaviour as matrices: follower x item weights (a profile's recipe) and what each list must skip."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence

import numpy as np
from scipy import sparse

from recommender.types import Weights

# (user key, article id, kind, when): one recorded behaviour
Row = tuple[int, int, str, dt.datetime]


def _index(keys: Sequence[int]) -> dict[int, int]:
    return {key: n for n, key in enumerate(keys)}


def weight_matrix(users: Sequence[int], items: Mapping[int, int], rows: Iterable[Row], weights: Weights,
                  now: dt.datetime) -> sparse.csr_matrix:
    """Row u, column i: the sum over u's events on i of weight(kind) * 0.5 ** (age / half-life).

    Events on items the model does not know (unpublished, newer than the fit) are left out.
    """
    user_index = _index(users)
    r, c, w = [], [], []
    for user, article, kind, when in rows:
        col, weight = items.get(article), weights.of(kind)
        if col is None or user not in user_index or not weight:
            continue
        age_days = max((now - when).total_seconds(), 0.0) / 86400.0
        r.append(user_index[user])
        c.append(col)
        w.append(weight * 0.5 ** (age_days / weights.half_life_days))
    shape = (len(users), len(items))
    matrix = sparse.csr_matrix((np.array(w, dtype=np.float32), (r, c)), shape=shape)
    matrix.sum_duplicates()
    return matrix


def pair_matrix(users: Sequence[int], items: Mapping[int, int],
                pairs: Iterable[tuple[int, int]]) -> sparse.csr_matrix:
    """A boolean follower x item matrix with True at each (user, article) pair (e.g. owned, opened)."""
    user_index = _index(users)
    r, c = [], []
    for user, article in pairs:
        if user in user_index and article in items:
            r.append(user_index[user])
            c.append(items[article])
    data = np.ones(len(r), dtype=bool)
    return sparse.csr_matrix((data, (r, c)), shape=(len(users), len(items)), dtype=bool)
