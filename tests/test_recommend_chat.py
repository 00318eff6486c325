"""「推荐」 in chat, over real HTTP through the sandbox, on both backends: the list with reasons, a number opens
the item through the reading flow, 「不感兴趣 2」, the menu key, and the related item after a finished article."""

from __future__ import annotations

import re

import pytest

from catalog.importer import run_import
from settings import ROOT
from store import queries
from store.models import Event
from store.recommend import fit

LINE = re.compile(r"^(\d)\. (.+)（(.+)）\n   (.+)$", flags=re.M)


@pytest.fixture
def demo_catalog(app):
    with app.services.database.connection_context():
        assert run_import(ROOT / "content" / "demo", progress=False).ok


def listed(reply: str) -> list[tuple[str, str, str, str]]:
    return LINE.findall(reply)


def read_first_hit(user, query: str) -> str:
    user.says(query)
    title = user.says("1").split("】", 1)[0].removeprefix("【")
    user.received()
    return title


def test_recommend_lists_three_numbered_items_with_reasons(user, demo_catalog):
    read = read_first_hit(user, "机器学习入门")
    reply = user.says("推荐")
    rows = listed(reply)
    assert [n for n, *_ in rows] == ["1", "2", "3"], reply
    assert read not in [title for _, title, _, _ in rows]
    assert all(reason.startswith(("因为你读过《", "读过《")) for *_, reason in rows), rows
    assert f"《{read}》" in rows[0][3]
    assert listed(user.says("猜你喜欢")) == rows
    assert listed(user.clicks("MENU_RECOMMEND")) == rows


def test_recommend_then_a_number_opens_it_through_the_reading_flow(user, demo_catalog, app):
    read_first_hit(user, "Python 装饰器")
    rows = listed(user.says("推荐"))
    first = user.says("2")
    assert first.startswith(f"【{rows[1][1]}】")
    later = user.received()
    assert later and later[-1]["msgtype"] == "news" and later[-1]["articles"][0]["title"] == rows[1][1]
    assert "点赞" in user.says("赞")
    with app.services.database.connection_context():
        kinds = [(e.kind, e.article_id) for e in queries.events_of(user.openid)]
    views = [article for kind, article in kinds if kind == "view"]
    assert len(views) == 2 and ("like", views[-1]) in kinds
    assert rows[1][1] not in [title for _, title, _, _ in listed(user.says("推荐"))], "opened: never again"


def test_not_interested_marks_the_item_and_it_never_comes_back(user, demo_catalog, app):
    read_first_hit(user, "SQL")
    rows = listed(user.says("推荐"))
    assert rows[1][1] in user.says("不感兴趣 2")
    raw = user.says("推荐")
    again = listed(raw)
    assert len(again) == 3 and rows[1][1] not in [title for _, title, _, _ in again], again
    assert "1 到 3" in user.says("不感兴趣 7")
    assert "不感兴趣 2" in user.says("不感兴趣")
    with app.services.database.connection_context():
        assert Event.select().where(Event.kind == "dislike").count() == 1
    user.says("删除我的数据")
    user.says("确认删除")
    with app.services.database.connection_context():
        assert Event.select().where(Event.kind == "dislike").count() == 0


def test_a_finished_article_ends_with_one_related_item_and_its_reason(user, demo_catalog):
    user.says("机器学习入门")
    user.says("1")
    texts = [m["content"] for m in user.received() if m["msgtype"] == "text"]
    ending = texts[-1]
    assert "全文完" in ending and ending.endswith("发送「推荐」看更多。")
    found = re.search(r"你可能还喜欢：《(.+)》（(.+)）", ending)
    assert found and found.group(1) != "机器学习入门：从线性回归到过拟合"
    assert found.group(2) in ("因为你读过《机器学习入门：从线性回归到过拟合》",
                              "读过《机器学习入门：从线性回归到过拟合》的人也在读"), found.group(2)


def test_a_new_follower_gets_the_cold_start_list(user, demo_catalog, live, app, settings, sandbox):
    """What readers opened leads the list; 「很多人」 is said of it only once several followers have."""
    from tests.conftest import chat_user

    title = read_first_hit(user, "时间管理")
    newcomer = chat_user(live, app, settings, sandbox, "o_newcomer")
    rows = listed(newcomer.says("推荐"))
    assert len(rows) == 3 and rows[0][1] == title and rows[0][3] == "新上架", rows
    for n in range(2):
        read_first_hit(chat_user(live, app, settings, sandbox, f"o_reader{n}"), "时间管理")
    with app.services.database.connection_context():
        fit()  # as the clock does every recommend.refit_minutes: new readers, same catalog
    rows = listed(chat_user(live, app, settings, sandbox, "o_later").says("推荐"))
    assert rows[0][1] == title and rows[0][3] == "最近很多人在读", rows
