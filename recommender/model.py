"""The fitted model: everything ranking needs, and its bytes (numpy's npz, no pickle) for saving."""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field

import numpy as np
from scipy import sparse
from sklearn.preprocessing import normalize

_SPARSE = ("vectors", "content", "co", "support")
_DENSE = ("item_ids", "embedding", "popularity", "freshness", "recent", "content_floor",
          "readers")
FORMAT = 2  # saved models of another format are refitted, not loaded (2: recent, content_floor, readers)


class StaleModel(Exception):
    """A saved model written by another version of this code."""


@dataclass
class FittedModel:
    item_ids: np.ndarray  # article ids, one per column
    titles: list[str]
    vectors: sparse.csr_matrix  # item x feature TF-IDF, rows L2-normalised
    features: list[str]
    content: sparse.csr_matrix  # item x item: each item's nearest content neighbours
    co: sparse.csr_matrix  # item x item: each item's nearest items by who read them (recommender.collab)
    support: sparse.csr_matrix  # the pairs of `co`: how many followers read both
    embedding: np.ndarray  # item x d unit vectors, for diversification
    popularity: np.ndarray  # recent readers' and buyers' weight per item, max 1
    readers: np.ndarray  # how many followers touched each item (「最近很多人在读」 needs several)
    freshness: np.ndarray  # 1 for the newest article down to 0 for the oldest (a last resort only)
    recent: np.ndarray  # bool: published within recommender.fit.NEW_DAYS of the fit (「新上架」 is true of it)
    content_floor: np.ndarray  # per item: the content similarity that makes it a reason (content.reason_floors)
    meta: dict = field(default_factory=dict)  # analyzer, catalog version, counts

    def __post_init__(self) -> None:
        self.index = {int(article): n for n, article in enumerate(self.item_ids)}
        self.content_by_target = self.content.T.tocsr()  # column j of the neighbour matrices, as rows
        self.co_by_target = self.co.T.tocsr()

    def __len__(self) -> int:
        return len(self.item_ids)

    def profiles(self, weights: sparse.csr_matrix) -> sparse.csr_matrix:
        """Each follower's profile: their weighted, decayed sum of item vectors, L2-normalised."""
        return normalize(sparse.csr_matrix(weights @ self.vectors, dtype=np.float32))

    def to_bytes(self) -> bytes:
        arrays: dict[str, np.ndarray] = {name: getattr(self, name) for name in _DENSE}
        for name in _SPARSE:
            matrix = getattr(self, name)
            arrays.update({f"{name}.data": matrix.data, f"{name}.indices": matrix.indices,
                           f"{name}.indptr": matrix.indptr, f"{name}.shape": np.array(matrix.shape)})
        arrays["titles"] = np.array(self.titles, dtype=str)
        arrays["features"] = np.array(self.features, dtype=str)
        meta = dict(self.meta, format=FORMAT)
        arrays["meta"] = np.frombuffer(json.dumps(meta, ensure_ascii=False).encode(), dtype=np.uint8)
        buffer = io.BytesIO()
        np.savez_compressed(buffer, **arrays)
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, blob: bytes) -> FittedModel:
        with np.load(io.BytesIO(blob), allow_pickle=False) as saved:
            meta = json.loads(saved["meta"].tobytes().decode())
            if meta.get("format") != FORMAT:
                raise StaleModel(f"saved model format {meta.get('format')}, this code reads {FORMAT}")
            parts = {name: saved[name] for name in _DENSE}
            for name in _SPARSE:
                parts[name] = sparse.csr_matrix(
                    (saved[f"{name}.data"], saved[f"{name}.indices"], saved[f"{name}.indptr"]),
                    shape=tuple(saved[f"{name}.shape"]))
            return cls(titles=[str(t) for t in saved["titles"]], features=[str(f) for f in saved["features"]],
                       meta=meta, **parts)
