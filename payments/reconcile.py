"""When no notification comes: ask WeChat Pay, settle what it says, close what was never paid.

Run by the clock (`reconcile_due`), by 「我付了没解锁」 (`check_user`, through the outbox worker) and by
the pay page's poll (`reconcile_order`). A late SUCCESS or `ORDERPAID` on close always ends PAID.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any, Callable

from gateways.pay_results import OrderAlreadyPaid, OrderNotFound
from payments.fulfil import Mismatch, Paid, settle_closed, settle_paid, settle_refund
from store import orders
from store.models import Order, User, utcnow
from web.links import Links

log = logging.getLogger(__name__)

CLOSED_STATES = ("CLOSED", "REVOKED", "PAYERROR")


@dataclass
class Reconciler:
    database: Any
    pay: Any  # gateways.pay.PayGateway
    links: Links
    mchid: str
    appid: str
    now: Callable[[], dt.datetime] = utcnow
    kick: Callable[[int], None] | None = None  # wakes the outbox worker for a buyer just unlocked

    def reconcile_order(self, order: Order) -> str:
        """Query one open order and act on the answer; returns the order's state afterwards."""
        now = self.now()
        try:
            trade = self.pay.query(order.out_trade_no)
        except OrderNotFound:  # never reached WeChat Pay (the pay page was not opened): nothing to settle
            trade = None
        if trade is not None and trade.trade_state in ("SUCCESS", "REFUND"):
            self._settle(order.out_trade_no, trade)
        elif trade is not None and trade.trade_state in CLOSED_STATES:
            settle_closed(self.database, order, now)
        elif orders.closable(order, now):
            self._close(order, now)
        else:
            orders.schedule_next_query(order, now)
        return orders.find(order.out_trade_no).state

    def reconcile_due(self) -> int:
        due = orders.due_for_query(self.now())
        for order in due:
            try:
                self.reconcile_order(order)
            except Exception:
                log.exception("reconciling an order failed; it is tried again later",
                              extra={"order": order.out_trade_no})
                orders.schedule_next_query(order, self.now())
        return len(due)

    def check_user(self, user: User) -> None:
        """「我付了没解锁」: every open order of the user, now."""
        for order in orders.open_orders_of(user):
            self.reconcile_order(order)

    def _close(self, order: Order, now: dt.datetime) -> None:
        try:
            self.pay.close(order.out_trade_no)
        except OrderAlreadyPaid:  # paid while we decided to close: the payment wins
            self._settle(order.out_trade_no, self.pay.query(order.out_trade_no))
            return
        except OrderNotFound:
            pass  # never created at WeChat Pay: closing ours is all there is to do
        settle_closed(self.database, order, now)

    def _settle(self, out_trade_no: str, trade: Any) -> None:
        paid = Paid(out_trade_no, trade.transaction_id, trade.amount_total, trade.currency,
                    trade.payer_openid, trade.mchid, trade.appid)
        try:
            settled = settle_paid(self.database, paid, self.links, self.mchid, self.appid, self.now())
        except Mismatch:
            log.error("order query disagrees with our order; not unlocked", extra={"order": out_trade_no})
            raise
        if trade.trade_state == "REFUND":
            settled = settle_refund(self.database, out_trade_no, "", self.now()) or settled
        if settled is not None and self.kick is not None:
            self.kick(settled.user_id)
