"""Search -> pick -> read, on the demo catalog, as a follower types it."""

from __future__ import annotations

import json
import re

import pytest

from catalog.importer import run_import
from settings import ROOT
from store import queries


@pytest.fixture
def demo_catalog(app):
    with app.services.database.connection_context():
        summary = run_import(ROOT / "content" / "demo", progress=False)
    assert summary.ok
    return summary


def numbered(reply):
    return re.findall(r"^(\d+)\. (.+)（(.+)）$", reply, flags=re.M)


def test_search_lists_numbered_titles_with_prices(user, demo_catalog):
    reply = user.says("机器学习")
    rows = numbered(reply)
    assert 1 <= len(rows) <= 5
    assert rows[0][1] == "机器学习入门：从线性回归到过拟合" and rows[0][2] == "免费"
    assert [n for n, _, _ in rows] == [str(i) for i in range(1, len(rows) + 1)]


def test_typos_spaces_and_width_are_forgiven(user, demo_catalog):
    assert numbered(user.says("深度 学习"))[0][1].startswith("深度学习基础")
    assert numbered(user.says("ｐｙｔｈｏｎ编程技巧"))[0][1].startswith("Python编程技巧")


def test_paging_continues_the_numbering(user, demo_catalog):
    first = numbered(user.says("Python"))
    assert len(first) == 5
    second = numbered(user.says("下一页"))
    assert second and second[0][0] == "6"
    assert not {t for _, t, _ in first} & {t for _, t, _ in second}


def test_pick_a_free_article_the_rest_follows_as_customer_service_messages(user, demo_catalog):
    user.says("机器学习入门")
    first = user.says("1")
    assert first.startswith("【机器学习入门：从线性回归到过拟合】") and len(first.encode()) <= 2000
    later = user.received()
    texts = [m["content"] for m in later if m["msgtype"] == "text"]
    assert texts and all(len(t.encode()) <= 2000 for t in texts)
    assert "全文完" in texts[-1]
    card = later[-1]
    assert card["msgtype"] == "news" and len(card["articles"]) == 1
    assert card["articles"][0]["title"] == "机器学习入门：从线性回归到过拟合"
    assert "/read/" in card["articles"][0]["url"]
    assert "已经读到最后" in user.says("继续")


def test_what_the_quota_holds_back_comes_on_continue(user, sandbox, demo_catalog):
    sandbox.fail_next("/cgi-bin/message/custom/send", 45047)
    user.says("机器学习入门")
    first = user.says("1")
    assert user.received() == []  # WeChat refused: the parts wait
    second = user.says("继续")
    assert second and second != first and "全文完" not in first
    rest = user.received()  # the new message reopened the window: what still waited goes out
    assert rest and rest[-1]["msgtype"] == "news"


@pytest.fixture
def reader_in_continue_mode(settings, sandbox, request):
    from bot import create_app
    from tests.conftest import LiveServer, chat_user

    app = create_app(settings.replace(bot={"long_text": "continue"}))
    server = LiveServer(app)
    request.addfinalizer(server.stop)
    with app.services.database.connection_context():
        run_import(ROOT / "content" / "demo", progress=False)
    return chat_user(server, app, settings, sandbox, "o_reader")


def test_continue_mode_pages_with_replies_and_ends_with_the_card(reader_in_continue_mode):
    user = reader_in_continue_mode
    user.says("机器学习入门")
    parts = [user.sends("1")]
    for _ in range(10):
        if parts[-1].msg_type != "text" or "回复「继续」" not in parts[-1].content:
            break
        parts.append(user.sends("继续"))
    texts = [p.content for p in parts if p.msg_type == "text"]
    assert len(texts) >= 2 and all(len(t.encode()) <= 2000 for t in texts)
    assert "全文完" in texts[-1]
    assert parts[-1].msg_type == "news" and "/read/" in parts[-1].articles[0]["url"]
    assert user.received() == []  # nothing went as customer-service messages
    assert "已经读到最后" in user.says("继续")


def test_a_paid_article_shows_only_its_preview(user, demo_catalog):
    user.says("梯度下降")
    texts = [user.says("1")] + [m["content"] for m in user.received() if m["msgtype"] == "text"]
    assert "试读结束" in texts[-1] and "9.9元" in texts[-1]
    assert "全文完" not in "".join(texts)


def test_out_of_range_number_is_explained(user, demo_catalog):
    user.says("理财")
    assert "请回复 1 到" in user.says("9")


def test_no_result_suggests_popular_titles(user, demo_catalog):
    user.says("机器学习")
    user.says("1")  # one view makes it popular
    reply = user.says("zzqx火星殖民")
    assert "没有找到" in reply and "大家都在看" in reply and "机器学习入门" in reply


def test_searches_and_views_are_recorded(app, user, demo_catalog):
    user.says("理财")
    user.says("1")
    with app.services.database.connection_context():
        recorded = [(e.kind, e.article_id, json.loads(e.payload)) for e in queries.events_of("o_user")]
    kinds = [k for k, _, _ in recorded]
    assert kinds.count("search") == 1 and kinds.count("view") == 1
    search = next(p for k, _, p in recorded if k == "search")
    assert search["query"] == "理财" and search["hits"] >= 1
    assert next(a for k, a, _ in recorded if k == "view") is not None


def test_cancel_from_results_and_reading(user, demo_catalog):
    user.says("机器学习")
    assert "已取消" in user.says("取消")
    user.says("机器学习")
    user.says("1")
    assert "已取消" in user.says("取消")
    assert "没有进行中" in user.says("取消")


def test_catalog_changes_are_searchable_without_restart(app, user, demo_catalog):
    from store.models import Article

    assert "没有找到" in user.says("量子纠缠")
    with app.services.database.connection_context():
        Article.create(slug="quantum", title="量子纠缠入门", body="正文", price=0)
    assert numbered(user.says("量子纠缠"))[0][1] == "量子纠缠入门"


def test_find_menu_lists_hot_and_new_and_a_number_opens_one(user, demo_catalog):
    user.says("理财")
    user.says("1")  # a view: 个人理财入门 is now the most read
    reply = user.clicks("MENU_FIND")
    assert "热门内容" in reply and "最新上架" in reply
    rows = numbered(reply)
    assert rows[0][1] == "个人理财入门：记账、应急金与复利"
    assert len({t for _, t, _ in rows}) == len(rows)  # nothing listed twice
    assert user.says("1").startswith("【个人理财入门")


def test_mine_lists_what_i_read_and_liked(user, demo_catalog):
    assert "还没有看过" in user.clicks("MENU_MINE")
    user.says("梯度下降")
    user.says("1")
    user.says("赞")
    reply = user.says("我的")
    assert "最近看过" in reply and numbered(reply)[0][1].startswith("梯度下降")
    assert user.says("1").startswith("【梯度下降")


def test_like_once_comment_and_read_comments(app, user, demo_catalog):
    assert "请先搜索并打开" in user.says("赞")
    user.says("梯度下降")
    user.says("1")
    assert "已点赞" in user.says("赞")
    assert "已经赞过" in user.says("赞")
    assert "请在「评论」后面" in user.says("评论")
    assert "已发布" in user.says("评论 讲得很清楚")
    assert "讲得很清楚" in user.says("看评论")
    with app.services.database.connection_context():
        kinds = [e.kind for e in queries.events_of("o_user")]
    assert kinds.count("like") == 1 and kinds.count("comment") == 1


def test_share_link_outside_wechat_shows_the_preview_without_credit(app, live, user, demo_catalog):
    """Credit needs to know who opened it (OAuth inside WeChat: tests/test_h5_pages.py)."""
    import requests

    user.says("梯度下降")
    user.says("1")
    reply = user.says("分享")
    url = re.search(r"http://\S+", reply).group(0)
    assert url.startswith(live.url + "/s/")
    page = requests.get(url, timeout=10)
    assert page.status_code == 200 and "梯度下降" in page.text and "关注公众号" in page.text
    assert requests.get(live.url + "/s/" + "x" * 40, timeout=10).status_code == 403
    with app.services.database.connection_context():
        assert [e.kind for e in queries.events_of("o_user")].count("share") == 1
        assert "share_open" not in [e.kind for e in queries.events_of("o_user")]


def test_my_data_and_deleting_it_with_confirmation(app, user, demo_catalog):
    user.says("梯度下降")
    user.says("1")
    user.says("评论 不错")
    shown = user.says("我的数据")
    assert "o_user" in shown and "评论 1 条" in shown and "view 1" in shown
    assert "确认删除" in user.says("删除我的数据")
    assert "未做改动" in user.says("算了")
    with app.services.database.connection_context():
        assert queries.events_of("o_user")
    user.says("删除我的数据")
    assert "已删除" in user.says("确认删除")
    with app.services.database.connection_context():
        assert queries.events_of("o_user") == []
        assert queries.data_held(queries.find_user("o_user")) == {"events": {}, "comments": 0, "feedback": 0}


def test_behaviour_vectors_count_each_kind(app, user, admin, demo_catalog):
    user.says("梯度下降")
    user.says("1")
    user.says("赞")
    user.says("评论 好")
    user.says("分享")
    admin.says("理财")
    admin.says("1")
    with app.services.database.connection_context():
        vectors = queries.behaviour_vectors()
    assert vectors["o_user"] == {"view": 1, "like": 1, "comment": 1, "share": 1, "purchase": 0}
    assert vectors["o_admin"] == {"view": 1, "like": 0, "comment": 0, "share": 0, "purchase": 0}


def own_something(app, openid, slug):
    """A paid order settled directly in the store (the payment paths have their own tests)."""
    from store import orders
    from store.models import Article, utcnow

    with app.services.database.connection_context():
        article = Article.get(Article.slug == slug)
        user = queries.touch_user(openid)
        order = orders.create(user, article, None, 100, article.title, 1800, utcnow())
        assert orders.mark_paid(order, "tx-test", utcnow())
