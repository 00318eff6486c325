"""Verified pay notifications whose decrypted resource has the wrong shape: a 400, nothing settled."""

from __future__ import annotations

import pytest
import requests

from store.models import Order, Outbox, Purchase
from tests import paywire
from tests.conftest import APIV3_KEY, MCHID
from tests.test_payments import article, db, notifier, order, scheduler, settings, state_of  # noqa: F401

BROKEN = [
    ("amount", [990]), ("amount", {"total": "990", "currency": "CNY"}), ("amount", {"total": 9.9, "currency": "CNY"}),
    ("amount", {"total": True, "currency": "CNY"}), ("amount", {"total": None, "currency": "CNY"}),
    ("amount", {"total": 10**30, "currency": "CNY"}), ("amount", {"total": 990, "currency": ["CNY"]}),
    ("payer", "o_user"), ("payer", {"openid": {"id": "o_user"}}), ("payer", None),
    ("out_trade_no", 123456789), ("out_trade_no", {"a": 1}), ("out_trade_no", "x" * 5000),
    ("trade_state", ["SUCCESS"]), ("mchid", None), ("appid", 42), ("transaction_id", ""),
]


@pytest.mark.parametrize("field, value", BROKEN)
def test_transaction_of_the_wrong_shape_is_a_400(notifier, order, db, field, value):
    response = notifier.post(notifier.success(order, **{field: value}))
    assert response.status_code == 400
    assert response.json()["code"] == "FAIL" and field.split(".")[0] in response.json()["message"]
    assert state_of(order) == Order.CREATED and Purchase.select().count() == 0 and Outbox.select().count() == 0
    assert notifier.post(notifier.success(order)).status_code == 204  # the genuine one still settles


@pytest.mark.parametrize("field, value", [("out_refund_no", 7), ("mchid", {"id": MCHID}), ("out_trade_no", None)])
def test_refund_of_the_wrong_shape_is_a_400(notifier, order, db, field, value):
    assert notifier.post(notifier.success(order)).status_code == 204
    resource = paywire.refund(order.out_trade_no, order.amount, MCHID)
    resource[field] = value
    response = notifier.post(paywire.notification(resource, "REFUND.SUCCESS", APIV3_KEY, notifier.key,
                                                  notifier.serial))
    assert response.status_code == 400 and field in response.json()["message"]
    assert state_of(order) == Order.PAID


def test_resource_nested_beyond_recursion_is_refused(notifier, order, db):
    """json.loads raises RecursionError (not ValueError) on deep nesting: still a refusal, never a 500."""
    deep = ("[" * 5000 + "]" * 5000).encode()
    response = notifier.post(paywire.notification(deep, "TRANSACTION.SUCCESS", APIV3_KEY, notifier.key,
                                                  notifier.serial))
    assert response.status_code == 401 and "decrypt" in response.json()["message"]
    assert state_of(order) == Order.CREATED


@pytest.mark.parametrize("timestamp", ["²", "9" * 5000])
def test_odd_timestamp_header_is_refused(notifier, order, db, timestamp):
    headers, body = notifier.success(order)
    headers["Wechatpay-Timestamp"] = timestamp
    response = requests.post(notifier.url, data=body, headers={k: v.encode() for k, v in headers.items()},
                             timeout=15)
    assert response.status_code == 401

