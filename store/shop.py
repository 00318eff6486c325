"""The writes admins make to the catalog and to orders: publish, edit, price, list/unlist, grant, refund.

Every change bumps `updated_at`, so the search index rebuilds on the next search (store/catalog_search.py).
"""

from __future__ import annotations

import datetime as dt
import json
import secrets

from store.models import Article, Order, Purchase, Series, User, utcnow


def publish(title: str, summary: str, body: str, price: int, series_id: int | None) -> Article:
    now = utcnow()
    slug = f"m-{now:%y%m%d}-{secrets.token_hex(3)}"  # made by message: no file to derive a slug from
    return Article.create(slug=slug, title=title, summary=summary, body=body, price=price, tags=json.dumps([]),
                          series=series_id, status=Article.PUBLISHED, created_at=now, updated_at=now)


def update_article(article_id: int, **fields) -> None:
    Article.update(**fields, updated_at=utcnow()).where(Article.id == article_id).execute()


def set_price(item: Article | Series, price: int) -> None:
    type(item).update(price=price, updated_at=utcnow()).where(type(item).id == item.id).execute()


def set_status(article_id: int, status: str) -> None:
    update_article(article_id, status=status)


def order_by_number(out_trade_no: str) -> Order | None:
    return Order.select(Order, User).join(User).where(Order.out_trade_no == out_trade_no).first()


def grant(user: User, article: Article | None, series: Series | None, now: dt.datetime) -> Order | None:
    """Complimentary access: a paid order of 0 fen and its purchase. None when the user owns it already."""
    title = (article or series).title
    order = Order.create(out_trade_no=f"GF{now:%Y%m%d%H%M%S}{secrets.token_hex(6).upper()}", user=user,
                         article=article, series=series, description=f"赠送：{title}"[:127], amount=0,
                         state=Order.PAID, created_at=now, expires_at=now, paid_at=now)
    inserted = Purchase.insert(user=user, article=article, series=series, order=order,
                               created_at=now).on_conflict_ignore().execute()
    if not inserted:
        Order.delete().where(Order.id == order.id).execute()
        return None
    return order


def request_refund(order: Order) -> str | None:
    """Claim the refund of a paid order: its out_refund_no, or None when one was requested already.
    The number is stored before WeChat Pay is called, so every retry asks for the same refund."""
    refund_no = f"RF{order.out_trade_no}{secrets.token_hex(2).upper()}"
    claimed = (Order.update(refund_no=refund_no)
               .where((Order.id == order.id) & (Order.state == Order.PAID) & Order.refund_no.is_null()
                      & (Order.amount > 0)).execute())
    return refund_no if claimed else None


def clear_refund(order: Order) -> None:
    """WeChat Pay refused or closed the refund: the order may be refunded again later."""
    Order.update(refund_no=None).where((Order.id == order.id) & (Order.state == Order.PAID)).execute()


def refunds_pending() -> list[Order]:
    """Paid orders whose refund was asked for and has not come back SUCCESS yet."""
    return list(Order.select(Order, User).join(User)
                .where((Order.state == Order.PAID) & Order.refund_no.is_null(False)))
