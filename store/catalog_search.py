"""The search index of the bound database's catalog and synonyms, rebuilt when either changes (no restart)."""

from __future__ import annotations

import json
import threading
import weakref
from collections import Counter

from catalog.text import full_text, to_chat
from search.index import Doc, Hit, SearchIndex
from store import catalog
from search.suggest import closest_names
from store.models import Article, Series, database_proxy
from store.synonyms import synonym_groups, synonyms_version


class CatalogSearch:
    def __init__(self) -> None:
        self._index: SearchIndex | None = None
        self._names: list[str] = []  # tags (most used first), then series titles
        self._version: tuple | None = None
        self._rebuild = threading.Lock()

    def search(self, query: str, limit: int = 5, offset: int = 0) -> list[Hit]:
        return self._current().search(query, limit=limit, offset=offset)

    def suggest(self, query: str, limit: int = 3) -> list[str]:
        """Tags and series titles closest to `query`, for a search that found nothing."""
        self._current()
        return closest_names(query, self._names, limit)

    def _current(self) -> SearchIndex:
        """Cheap version queries per search; a rebuild happens in one thread while others wait."""
        version = (catalog.catalog_version(), synonyms_version())
        if version != self._version or self._index is None:
            with self._rebuild:
                if version != self._version or self._index is None:
                    docs = _docs()
                    self._names = _names(docs)
                    self._index, self._version = SearchIndex.build(docs, synonym_groups()), version
        return self._index


def _docs() -> list[Doc]:
    """Every published article with its body as plain chat text (Markdown and the preview marker gone)."""
    rows = (Article.select(Article.id, Article.title, Article.summary, Article.tags, Article.body)
            .where(Article.status == Article.PUBLISHED).tuples())
    return [Doc(id_, title, summary, tuple(json.loads(tags or "[]")), to_chat(full_text(body)))
            for id_, title, summary, tags, body in rows]


def _names(docs: list[Doc]) -> list[str]:
    tags = Counter(tag for doc in docs for tag in doc.tags)
    series = [title for (title,) in Series.select(Series.title).order_by(Series.id).tuples()]
    return [tag for tag, _ in tags.most_common()] + [title for title in series if title not in tags]


_by_database: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_guard = threading.Lock()


def catalog_search() -> CatalogSearch:
    """The index of the database the models are bound to."""
    database = database_proxy.obj
    with _guard:
        if database not in _by_database:
            _by_database[database] = CatalogSearch()
        return _by_database[database]
