"""Reading the arguments of admin commands. A bad one raises `BadArgument` with the line to show:
what is wrong, then the right form (the command's usage line)."""

from __future__ import annotations

import datetime as dt
import re

from catalog.text import yuan_to_fen
from dialogs import admin_strings as s
from store import catalog, queries
from store.models import Article, Series, User

MAX_PRICE = 100_000_00  # fen: a price above 10 万元 is a typo


class BadArgument(ValueError):
    """The reply for a malformed command: `str(exc)` is the problem and the usage."""


def arguments(text: str) -> list[str]:
    """The words after the command word."""
    return text.split()[1:]


def need(args: list[str], count: int, usage: str) -> None:
    if len(args) < count:
        raise BadArgument(f"{s.MISSING_ARGUMENT}\n{usage}")


def price(text: str, usage: str) -> int:
    """A price in yuan ("9.9", "9.9元", "0" = free) as fen."""
    try:
        fen = yuan_to_fen(text.removesuffix("元"))
    except ValueError:
        raise BadArgument(f"{s.BAD_PRICE.format(value=text)}\n{usage}") from None
    if fen > MAX_PRICE:
        raise BadArgument(f"{s.PRICE_TOO_HIGH}\n{usage}")
    return fen


def article(ref: str, usage: str) -> Article:
    """An article by its number or its slug."""
    found = catalog.article(int(ref)) if ref.isdigit() else Article.get_or_none(Article.slug == ref)
    if found is None:
        raise BadArgument(f"{s.NO_ARTICLE.format(ref=ref)}\n{usage}")
    return found


def series(slug: str, usage: str) -> Series:
    found = Series.get_or_none(Series.slug == slug)
    if found is None:
        raise BadArgument(f"{s.NO_SERIES.format(ref=slug)}\n{usage}")
    return found


def article_or_series(ref: str, usage: str) -> tuple[Article | None, Series | None]:
    """An article by number, else a series by slug, else an article by slug."""
    if ref.isdigit():
        return article(ref, usage), None
    found = Series.get_or_none(Series.slug == ref)
    if found is not None:
        return None, found
    return article(ref, usage), None


def date(text: str, usage: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise BadArgument(f"{s.BAD_DATE.format(value=text)}\n{usage}") from None


def count(text: str, usage: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise BadArgument(f"{s.BAD_COUNT.format(value=text)}\n{usage}")
    return int(text)


OPENID = re.compile(r"[0-9A-Za-z_\-]{6,64}")


def openid(text: str, usage: str) -> str:
    if not OPENID.fullmatch(text):
        raise BadArgument(f"{s.BAD_OPENID.format(value=text)}\n{usage}")
    return text


def follower(text: str, usage: str) -> User:
    """A follower the bot knows, by openid."""
    user = queries.find_user(openid(text, usage))
    if user is None:
        raise BadArgument(f"{s.NO_USER.format(openid=text)}\n{usage}")
    return user
