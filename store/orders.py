"""Orders and purchases: every state change is a conditional update, so duplicates settle to one result.

Callers run these inside one transaction (payments/fulfil.py): the order's transition, the purchase
row and the outbox rows of the unlock message commit together or not at all.
"""

from __future__ import annotations

import datetime as dt
import secrets

from store.models import Article, Order, Purchase, Series, User

FIRST_QUERY_AFTER = 60  # seconds: an order nobody told us about is queried this soon
QUERY_DELAYS = (5, 30, 60, 180, 300, 600, 1800)  # then these gaps; then every 30 minutes
MIN_CLOSE_AGE = 300  # WeChat Pay lets an order be closed 5 minutes after it was created


def new_out_trade_no(now: dt.datetime) -> str:
    return f"KB{now:%Y%m%d%H%M%S}{secrets.token_hex(6).upper()}"  # 28 characters, unguessable tail


def find(out_trade_no: str) -> Order | None:
    """The order with its buyer (one query)."""
    return (Order.select(Order, User).join(User).where(Order.out_trade_no == out_trade_no).first())


def open_order(user: User, article: Article | None, series: Series | None, now: dt.datetime) -> Order | None:
    """The user's unexpired unpaid order for this item, to be reused instead of creating another."""
    return (Order.select().where((Order.user == user) & (Order.article == article) & (Order.series == series)
                                 & (Order.state == Order.CREATED) & (Order.expires_at > now))
            .order_by(Order.id.desc()).first())


def create(user: User, article: Article | None, series: Series | None, amount: int, description: str,
           timeout: int, now: dt.datetime) -> Order:
    return Order.create(
        out_trade_no=new_out_trade_no(now), user=user, article=article, series=series, amount=amount,
        description=description[:127], created_at=now, expires_at=now + dt.timedelta(seconds=timeout),
        next_query_at=now + dt.timedelta(seconds=FIRST_QUERY_AFTER),
    )


def set_prepay(order: Order, prepay_id: str) -> None:
    Order.update(prepay_id=prepay_id).where(Order.id == order.id).execute()


def owns_article(user: User, article: Article) -> bool:
    """Bought the article itself, or the series it belongs to (also articles added to it later)."""
    condition = Purchase.article == article
    if article.series_id is not None:
        condition |= Purchase.series == article.series_id
    return Purchase.select().where((Purchase.user == user) & condition).exists()


def owns_series(user: User, series: Series) -> bool:
    return Purchase.select().where((Purchase.user == user) & (Purchase.series == series)).exists()


def mark_paid(order: Order, transaction_id: str, now: dt.datetime) -> bool:
    """CREATED or CLOSED -> PAID (a late SUCCESS beats a timeout close). True only for the one caller
    that made the change; that caller then writes the purchase and the unlock."""
    changed = (Order.update(state=Order.PAID, transaction_id=transaction_id, paid_at=now, next_query_at=None)
               .where((Order.id == order.id) & Order.state.in_([Order.CREATED, Order.CLOSED])).execute())
    if changed:  # owned already through another order: the payment stands, the insert is ignored
        Purchase.insert(user=order.user_id, article=order.article_id, series=order.series_id, order=order.id,
                        created_at=now).on_conflict_ignore().execute()
    return bool(changed)


def mark_refunded(order: Order, refund_no: str, now: dt.datetime) -> bool:
    """Any state but REFUNDED -> REFUNDED, access revoked. True for the one caller that changed it."""
    changed = (Order.update(state=Order.REFUNDED, refund_no=refund_no, refunded_at=now, next_query_at=None)
               .where((Order.id == order.id) & (Order.state != Order.REFUNDED)).execute())
    if changed:
        Purchase.delete().where(Purchase.order == order.id).execute()
    return bool(changed)


def mark_closed(order: Order, now: dt.datetime) -> bool:
    return bool(Order.update(state=Order.CLOSED, closed_at=now, next_query_at=None)
                .where((Order.id == order.id) & (Order.state == Order.CREATED)).execute())


def due_for_query(now: dt.datetime, limit: int = 200) -> list[Order]:
    return list(Order.select().where((Order.state == Order.CREATED) & (Order.next_query_at <= now))
                .order_by(Order.next_query_at).limit(limit))


def schedule_next_query(order: Order, now: dt.datetime) -> None:
    gap = QUERY_DELAYS[order.query_count] if order.query_count < len(QUERY_DELAYS) else QUERY_DELAYS[-1]
    (Order.update(query_count=Order.query_count + 1, next_query_at=now + dt.timedelta(seconds=gap))
     .where((Order.id == order.id) & (Order.state == Order.CREATED)).execute())


def closable(order: Order, now: dt.datetime) -> bool:
    return order.expires_at <= now and order.created_at + dt.timedelta(seconds=MIN_CLOSE_AGE) <= now


def open_orders_of(user: User) -> list[Order]:
    return list(Order.select().where((Order.user == user) & (Order.state == Order.CREATED)).order_by(Order.id))


def purchases_of(user: User) -> list[Purchase]:
    return list(Purchase.select().where(Purchase.user == user).order_by(Purchase.id.desc()))
