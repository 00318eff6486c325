"""推送预览 and 推送 by a creator: the preview names 3 followers, what and why, and sends nothing; 推送 runs
a round after 确认 and reports its PushRun."""

from __future__ import annotations

import pytest

from store.models import Article
from store.push_models import PushRun, PushSend
from tests.push_helpers import NO_QUIET, follower, pushes_to
from tests.shop import demo_catalog, in_db, settings as shop_settings, scheduler  # noqa: F401

FOLLOWERS = ["o_f1", "o_f2", "o_f3", "o_f4"]


@pytest.fixture
def settings(shop_settings):
    return shop_settings.replace(push=NO_QUIET)


@pytest.fixture
def followers(app, sandbox, demo_catalog):
    def make():
        read = list(Article.select().order_by(Article.id).limit(4))
        for n, openid in enumerate(FOLLOWERS):
            follower(sandbox, openid, read=[read[n]])

    in_db(app, make)


def test_preview_names_three_followers_with_reasons_and_sends_nothing(app, admin, sandbox, followers):
    preview = admin.says("推送预览")
    lines = preview.split("\n")
    assert lines[0] == "下一轮个性化推送（前 3 位）：" and len(lines) == 4
    assert all(line.split("：")[0].split(". ")[1] in FOLLOWERS and "——" in line for line in lines[1:])
    assert in_db(app, lambda: PushSend.select().count()) == 0
    assert all(pushes_to(sandbox, openid) == [] for openid in FOLLOWERS)


def test_push_runs_a_round_after_confirmation_and_reports_it(app, admin, sandbox, followers):
    assert "立即运行一轮" in admin.says("推送")
    assert "推送已开始" in admin.says("确认")
    reports = [m["content"] for m in admin.received() if m["msgtype"] == "text"]
    assert reports == ["推送完成：符合条件 4 人，已发送 4，失败 0；跳过：无"]
    assert all(len(pushes_to(sandbox, openid)) == 1 for openid in FOLLOWERS)
    (run,) = in_db(app, lambda: list(PushRun.select()))
    assert run.sent == 4 and run.finished_at is not None
    admin.says("推送")
    admin.says("确认")
    again = [m["content"] for m in admin.received() if m["msgtype"] == "text"]
    assert again == ["推送完成：符合条件 0 人，已发送 0，失败 0；跳过：本时段已推 4"]  # never twice in a slot
