"""A follower asks the live bot the way people talk, on the demo catalog: questions, abbreviations,
pinyin, voice messages, article bodies, and what comes back when nothing matches."""

from __future__ import annotations

import re
import time

import pytest

from catalog.importer import run_import
from sandbox.sender import build_xml
from settings import ROOT


@pytest.fixture
def demo_catalog(app):
    with app.services.database.connection_context():
        summary = run_import(ROOT / "content" / "demo", progress=False)
    assert summary.ok, summary.format()
    return summary


def titles(reply: str) -> list[str]:
    return re.findall(r"^\d+\. (.+)（.+）$", reply, flags=re.M)


def speaks(user, recognition: str | None) -> str | None:
    """A voice message as WeChat delivers it, with its speech recognition result if any."""
    fields = [("ToUserName", user.sender.account), ("FromUserName", user.openid), ("CreateTime", int(time.time())),
              ("MsgType", "voice"), ("MediaId", "media_" + str(time.time_ns())), ("Format", "amr")]
    if recognition is not None:
        fields.append(("Recognition", recognition))
    fields.append(("MsgId", next(user.sender._msg_ids)))
    result = user.sender.post(build_xml(fields))
    assert result.status == 200 and result.problem is None, (result.status, result.body, result.problem)
    return result.content


@pytest.mark.parametrize(("question", "word"), [("有没有讲SQL的", "SQL"), ("推荐几篇讲Python的", "Python"),
                                                 ("想学asyncio", "asyncio")])
def test_a_latin_word_inside_a_question_finds_its_titles(user, demo_catalog, question, word):
    """On the demo catalog 讲 and 的 are in many titles: the question's Latin word must decide, not them."""
    found = titles(user.says(question))
    assert found and all(word.lower() in title.lower() for title in found[:3]), found


def test_the_issues_question_finds_the_index_fund_article(user, demo_catalog):
    assert titles(user.says("有没有讲指数基金的"))[0].startswith("指数基金定投")


def test_a_question_about_personal_finance_finds_both_tagged_articles(user, demo_catalog):
    found = titles(user.says("怎么理财"))
    assert {"个人理财入门：记账、应急金与复利", "指数基金定投：普通人的长期投资方案"} <= set(found[:2])


@pytest.mark.parametrize(
    ("asked", "expected"),
    [("你们有没有教写作的", "写作的基本功"), ("想系统学学SQL索引，有推荐吗", "SQL 索引原理"),
     ("过拟合咋整？", "过拟合与正则化")],
)
def test_other_questions_find_their_article(user, demo_catalog, asked, expected):
    assert titles(user.says(asked))[0].startswith(expected)


def test_an_abbreviation_from_the_synonym_file(user, demo_catalog):
    assert "机器学习入门：从线性回归到过拟合" in titles(user.says("ML"))[:1]


def test_pinyin_and_initials(user, demo_catalog):
    assert titles(user.says("jiqixuexi"))[0] == "机器学习入门：从线性回归到过拟合"
    assert titles(user.says("ti du xia jiang"))[0].startswith("梯度下降")
    assert titles(user.says("jqxx"))[0] == "机器学习入门：从线性回归到过拟合"
    assert titles(user.says("机器xuexi"))[0] == "机器学习入门：从线性回归到过拟合"


def test_traditional_characters(user, demo_catalog):
    assert titles(user.says("時間管理"))[0].startswith("时间管理")


def test_a_match_in_the_body_is_listed_with_a_quote(user, demo_catalog):
    reply = user.says("沪深300")
    assert titles(reply)[0].startswith("指数基金定投")
    assert re.search(r"↳ 正文：.*沪深 ?300", reply)


def test_a_voice_message_is_handled_as_the_words_it_carries(user, demo_catalog):
    reply = speaks(user, "机器学习。")
    assert reply.startswith("🎤 你说的是：机器学习")
    assert titles(reply)[0] == "机器学习入门：从线性回归到过拟合"
    opened = speaks(user, "一。")
    assert opened.startswith("🎤 你说的是：1") and "【机器学习入门：从线性回归到过拟合】" in opened
    assert "取消" in speaks(user, "帮助")


def test_a_voice_message_without_recognition_says_what_to_do(user, demo_catalog):
    for recognition in (None, ""):
        reply = speaks(user, recognition)
        assert "没有识别出文字" in reply and "开启" in reply


def test_nothing_found_offers_tags_series_and_the_hot_list_by_number(user, demo_catalog):
    user.says("机器学习入门")
    user.says("1")  # one view: it leads the hot list
    reply = user.says("zzqx火星殖民")
    assert "没有找到" in reply and "试试这些分类或专栏" in reply and "大家都在看" in reply
    hot = titles(reply)
    assert hot[0] == "机器学习入门：从线性回归到过拟合"
    assert user.says("1").startswith("【机器学习入门：从线性回归到过拟合】")


def test_the_closest_tag_comes_first(user, demo_catalog):
    reply = user.says("心理咨询师执照")
    assert "没有找到" in reply
    offered = reply.split("\n")[2]
    assert offered.startswith("「心理学」")


def test_after_nothing_was_found_commands_and_numbers_keep_their_meaning(user, demo_catalog):
    assert titles(user.says("机器学习"))
    hot = titles(user.says("zzqx火星殖民"))
    assert "取消" in user.says("帮助")
    assert user.says("2").startswith(f"【{hot[1]}】")
