"""One transaction per settlement: the order's transition, the purchase, and the message to the user.

Whoever settles (a notification, the query job, 「我付了没解锁」, the pay page's poll) calls these; the
conditional updates in store/orders.py make sure exactly one of them writes the purchase and the unlock.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any

from dialogs.purchase import refund_messages, unlock_messages
from dialogs.reading import outbox_payload
from store import coupons, orders, outbox, queries
from store.db import transaction
from store.models import Order
from web.links import Links

log = logging.getLogger(__name__)


class Mismatch(ValueError):
    """A verified payment that does not match our order: nothing is unlocked, and it is logged loudly."""


@dataclass(frozen=True)
class Paid:
    """What WeChat Pay says was paid (from a notification's resource or an order query)."""

    out_trade_no: str
    transaction_id: str
    amount: int
    currency: str
    payer_openid: str
    mchid: str
    appid: str


def check(order: Order | None, paid: Paid, mchid: str, appid: str) -> Order:
    if order is None:
        raise Mismatch(f"unknown order {paid.out_trade_no}")
    problems = [name for name, ours, theirs in (
        ("mchid", mchid, paid.mchid), ("appid", appid, paid.appid), ("amount", order.amount, paid.amount),
        ("currency", "CNY", paid.currency), ("payer", order.user.openid, paid.payer_openid),
    ) if ours != theirs]
    if problems:
        raise Mismatch(f"order {order.out_trade_no}: {', '.join(problems)} differ")
    return order


def settle_paid(database: Any, paid: Paid, links: Links, mchid: str, appid: str, now: dt.datetime) -> Order | None:
    """Fulfil once; the order if this call did it, None when it was settled before."""
    known = check(orders.find(paid.out_trade_no), paid, mchid, appid)
    if known.state in (Order.PAID, Order.REFUNDED):
        return None  # a repeat: answered without taking the write lock
    with transaction(database):
        order = check(orders.find(paid.out_trade_no), paid, mchid, appid)
        if not orders.mark_paid(order, paid.transaction_id, now):
            return None
        order.state, order.transaction_id, order.paid_at = Order.PAID, paid.transaction_id, now
        coupons.consume(order)
        queries.record_event(order.user, queries.PURCHASE, article_id=order.article_id,
                             order=order.out_trade_no, amount=order.amount)
        unlock = [outbox_payload(reply) for reply in unlock_messages(order, links)]
        outbox.enqueue(order.user, [(kind, {**payload, "unlock": order.out_trade_no}) for kind, payload in unlock])
    log.info("order paid", extra={"order": paid.out_trade_no, "amount": paid.amount})
    return order


def settle_refund(database: Any, out_trade_no: str, refund_no: str, now: dt.datetime) -> Order | None:
    """REFUNDED once, access revoked, the user told; None when it was settled before."""
    with transaction(database):
        order = orders.find(out_trade_no)
        if order is None:
            raise Mismatch(f"refund for unknown order {out_trade_no}")
        was_paid = order.state == Order.PAID
        if not orders.mark_refunded(order, refund_no, now):
            return None
        if was_paid:
            outbox.enqueue(order.user, [outbox_payload(reply) for reply in refund_messages(order)])
    log.info("order refunded", extra={"order": out_trade_no, "refund": refund_no})
    return order


def settle_closed(database: Any, order: Order, now: dt.datetime) -> bool:
    """CREATED -> CLOSED once; a coupon the order held goes back."""
    with transaction(database):
        closed = orders.mark_closed(order, now)
        if closed:
            coupons.release(order)
        return closed
