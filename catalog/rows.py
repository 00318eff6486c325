"""Validation of one imported row: raw fields in, a clean `ArticleRow`/`SeriesRow` out, or `RowProblem`.

The rules do not need the database; whether a named series exists is the importer's question.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from catalog.text import stable_slug, yuan_to_fen
from store.models import Article

ARTICLE_FIELDS = frozenset({"title", "body", "price", "summary", "tags", "series", "slug", "status"})
SERIES_FIELDS = frozenset({"slug", "title", "price", "summary"})
STATUSES = (Article.DRAFT, Article.PUBLISHED, Article.UNLISTED)

MAX_TITLE = 200  # the column's length
MAX_PRICE_FEN = 100_000_00  # 100,000 yuan: far above any real price, far below the column's range
# Lower-case letters, digits, '-' and '_', at most 80 characters (the column's length): safe in URLs.
_SLUG = re.compile(r"[a-z0-9][a-z0-9_-]{0,79}")
# A tags string: a JSON list, or names separated by '|' or ','.
_TAG_SEPARATORS = re.compile(r"[|,]")


class RowProblem(ValueError):
    """A row that cannot be loaded; the message is the reason shown to the creator."""


@dataclass(frozen=True)
class ArticleRow:
    slug: str
    title: str
    body: str
    summary: str
    price: int  # fen
    tags: tuple[str, ...]
    series: str | None  # the series' slug
    status: str | None  # None: the row did not say (published when created, unchanged when updated)


@dataclass(frozen=True)
class SeriesRow:
    slug: str
    title: str
    summary: str
    price: int  # fen


def article_row(fields: dict[str, Any]) -> ArticleRow:
    """Check and normalise the fields of one article row."""
    _no_unknown(fields, ARTICLE_FIELDS)
    title = _title(fields)
    body = _text(fields, "body").strip()
    if not body:
        raise RowProblem("missing body")
    series = _text(fields, "series").strip()
    return ArticleRow(
        slug=_slug(fields, default=stable_slug(title)),
        title=title,
        body=body,
        summary=_text(fields, "summary").strip(),
        price=_price(fields),
        tags=_tags(fields.get("tags")),
        series=series or None,
        status=_status(fields),
    )


def series_row(fields: dict[str, Any]) -> SeriesRow:
    """Check and normalise one series definition; its slug is required (articles refer to it)."""
    _no_unknown(fields, SERIES_FIELDS)
    title = _title(fields)
    return SeriesRow(slug=_slug(fields, default=None), title=title,
                     summary=_text(fields, "summary").strip(), price=_price(fields))


def _no_unknown(fields: dict[str, Any], known: frozenset[str]) -> None:
    """Reject unknown fields: a misspelt 'prcie' must not silently make an article free."""
    unknown = sorted(str(name) for name in fields if name not in known)
    if unknown:
        raise RowProblem(f"unknown field {', '.join(map(repr, unknown))} (known: {', '.join(sorted(known))})")


def _text(fields: dict[str, Any], name: str) -> str:
    """The field as text; absent or null is ''."""
    value = fields.get(name)
    if value is None:
        return ""
    return _checked_text(value, name)


def _checked_text(value: Any, name: str) -> str:
    if not isinstance(value, str):
        raise RowProblem(f"{name} must be text, got {type(value).__name__} {value!r}")
    if "\x00" in value:
        raise RowProblem(f"{name} contains a NUL character")
    try:
        value.encode()
    except UnicodeEncodeError:
        raise RowProblem(f"{name} is not valid Unicode (lone surrogate)") from None
    return value


def _title(fields: dict[str, Any]) -> str:
    title = _text(fields, "title").strip()
    if not title:
        raise RowProblem("missing title")
    if len(title) > MAX_TITLE:
        raise RowProblem(f"title too long ({len(title)} characters, at most {MAX_TITLE})")
    if "\n" in title:
        raise RowProblem("title has a line break")
    return title


def _slug(fields: dict[str, Any], default: str | None) -> str:
    slug = _text(fields, "slug").strip()
    if not slug:
        if default is None:
            raise RowProblem("missing slug")
        return default
    if not _SLUG.fullmatch(slug):
        raise RowProblem(f"bad slug {slug!r}: use 1-80 lower-case letters, digits, '-' or '_'")
    return slug


def _price(fields: dict[str, Any]) -> int:
    try:
        fen = yuan_to_fen(fields.get("price"))
    except ValueError as exc:
        raise RowProblem(str(exc)) from None
    if fen > MAX_PRICE_FEN:
        raise RowProblem(f"bad price {fields['price']!r}: above {MAX_PRICE_FEN // 100} yuan")
    return fen


def _tags(value: Any) -> tuple[str, ...]:
    """A list of names, or a string: a JSON list, or names separated by '|' or ','.

    Names are stripped; empty ones and repeats are dropped, order kept.
    """
    if value is None:
        return ()
    if isinstance(value, str):
        value = _tags_from_string(value)
    if not isinstance(value, list):
        raise RowProblem(f"tags must be a list or a '|'-separated string, got {value!r}")
    names = (_checked_text(item, "tags").strip() for item in value)
    return tuple(dict.fromkeys(name for name in names if name))


def _tags_from_string(value: str) -> list:
    if value.lstrip().startswith("["):
        try:
            return json.loads(value)
        except json.JSONDecodeError as exc:
            raise RowProblem(f"tags look like a JSON list but are not one: {exc.msg}") from None
    return _TAG_SEPARATORS.split(value)


def _status(fields: dict[str, Any]) -> str | None:
    status = _text(fields, "status").strip().lower()
    if not status:
        return None
    if status not in STATUSES:
        raise RowProblem(f"bad status {status!r} (one of: {', '.join(STATUSES)})")
    return status
