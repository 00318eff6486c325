"""`POST /pay/notify`: WeChat Pay's notifications, verified, checked and settled in one transaction.

Raw body -> SIGNTEST probes and bad signatures refused -> timestamp window -> decrypt (all in the
gateway) -> the resource checked against our order -> one transaction -> 204. Anything failing before
the commit answers non-2xx, so WeChat Pay retries on its schedule; a repeat after the commit is a no-op.
"""

from __future__ import annotations

import logging
from typing import Any, Mapping

from gateways.pay_results import BadNotification
from payments import resource as shape
from payments.fulfil import Mismatch, settle_paid, settle_refund
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
        except shape.Malformed as exc:
            log.error("verified pay notification of the wrong shape", extra={"problem": str(exc)})
            return _fail(400, str(exc))
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
            trade_state, paid = shape.paid(resource)
            if trade_state != "SUCCESS":
                raise Mismatch(f"trade_state {trade_state!r} in a SUCCESS notification")
            return settle_paid(self.database, paid, self.links, self.mchid, self.appid, utcnow())
        if event_type == "REFUND.SUCCESS":
            mchid, out_trade_no, out_refund_no = shape.refund(resource)
            if mchid != self.mchid:
                raise Mismatch("mchid differs in a refund notification")
            return settle_refund(self.database, out_trade_no, out_refund_no, utcnow())
        log.info("pay notification ignored", extra={"event_type": event_type})
        return None
