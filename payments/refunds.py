"""Refunds an admin asked for with 退款: the call to WeChat Pay, and finding out how it ended.

The dialog only claims the refund (store/shop.py stores its out_refund_no) and queues a `refund` task
(dialogs/admin_shop.py);
this runs it right after the message, outside the handler. WeChat Pay refunds once per out_refund_no, so
a retried task asks for the same refund. The order is settled REFUNDED (access revoked, the follower
told) by `settle_refund` when the refund notification comes, or when an answer or a refund query says
SUCCESS; a refused or closed refund frees the order for another try and tells the admin.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any, Callable

from dialogs import admin_strings
from gateways.pay_results import OrderNotFound, PayError
from payments.fulfil import settle_refund
from store import outbox, shop
from store.models import Order, Outbox, utcnow

log = logging.getLogger(__name__)

FAILED_STATES = ("CLOSED", "ABNORMAL")


@dataclass
class Refunds:
    database: Any
    pay: Any  # gateways.pay.PayGateway
    kick: Callable[[int], None] | None = None

    def run(self, row: Outbox) -> None:
        """The `refund` outbox task ({order, refund_no, reason}). PayUnavailable propagates: the outbox retries the same refund."""
        payload = json.loads(row.payload)
        order = shop.order_by_number(payload["order"])
        if order is None or order.state != Order.PAID or order.refund_no != payload["refund_no"]:
            return  # settled or given up meanwhile
        try:
            refund = self.pay.refund(order.out_trade_no, order.refund_no, order.amount, order.amount,
                                     payload.get("reason", ""))
        except PayError as refused:
            self._failed(order, row.user_id, refused.message or refused.code)
            return
        log.info("refund requested", extra={"order": order.out_trade_no, "status": refund.status})
        self._follow(order, refund.status, row.user_id)

    def check_pending(self) -> int:
        """The clock's sweep: query every refund still open (a notification may never come)."""
        pending = shop.refunds_pending()
        for order in pending:
            try:
                refund = self.pay.query_refund(order.refund_no)
            except OrderNotFound:
                continue  # the request has not reached WeChat Pay yet: its task is still queued
            self._follow(order, refund.status, None)
        return len(pending)

    def _follow(self, order: Order, status: str, admin_id: int | None) -> None:
        if status == "SUCCESS":
            settled = settle_refund(self.database, order.out_trade_no, order.refund_no, utcnow())
            if settled is not None and self.kick is not None:
                self.kick(settled.user_id)
        elif status in FAILED_STATES:
            self._failed(order, admin_id, status)

    def _failed(self, order: Order, admin_id: int | None, reason: str) -> None:
        log.warning("refund not made", extra={"order": order.out_trade_no, "reason": reason})
        shop.clear_refund(order)
        if admin_id is not None:
            outbox.enqueue(admin_id, [("text", {"content": admin_strings.REFUND_FAILED.format(order=order.out_trade_no,
                                                                                   reason=reason)})])
