"""store.recommend over real SQLite and PostgreSQL: the rules every list obeys, reasons, cold start,
models saved in the database and picked up by another process's Recommendations, deletion at the next fit."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from store import queries
from store.db import bind, open_database
from store.migrations import migrate
from store.models import Article, Order, Purchase, utcnow
from store.recommend import Recommendations, dislike, fit, latest_model_version, recommendations
from tests.conftest import empty_postgres

TOPICS = {
    "ml": ["机器学习入门：线性回归", "机器学习进阶：决策树与随机森林", "机器学习实战：特征工程", "机器学习模型评估方法"],
    "money": ["个人理财入门：记账与预算", "指数基金定投指南", "个人理财进阶：资产配置", "理财误区与风险控制"],
    "sql": ["SQL 入门：查询与过滤", "SQL 索引原理", "SQL 窗口函数详解", "SQL 连接查询实战"],
}
REASON = re.compile(r"^(因为你读过《(?P<a>.+)》|读过《(?P<b>.+)》的人也在读|和你口味相近的人也在读|最近很多人在读|新上架"
                    r"|换换口味|还没读过什么？可以从这篇开始)$")


@pytest.fixture(params=["sqlite", "postgres"])
def db(request, tmp_path):
    if request.param == "sqlite":
        database = bind(open_database(f"sqlite:///{tmp_path}/t.db"))
    else:
        empty_postgres(request.getfixturevalue("pg_url"))
        database = bind(open_database(request.getfixturevalue("pg_url")))
    migrate(database)
    with database.connection_context():
        yield database
    database.close()


def add(title: str, status: str = Article.PUBLISHED, price: int = 0) -> Article:
    slug = f"a{Article.select().count() + 1}"
    return Article.create(slug=slug, title=title, summary=title, body=f"{title}。" * 5, price=price, status=status)


@pytest.fixture
def catalog(db) -> dict[str, Article]:
    return {title: add(title) for titles in TOPICS.values() for title in titles}


def follower(openid: str, *articles: Article, kind: str = "view"):
    user = queries.touch_user(openid)
    for article in articles:
        queries.record_event(user, kind, article_id=article.id)
    return user


def buy(user, article: Article) -> None:
    order = Order.create(out_trade_no=f"T{user.id}x{article.id}", user=user, article=article, description="x",
                         amount=100, state=Order.PAID, expires_at=utcnow() + dt.timedelta(hours=1))
    Purchase.create(user=user, article=article, order=order)


def ids(items) -> list[int]:
    return [item.article_id for item in items]


def test_owned_opened_unlisted_and_disliked_items_never_appear(catalog):
    ml = [catalog[t] for t in TOPICS["ml"]]
    hidden = add("机器学习隐藏篇：未上架的草稿", status=Article.UNLISTED)
    unwanted = catalog[TOPICS["money"][0]]
    user = follower("o_reader", ml[0])
    buy(user, ml[1])
    dislike(user, unwanted.id)
    follower("o_other", *ml, hidden)  # popular, so only the rules can keep them out
    follower("o_third", unwanted)
    fit()
    everything = recommendations().for_user("o_reader", k=50)
    batched = dict(recommendations().batch([user.id], k=50))[user.id]
    for got in (everything, batched):
        assert {ml[2].id, ml[3].id} <= set(ids(got)), "the rest of the catalog is recommendable"
        assert not {ml[0].id, ml[1].id, unwanted.id, hidden.id} & set(ids(got))


def test_an_article_unlisted_after_the_fit_is_left_out_at_once(catalog):
    first = catalog[TOPICS["sql"][0]]
    follower("o_reader", first)
    fit()
    before = ids(recommendations().for_user("o_reader", k=3))
    gone = Article.get_by_id(before[0])
    gone.status = Article.UNLISTED
    gone.save()
    assert gone.id not in ids(recommendations().for_user("o_reader", k=50))


def test_the_excluded_ids_of_a_batch_stay_out(catalog):
    user = follower("o_reader", catalog[TOPICS["money"][0]])
    fit()
    first = dict(recommendations().batch([user.id], k=3))[user.id]
    again = dict(recommendations().batch([user.id], k=3, exclude={user.id: ids(first)}))[user.id]
    assert again and not set(ids(first)) & set(ids(again))


def test_every_reason_names_a_real_cause(catalog):
    read = [catalog[TOPICS["ml"][0]], catalog[TOPICS["money"][0]]]
    follower("o_reader", *read)
    follower("o_crowd", *[catalog[t] for t in TOPICS["sql"]])
    fit()
    got = recommendations().for_user("o_reader", k=8)
    assert len(got) == 8
    titles = {a.title for a in read}
    for item in got:
        match = REASON.match(item.reason)
        assert match, item.reason
        named = match.group("a") or match.group("b")
        assert named is None or named in titles, item
    assert got[0].reason.startswith("因为你读过《")


def test_cold_start_a_new_follower_gets_what_recent_readers_liked(catalog):
    favourite = catalog[TOPICS["sql"][1]]
    for n in range(3):
        follower(f"o_fan{n}", favourite, catalog[TOPICS["ml"][n]])
    fit()
    for openid in ("o_never_seen", "o_new"):
        if openid == "o_new":
            queries.touch_user(openid)
        got = recommendations().for_user(openid, k=3)
        assert got[0].article_id == favourite.id and got[0].reason == "最近很多人在读"
        assert [item.reason for item in got[1:]] == ["新上架", "新上架"]  # one reader each, added today


def test_cold_start_a_new_article_is_reachable_through_content_alone(catalog):
    follower("o_reader", *[catalog[t] for t in TOPICS["sql"][:3]])
    fit()
    fresh = add("SQL 窗口函数与索引优化进阶")
    assert fresh.id not in ids(recommendations().for_user("o_reader", k=50)), "unknown to the old model"
    fit()
    got = recommendations().for_user("o_reader", k=3)
    assert fresh.id in ids(got)
    assert next(i for i in got if i.article_id == fresh.id).reason.startswith("因为你读过《SQL")


def test_a_newer_saved_model_is_picked_up_without_a_restart(catalog):
    follower("o_reader", catalog[TOPICS["ml"][0]])
    running = Recommendations()  # as in a web worker: loads the newest saved model
    first = running.model()
    fresh = add("机器学习新篇：梯度提升")
    version = fit().version  # as the clock would, elsewhere
    assert running.model() is not first and len(running.model()) == len(first) + 1
    assert fresh.id in ids(running.for_user("o_reader", k=len(first)))
    assert latest_model_version()[0] == version


def test_a_model_saved_by_an_older_version_is_refitted_not_loaded(catalog, caplog):
    from recommender import model as fitted
    from store.recommend_tables import SavedModel

    follower("o_reader", catalog[TOPICS["ml"][0]])
    old = fit().version
    current = fitted.FORMAT
    try:
        fitted.FORMAT = current + 1  # this code now reads a newer format than the saved one
        with caplog.at_level("INFO", logger="store.recommend"):
            model = Recommendations().model()
    finally:
        fitted.FORMAT = current
    assert latest_model_version()[0] > old and SavedModel.select().count() == 2
    assert len(model) == len(catalog) and "refitting the recommender" in caplog.text


@pytest.mark.parametrize("how", ["delete_my_data", "unsubscribe"])
def test_deleting_a_followers_data_removes_them_from_the_next_fit(catalog, how):
    x, y = catalog[TOPICS["ml"][0]], catalog[TOPICS["money"][3]]
    crowd = [follower(f"o_pair{n}", x, y) for n in range(4)]
    for n in range(6):
        follower(f"o_else{n}", catalog[TOPICS["sql"][n % 4]])
    follower("o_reader", x)
    fit()
    model = recommendations().model()
    assert model.co[model.index[x.id], model.index[y.id]] > 0
    assert "读过《机器学习入门：线性回归》的人也在读" in [i.reason for i in recommendations().for_user("o_reader", 5)]
    for user in crowd:
        if how == "delete_my_data":
            queries.delete_behaviour(user)
        else:
            queries.forget_user(user.openid)
    summary = fit()
    assert summary.users == 7
    model = recommendations().model()
    assert model.co[model.index[x.id], model.index[y.id]] == 0
    assert all("的人也在读" not in i.reason for i in recommendations().for_user("o_reader", 5))


def test_the_list_is_deterministic_and_scores_are_comparable(catalog):
    follower("o_reader", catalog[TOPICS["ml"][0]], catalog[TOPICS["sql"][0]])
    fit()
    first = recommendations().for_user("o_reader", k=6)
    fit()
    assert recommendations().for_user("o_reader", k=6) == first
    assert all(0 < item.score <= 2 for item in first)


def test_profiles_live_in_the_content_feature_space(catalog):
    user = follower("o_reader", catalog[TOPICS["money"][1]])
    fit()
    matrix, features = recommendations().profiles([user.id, 0])
    assert matrix.shape == (2, len(features))
    assert matrix[1].nnz == 0
    top = [features[i] for i in matrix[0].toarray().ravel().argsort()[-20:]]
    assert {"指数", "基金"} & set(top)
