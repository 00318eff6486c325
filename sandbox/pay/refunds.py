"""Refunds: 申请退款 (PROCESSING, then SUCCESS after the refund delay with a REFUND.SUCCESS notification)
and 查询单笔退款."""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from typing import Any

from sandbox.clock import Clock
from sandbox.pay.errors import PayApiError, missing, param_error, required_str
from sandbox.pay.formats import numbers, rfc3339
from sandbox.pay.notifications import Notifier
from sandbox.pay.orders import Order
from sandbox.pay.schedulers import Scheduler

OUT_REFUND_NO = re.compile(r"[0-9A-Za-z_\-|*@]{1,64}")


@dataclass
class Refund:
    request: dict[str, Any]
    out_refund_no: str
    refund_id: str
    out_trade_no: str
    transaction_id: str
    refund: int
    total: int
    currency: str
    notify_url: str
    created_at: float
    status: str = "PROCESSING"  # -> SUCCESS
    success_time: float | None = None

    def as_dict(self) -> dict[str, Any]:
        """The refund as the refund APIs answer it."""
        data: dict[str, Any] = {
            "refund_id": self.refund_id, "out_refund_no": self.out_refund_no,
            "transaction_id": self.transaction_id, "out_trade_no": self.out_trade_no, "channel": "ORIGINAL",
            "user_received_account": "支付用户零钱", "create_time": rfc3339(self.created_at),
            "status": self.status, "funds_account": "AVAILABLE",
            "amount": {"total": self.total, "refund": self.refund, "payer_total": self.total,
                       "payer_refund": self.refund, "settlement_total": self.total,
                       "settlement_refund": self.refund, "discount_refund": 0, "currency": self.currency,
                       "refund_fee": 0},
            "promotion_detail": [],
        }
        if self.success_time is not None:
            data["success_time"] = rfc3339(self.success_time)
        return data

    def notification(self, mchid: str) -> dict[str, Any]:
        """The plaintext of the REFUND.* notification."""
        data: dict[str, Any] = {
            "mchid": mchid, "out_trade_no": self.out_trade_no, "transaction_id": self.transaction_id,
            "out_refund_no": self.out_refund_no, "refund_id": self.refund_id, "refund_status": self.status,
            "user_received_account": "支付用户零钱",
            "amount": {"total": self.total, "refund": self.refund, "payer_total": self.total,
                       "payer_refund": self.refund},
        }
        if self.success_time is not None:
            data["success_time"] = rfc3339(self.success_time)
        return data



class RefundDesk:
    """The refund half of `Merchant` (sandbox/pay/merchant.py), which owns the state named here."""

    mchid: str
    notify_url: str
    clock: Clock
    scheduler: Scheduler
    notifier: Notifier
    refund_delay: float
    orders: dict[str, Order]
    refunds: dict[str, Refund]
    _lock: threading.RLock

    def create_refund(self, data: dict[str, Any]) -> dict[str, Any]:
        """POST /v3/refund/domestic/refunds: PROCESSING now, SUCCESS (and REFUND.SUCCESS) after
        `refund_delay`. The same out_refund_no with the same body answers the same refund."""
        out_refund_no = required_str(data, "out_refund_no", "商户退款单号", 64)
        if not OUT_REFUND_NO.fullmatch(out_refund_no):
            raise param_error("商户退款单号out_refund_no格式错误")
        amount = data.get("amount")
        if not isinstance(amount, dict):
            raise missing("/body/amount", "金额信息")
        refund, total = amount.get("refund"), amount.get("total")
        for name, value in (("refund", refund), ("total", total)):
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise param_error(f"amount.{name}必须为大于0的整数（单位：分）")
        if amount.get("currency", "CNY") != "CNY":
            raise param_error("退款币种currency仅支持CNY")
        notify_url = data.get("notify_url") or self.notify_url
        with self._lock:
            existing = self.refunds.get(out_refund_no)
            if existing is not None:
                if existing.request != data:
                    raise PayApiError(400, "INVALID_REQUEST", "商户退款单号重复，请核实退款参数是否与原请求一致")
                return existing.as_dict()
            order = self._refundable(data)
            if total != order.total:
                raise PayApiError(400, "INVALID_REQUEST", "订单金额total与原订单金额不一致")
            if refund > order.total - order.refunded:
                raise PayApiError(400, "INVALID_REQUEST", "申请退款金额超过订单可退金额")
            assert order.transaction_id is not None
            now = self.clock.now()
            record = Refund(dict(data), out_refund_no, numbers("50", 27), order.out_trade_no,
                            order.transaction_id, refund, total, "CNY", notify_url, now)
            self.refunds[out_refund_no] = record
            order.refunded += refund
            order.state = "REFUND"
            answer = record.as_dict()
        self.scheduler.call_later(self.refund_delay, lambda: self._settle(out_refund_no))
        return answer

    def _refundable(self, data: dict[str, Any]) -> Order:
        order = None
        if data.get("transaction_id"):
            order = next((o for o in self.orders.values() if o.transaction_id == data["transaction_id"]), None)
        elif data.get("out_trade_no"):
            order = self.orders.get(str(data["out_trade_no"]))
        else:
            raise param_error("transaction_id和out_trade_no必须二选一进行传参")
        if order is None:
            raise PayApiError(404, "RESOURCE_NOT_EXISTS", "订单不存在")
        if order.state not in ("SUCCESS", "REFUND"):
            raise PayApiError(400, "INVALID_REQUEST", "订单未支付，不能退款")
        return order

    def _settle(self, out_refund_no: str) -> None:
        with self._lock:
            refund = self.refunds[out_refund_no]
            if refund.status != "PROCESSING":
                return
            refund.status = "SUCCESS"
            refund.success_time = self.clock.now()
            resource = refund.notification(self.mchid)
        self.notifier.send("REFUND.SUCCESS", "退款成功", "refund", resource, refund.notify_url,
                           refund.out_trade_no, out_refund_no)

    def query_refund(self, out_refund_no: str) -> dict[str, Any]:
        """GET /v3/refund/domestic/refunds/{out_refund_no}: 404 RESOURCE_NOT_EXISTS when unknown."""
        with self._lock:
            refund = self.refunds.get(out_refund_no)
            if refund is None:
                raise PayApiError(404, "RESOURCE_NOT_EXISTS", "退款单不存在")
            return refund.as_dict()

    def settle_refunds(self) -> int:
        """Finish every PROCESSING refund now (SUCCESS + notification); return how many."""
        with self._lock:
            waiting = [r.out_refund_no for r in self.refunds.values() if r.status == "PROCESSING"]
        for out_refund_no in waiting:
            self._settle(out_refund_no)
        return len(waiting)
