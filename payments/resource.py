"""The decrypted resource of a pay notification, read strictly: every field settling uses, with its type.

A verified notification can still carry a resource of the wrong shape (a list where an object belongs,
an amount that is text); it is refused with `Malformed` (a 400) instead of failing inside settlement.
"""

from __future__ import annotations

import re
from typing import Any, Mapping

from payments.fulfil import Paid

_TEXT = re.compile(r"[\x21-\x7e]{1,128}")  # ids, codes and openids: printable ASCII, no spaces


class Malformed(ValueError):
    """A resource field missing or of the wrong type; the message names the field."""


def paid(resource: Mapping[str, Any]) -> tuple[str, Paid]:
    """(trade_state, what was paid) of a TRANSACTION.* resource."""
    amount, payer = _object(resource, "amount"), _object(resource, "payer")
    return _text(resource, "trade_state"), Paid(
        out_trade_no=_text(resource, "out_trade_no"), transaction_id=_text(resource, "transaction_id"),
        amount=_fen(amount, "amount.total"), currency=_text(amount, "amount.currency"),
        payer_openid=_text(payer, "payer.openid"), mchid=_text(resource, "mchid"), appid=_text(resource, "appid"))


def refund(resource: Mapping[str, Any]) -> tuple[str, str, str]:
    """(mchid, out_trade_no, out_refund_no) of a REFUND.* resource."""
    return _text(resource, "mchid"), _text(resource, "out_trade_no"), _text(resource, "out_refund_no")


def _get(data: Mapping[str, Any], path: str) -> Any:
    return data.get(path.rpartition(".")[2])


def _object(data: Mapping[str, Any], path: str) -> Mapping[str, Any]:
    value = _get(data, path)
    if not isinstance(value, dict):
        raise Malformed(f"{path} must be an object")
    return value


def _text(data: Mapping[str, Any], path: str) -> str:
    value = _get(data, path)
    if not isinstance(value, str) or not _TEXT.fullmatch(value):
        raise Malformed(f"{path} must be a short text")
    return value


def _fen(data: Mapping[str, Any], path: str) -> int:
    value = _get(data, path)
    if type(value) is not int or not 0 < value < 10**12:
        raise Malformed(f"{path} must be a positive whole number of fen")
    return value
