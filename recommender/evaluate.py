"""Leave-last-out evaluation: hide each follower's most recent item, fit on the rest, see whether it comes back.

The four methods are one fitted model with signals switched off, so they differ only in what they know.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import sparse

from recommender.fit import fit_model
from recommender.interactions import Row, pair_matrix, weight_matrix
from recommender.model import FittedModel
from recommender.rank import batch
from recommender.types import Item, Weights


@dataclass(frozen=True)
class Score:
    method: str
    followers: int
    hit_rate: float
    ndcg: float
    coverage: float

    def row(self) -> str:
        return f"| {self.method} | {self.followers} | {self.hit_rate:.3f} | {self.ndcg:.3f} | {self.coverage:.1%} |"


def variants(model: FittedModel) -> dict[str, FittedModel]:
    """content, collaborative, hybrid and popularity: the same model with parts emptied."""
    empty = sparse.csr_matrix(model.content.shape, dtype=np.float32)
    return {"content": dataclasses.replace(model, co=empty),
            "collaborative": dataclasses.replace(model, content=empty),
            "hybrid": model,
            "popularity": dataclasses.replace(model, content=empty, co=empty)}


def held_out(rows: Sequence[Row], weights: Weights) -> dict[int, int]:
    """Each follower's most recent positively weighted item, when they touched at least two."""
    latest: dict[int, tuple[dt.datetime, int]] = {}
    touched: dict[int, set[int]] = {}
    for user, article, kind, when in rows:
        if weights.of(kind) > 0:
            touched.setdefault(user, set()).add(article)
            if user not in latest or when >= latest[user][0]:
                latest[user] = (when, article)
    return {user: article for user, (_, article) in latest.items() if len(touched[user]) >= 2}


def leave_last_out(items: Sequence[Item], freshness: Sequence[float], rows: Sequence[Row], weights: Weights,
                   now: dt.datetime, k: int, analyzer: str = "char", collaborative: str = "co_reading",
                   progress: bool = False) -> list[Score]:
    index = {item.id: n for n, item in enumerate(items)}
    rows = [row for row in rows if row[1] in index]
    hidden = held_out(rows, weights)
    train = [row for row in rows if hidden.get(row[0]) != row[1]]
    everyone = sorted({row[0] for row in rows})
    model = fit_model(items, weight_matrix(everyone, index, train, weights, now), freshness, analyzer,
                      collaborative, progress)
    users = sorted(hidden)
    matrix = weight_matrix(users, index, train, weights, now)
    excluded = pair_matrix(users, index, [(user, article) for user, article, _, _ in train])
    eligible = np.ones(len(items), dtype=bool)
    scores = []
    for method, variant in variants(model).items():
        lists = list(batch(variant, matrix, excluded, eligible, k, progress=progress))
        scores.append(_score(method, [[r.article_id for r in got] for got in lists],
                             [hidden[user] for user in users], len(items)))
    return scores


def _score(method: str, lists: list[list[int]], targets: list[int], items: int) -> Score:
    ranks = [got.index(target) for got, target in zip(lists, targets) if target in got]
    n = max(len(targets), 1)
    return Score(method, len(targets), len(ranks) / n, sum(1 / math.log2(r + 2) for r in ranks) / n,
                 len({i for got in lists for i in got}) / max(items, 1))
