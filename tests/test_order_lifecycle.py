"""A Hypothesis state machine over the order lifecycle: notifications duplicated, late, reordered;
queries, closes and refunds in any order. Our order must always agree with what WeChat Pay knows.

WeChat Pay's side is a small model here (its states as the query API reports them); our side is the
real settlement code on a real SQLite database.
"""

from __future__ import annotations

import itertools
import json

import pytest
from hypothesis import HealthCheck, settings
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from payments.fulfil import Paid, settle_closed, settle_paid, settle_refund
from store import orders, queries
from store.db import bind, open_database
from store.migrations import migrate
from store.models import Article, Order, Outbox, Purchase, utcnow
from web.links import Links

MCHID, APPID = "1900000109", "wxlifecycle"
LINKS = Links("http://127.0.0.1:8000", "lifecycle-secret")
_users = itertools.count()


@pytest.fixture(scope="module")
def database(tmp_path_factory):
    db = bind(open_database(f"sqlite:///{tmp_path_factory.mktemp('lifecycle')}/orders.db"))
    migrate(db)
    with db.connection_context():
        Article.create(slug="paid", title="付费文章", body="前言\n\n<!-- 试读至此 -->\n\n正文", price=990)
    return db


class OrderLifecycle(RuleBasedStateMachine):
    database = None

    def __init__(self):
        super().__init__()
        self.db = type(self).database
        self.db.connect(reuse_if_open=True)
        user = queries.touch_user(f"o_{next(_users)}")
        self.order = orders.create(user, Article.get(Article.slug == "paid"), None, 990, "付费文章", 1800, utcnow())
        self.truth = "NOTPAY"  # what WeChat Pay would answer to a query

    def paid(self, amount=990):
        return Paid(self.order.out_trade_no, "4200000001", amount, "CNY", self.order.user.openid, MCHID, APPID)

    def ours(self) -> Order:
        return orders.find(self.order.out_trade_no)

    # -------------------------------------------------------------- WeChat Pay's world

    @rule()
    def buyer_pays(self):
        if self.truth == "NOTPAY":
            self.truth = "SUCCESS"

    @rule()
    def merchant_refunds(self):
        if self.truth == "SUCCESS":
            self.truth = "REFUND"

    # -------------------------------------------------------------- what reaches us, in any order

    @rule()
    def success_notification(self):
        if self.truth in ("SUCCESS", "REFUND"):  # notifications can arrive late, after a refund
            settle_paid(self.db, self.paid(), LINKS, MCHID, APPID, utcnow())

    @rule()
    def forged_amount_notification(self):
        with pytest.raises(ValueError):
            settle_paid(self.db, self.paid(amount=1), LINKS, MCHID, APPID, utcnow())

    @rule()
    def refund_notification(self):
        if self.truth == "REFUND":
            settle_refund(self.db, self.order.out_trade_no, "R1", utcnow())

    @rule()
    def query_job(self):
        """The reconciliation query: what WeChat Pay answers decides."""
        if self.truth in ("SUCCESS", "REFUND"):
            settle_paid(self.db, self.paid(), LINKS, MCHID, APPID, utcnow())
            if self.truth == "REFUND":
                settle_refund(self.db, self.order.out_trade_no, "", utcnow())
        elif self.truth == "CLOSED":
            settle_closed(self.db, self.ours(), utcnow())

    @rule()
    def close_job(self):
        """Close at WeChat Pay: on an unpaid order it closes; on a paid one WeChat says ORDERPAID."""
        if self.truth == "NOTPAY":
            self.truth = "CLOSED"
            settle_closed(self.db, self.ours(), utcnow())
        elif self.truth in ("SUCCESS", "REFUND"):
            settle_paid(self.db, self.paid(), LINKS, MCHID, APPID, utcnow())

    @rule()
    def stale_local_close(self):
        """A close decided on stale information (the buyer paid a moment before): a late SUCCESS wins."""
        settle_closed(self.db, self.ours(), utcnow())

    # -------------------------------------------------------------- what must always hold

    @invariant()
    def agrees_with_wechat_pay(self):
        state = self.ours().state
        if state == Order.PAID:
            assert self.truth in ("SUCCESS", "REFUND")
        if state == Order.REFUNDED:
            assert self.truth == "REFUND"
        if self.truth == "NOTPAY":
            assert state in (Order.CREATED, Order.CLOSED)

    @invariant()
    def access_follows_the_state(self):
        owned = Purchase.select().where(Purchase.order == self.order.id).exists()
        assert owned == (self.ours().state == Order.PAID)

    @invariant()
    def unlocked_at_most_once(self):
        unlocks = [r for r in Outbox.select().where(Outbox.user == self.order.user)
                   if json.loads(r.payload).get("unlock") == self.order.out_trade_no]
        heads = [r for r in unlocks if json.loads(r.payload).get("content", "").startswith("✅")]
        assert len(heads) == (1 if self.ours().paid_at is not None else 0)

    def teardown(self):
        """Finally everything is told once more: we end where WeChat Pay is."""
        self.query_job()
        self.refund_notification()
        expected = {"NOTPAY": Order.CREATED, "SUCCESS": Order.PAID, "REFUND": Order.REFUNDED,
                    "CLOSED": Order.CLOSED}[self.truth]
        assert self.ours().state == expected or (self.truth == "NOTPAY" and self.ours().state == Order.CLOSED)
        self.db.close()


def test_order_lifecycle(database):
    OrderLifecycle.database = database
    run_state_machine_as_test(OrderLifecycle, settings=settings(
        max_examples=1000, stateful_step_count=12, deadline=None, suppress_health_check=[HealthCheck.too_slow]))
