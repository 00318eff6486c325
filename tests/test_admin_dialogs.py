"""Creators' commands through the chat, as a creator types them: who is an admin, every command, 取消 at
each step, bad arguments, undo; and a follower sending every admin command gets ordinary text."""

from __future__ import annotations

import json
import logging
import re

import pytest

from dialogs import DIALOGS, home
from dialogs.framework import Router, Text, Turn
from store import queries
from store.admin_models import Admin, Audit, AuthFailure, Coupon
from store.models import Article, Event, Order, Series
from tests.conftest import chat_user
from tests.shop import PASSPHRASE, article, demo_catalog, in_db, settings, scheduler  # noqa: F401

GD = "gradient-descent"


def snapshot(app) -> dict:
    """Everything an admin command could change."""
    return in_db(app, lambda: {
        "articles": sorted(Article.select(Article.id, Article.price, Article.status, Article.title).tuples()),
        "series": sorted(Series.select(Series.id, Series.price).tuples()),
        "orders": sorted(Order.select(Order.id, Order.state, Order.refund_no).tuples()),
        "coupons": Coupon.select().count(), "audit": Audit.select().count(),
        "admins": sorted(Admin.select(Admin.openid, Admin.revoked_at).tuples())})


def as_ordinary_text(app, text: str) -> str:
    """What the bot answers `text` with when no admin dialog exists: the reply of ordinary text."""
    router = Router([d for d in DIALOGS if d.name not in ("admin", "publish")], home.GLOBAL_ROUTES, home.hint)

    def run() -> str:
        turn = Turn(openid="o_control", kind="text", text=text, user=queries.touch_user("o_control"),
                    app=app.services.pipeline.context)
        reply, _ = router.dispatch(turn)
        return reply.content if isinstance(reply, Text) else str(reply)

    return in_db(app, run)


ADMIN_TEXTS = [
    "发布", "/publish", "编辑 1", "编辑 1 标题", "改价 1 9.9", "/price 1 9.9", "下架 1", "上架 1", "统计", "统计 7天",
    "退款 KB20261201000000ABCDEF123456", "赠送 o_user 1", "优惠码 新建 SPRING 20%", "优惠码 列表",
    "优惠码 停用 SPRING", "用户 o_user", "后台", "撤销", "管理员 列表", "管理员 移除 o_admin", "/stats 30天",
    "推送预览", "推送", "/push",
]


def test_a_follower_sending_any_admin_command_gets_what_ordinary_text_gets(app, user, demo_catalog, caplog):
    before = snapshot(app)
    caplog.set_level(logging.WARNING, logger="dialogs.admin")
    for text in ADMIN_TEXTS:
        reply = user.says(text)
        assert reply == as_ordinary_text(app, text), text
        assert "创作者" not in reply and "仅限" not in reply
        assert not (app.services.state.load("o_user").state or "").startswith(("admin:", "publish:"))
    assert snapshot(app) == before
    attempts = [r for r in caplog.records if r.getMessage() == "admin command from a non-admin, treated as text"]
    assert len(attempts) == len(ADMIN_TEXTS) and {r.openid for r in attempts} == {"o_user"}
    assert "创作者指令" not in user.says("帮助")


def test_help_lists_every_command_with_an_example(admin):
    help_text = admin.says("帮助")
    for word in ("发布", "编辑", "改价", "下架", "统计", "退款", "赠送", "优惠码 新建", "用户", "后台", "撤销", "管理员"):
        assert f"· {word}" in help_text or word in help_text, word
    assert help_text.count("例如") >= 10


def test_auth_adds_an_admin_locks_out_after_five_wrong_tries_and_is_revocable(app, live, settings, sandbox, admin,
                                                                            caplog):
    guesser = chat_user(live, app, settings, sandbox, "o_guesser")
    for n in range(5):
        assert guesser.says(f"#auth wrong-{n}") == home.strings.HINT  # the usual hint, nothing more
    assert guesser.says(f"#auth {PASSPHRASE}") == home.strings.HINT  # locked out: even the right one
    assert "创作者指令" not in guesser.says("帮助")
    creator = chat_user(live, app, settings, sandbox, "o_creator")
    assert "成为管理员" in creator.says(f"#auth {PASSPHRASE}")
    assert "创作者指令" in creator.says("帮助") and "📊" in creator.says("统计")
    stored = in_db(app, lambda: [e.payload for e in Event.select()])
    assert not any("wrong-" in p or PASSPHRASE in p for p in stored)  # a passphrase is never recorded
    assert in_db(app, lambda: AuthFailure.select().where(AuthFailure.openid == "o_guesser").count()) == 5

    assert "o_creator（#auth）" in admin.says("管理员 列表")
    assert "需修改配置" in admin.says("管理员 移除 o_admin")
    assert "将移除管理员 o_creator" in admin.says("管理员 移除 o_creator")
    assert "已移除" in admin.says("确认")
    assert "没有找到" in creator.says("统计")  # ordinary text again
    assert any(r.getMessage() == "#auth wrong passphrase" for r in caplog.records)


def test_auth_without_a_passphrase_configured_is_ordinary_text(app, user):
    app.services.pipeline.context = type(app.services.pipeline.context)(
        app.services.settings.replace(admin={"passphrase": ""}), app.services.pipeline.context.links)
    assert user.says(f"#auth {PASSPHRASE}") == home.strings.HINT
    assert in_db(app, lambda: Admin.select().count()) == 0


def test_publish_end_to_end_then_searchable_with_its_preview(app, admin, user, demo_catalog):
    assert "请发送标题" in admin.says("发布")
    assert "请发送正文" in admin.says("贝叶斯定理速成")
    assert "第 1 段" in admin.says("## 先验\n\n先验是你在看到数据之前的信念。")
    assert "第 2 段" in admin.says("后验等于似然乘先验再归一化，**这是全部秘密**。")
    assert "第 3 段" in admin.says("最后一段：共轭先验让计算变得简单。")
    assert "价格" in admin.says("完成")
    assert "试读到哪里" in admin.says("9.9")
    review = admin.says("到第2段")
    assert "先验是你在看到数据之前的信念" in review and "共轭先验" not in review and "9.9元" in review
    assert "专栏：机器学习从零到一" in admin.says("专栏 ml-basics")
    done = admin.says("确认")
    assert done.startswith("已发布：《贝叶斯定理速成》")
    published = in_db(app, lambda: Article.get(Article.title == "贝叶斯定理速成"))
    assert published.price == 990 and published.series_id is not None and "试读至此" in published.body
    assert "贝叶斯定理速成" in user.says("贝叶斯")
    first = user.says("1")
    messages = [first] + [m["content"] for m in user.received() if m["msgtype"] == "text"]
    text = "\n".join(m for m in messages if m)
    assert "先验是你在看到数据之前的信念" in text and "共轭先验" not in text and "试读结束" in text
    entry = in_db(app, lambda: Audit.get(Audit.action == "publish"))
    assert entry.admin == "o_admin" and entry.target == f"article:{published.id}"


def drafted(admin, title: str, body: str) -> None:
    """The publish dialog up to its price question: a title and a body of one message."""
    admin.says("发布")
    admin.says(title)
    admin.says(body)
    admin.says("完成")


def test_undo_a_publish_and_a_coupon(app, admin, user, demo_catalog):
    drafted(admin, "撤销测试", "一段正文。")
    admin.says("0")
    admin.says("确认")
    assert "1. 撤销测试（免费）" in user.says("撤销测试")
    assert "发布（article:" in admin.says("撤销")
    assert "文章已下架" in admin.says("确认")
    assert "没有找到和「撤销测试」" in user.says("撤销测试")
    admin.says("优惠码 新建 UNDOME 10%")
    admin.says("确认")
    assert "新建优惠码（coupon:UNDOME）" in admin.says("撤销")
    assert "已删除" in admin.says("确认")
    assert in_db(app, lambda: Coupon.select().count()) == 0
    admin.says("优惠码 新建 KEEP 10%")
    admin.says("确认")
    admin.says("优惠码 停用 KEEP")
    admin.says("确认")
    admin.says("撤销")
    assert "恢复可用" in admin.says("确认")
    assert in_db(app, lambda: Coupon.get(Coupon.code == "KEEP").stopped) is False


def test_publish_free_article_skips_the_preview_and_rejects_bad_answers(app, admin, demo_catalog):
    admin.says("发布")
    assert "最多 100 个字" in admin.says("长" * 101)
    admin.says("免费小贴士")
    assert "还没有收到正文" in admin.says("完成")
    admin.says("只有一段。")
    admin.says("完成")
    assert "价格不对" in admin.says("九块九")
    assert "关注者将看到" in admin.says("0")
    assert "请回复「确认」" in admin.says("随便说点")
    assert "已发布" in admin.says("确认")
    assert in_db(app, lambda: Article.get(Article.title == "免费小贴士").price) == 0


def test_a_one_paragraph_paid_body_is_told_why_only_0_percent_fits(app, admin):
    drafted(admin, "一段话的文章", "只有这一段正文，没有空行把它分开。")
    assert "只有 1 段" in admin.says("2.5")
    assert "只有 1 段" in admin.says("30%")
    assert "关注者将看到" in admin.says("0%")


def test_edit_a_title_and_the_preview_point(app, admin, demo_catalog):
    gd = article(app, GD)
    assert "要修改" in admin.says(f"编辑 {gd.id}")
    assert "不认识「颜色」" in admin.says("颜色")
    assert "请发送标题" in admin.says("标题")
    assert "【梯度下降（新版）】" in admin.says("梯度下降（新版）")
    assert "已保存" in admin.says("确认")
    assert "试读到哪里" in admin.says(f"编辑 {gd.id} 试读")
    assert "不能是全文" in admin.says("到第99段")
    admin.says("到第1段")
    admin.says("确认")
    edited = article(app, GD)
    assert edited.title == "梯度下降（新版）" and edited.body.split("\n\n")[1] == "<!-- 试读至此 -->"
    assert in_db(app, lambda: Audit.select().where(Audit.action == "edit").count()) == 2


REACH = {  # how an admin gets into each declared state of the creators' dialogs
    "admin:confirm": ["改价 {gd} 19.9"],
    "publish:title": ["发布"],
    "publish:body": ["发布", "一个标题"],
    "publish:price": ["发布", "一个标题", "正文第一段\n\n第二段", "完成"],
    "publish:preview": ["发布", "一个标题", "正文第一段\n\n第二段", "完成", "9.9"],
    "publish:review": ["发布", "一个标题", "正文第一段\n\n第二段", "完成", "9.9", "50%"],
    "publish:field": ["编辑 {gd}"],
    "publish:summary": ["编辑 {gd} 摘要"],
}


def test_every_creator_state_is_reachable_and_cancel_leaves_it_unchanged(app, admin, demo_catalog):
    declared = {state for d in DIALOGS if d.name in ("admin", "publish") for state in d.states}
    assert declared == set(REACH)
    gd = article(app, GD).id
    before = snapshot(app)
    for state, steps in REACH.items():
        for text in steps:
            admin.says(text.format(gd=gd))
        assert app.services.state.load("o_admin").state == state
        assert "已取消" in admin.says("取消")
        assert app.services.state.load("o_admin").state is None
    assert snapshot(app) == before


@pytest.mark.parametrize("text, problem, usage", [
    ("改价", "缺少参数", "用法：改价"),
    ("改价 99999 9.9", "没有编号或 slug 为「99999」的文章", "用法：改价"),
    ("改价 {gd} abc", "价格不对：「abc」", "用法：改价"),
    ("改价 {gd} 9.999", "价格不对", "用法：改价"),
    ("下架 nope-slug", "没有编号或 slug", "用法：下架"),
    ("编辑", "缺少参数", "用法：编辑"),
    ("统计 明天", "时间范围不对：「明天」", "用法：统计"),
    ("退款 NOPE123456", "没有订单号为「NOPE123456」", "用法：退款"),
    ("赠送 o_nobody {gd}", "没有 openid 为「o_nobody」", "用法：赠送"),
    ("赠送 o_user", "缺少参数", "用法：赠送"),
    ("用户 ??", "openid 不对", "用法：用户"),
    ("优惠码", "缺少参数", "用法：优惠码"),
    ("优惠码 frob", "不认识「frob」", "用法：优惠码"),
    ("优惠码 新建 S! 20%", "优惠码不对", "用法：优惠码 新建"),
    ("优惠码 新建 SPRING 200%", "折扣不对：「200%」", "用法：优惠码 新建"),
    ("优惠码 新建 SPRING 5", "折扣不对：「5」", "用法：优惠码 新建"),
    ("优惠码 新建 SPRING 20% 到期 2026-13-01", "日期不对", "用法：优惠码 新建"),
    ("优惠码 新建 SPRING 20% 次数 0", "次数不对", "用法：优惠码 新建"),
    ("优惠码 停用 NOPE", "没有优惠码「NOPE」", "用法：优惠码 停用"),
    ("管理员 移除 ??", "openid 不对", "用法：管理员"),
])
def test_a_bad_argument_gets_one_line_and_the_right_form(app, admin, user, demo_catalog, text, problem, usage):
    user.says("你好")  # o_user exists
    before = snapshot(app)
    reply = admin.says(text.format(gd=article(app, GD).id))
    first, second = reply.split("\n")
    assert problem in first and second.startswith(usage) and "例如" in second
    assert snapshot(app) == before and app.services.state.load("o_admin").state is None


def test_price_change_is_confirmed_audited_and_undone(app, admin, user, demo_catalog):
    gd = article(app, GD)
    ask = admin.says(f"改价 {gd.id} 19.9")
    assert "从 9.9元 改为 19.9元" in ask and "确认" in ask
    assert "等待确认" in admin.says("别的")
    assert "现价 19.9元" in admin.says("确认")
    assert article(app, GD).price == 1990
    assert "19.9元" in user.says("梯度下降")
    assert "改价" in admin.says("撤销")
    assert "价格恢复为 9.9元" in admin.says("确认")
    assert article(app, GD).price == 990
    entries = in_db(app, lambda: list(Audit.select().order_by(Audit.id)))
    assert [(e.action, json.loads(e.before), json.loads(e.after)) for e in entries] == [
        ("price", {"price": 990}, {"price": 1990}), ("undo", {"price": 1990}, {"price": 990})]
    assert entries[0].undone_at is not None and entries[0].target == entries[1].target == f"article:{gd.id}"
    assert "没有可以撤销" in admin.says("撤销")
    assert "未做改动" in admin.says(f"改价 {gd.id} 9.9")


def test_unlist_keeps_owners_reading_and_list_brings_it_back(app, admin, user, demo_catalog):
    from tests.test_browse import own_something

    own_something(app, "o_user", GD)
    gd = article(app, GD)
    admin.says(f"下架 {gd.id}")
    assert "已下架" in admin.says("确认")
    assert "梯度下降：模型" not in user.says("梯度下降")
    user.says("已购")
    assert user.says("1").startswith("【梯度下降")  # the owner keeps access
    assert "已经是下架" in admin.says(f"下架 {gd.id}")
    admin.says("取消")
    admin.says(f"上架 {gd.id}")
    admin.says("确认")
    assert "梯度下降：模型" in user.says("梯度下降")
    admin.says("撤销")
    assert "状态恢复为下架" in admin.says("确认")
    assert article(app, GD).status == "unlisted"


def test_gift_is_a_zero_amount_grant_the_follower_is_told_and_stats_show_apart(app, admin, user, demo_catalog):
    user.says("你好")
    ask = admin.says("赠送 o_user ml-basics")
    assert "机器学习从零到一" in ask and "0 元赠送" in ask
    assert "已赠送" in admin.says("确认")
    told = [m["content"] for m in user.received() if m["msgtype"] == "text"]
    assert any(t.startswith("🎁 作者赠送了您专栏《机器学习从零到一》") for t in told)
    (order,) = in_db(app, lambda: list(Order.select()))
    assert order.amount == 0 and order.state == "paid"
    assert "（已购）" in user.says("梯度下降")
    assert "已经拥有" in admin.says("赠送 o_user ml-basics")
    stats = admin.says("统计 今天")
    assert "收入 0元（0 单" in stats and "赠送 1 份" in stats


def test_user_profile_and_dashboard_link(app, admin, user, demo_catalog):
    user.subscribes()
    user.says("梯度下降")
    user.says("1")
    user.says("推荐")
    user.says("不感兴趣 1")
    profile = admin.says("用户 o_user")
    assert "关注者 o_user" in profile and "关注中" in profile and "阅读 1" in profile and "推送：开启" in profile
    behaviour = next(line for line in profile.splitlines() if "行为" in line)
    assert "不感兴趣 1" in behaviour and not re.search("[a-z]", behaviour), behaviour  # every kind in Chinese
    link = admin.says("后台")
    assert "30 分钟" in link and f"{app.services.settings.site.base_url}/admin/" in link
