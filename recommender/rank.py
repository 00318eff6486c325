"""Ranking a chunk of followers at once: blend, rules, MMR diversification, reasons.

    personal(u, j) = content(u, j) + w * co(u, j)       (w: recommender.collab.WEIGHTS of the model's method)
    score(u, j)    = personal(u, j) / max_j personal(u, j)
                     + POPULAR_WEIGHT * popularity(j) + FRESH_WEIGHT * freshness(j)

content and co are the follower's weights times each neighbour matrix (a 不感兴趣 has a negative weight, so
it pulls that item's neighbours down). Co-reading similarities are already shrunk by their support
(recommender.collab): that is the blend's rule, a pair few followers share adds almost nothing, so where
co-reading is noise the content ranking stands. Dividing by the follower's best personal score puts every
list on one scale, so popularity is a tie-break for a follower with a history and the whole ranking for
one without (cold start); freshness only fills a list nothing else ranks. Everything is dense per chunk
(CHUNK x items float32, one block per worker of `batch`), so memory is bounded whatever the audience.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor

import numpy as np
from scipy import sparse
from tqdm import tqdm

from recommender.model import FittedModel
from recommender.reasons import CO_READ, CONTENT, ELSEWHERE, FIRST, SIMILAR_READERS, reason
from recommender.types import Recommendation

POPULAR_WEIGHT = 0.05
FRESH_WEIGHT = 0.001
MANY_READERS = 3  # 「最近很多人在读」 is said of an item at least this many followers touched
CANDIDATES = 3  # MMR chooses k items among the CANDIDATES * k best
DIVERSITY = 0.5  # MMR: 0 = pure relevance, 1 = pure novelty (0.5 cost 0.001 of class precision, 0.3: 0)
NEAR_COPY = 0.4  # MMR counts only the part of a similarity above this: near-copies, not one subject
CHUNK = 512
WORKERS = 2  # chunks scored at once: the machine's cores
BLOCK = 32  # columns per block in the candidates' lower bound (recommender.rank._candidates)


def rank(model: FittedModel, weights: sparse.csr_matrix, excluded: sparse.csr_matrix, eligible: np.ndarray,
         k: int, out: np.ndarray | None = None) -> list[list[Recommendation]]:
    """Top k per follower row: never an excluded or ineligible item, diversified, each with its reason.

    `out`: scratch space for the dense scores (at least rows x items, the products' dtype), reused by `batch`
    so each chunk does not fault in fresh pages."""
    if len(model) == 0 or k <= 0:
        return [[] for _ in range(weights.shape[0])]
    content = weights @ model.content
    co = weights @ model.co
    co.data *= model.meta["co_weight"]
    height = weights.shape[0]
    total = content.toarray(out=None if out is None else out[:height])
    total[np.repeat(np.arange(height), np.diff(co.indptr)), co.indices] += co.data
    if not eligible.all():
        total[:, ~eligible] = -np.inf
    rows, cols = excluded.nonzero()
    total[rows, cols] = -np.inf
    scale = np.max(total, axis=1, keepdims=True, initial=0.0)
    scale[scale <= 0] = 1.0
    total /= scale
    total += POPULAR_WEIGHT * model.popularity + FRESH_WEIGHT * model.freshness
    candidates, relevance = _candidates(total, min(CANDIDATES * k, len(model)))
    picks = _mmr(model.embedding, candidates, relevance, min(k, candidates.shape[1]))
    users, slots = np.nonzero(picks >= 0)
    items = picks[users, slots]
    lists: list[list[Recommendation]] = [[] for _ in range(weights.shape[0])]
    if items.size == 0:
        return lists
    personal = np.stack([np.asarray(content[users, items]).ravel(), np.asarray(co[users, items]).ravel()])
    personal /= scale[users, 0]
    for user, recommendation in zip(users.tolist(),
                                    _explain(model, weights[users], items, personal, total[users, items])):
        lists[user].append(recommendation)
    return lists


def batch(model: FittedModel, weights: sparse.csr_matrix, excluded: sparse.csr_matrix, eligible: np.ndarray,
          k: int, chunk: int = CHUNK, progress: bool = False, workers: int = WORKERS) -> Iterator[list[Recommendation]]:
    """`rank` over every row, CHUNK rows at a time, `workers` chunks at once (numpy and scipy release the GIL
    in the heavy parts), yielded in row order; at most 2 x workers chunks are in memory."""
    starts = range(0, weights.shape[0], chunk)
    bar = tqdm(total=len(starts), disable=not progress, unit="chunk", desc="scoring")

    scratch = threading.local()  # one dense score block per worker thread

    def one(start: int) -> list[list[Recommendation]]:
        if not hasattr(scratch, "out"):
            rows = min(chunk, weights.shape[0])
            scratch.out = np.empty((rows, len(model)), dtype=np.result_type(weights.dtype, model.content.dtype))
        stop = start + chunk
        return rank(model, weights[start:stop], excluded[start:stop], eligible, k, scratch.out)

    with ThreadPoolExecutor(max(workers, 1)) as pool:
        pending: deque[Future] = deque()
        for start in starts:
            pending.append(pool.submit(one, start))
            if len(pending) > 2 * workers:
                yield from _done(pending.popleft(), bar)
        while pending:
            yield from _done(pending.popleft(), bar)
    bar.close()


def _done(future: Future, bar: tqdm) -> list[list[Recommendation]]:
    lists = future.result()
    bar.update()
    return lists


def _candidates(total: np.ndarray, m: int) -> tuple[np.ndarray, np.ndarray]:
    """The m best positive columns per row, best first (ties: the lower column first), and their scores; a row
    with fewer than m positive scores is padded with -inf.

    No selection over the whole row: the m-th largest of a row's block maxima (BLOCK columns a block) is a
    lower bound of its m-th largest score (m blocks hold m scores at least that high), so only the few scores
    at or above it are sorted.
    """
    height, width = total.shape
    maxima = np.maximum.reduceat(total, np.arange(0, width, BLOCK), axis=1)
    blocks = maxima.shape[1]
    bound = np.partition(maxima, blocks - m, axis=1)[:, blocks - m] if blocks > m else np.zeros(height, total.dtype)
    bound = np.maximum(bound, np.finfo(total.dtype).smallest_subnormal)  # and positive
    rows, blocks_at = np.nonzero(maxima >= bound[:, None])  # only these blocks hold scores above the bound
    rows = np.repeat(rows, BLOCK)
    cols = (blocks_at[:, None] * BLOCK + np.arange(BLOCK)).ravel()
    inside = cols < width
    rows, cols = rows[inside], cols[inside]
    scores = total[rows, cols]
    above = scores >= bound[rows]
    rows, cols, scores = rows[above], cols[above], scores[above]
    order = np.lexsort((cols, -scores, rows))
    rows, cols, scores = rows[order], cols[order], scores[order]
    place = np.arange(rows.size) - np.searchsorted(rows, rows)
    kept = place < m
    best = np.zeros((height, m), dtype=np.int64)
    relevance = np.full((height, m), -np.inf, dtype=total.dtype)
    best[rows[kept], place[kept]] = cols[kept]
    relevance[rows[kept], place[kept]] = scores[kept]
    return best, relevance


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
    among the parts true of it (`personal`: the scaled content and co-reading parts of each pair). The
    content part counts only when the item is above its source's floor (model.content_floor): every two
    texts share some n-grams, and 「因为你读过《X》」 must not be said of an item X merely shares 的 with."""
    content_sources = _source(weights, model.content_by_target[items])
    closeness = np.asarray(model.content_by_target[items, content_sources]).ravel()
    related = (closeness > 0) & (closeness > model.content_floor[content_sources])
    parts = np.vstack([np.where(related, personal[0], 0.0), personal[1],
                       POPULAR_WEIGHT * model.popularity[items] * (model.readers[items] >= MANY_READERS),
                       FRESH_WEIGHT * (1 + model.freshness[items]) * model.recent[items]])
    causes = np.argmax(parts, axis=0)
    uncaused = parts.max(axis=0) <= 0
    causes[uncaused] = np.where(np.diff(weights.indptr)[uncaused] > 0, ELSEWHERE, FIRST)  # with a history or not
    sources = np.where(causes == CONTENT, content_sources, -1)
    co_read = np.flatnonzero(causes == CO_READ)
    if co_read.size:
        sources[co_read] = _source(weights[co_read], model.co_by_target[items[co_read]])
        unshared = np.asarray(model.support[sources[co_read], items[co_read]]).ravel() == 0
        causes[co_read[unshared]] = SIMILAR_READERS
    titles = model.titles
    return [Recommendation(article, titles[item], round(score, 4), reason(cause, titles[source] if source >= 0 else ""))
            for article, item, cause, source, score in zip(model.item_ids[items].tolist(), items.tolist(),
                                                           causes.tolist(), sources.tolist(),
                                                           scores.astype(np.float64).tolist())]


def _source(weights: sparse.csr_matrix, neighbours: sparse.csr_matrix) -> np.ndarray:
    """Per pair: the touched item that contributed most (the 《X》 a reason names): scipy's row argmax, the
    first largest entry, vectorised for rows whose largest entry is positive (scipy's own loop for the rest,
    where an implicit zero may win)."""
    contribution = sparse.csr_matrix(weights.multiply(neighbours))
    contribution.sum_duplicates()
    lengths = np.diff(contribution.indptr)
    filled = np.flatnonzero(lengths)
    largest = np.zeros(len(lengths), dtype=contribution.dtype)
    if filled.size:
        largest[filled] = np.maximum.reduceat(contribution.data, contribution.indptr[filled])
    row_of = np.repeat(np.arange(len(lengths)), lengths)
    hits = np.flatnonzero(contribution.data == largest[row_of])
    rows, first = np.unique(row_of[hits], return_index=True)
    sources = np.zeros(len(lengths), dtype=np.int64)
    sources[rows] = contribution.indices[hits[first]]
    rest = np.flatnonzero((largest <= 0) & (lengths < contribution.shape[1]))
    if rest.size:
        sources[rest] = np.asarray(contribution[rest].argmax(axis=1)).ravel()
    return sources
