"""Catalogue search: pure computation, no database, no network."""

from search import core, pinyin
from search.index import Doc, Hit, SearchIndex
from search.normalize import normalize

__all__ = ["Doc", "Hit", "SearchIndex", "normalize", "prepare"]


def prepare() -> None:
    """Load jieba's dictionary and pypinyin's syllables (about two seconds, once per process), so the
    first search does not pay for them within WeChat's five seconds."""
    core.prepare()
    pinyin.prepare()
