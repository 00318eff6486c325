"""What the pay gateway (gateways/pay.py) returns and raises: WeChat Pay's answers as value types, and the
errors, so that the payments code can name them without the gateway's plumbing."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Mapping

# ---------------------------------------------------------------- errors


class PayGatewayError(Exception):
    """Anything the pay gateway raises."""


class PayError(PayGatewayError):
    """WeChat Pay refused the request: HTTP 4xx with its JSON {code, message}."""

    def __init__(self, code: str, message: str, status: int | None = None) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status


class OrderAlreadyPaid(PayError):
    """ORDERPAID: the order was paid (closing it failed). Query it for the transaction."""


class OrderNotFound(PayError):
    """ORDER_NOT_EXIST / RESOURCE_NOT_EXISTS: WeChat Pay has no such order or refund."""


class PayUnavailable(PayGatewayError):
    """No usable answer: network failure, timeout, 5xx, 429, or an answer whose signature does not
    verify. The request may or may not have taken effect."""


class BadNotification(PayGatewayError):
    """A notification to reject (answer 4xx/5xx so that a genuine one is retried)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


# ---------------------------------------------------------------- results


def parse_time(value: Any) -> dt.datetime | None:
    """An RFC 3339 time as WeChat Pay writes it (aware, +08:00), or None for anything else."""
    if not isinstance(value, str) or not value:
        return None
    try:
        return dt.datetime.fromisoformat(value)
    except ValueError:
        return None


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


@dataclass(frozen=True)
class Trade:
    """A payment as WeChat Pay reports it (query answer or TRANSACTION notification)."""

    out_trade_no: str
    trade_state: str  # SUCCESS, REFUND, NOTPAY, CLOSED, REVOKED, USERPAYING, PAYERROR
    transaction_id: str | None
    amount_total: int | None  # fen
    currency: str | None
    payer_openid: str | None
    mchid: str | None
    appid: str | None
    success_time: dt.datetime | None  # aware (+08:00)

    @classmethod
    def from_resource(cls, data: Mapping[str, Any]) -> Trade:
        amount = data.get("amount") if isinstance(data.get("amount"), dict) else {}
        payer = data.get("payer") if isinstance(data.get("payer"), dict) else {}
        return cls(
            out_trade_no=str(data.get("out_trade_no") or ""), trade_state=str(data.get("trade_state") or ""),
            transaction_id=data.get("transaction_id") or None, amount_total=_int(amount.get("total")),
            currency=amount.get("currency") or None, payer_openid=payer.get("openid") or None,
            mchid=data.get("mchid") or None, appid=data.get("appid") or None,
            success_time=parse_time(data.get("success_time")),
        )


@dataclass(frozen=True)
class Refund:
    """A refund as WeChat Pay reports it (refund answers or a REFUND notification)."""

    status: str  # PROCESSING, SUCCESS, CLOSED, ABNORMAL
    refund_id: str | None
    out_refund_no: str
    out_trade_no: str | None
    amount_refund: int | None
    amount_total: int | None
    success_time: dt.datetime | None

    @classmethod
    def from_resource(cls, data: Mapping[str, Any]) -> Refund:
        amount = data.get("amount") if isinstance(data.get("amount"), dict) else {}
        return cls(
            status=str(data.get("status") or data.get("refund_status") or ""),
            refund_id=data.get("refund_id") or None, out_refund_no=str(data.get("out_refund_no") or ""),
            out_trade_no=data.get("out_trade_no") or None, amount_refund=_int(amount.get("refund")),
            amount_total=_int(amount.get("total")), success_time=parse_time(data.get("success_time")),
        )


@dataclass(frozen=True)
class Notification:
    """A verified, decrypted notification: `resource` is the plaintext (a transaction or a refund)."""

    id: str
    event_type: str  # TRANSACTION.SUCCESS, REFUND.SUCCESS, REFUND.ABNORMAL, REFUND.CLOSED
    create_time: dt.datetime | None
    resource: dict[str, Any] = field(repr=False)
    resource_type: str = "encrypt-resource"
    summary: str = ""
