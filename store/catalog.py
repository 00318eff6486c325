"""Named queries over the catalog: what search indexes and what the dialogs show."""

from __future__ import annotations

import json

from peewee import JOIN, fn

from store.models import Article, Event, Series


def published_for_search() -> list[tuple[int, str, str, tuple[str, ...]]]:
    """(id, title, summary, tags) of every published article."""
    rows = (Article.select(Article.id, Article.title, Article.summary, Article.tags)
            .where(Article.status == Article.PUBLISHED).tuples())
    return [(id_, title, summary, tuple(json.loads(tags or "[]"))) for id_, title, summary, tags in rows]


def catalog_version() -> tuple:
    """Changes whenever an article is added, edited, removed or changes status."""
    return (Article.select(fn.COUNT(Article.id), fn.MAX(Article.updated_at), fn.SUM(Article.id))
            .where(Article.status == Article.PUBLISHED).tuples().get())


def articles_by_ids(ids: list[int]) -> dict[int, Article]:
    return {a.id: a for a in Article.select().where(Article.id.in_(ids))} if ids else {}


def popular_articles(limit: int) -> list[Article]:
    """Most viewed published articles, newest first among equals."""
    views = fn.COUNT(Event.id)
    return list(Article.select(Article, views.alias("views"))
                .join(Event, on=(Event.article_id == Article.id) & (Event.kind == "view"), join_type=JOIN.LEFT_OUTER)
                .where(Article.status == Article.PUBLISHED)
                .group_by(Article.id).order_by(views.desc(), Article.created_at.desc(), Article.id.desc())
                .limit(limit))


def newest_articles(limit: int) -> list[Article]:
    return list(Article.select().where(Article.status == Article.PUBLISHED)
                .order_by(Article.created_at.desc(), Article.id.desc()).limit(limit))


def articles_touched(user, kind: str, limit: int) -> list[Article]:
    """The user's articles by behaviour ("view", "like"...), most recent first, each once."""
    latest = fn.MAX(Event.id)
    rows = (Event.select(Event.article_id, latest.alias("latest"))
            .where((Event.user == user) & (Event.kind == kind) & Event.article_id.is_null(False))
            .group_by(Event.article_id).order_by(latest.desc()).limit(limit).tuples())
    ids = [article_id for article_id, _ in rows]
    found = articles_by_ids(ids)
    return [found[i] for i in ids if i in found and found[i].status == Article.PUBLISHED]


def article(article_id: int) -> Article | None:
    return Article.get_or_none(Article.id == article_id)


def series(series_id: int) -> Series | None:
    return Series.get_or_none(Series.id == series_id)


def series_articles(series: Series) -> list[Article]:
    return list(Article.select().where((Article.series == series) & (Article.status == Article.PUBLISHED))
                .order_by(Article.created_at, Article.id))
