"""`POST /pay/notify`: WeChat Pay's notifications, verified, checked and settled in one transaction.

Raw body -> SIGNTEST probes and bad signatures refused -> timestamp window -> decrypt (all in the
gateway) -> the resource checked against our order -> one transaction -> 204. Anything failing before
the commit answers non-2xx, so WeChat Pay retries on its schedule; a repeat after the commit is a no-op.
"""

from __future__ import annotations

import logging
from typing import Any, Mapping

from gateways.pay import BadNotification
from payments.fulfil import Mismatch, Paid, settle_paid, settle_refund
from store.models import Order, utcnow
from web.http import HttpResponse

log = logging.getLogger(__name__)


def _fail(status: int, message: str) -> HttpResponse:
    """WeChat Pay's failure answer; any non-2xx makes it retry."""
    return HttpResponse.json(status, {"code": "FAIL", "message": message})


class NotifyEndpoint:
    def __init__(self, database: Any, pay: Any, links: Any, mchid: str, appid: str, kick: Any = None) -> None:
        self.database, self.pay, self.links = database, pay, links
        self.mchid, self.appid = mchid, appid
        self.kick = kick  # wakes the outbox worker for the buyer, so the unlock goes out at once

    def receive(self, headers: Mapping[str, str], body: bytes) -> HttpResponse:
        try:
            note = self.pay.parse_notification(headers, body)
        except BadNotification as exc:
            log.warning("pay notification refused", extra={"reason": str(exc)})
            return _fail(401, str(exc))
        try:
            order = self._settle(note.event_type, note.resource)
        except Mismatch as exc:
            log.error("verified pay notification does not match our order", extra={"problem": str(exc)})
            return _fail(400, str(exc))
        except Exception:
            log.exception("settling a pay notification failed; WeChat Pay will retry")
            return _fail(500, "internal error")
        if order is not None and self.kick is not None:
            self.kick(order.user_id)
        return HttpResponse(204)

    def _settle(self, event_type: str, resource: Mapping[str, Any]) -> Order | None:
        if event_type == "TRANSACTION.SUCCESS":
            if resource.get("trade_state") != "SUCCESS":
                raise Mismatch(f"trade_state {resource.get('trade_state')!r} in a SUCCESS notification")
            amount = resource.get("amount") or {}
            paid = Paid(
                out_trade_no=str(resource.get("out_trade_no", "")),
                transaction_id=str(resource.get("transaction_id", "")),
                amount=int(amount.get("total", -1)), currency=str(amount.get("currency", "")),
                payer_openid=str((resource.get("payer") or {}).get("openid", "")),
                mchid=str(resource.get("mchid", "")), appid=str(resource.get("appid", "")),
            )
            return settle_paid(self.database, paid, self.links, self.mchid, self.appid, utcnow())
        if event_type == "REFUND.SUCCESS":
            if resource.get("mchid") != self.mchid:
                raise Mismatch("mchid differs in a refund notification")
            return settle_refund(self.database, str(resource.get("out_trade_no", "")),
                                 str(resource.get("out_refund_no", "")), utcnow())
        log.info("pay notification ignored", extra={"event_type": event_type})
        return None
