"""Followers decide about pushes in chat, through the live bot: opt out and in, weekly, their hour, why,
不感兴趣 after a push; 我的 shows it all."""

from __future__ import annotations

import pytest

from jobs import push_round
from store import pushes, queries
from store.models import Event
from store.push_models import PushSend
from tests.push_helpers import add_catalog


@pytest.fixture
def settings(base_settings, sandbox):
    """Rounds at 12, 20 and 21 o'clock, quiet from 22 to 8 (Shanghai)."""
    return base_settings.replace(wechat={"api_base_url": sandbox.url},
                                 push={"schedule": "0 12,20,21 * * *", "rate": 200.0})


@pytest.fixture
def catalog(app):
    with app.services.database.connection_context():
        return add_catalog()


def row(app, openid):
    with app.services.database.connection_context():
        user = queries.find_user(openid)
        return user, pushes.pref_of(user)


def test_opting_out_and_in(user, app):
    user.subscribes()
    assert "已关闭推送" in user.says("退订推送")
    assert row(app, "o_user")[0].push_opt_out is True
    assert "推送已关闭" in user.says("我的")
    reply = user.says("开启推送")
    assert "已开启推送：已开启（每天 12 点左右）" in reply
    assert row(app, "o_user")[0].push_opt_out is False
    assert "推送已开启（每天 12 点左右）" in user.says("我的")


def test_fewer_and_more(user, app):
    assert "每周最多推送一次" in user.says("少推点")
    assert row(app, "o_user")[1].weekly is True
    assert "每周一次" in user.says("我的")
    assert "恢复每天推送" in user.says("多推点")
    assert row(app, "o_user")[1].weekly is False


def test_a_push_hour_within_the_schedule(user, app):
    assert "可选：12 点、20 点、21 点" in user.says("推送时间 23")  # quiet, and not a round's hour
    assert "可选" in user.says("推送时间 晚上")
    assert row(app, "o_user")[1].hour is None
    assert "以后在 21 点左右推送" in user.says("推送时间 21")
    assert row(app, "o_user")[1].hour == 21
    assert "每天 21 点左右" in user.says("我的")


def test_why_and_not_interested_after_a_push(user, app, catalog, sandbox):
    assert "还没有给您推送过" in user.says("为什么推荐")
    assert "收到推送后" in user.says("不感兴趣")
    user.subscribes()
    user.says("你好")  # a message: WeChat grants five customer-service messages, the ledger knows
    with app.services.database.connection_context():
        run = push_round.run_round(app.services, slot=20, progress=False)
        assert run.sent == 1
        pushed = PushSend.get()
    (card,) = [m for m in user.received() if m["msgtype"] == "news"]
    title = card["articles"][0]["title"]
    reason = card["articles"][0]["description"].split("\n")[0]
    answer = user.says("为什么推荐")
    assert f"《{title}》" in answer and reason.rstrip("。") in answer
    assert f"不再向您推荐《{title}》" in user.says("不感兴趣")
    with app.services.database.connection_context():
        assert Event.select().where((Event.kind == "dislike") & (Event.article_id == pushed.article_id)).count() == 1
