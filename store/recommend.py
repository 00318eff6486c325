"""The recommender bound to the store: loads the catalog and behaviour, saves and loads fitted models.

Fitted models live in the database (table `savedmodel`), not in a file: web workers and the clock may run
on different machines with their own disks, but they share the database. `recommendations()` checks the
newest model id on each call (one indexed query) and loads a newer one, so a refit by the clock or by
`bot.py recommend-fit` reaches every running process without a restart. What a list must skip (owned,
opened, 不感兴趣, unpublished) is read live on every call, so it holds between fits.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import threading
import time
import weakref
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence

import numpy as np
from scipy import sparse
from tqdm import tqdm

from recommender import rank as ranking
from recommender.evaluate import Score, leave_last_out
from recommender.fit import fit_model, freshness_of, recent_of
from recommender.interactions import pair_matrix, weight_matrix
from recommender.model import FittedModel, StaleModel
from recommender.types import KINDS, FitSummary, Item, Recommendation, Weights
from settings import RecommendSettings
from store import catalog
from store.db import transaction
from store.models import Article, Event, Purchase, User, database_proxy, utcnow
from store.recommend_tables import SavedModel

DISLIKE = "dislike"
KEEP_MODELS = 2  # the newest and the one before it (a process may still be loading it)
_config = RecommendSettings()
log = logging.getLogger(__name__)


def configure(settings: RecommendSettings) -> None:
    """The `[recommend]` settings every fit and list uses (build_services calls this)."""
    global _config
    _config = settings


def weights() -> Weights:
    return Weights({kind: getattr(_config, kind) for kind in KINDS}, _config.half_life_days)


def dislike(user: User, article_id: int) -> None:
    """「不感兴趣」: an event like the others (deleted with them); the item never comes back."""
    Event.create(user=user, kind=DISLIKE, article_id=article_id, payload="{}")


# ---------------------------------------------------------------- inputs


def _items() -> tuple[list[Item], list[float]]:
    rows = (Article.select(Article.id, Article.title, Article.summary, Article.tags, Article.body,
                           Article.created_at)
            .where(Article.status == Article.PUBLISHED).order_by(Article.id).tuples())
    items, created = [], []
    for id_, title, summary, tags, body, created_at in rows:
        items.append(Item(id_, title, summary or "", tuple(json.loads(tags or "[]")), body or ""))
        created.append(created_at.timestamp())
    return items, created


def _events(user_ids: Sequence[int] | None) -> list[tuple[int, int, str, dt.datetime]]:
    query = (Event.select(Event.user, Event.article_id, Event.kind, Event.created_at)
             .where(Event.kind.in_(KINDS) & Event.article_id.is_null(False)).order_by(Event.id))
    if user_ids is not None:
        query = query.where(Event.user.in_(list(user_ids)))
    return list(query.tuples())


def _owned(user_ids: Sequence[int]) -> list[tuple[int, int]]:
    """(user, article) for every article a follower owns, directly or through a series."""
    direct = (Purchase.select(Purchase.user, Purchase.article)
              .where(Purchase.user.in_(list(user_ids)) & Purchase.article.is_null(False)).tuples())
    through = (Purchase.select(Purchase.user, Article.id).join(Article, on=(Article.series == Purchase.series))
               .where(Purchase.user.in_(list(user_ids))).tuples())
    return list(direct) + list(through)


def _published_ids() -> set[int]:
    return {id_ for (id_,) in Article.select(Article.id).where(Article.status == Article.PUBLISHED).tuples()}


# ---------------------------------------------------------------- fitting


def fit(progress: bool = False) -> FitSummary:
    """Fit on the published catalog and every recorded behaviour, save, and return what was fitted."""
    started = time.monotonic()
    version = str(catalog.catalog_version())
    items, created = _items()
    rows = _events(None)
    users = sorted({row[0] for row in rows})
    now = utcnow()
    matrix = weight_matrix(users, {item.id: n for n, item in enumerate(items)}, rows, weights(), now)
    model = fit_model(items, matrix, freshness_of(created), _config.analyzer, _config.collaborative, progress,
                      meta={"catalog_version": version}, recent=recent_of(created, now.timestamp()))
    summary = FitSummary(len(items), len(users), len(rows), len(model.features), time.monotonic() - started)
    with transaction(database_proxy.obj):
        saved = SavedModel.create(catalog_version=version, blob=model.to_bytes(), summary=summary.format())
        SavedModel.delete().where(SavedModel.id <= saved.id - KEEP_MODELS).execute()
    return FitSummary(summary.items, summary.users, summary.events, summary.features, summary.seconds, saved.id)


def evaluate(k: int = 10, progress: bool = False) -> list[Score]:
    """Leave-last-out on the recorded behaviour (recommend-eval): nothing is saved."""
    items, created = _items()
    return leave_last_out(items, freshness_of(created), _events(None), weights(), utcnow(), k, _config.analyzer,
                          _config.collaborative, progress)


def latest_model_version() -> tuple[int, str, dt.datetime] | None:
    """(id, catalog version) of the newest saved model: the clock refits when the catalog moved on."""
    row = (SavedModel.select(SavedModel.id, SavedModel.catalog_version, SavedModel.created_at)
           .order_by(SavedModel.id.desc()).first())
    return (row.id, row.catalog_version, row.created_at) if row else None


# ---------------------------------------------------------------- lists


class Recommendations:
    """Lists for followers from the newest saved model (fitted here first when there is none)."""

    def __init__(self) -> None:
        self._model: FittedModel | None = None
        self._id: int | None = None
        self._load = threading.Lock()

    def for_user(self, openid: str, k: int = 3) -> list[Recommendation]:
        """An unknown openid gets the cold-start list."""
        user = User.get_or_none(User.openid == openid)
        return self._rank([user.id if user else 0], k, {})[0]

    def batch(self, user_ids: Sequence[int], k: int = 10, exclude: Mapping[int, Collection[int]] | None = None,
              progress: bool = False) -> Iterator[tuple[int, list[Recommendation]]]:
        """Every follower's list, scored ranking.CHUNK at a time; `exclude` adds per-follower article ids."""
        ids = list(user_ids)
        for start in tqdm(range(0, len(ids), ranking.CHUNK), disable=not progress, unit="chunk", desc="scoring"):
            chunk = ids[start:start + ranking.CHUNK]
            yield from zip(chunk, self._rank(chunk, k, exclude or {}))

    def related(self, openid: str, article_id: int) -> Recommendation | None:
        """One item for the end of an article: its nearest, by the same rules as a list for this follower."""
        model = self.model()
        user = User.get_or_none(User.openid == openid)
        seed = {} if article_id not in model.index else {model.index[article_id]: 1.0}
        found = self._rank([user.id if user else 0], 1, {}, seed)[0]
        return found[0] if found else None

    def profiles(self, user_ids: Sequence[int]) -> tuple[sparse.csr_matrix, list[str]]:
        """Each follower's profile in the content model's feature space, and the feature names."""
        model = self.model()
        ids = list(user_ids)
        matrix = weight_matrix(ids, model.index, _events(ids), weights(), utcnow())
        return model.profiles(matrix), model.features

    def model(self) -> FittedModel:
        """The newest saved model: one id query per call, a load only when it changed (a model saved by
        another version of the code is refitted first)."""
        newest = latest_model_version()
        if newest is None or newest[0] != self._id:
            with self._load:
                newest = latest_model_version()
                if newest is None or newest[0] != self._id:
                    self._model, self._id = self._fetch(newest)
        return self._model

    @staticmethod
    def _fetch(newest: tuple[int, str, dt.datetime] | None) -> tuple[FittedModel, int]:
        """The saved model `newest` names, or a fresh fit when there is none or it is stale."""
        if newest is not None:
            try:
                return FittedModel.from_bytes(bytes(SavedModel.get_by_id(newest[0]).blob)), newest[0]
            except StaleModel as stale:
                log.info("refitting the recommender", extra={"why": str(stale)})
        summary = fit()
        return FittedModel.from_bytes(bytes(SavedModel.get_by_id(summary.version).blob)), summary.version

    def _rank(self, ids: list[int], k: int, exclude: Mapping[int, Collection[int]],
              seed: Mapping[int, float] | None = None) -> list[list[Recommendation]]:
        """`seed` (one follower only): rank from these item columns and weights instead of their history."""
        model = self.model()
        rows = _events(ids)
        matrix = (weight_matrix(ids, model.index, rows, weights(), utcnow()) if seed is None else
                  sparse.csr_matrix((list(seed.values()), ([0] * len(seed), list(seed))), shape=(1, len(model))))
        skip = [(user, article) for user, article, _, _ in rows] + _owned(ids) + _pairs(ids, exclude)
        eligible = np.isin(model.item_ids, list(_published_ids()))
        return ranking.rank(model, matrix, pair_matrix(ids, model.index, skip), eligible, k)


def _pairs(ids: list[int], exclude: Mapping[int, Collection[int]]) -> Iterable[tuple[int, int]]:
    return [(user, article) for user in ids for article in exclude.get(user, ())]


_by_database: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_guard = threading.Lock()


def recommendations() -> Recommendations:
    """The recommendations of the database the models are bound to."""
    with _guard:
        return _by_database.setdefault(database_proxy.obj, Recommendations())
