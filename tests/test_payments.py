"""Paying and unlocking, exactly once: notifications repeated, concurrent, forged, dropped, late,
reordered; refunds; the order query and close jobs. Notifications are built with `cryptography`
from the spec (tests/paywire.py); WeChat Pay itself is the sandbox on loopback."""

from __future__ import annotations

import datetime as dt
import json
import multiprocessing

import peewee
import pytest
import requests

from payments.reconcile import Reconciler
from sandbox.pay import ManualScheduler
from store import orders, queries
from store.models import Article, Order, Outbox, Purchase, utcnow
from tests import paywire, post_worker
from tests.conftest import APIV3_KEY, MCHID, with_pay


@pytest.fixture
def scheduler():
    return ManualScheduler()


@pytest.fixture
def settings(settings, sandbox, merchant, tmp_path, scheduler):
    return with_pay(settings, sandbox, merchant, tmp_path / "platform", scheduler=scheduler)


@pytest.fixture
def db(app):
    with app.services.database.connection_context():
        yield app.services.database


@pytest.fixture
def article(db):
    return Article.create(slug="paid", title="付费文章：支付测试", summary="摘要",
                          body="前言一段。\n\n<!-- 试读至此 -->\n\n付费正文第一段。\n\n付费正文第二段。", price=990)


@pytest.fixture
def order(db, article):
    return orders.create(queries.touch_user("o_user"), article, None, 990, article.title, 1800, utcnow())


class Notifier:
    """Posts notifications to the live bot, signed with WeChat Pay's (the sandbox's) platform key."""

    def __init__(self, live, sandbox, appid):
        self.url, self.appid = f"{live.url}/pay/notify", appid
        keys = sandbox.payments.keys
        self.key, self.serial = paywire.load_private_key(keys.public_key_private_path), keys.public_key_id

    def success(self, order, **changes):
        resource = paywire.transaction(order.out_trade_no, order.amount, order.user.openid, MCHID, self.appid)
        resource.update(changes)
        return paywire.notification(resource, "TRANSACTION.SUCCESS", APIV3_KEY, self.key, self.serial)

    def refund(self, order, out_refund_no="RF1"):
        return paywire.notification(paywire.refund(order.out_trade_no, order.amount, MCHID, out_refund_no),
                                    "REFUND.SUCCESS", APIV3_KEY, self.key, self.serial)

    def post(self, headers_body):
        headers, body = headers_body
        return requests.post(self.url, data=body, headers=headers, timeout=15)


@pytest.fixture
def notifier(live, sandbox, settings):
    return Notifier(live, sandbox, settings.wechat.appid)


def state_of(order):
    return orders.find(order.out_trade_no).state


def unlocks(order):
    return [r for r in Outbox.select().where(Outbox.user == order.user)
            if json.loads(r.payload).get("content", "").startswith("✅")]


def purchases(order):
    return Purchase.select().where(Purchase.order == order.id).count()


def test_fifteen_sequential_deliveries_fulfil_once(db, order, notifier, user, sandbox):
    user.says("帮助")  # the follower wrote: WeChat grants messages and the ledger knows
    note = notifier.success(order)
    statuses = [notifier.post(note).status_code for _ in range(15)]
    assert statuses == [204] * 15
    assert state_of(order) == "paid" and purchases(order) == 1 and len(unlocks(order)) == 1
    received = user.received()
    assert [m["content"][:7] for m in received if m["msgtype"] == "text"][0] == "✅ 支付成功，"
    assert "付费正文第二段" in "".join(m["content"] or "" for m in received)
    assert received[-1]["msgtype"] == "news"


def test_thirty_two_concurrent_deliveries_from_processes_fulfil_once(db, order, notifier):
    headers, body = notifier.success(order)
    context = multiprocessing.get_context("forkserver")  # forked from a clean process, not from this threaded one
    context.set_forkserver_preload(["tests.post_worker"])
    start, results = context.Event(), context.Queue()
    processes = [context.Process(target=post_worker.deliver, args=(notifier.url, headers, body, start, results))
                 for _ in range(32)]
    for process in processes:
        process.start()
    start.set()
    for process in processes:
        process.join(60)
    answers = [results.get(timeout=5) for _ in processes]
    assert {status for status, _ in answers} == {204}, answers
    assert state_of(order) == "paid" and purchases(order) == 1 and len(unlocks(order)) == 1


@pytest.mark.parametrize("case", ["forged", "signtest", "stale", "wrong amount", "wrong mchid", "wrong appid",
                                  "wrong payer", "not success", "unknown order"])
def test_bad_notifications_unlock_nothing(db, order, notifier, case):
    if case == "forged":
        headers, body = notifier.success(order)
        note = paywire.notification(json.loads(json.dumps(paywire.transaction(
            order.out_trade_no, 990, "o_user", MCHID, notifier.appid))), "TRANSACTION.SUCCESS", APIV3_KEY,
            paywire.other_key(), notifier.serial)
    elif case == "signtest":
        headers, body = notifier.success(order)
        headers["Wechatpay-Signature"] = "WECHATPAY/SIGNTEST/" + headers["Wechatpay-Signature"][19:]
        note = (headers, body)
    elif case == "stale":
        resource = paywire.transaction(order.out_trade_no, 990, "o_user", MCHID, notifier.appid)
        note = paywire.notification(resource, "TRANSACTION.SUCCESS", APIV3_KEY, notifier.key, notifier.serial,
                                    timestamp=int(utcnow().timestamp()) - 3600)
    elif case == "wrong amount":
        note = notifier.success(order, amount={"total": 1, "payer_total": 1, "currency": "CNY"})
    elif case == "wrong mchid":
        note = notifier.success(order, mchid="1900000999")
    elif case == "wrong appid":
        note = notifier.success(order, appid="wx_other_account")
    elif case == "wrong payer":
        note = notifier.success(order, payer={"openid": "o_somebody_else"})
    elif case == "not success":
        note = notifier.success(order, trade_state="NOTPAY")
    else:
        note = notifier.success(order, out_trade_no="KB20261127000000DEADBEEF0000")
    response = notifier.post(note)
    assert 400 <= response.status_code < 600
    assert json.loads(response.text)["code"] == "FAIL"
    assert state_of(order) == "created" and purchases(order) == 0 and unlocks(order) == []


def test_a_database_error_before_commit_answers_5xx_and_the_retry_fulfils_once(db, order, notifier, monkeypatch):
    from payments import fulfil

    real = fulfil.queries.record_event
    calls = {"n": 0}

    def failing_once(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 1:
            raise peewee.OperationalError("disk I/O error (injected)")
        return real(*args, **kwargs)

    monkeypatch.setattr(fulfil.queries, "record_event", failing_once)
    note = notifier.success(order)
    assert notifier.post(note).status_code == 500
    assert state_of(order) == "created" and purchases(order) == 0 and unlocks(order) == []
    assert notifier.post(note).status_code == 204
    assert notifier.post(note).status_code == 204
    assert state_of(order) == "paid" and purchases(order) == 1 and len(unlocks(order)) == 1


def _prepay(app, order):
    prepay = app.services.pay.create_jsapi(order.out_trade_no, order.description, order.amount,
                                           order.user.openid, order.expires_at)
    orders.set_prepay(order, prepay)


def _reconciler(app, clock):
    services = app.services
    return Reconciler(services.database, services.pay, services.pipeline.context.links, MCHID,
                      services.settings.wechat.appid, now=lambda: clock[0])


def test_every_notification_dropped_the_query_job_unlocks_within_a_minute(app, db, order, sandbox):
    sandbox.payments.notifier.configure(drop=True)
    _prepay(app, order)
    sandbox.pay(order.out_trade_no, "o_user")
    clock = [order.created_at + dt.timedelta(seconds=30)]
    job = _reconciler(app, clock)
    assert job.reconcile_due() == 0  # not due yet
    clock[0] = order.created_at + dt.timedelta(seconds=60)
    assert job.reconcile_due() == 1
    assert state_of(order) == "paid" and purchases(order) == 1 and len(unlocks(order)) == 1


def test_unpaid_orders_are_queried_on_schedule_then_closed(app, db, order, sandbox):
    _prepay(app, order)
    clock = [order.created_at + dt.timedelta(seconds=60)]
    job = _reconciler(app, clock)
    gaps = []
    for _ in range(4):
        job.reconcile_due()
        due = orders.find(order.out_trade_no).next_query_at
        gaps.append((due - clock[0]).total_seconds())
        clock[0] = due
    assert gaps == [5, 30, 60, 180]
    clock[0] = order.expires_at + dt.timedelta(seconds=1)
    Order.update(next_query_at=clock[0]).where(Order.id == order.id).execute()
    job.reconcile_due()
    assert state_of(order) == "closed"
    assert app.services.pay.query(order.out_trade_no).trade_state == "CLOSED"


def test_paid_while_being_closed_ends_paid(app, db, order, sandbox, monkeypatch):
    """The query said NOTPAY, then the buyer paid, then our close met ORDERPAID: the payment wins."""
    sandbox.payments.notifier.configure(drop=True)
    _prepay(app, order)
    pay = app.services.pay
    real_query = pay.query
    answers = iter(["stale"])

    def query(out_trade_no):
        trade = real_query(out_trade_no)
        if next(answers, None) == "stale":
            sandbox.pay(out_trade_no, "o_user")  # the buyer pays right after WeChat Pay answered NOTPAY
        return trade

    monkeypatch.setattr(pay, "query", query)
    clock = [order.expires_at + dt.timedelta(seconds=1)]
    Order.update(next_query_at=clock[0]).where(Order.id == order.id).execute()
    _reconciler(app, clock).reconcile_due()
    assert state_of(order) == "paid" and purchases(order) == 1 and len(unlocks(order)) == 1


def test_a_late_success_after_our_close_ends_paid(db, order, notifier):
    orders.mark_closed(order, utcnow())
    assert notifier.post(notifier.success(order)).status_code == 204
    assert state_of(order) == "paid" and purchases(order) == 1


def test_refund_after_payment_revokes_once(db, order, notifier, sandbox, user):
    user.says("帮助")  # the follower wrote: WeChat grants messages and the ledger knows
    notifier.post(notifier.success(order))
    refund = notifier.refund(order)
    assert [notifier.post(refund).status_code for _ in range(3)] == [204] * 3
    assert state_of(order) == "refunded" and purchases(order) == 0
    told = [m["content"] for m in user.received() if m["msgtype"] == "text" and "已退款" in (m["content"] or "")]
    assert len(told) == 1


def test_refund_before_the_success_notification_stays_refunded(db, order, notifier):
    assert notifier.post(notifier.refund(order)).status_code == 204
    assert notifier.post(notifier.success(order)).status_code == 204
    assert state_of(order) == "refunded" and purchases(order) == 0 and unlocks(order) == []


def test_paid_but_locked_queries_on_the_spot(app, db, article, sandbox, user):
    sandbox.payments.notifier.configure(drop=True)
    user.says("付费文章")
    user.says("1")
    user.says("购买")
    user.says("确认")
    (order,) = Order.select()
    _prepay(app, order)
    sandbox.pay(order.out_trade_no, "o_user")
    user.received()
    assert "正在向微信支付查询" in user.says("我付了没解锁")
    received = user.received()
    assert received and received[0]["content"].startswith("✅ 支付成功")
    assert state_of(order) == "paid"


def test_a_window_closed_unlock_waits_for_the_next_message(db, order, notifier, sandbox, user):
    sandbox.touch("o_user", "unsubscribe")  # no window open: WeChat answers 45015
    sandbox.touch("o_user", "subscribe")
    sandbox.clock.advance(120)  # a subscribe opens a one-minute window only
    notifier.post(notifier.success(order))
    assert user.received() == []
    reply = user.says("你好")
    assert "您有 1 篇已购内容待查收" in reply
    assert user.received()[0]["content"].startswith("✅ 支付成功")


def test_the_clock_runs_the_order_queries(app, order, sandbox):
    from jobs.clock import build_scheduler

    sandbox.payments.notifier.configure(drop=True)
    with app.services.database.connection_context():
        _prepay(app, order)
        Order.update(next_query_at=utcnow()).where(Order.id == order.id).execute()
    sandbox.pay(order.out_trade_no, "o_user")
    scheduler = build_scheduler(app.services)
    assert "reconcile_orders" in {job.id for job in scheduler.get_jobs()}
    scheduler.get_job("leader").func()  # the only clock: it takes the leader lock
    try:
        scheduler.get_job("reconcile_orders").func()  # what the clock process runs every 5 seconds
    finally:
        with app.services.database.connection_context():
            scheduler.leader.release()
    with app.services.database.connection_context():
        assert state_of(order) == "paid"
