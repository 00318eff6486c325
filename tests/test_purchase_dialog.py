"""Buying from the chat, up to the pay link; and 「已购」. The payment itself: tests/test_payments.py."""

from __future__ import annotations

import pytest

from catalog.importer import run_import
from settings import ROOT
from store.models import Order
from sandbox.pay import ManualScheduler
from tests.conftest import with_pay
from tests.test_browse import own_something


@pytest.fixture
def settings(settings, sandbox, merchant, tmp_path):
    return with_pay(settings, sandbox, merchant, tmp_path / "platform", scheduler=ManualScheduler())


@pytest.fixture
def demo_catalog(app):
    with app.services.database.connection_context():
        assert run_import(ROOT / "content" / "demo", progress=False).ok


def orders_of(app):
    with app.services.database.connection_context():
        return list(Order.select().order_by(Order.id))


def test_buy_asks_for_confirmation_then_sends_a_pay_card(app, user, demo_catalog):
    user.says("梯度下降")
    user.says("1")
    summary = user.says("购买")
    assert "梯度下降" in summary and "9.9元" in summary and "确认" in summary and "退款" in summary
    assert "购买专栏" in summary  # the article belongs to a series: the series is offered too
    card = user.sends("确认")
    assert card.msg_type == "news" and "/pay/" in card.articles[0]["url"]
    assert "9.9元" in card.articles[0]["title"]
    (order,) = orders_of(app)
    assert order.state == "created" and order.amount == 990 and order.article_id is not None


def test_asking_again_reuses_the_open_order(app, user, demo_catalog):
    for _ in range(2):
        user.says("梯度下降")
        user.says("1")
        user.says("购买")
        user.says("确认")
    assert len(orders_of(app)) == 1


def test_buy_the_series(app, user, demo_catalog):
    user.says("梯度下降")
    user.says("1")
    summary = user.says("购买专栏")
    assert "机器学习从零到一" in summary and "49.9元" in summary and "6 篇" in summary
    user.says("确认")
    (order,) = orders_of(app)
    assert order.series_id is not None and order.article_id is None and order.amount == 4990


def test_free_owned_and_nothing_open(app, user, demo_catalog):
    assert "请先打开" in user.says("购买")
    user.says("机器学习入门")
    user.says("1")
    user.received()  # WeChat's quota counts per user message: let these go before the next ones
    assert "免费" in user.says("购买")
    own_something(app, "o_user", "gradient-descent")
    user.says("梯度下降")
    reply = user.says("1")
    assert reply.startswith("【梯度下降")
    later = [m["content"] for m in user.received() if m["msgtype"] == "text"]
    assert "全文完" in later[-1]  # owned: the whole article, not the preview
    assert "已购买过" in user.says("购买")


def test_owning_the_series_unlocks_its_articles(app, user, demo_catalog):
    from store import orders
    from store.models import Series, utcnow
    from store import queries

    with app.services.database.connection_context():
        series = Series.get(Series.slug == "ml-basics")
        order = orders.create(queries.touch_user("o_user"), None, series, 4990, series.title, 1800, utcnow())
        orders.mark_paid(order, "tx", utcnow())
    listing = user.says("梯度下降")
    assert "梯度下降：模型是怎样一步步学会的（已购）" in listing


def test_paid_but_locked_without_open_orders(user, demo_catalog):
    assert "没有待确认的订单" in user.says("我付了没解锁")


def test_library_lists_and_resends(app, user, demo_catalog):
    assert "还没有购买" in user.says("已购")
    own_something(app, "o_user", "gradient-descent")
    listing = user.says("已购")
    assert "1. 梯度下降：模型是怎样一步步学会的" in listing
    first = user.says("1")
    assert first.startswith("【梯度下降")
    later = user.received()
    assert later[-1]["msgtype"] == "news" and "全文完" in later[-2]["content"]
    assert "请回复 1 到 1" in user.says("7")


def test_mine_counts_what_was_bought(app, user, demo_catalog):
    own_something(app, "o_user", "gradient-descent")
    assert "已购 1 项" in user.says("我的")


def test_buying_is_off_without_a_merchant(base_settings, sandbox):
    from bot import create_app
    from tests.conftest import LiveServer, chat_user

    settings = base_settings.replace(wechat={"api_base_url": sandbox.url})
    app = create_app(settings)
    server = LiveServer(app)
    try:
        with app.services.database.connection_context():
            run_import(ROOT / "content" / "demo", progress=False)
        user = chat_user(server, app, settings, sandbox, "o_user")
        user.says("梯度下降")
        user.says("1")
        assert "尚未开通" in user.says("购买")
    finally:
        server.stop()
        app.services.outbox.wait_idle(15)


REACH = {  # how a follower gets into each declared state
    "browse:results": ["机器学习"],
    "browse:reading": ["机器学习", "1"],
    "feedback:awaiting_text": ["反馈"],
    "privacy:confirm_delete": ["删除我的数据"],
    "purchase:confirm": ["梯度下降", "1", "购买"],
    "purchase:awaiting_payment": ["梯度下降", "1", "购买", "确认"],
    "library:listed": ["已购"],
    "recommend:listed": ["推荐"],
    "recommend:reading": ["推荐", "1"],
}


def test_every_state_is_reachable_and_cancel_leaves_it(app, user, demo_catalog):
    from dialogs import DIALOGS

    declared = {state for dialog in DIALOGS for state in dialog.states if dialog.name not in ("admin", "publish")}
    assert declared == set(REACH)  # the creators' states: tests/test_admin_dialogs.py
    own_something(app, "o_user", "python-tips")
    for state, steps in REACH.items():
        for text in steps:
            user.says(text)
        assert app.services.state.load("o_user").state == state
        assert "已取消" in user.says("取消")
        assert app.services.state.load("o_user").state is None
