"""The search index of the bound database's catalog, rebuilt when the catalog changes (no restart)."""

from __future__ import annotations

import threading
import weakref

from search.index import Doc, Hit, SearchIndex
from store import catalog
from store.models import database_proxy


class CatalogSearch:
    def __init__(self) -> None:
        self._index: SearchIndex | None = None
        self._version: tuple | None = None
        self._rebuild = threading.Lock()

    def search(self, query: str, limit: int = 5, offset: int = 0) -> list[Hit]:
        return self._current().search(query, limit=limit, offset=offset)

    def _current(self) -> SearchIndex:
        """One cheap version query per search; a rebuild happens in one thread while others wait."""
        version = catalog.catalog_version()
        if version != self._version or self._index is None:
            with self._rebuild:
                if version != self._version or self._index is None:
                    docs = [Doc(*row) for row in catalog.published_for_search()]
                    self._index, self._version = SearchIndex.build(docs), version
        return self._index


_by_database: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_guard = threading.Lock()


def catalog_search() -> CatalogSearch:
    """The index of the database the models are bound to."""
    database = database_proxy.obj
    with _guard:
        if database not in _by_database:
            _by_database[database] = CatalogSearch()
        return _by_database[database]
