"""The first handlers, driven as a follower would: subscribe, help, menu, feedback, unsubscribe."""

from __future__ import annotations

import json

from store import queries
from store.models import Event, Feedback, User


def events(app, openid="o_user"):
    with app.services.database.connection_context():
        return [(e.kind, json.loads(e.payload)) for e in queries.events_of(openid)]


def the_user(app, openid="o_user"):
    with app.services.database.connection_context():
        return User.get(User.openid == openid)


def test_subscribe_welcomes_and_records_the_referral_scene(app, user):
    reply = user.subscribes(scene="spring_poster")
    assert "欢迎关注" in reply and "帮助" in reply
    assert the_user(app).subscribed and the_user(app).referral_scene == "spring_poster"
    assert events(app) == [("subscribe", {"scene": "spring_poster"})]


def test_resubscribing_is_welcomed_back_and_keeps_the_first_scene(app, user):
    user.subscribes(scene="first")
    user.unsubscribes()
    assert "欢迎回来" in user.subscribes(scene="second")
    assert the_user(app).referral_scene is None  # deleted on unsubscribe, and only the first one counts


def test_unsubscribe_deletes_behaviour_and_stops_pushes(app, user):
    user.subscribes()
    user.says("反馈")
    user.says("内容很好")
    assert user.unsubscribes() is None  # WeChat shows nothing for this event: "success"
    person = the_user(app)
    assert not person.subscribed and person.push_opt_out and person.unsubscribed_at
    assert events(app) == []
    with app.services.database.connection_context():
        assert Feedback.select().count() == 0


def test_help_is_role_aware(user, admin):
    assert "创作者指令" not in user.says("帮助")
    assert "创作者指令" in admin.says("帮助")
    assert user.says("？") == user.says("help")


def test_menu_clicks_are_routed_and_recorded(app, user):
    assert "准备中" in user.clicks("MENU_FIND")  # an empty catalog says so
    assert "开始关注" in user.clicks("MENU_MINE")
    assert "可以这样用" in user.clicks("MENU_HELP")
    kinds = [kind for kind, _ in events(app)]
    assert kinds == ["click", "click", "click"]
    assert events(app)[0] == ("click", {"key": "MENU_FIND"})


def test_view_and_scan_are_recorded(app, user):
    assert user.opens("http://127.0.0.1:8000/read/x") is None
    assert "欢迎回来" in user.scans("poster_42")
    assert events(app) == [("view", {"url": "http://127.0.0.1:8000/read/x"}), ("scan", {"scene": "poster_42"})]


def test_unknown_text_gets_a_short_hint(user):
    assert "帮助" in user.says("asdfgh")


def test_feedback_dialog_and_cancel(app, user):
    assert "对作者说" in user.says("反馈")
    assert "已取消" in user.says("取消")
    assert "没有进行中" in user.says("取消")
    user.says("反馈")
    assert "谢谢" in user.says("希望多写点 Python")
    with app.services.database.connection_context():
        assert [f.text for f in Feedback.select()] == ["希望多写点 Python"]
    assert ("feedback", {}) in events(app)


def test_dialog_state_survives_between_messages_and_ends(app, user):
    user.says("反馈")
    state = app.services.state
    assert state.load("o_user").state == "feedback:awaiting_text"
    user.says("好")
    assert state.load("o_user").state is None


def test_stats_are_for_admins_only(user, admin):
    user.subscribes()
    assert "没有找到和「统计」相关的内容" in user.says("统计")  # ordinary text to a follower
    reply = admin.says("统计")
    assert "当前关注 1 人" in reply and "转化：搜索 1" in reply


def test_every_message_updates_last_interaction(app, user):
    user.says("你好")
    first = the_user(app).last_interaction
    user.says("再来")
    assert the_user(app).last_interaction >= first
    with app.services.database.connection_context():
        assert Event.select().where(Event.kind == "text").count() == 2


def test_healthz_and_metrics(live, user):
    import requests

    user.says("帮助")
    health = requests.get(f"{live.url}/healthz", timeout=10)
    assert health.status_code == 200 and health.json()["database"] == "ok" and health.json()["degraded"] == []
    metrics = requests.get(f"{live.url}/metrics", timeout=10).text
    assert 'bot_messages_total{type="text"} 1.0' in metrics
    assert "bot_message_seconds_bucket" in metrics
    assert "bot_outbox_depth 0.0" in metrics
