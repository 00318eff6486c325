"""Ranking a chunk of followers at once: blend, rules, MMR diversification, reasons.

    personal(u, j) = content(u, j) + CO_WEIGHT * co(u, j)
    score(u, j)    = personal(u, j) / max_j personal(u, j) + POPULAR_WEIGHT * popularity(j) + FRESH_WEIGHT * freshness(j)

content and co are the follower's weights times each neighbour matrix (a 不感兴趣 has a negative weight, so
it pulls that item's neighbours down). Co-reading similarities are already shrunk by their support
(recommender.collab): that is the blend's rule, a pair few followers share adds almost nothing, so where
co-reading is noise the content ranking stands. Dividing by the follower's best personal score puts every
list on one scale, so popularity is a tie-break for a follower with a history and the whole ranking for
one without (cold start); freshness only fills a list nothing else ranks. Everything is dense per chunk
(CHUNK x items float32), so memory is bounded whatever the audience.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
from scipy import sparse
from tqdm import tqdm

from recommender.model import FittedModel
from recommender.reasons import CO_READ, CONTENT, SIMILAR_READERS, reason
from recommender.types import Recommendation

CO_WEIGHT = 3.0  # measured with the ALS neighbours: 3 kept the class protocol and found the taste groups
POPULAR_WEIGHT = 0.05
FRESH_WEIGHT = 0.001
CANDIDATES = 3  # MMR chooses k items among the CANDIDATES * k best
DIVERSITY = 0.3  # MMR: 0 = pure relevance, 1 = pure novelty
NEAR_COPY = 0.4  # MMR counts only the part of a similarity above this: near-copies, not one subject
CHUNK = 512


def rank(model: FittedModel, weights: sparse.csr_matrix, excluded: sparse.csr_matrix, eligible: np.ndarray,
         k: int) -> list[list[Recommendation]]:
    """Top k per follower row: never an excluded or ineligible item, diversified, each with its reason."""
    if len(model) == 0 or k <= 0:
        return [[] for _ in range(weights.shape[0])]
    content = (weights @ model.content).toarray()
    co = CO_WEIGHT * (weights @ model.co).toarray()
    total = content + co
    total[:, ~eligible] = -np.inf
    rows, cols = excluded.nonzero()
    total[rows, cols] = -np.inf
    scale = np.max(total, axis=1, keepdims=True, initial=0.0)
    scale[scale <= 0] = 1.0
    total /= scale
    total += POPULAR_WEIGHT * model.popularity + FRESH_WEIGHT * model.freshness
    total[total <= 0] = -np.inf
    candidates, relevance = _candidates(total, min(CANDIDATES * k, len(model)))
    picks = _mmr(model.embedding, candidates, relevance, min(k, candidates.shape[1]))
    users, slots = np.nonzero(picks >= 0)
    items = picks[users, slots]
    personal = np.stack([content[users, items], co[users, items]]) / scale[users, 0]
    lists: list[list[Recommendation]] = [[] for _ in range(weights.shape[0])]
    for user, recommendation in zip(users, _explain(model, weights[users], items, personal, total[users, items])):
        lists[user].append(recommendation)
    return lists


def batch(model: FittedModel, weights: sparse.csr_matrix, excluded: sparse.csr_matrix, eligible: np.ndarray,
          k: int, chunk: int = CHUNK, progress: bool = False) -> Iterator[list[Recommendation]]:
    """`rank` over every row, CHUNK rows at a time."""
    for start in tqdm(range(0, weights.shape[0], chunk), disable=not progress, unit="chunk", desc="scoring"):
        stop = start + chunk
        yield from rank(model, weights[start:stop], excluded[start:stop], eligible, k)


def _candidates(total: np.ndarray, m: int) -> tuple[np.ndarray, np.ndarray]:
    """The m best columns per row, best first (ties by column: deterministic), and their scores."""
    best = np.sort(np.argpartition(-total, m - 1, axis=1)[:, :m], axis=1)
    scores = np.take_along_axis(total, best, axis=1)
    order = np.argsort(-scores, axis=1, kind="stable")
    return np.take_along_axis(best, order, axis=1), np.take_along_axis(scores, order, axis=1)


def _mmr(vectors: np.ndarray, candidates: np.ndarray, relevance: np.ndarray, k: int) -> np.ndarray:
    """Maximal marginal relevance, every row at once: -1 where a row runs out of candidates."""
    users = np.arange(candidates.shape[0])
    top = np.where(np.isfinite(relevance[:, :1]), relevance[:, :1], 1.0)
    rel = np.where(np.isfinite(relevance), relevance / np.where(top > 0, top, 1.0), -np.inf)
    embedded = vectors[candidates]
    similar = np.clip((embedded @ embedded.transpose(0, 2, 1) - NEAR_COPY) / (1 - NEAR_COPY), 0.0, 1.0)
    closest = np.zeros_like(rel)
    picks = np.full((candidates.shape[0], k), -1, dtype=np.int64)
    for step in range(k):
        value = (1 - DIVERSITY) * rel - DIVERSITY * closest
        choice = np.argmax(value, axis=1)
        found = np.isfinite(value[users, choice])
        picks[found, step] = candidates[users[found], choice[found]]
        rel[users, choice] = -np.inf
        closest = np.maximum(closest, similar[users, choice])
    return picks


def _explain(model: FittedModel, weights: sparse.csr_matrix, items: np.ndarray, personal: np.ndarray,
             scores: np.ndarray) -> list[Recommendation]:
    """One recommendation per (follower row of `weights`, item); its reason is the largest part of its score
    (`personal`: the scaled content and co-reading parts of each pair)."""
    causes = np.argmax(np.vstack([personal, POPULAR_WEIGHT * model.popularity[items],
                                  FRESH_WEIGHT * model.freshness[items]]), axis=0)
    sources = np.full(len(items), -1, dtype=np.int64)
    for cause, neighbours in ((CONTENT, model.content_by_target), (CO_READ, model.co_by_target)):
        mine = np.flatnonzero(causes == cause)
        if mine.size:
            sources[mine] = _source(weights[mine], neighbours[items[mine]])
    co_read = np.flatnonzero(causes == CO_READ)
    if co_read.size:
        unshared = np.asarray(model.support[sources[co_read], items[co_read]]).ravel() == 0
        causes[co_read[unshared]] = SIMILAR_READERS
    return [Recommendation(int(model.item_ids[item]), model.titles[item], round(float(score), 4),
                           reason(int(cause), model.titles[source] if source >= 0 else ""))
            for item, cause, source, score in zip(items, causes, sources, scores)]


def _source(weights: sparse.csr_matrix, neighbours: sparse.csr_matrix) -> np.ndarray:
    """Per pair: the touched item that contributed most (the 《X》 a reason names)."""
    contribution = sparse.csr_matrix(weights.multiply(neighbours))
    return np.asarray(contribution.argmax(axis=1)).ravel()
