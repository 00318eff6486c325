"""The creator's numbers over a window: sales, refunds, complimentary grants, the funnel, top articles.

Sales are paid orders with an amount; a grant (赠送) is a paid order of 0 fen and is counted apart.
Days are Asia/Shanghai days; every timestamp in the tables is naive UTC.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from store.models import Article, Event, Order, Series, User, utcnow

CST = dt.timedelta(hours=8)
WINDOWS = {"今天": 1, "today": 1, "7天": 7, "7d": 7, "30天": 30, "30d": 30}


@dataclass(frozen=True)
class Window:
    label: str
    since: dt.datetime  # naive UTC
    until: dt.datetime
    days: list[dt.date]  # local dates, oldest first


@dataclass
class Stats:
    window: Window
    revenue: int = 0  # fen, orders paid in the window
    paid_orders: int = 0
    paying_followers: int = 0
    refunds: int = 0
    refunded: int = 0  # fen
    grants: int = 0
    new_followers: int = 0
    funnel: list[tuple[str, int]] = field(default_factory=list)  # (stage, count), search -> paid
    top: list[tuple[str, int, int]] = field(default_factory=list)  # (title, revenue fen, orders)
    per_day: list[tuple[dt.date, int]] = field(default_factory=list)  # (local date, revenue fen)


def window(days: int, now: dt.datetime | None = None) -> Window:
    """The last `days` local days, today included."""
    label = "今天" if days == 1 else f"近{days}天"
    local_today = ((now or utcnow()) + CST).date()
    first = local_today - dt.timedelta(days=days - 1)
    since = dt.datetime.combine(first, dt.time()) - CST
    return Window(label, since, (now or utcnow()), [first + dt.timedelta(days=n) for n in range(days)])


def compute(win: Window) -> Stats:
    stats = Stats(win)
    paid = _paid_in(win)
    sales = [row for row in paid if row.amount > 0]
    stats.revenue = sum(row.amount for row in sales)
    stats.paid_orders = len(sales)
    stats.paying_followers = len({row.user_id for row in sales})
    stats.grants = len(paid) - len(sales)
    refunded = list(Order.select(Order.amount).where(_between(Order.refunded_at, win) & (Order.amount > 0)))
    stats.refunds, stats.refunded = len(refunded), sum(row.amount for row in refunded)
    stats.new_followers = User.select().where(_between(User.subscribed_at, win) & (User.subscribed == True)).count()  # noqa: E712
    stats.funnel = _funnel(win, len(sales))
    stats.top = _top(sales)
    stats.per_day = _per_day(win, sales)
    return stats


def _between(column, win: Window):
    return (column >= win.since) & (column <= win.until)


def _paid_in(win: Window) -> list[Order]:
    return list(Order.select(Order.id, Order.user, Order.amount, Order.paid_at, Order.article, Order.series,
                             Order.description).where(_between(Order.paid_at, win)))


def _funnel(win: Window, paid: int) -> list[tuple[str, int]]:
    def events(kind: str) -> int:
        return Event.select().where((Event.kind == kind) & _between(Event.created_at, win)).count()

    orders = Order.select().where(_between(Order.created_at, win) & (Order.amount > 0)).count()
    return [("搜索", events("search")), ("试读", events("view")), ("下单", orders), ("支付", paid)]


def _top(sales: list[Order], limit: int = 5) -> list[tuple[str, int, int]]:
    totals: dict[tuple[str, int | None], list[int]] = {}
    for row in sales:
        key = ("article", row.article_id) if row.article_id else ("series", row.series_id)
        entry = totals.setdefault(key, [0, 0])
        entry[0] += row.amount
        entry[1] += 1
    titles = _titles([k[1] for k in totals if k[0] == "article"], [k[1] for k in totals if k[0] == "series"])
    ranked = sorted(totals.items(), key=lambda item: (-item[1][0], -item[1][1]))[:limit]
    return [(titles.get(key, "（已删除）"), fen, count) for key, (fen, count) in ranked]


def _titles(article_ids: list, series_ids: list) -> dict[tuple[str, int], str]:
    found = {("article", a.id): a.title for a in Article.select(Article.id, Article.title)
             .where(Article.id.in_([i for i in article_ids if i]))}
    found.update({("series", s.id): f"专栏：{s.title}" for s in Series.select(Series.id, Series.title)
                  .where(Series.id.in_([i for i in series_ids if i]))})
    return found


def _per_day(win: Window, sales: list[Order]) -> list[tuple[dt.date, int]]:
    totals = dict.fromkeys(win.days, 0)
    for row in sales:
        day = (row.paid_at + CST).date()
        if day in totals:
            totals[day] += row.amount
    return list(totals.items())


def recent_orders(limit: int = 20, refunds_only: bool = False) -> list[Order]:
    query = Order.select(Order, User).join(User)
    if refunds_only:
        query = query.where(Order.refunded_at.is_null(False)).order_by(Order.refunded_at.desc())
    else:
        query = query.order_by(Order.id.desc())
    return list(query.limit(limit))


def all_orders() -> list[Order]:
    """Every order with its buyer, oldest first (the CSV download)."""
    return list(Order.select(Order, User).join(User).order_by(Order.id))

