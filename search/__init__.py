"""Fuzzy title search for the catalogue: pure computation, no database, no network."""

from search.index import Doc, Hit, SearchIndex
from search.normalize import normalize

__all__ = ["Doc", "Hit", "SearchIndex", "normalize"]
