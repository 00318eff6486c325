"""Interest groups for the broadcasts: followers clustered by their profile's dominant interest, each
group named from its centroid's top terms, and the best item for a group from its members' lists.

Pure: profiles (rows in the content model's feature space, L2-normalised) in, groups out. Spherical
k-means (k-means on unit rows, i.e. on cosine similarity) with a fixed seed, so the same profiles give the
same groups; followers without any profile form one group of their own (「大家都在读」).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import sparse
from sklearn.cluster import KMeans
from sklearn.preprocessing import normalize

from recommender.types import Recommendation

NAME_BYTES = 30  # WeChat's limit for a user tag's name
NAME_TERMS = 3
COLD_NAME = "大家都在读"


@dataclass(frozen=True)
class Group:
    members: tuple[int, ...]  # follower ids
    name: str
    terms: tuple[str, ...]


def group_followers(user_ids: Sequence[int], profiles: sparse.csr_matrix, features: Sequence[str],
                    max_groups: int, seed: int = 0) -> list[Group]:
    """At most `max_groups` groups, largest first; every follower in exactly one."""
    ids = np.asarray(user_ids)
    rows = normalize(sparse.csr_matrix(profiles))
    warm = np.asarray(rows.getnnz(axis=1) > 0)
    groups = []
    if (~warm).any():
        groups.append(Group(tuple(int(i) for i in ids[~warm]), COLD_NAME, ()))
    k = min(max_groups - len(groups), _distinct(rows[warm]))
    if k >= 1:
        groups += _clusters(ids[warm], rows[warm], list(features), k, seed)
    groups = sorted(groups, key=lambda g: (-len(g.members), g.name))
    return _unique_names(groups)


def _distinct(rows: sparse.csr_matrix) -> int:
    """How many different profiles there are (k-means cannot make more groups than that)."""
    return len({(rows.indices[a:b].tobytes(), np.round(rows.data[a:b], 6).tobytes())
                for a, b in zip(rows.indptr[:-1], rows.indptr[1:])})


def _clusters(ids: np.ndarray, rows: sparse.csr_matrix, features: list[str], k: int, seed: int) -> list[Group]:
    labels = KMeans(n_clusters=k, n_init=3, random_state=seed).fit_predict(rows) if k > 1 else np.zeros(len(ids), int)
    groups = []
    for label in range(k):
        mask = labels == label
        if mask.any():
            centroid = np.asarray(rows[mask].mean(axis=0)).ravel()
            terms = top_terms(centroid, features)
            groups.append(Group(tuple(int(i) for i in ids[mask]), name_of(terms), terms))
    return groups


def top_terms(weights: np.ndarray, features: Sequence[str], n: int = NAME_TERMS) -> tuple[str, ...]:
    """The heaviest terms, longer ones preferred over the characters inside them (char n-grams)."""
    order = np.argsort(-weights)
    chosen: list[str] = []
    for index in order[:50]:
        term = str(features[index]).strip()
        if weights[index] <= 0 or not term or any(term in c or c in term for c in chosen):
            continue
        if len(term) == 1 and any(len(str(features[j])) > 1 and weights[j] > 0 for j in order[:50]):
            continue  # a single character says little when longer terms are there
        chosen.append(term)
        if len(chosen) == n:
            break
    return tuple(chosen)


def name_of(terms: Sequence[str]) -> str:
    """Terms joined by "/", cut to what WeChat allows for a tag name."""
    name = ""
    for term in terms:
        candidate = f"{name}/{term}" if name else term
        if len(candidate.encode("utf-8")) > NAME_BYTES:
            break
        name = candidate
    return name or COLD_NAME


def _unique_names(groups: list[Group]) -> list[Group]:
    """Tag names must be unique: a repeated name gets its position appended."""
    seen: set[str] = set()
    out = []
    for n, group in enumerate(groups, start=1):
        name = group.name
        if name in seen:
            suffix = f"#{n}"
            name = name.encode("utf-8")[:NAME_BYTES - len(suffix)].decode("utf-8", "ignore") + suffix
        seen.add(name)
        out.append(Group(group.members, name, group.terms))
    return out


def best_item(lists: Iterable[Sequence[Recommendation]]) -> Recommendation | None:
    """The item the group's members want most: rank-weighted votes (1, 1/2, 1/3, ...) summed."""
    votes: dict[int, float] = defaultdict(float)
    first: dict[int, Recommendation] = {}
    for recs in lists:
        for rank, rec in enumerate(recs, start=1):
            votes[rec.article_id] += 1.0 / rank
            first.setdefault(rec.article_id, rec)
    if not votes:
        return None
    return first[max(votes, key=lambda article_id: (votes[article_id], -article_id))]
