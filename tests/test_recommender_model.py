"""recommender/ on its own (no database): diversification, 不感兴趣, chunking, saved bytes, the ALS option."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from recommender.fit import fit_model, freshness_of
from recommender.interactions import pair_matrix, weight_matrix
from recommender.model import FittedModel, StaleModel
from recommender.rank import batch, rank
from recommender.types import Item, Weights

NOW = dt.datetime(2026, 1, 1)
WEIGHTS = Weights({"view": 1.0, "like": 2.0, "dislike": -1.0}, half_life_days=30)
TITLES = (["Python 装饰器入门", "Python 装饰器入门（上）", "Python 装饰器入门（下）", "Python 装饰器入门（合集）",
           "Python 生成器详解", "Python 异步编程", "Python 类型注解"]
          + [f"理财第{n}课：基金定投" for n in range(5)] + [f"摄影第{n}课：构图" for n in range(5)])
ITEMS = [Item(n + 1, title) for n, title in enumerate(TITLES)]
INDEX = {item.id: n for n, item in enumerate(ITEMS)}


def model_for(rows, collaborative="co_reading") -> FittedModel:
    users = sorted({row[0] for row in rows})
    return fit_model(ITEMS, weight_matrix(users, INDEX, rows, WEIGHTS, NOW), freshness_of(range(len(ITEMS))),
                     collaborative=collaborative)


def lists(model, rows, users, k=3):
    matrix = weight_matrix(users, INDEX, rows, WEIGHTS, NOW)
    skip = pair_matrix(users, INDEX, [(u, a) for u, a, _, _ in rows])
    return rank(model, matrix, skip, np.ones(len(ITEMS), dtype=bool), k)


def test_near_copies_do_not_fill_the_list():
    rows = [(1, 1, "view", NOW)]
    got = [r.article_id for r in lists(model_for(rows), rows, [1])[0]]
    assert len(got) == 3 and got[0] in (2, 3, 4)
    assert not set(got) <= {2, 3, 4}, "three parts of one article are near-copies: MMR lets another in"


def test_a_dislike_pushes_its_neighbours_down():
    liked = [(1, 5, "view", NOW), (1, 8, "view", NOW)]  # a Python title and a finance title
    model = model_for(liked)
    before = {r.article_id: r.score for r in lists(model, liked, [1], k=len(ITEMS))[0]}
    after = {r.article_id: r.score for r in lists(model, liked + [(1, 9, "dislike", NOW)], [1], k=len(ITEMS))[0]}
    assert 9 in before and 9 not in after
    for finance in (10, 11, 12):  # near the disliked one: they fall behind the Python titles
        assert after[finance] / after[6] < before[finance] / before[6]


def test_chunks_change_nothing_and_saved_bytes_rank_the_same():
    rows = [(u, a, "view", NOW) for u in range(1, 9) for a in ((u % 3) * 5 + 1, (u % 3) * 5 + 2)]
    model = model_for(rows)
    users = list(range(1, 9))
    matrix = weight_matrix(users, INDEX, rows, WEIGHTS, NOW)
    skip = pair_matrix(users, INDEX, [(u, a) for u, a, _, _ in rows])
    everyone = np.ones(len(ITEMS), dtype=bool)
    whole = rank(model, matrix, skip, everyone, 4)
    assert list(batch(model, matrix, skip, everyone, 4, chunk=3)) == whole
    assert rank(FittedModel.from_bytes(model.to_bytes()), matrix, skip, everyone, 4) == whole


def test_old_events_count_less():
    old, new = NOW - dt.timedelta(days=60), NOW
    matrix = weight_matrix([1], INDEX, [(1, 1, "view", old), (1, 2, "like", new)], WEIGHTS, NOW)
    assert matrix[0, INDEX[1]] == pytest.approx(0.25) and matrix[0, INDEX[2]] == pytest.approx(2.0)


@pytest.mark.parametrize("collaborative", ["co_reading", "als"])
def test_a_collaborative_reason_names_a_pair_someone_read(collaborative):
    pair = [(u, a, "view", NOW) for u in range(1, 7) for a in (5, 13)]  # Python and photography, read together
    rows = pair + [(u, 8 + u % 3, "view", NOW) for u in range(7, 13)] + [(20, 5, "view", NOW)]
    model = model_for(rows, collaborative)
    got = lists(model, rows, [20], k=5)[0]
    assert "读过《Python 生成器详解》的人也在读" in [r.reason for r in got if r.article_id == 13]
    for item in got:
        if item.reason.startswith("读过《"):
            source = next(i.id for i in ITEMS if f"《{i.title}》" in item.reason)
            assert model.support[INDEX[source], INDEX[item.article_id]] > 0


def test_the_batch_on_two_threads_equals_the_per_follower_path():
    """A catalog wide enough for the candidates' block bound (recommender.rank._candidates) to prune."""
    rng = np.random.default_rng(3)
    words = ["基金", "定投", "摄影", "构图", "Python", "装饰器", "咖啡", "烘焙", "跑步", "减脂", "诗词", "宋词"]
    items = [Item(n + 1, "".join(rng.choice(words, 3)) + f"第{n}讲") for n in range(300)]
    index = {item.id: n for n, item in enumerate(items)}
    rows = [(u, int(a), "dislike" if rng.random() < 0.1 else "view", NOW)
            for u in range(1, 41) for a in rng.choice(np.arange(1, 301), 8, replace=False)]
    users = list(range(0, 41))  # follower 0 has no history: the cold-start list
    matrix = weight_matrix(users, index, rows, WEIGHTS, NOW)
    model = fit_model(items, matrix, freshness_of(range(len(items))))
    skip = pair_matrix(users, index, [(u, a) for u, a, _, _ in rows])
    eligible = np.arange(len(items)) % 17 != 0
    alone = [rank(model, matrix[u:u + 1], skip[u:u + 1], eligible, 5)[0] for u in range(len(users))]
    assert list(batch(model, matrix, skip, eligible, 5, chunk=7, workers=2)) == alone
    assert all(len(recs) == 5 for recs in alone)


def test_candidates_are_the_best_of_the_whole_row():
    from recommender.rank import BLOCK, _candidates

    rng = np.random.default_rng(5)
    total = np.round(rng.random((20, 10 * BLOCK + 7)), 2).astype(np.float32)  # ties, a ragged last block
    total[rng.random(total.shape) < 0.3] = -np.inf
    total[3, 5:] = -np.inf  # a row with fewer positive scores than asked for
    best, relevance = _candidates(total, 12)
    for row, scores in enumerate(total):
        positive = np.flatnonzero(scores > 0)
        expected = positive[np.lexsort((positive, -scores[positive]))][:12]
        assert best[row, :len(expected)].tolist() == expected.tolist()
        assert relevance[row, :len(expected)].tolist() == scores[expected].tolist()
        assert np.isneginf(relevance[row, len(expected):]).all()


def test_nothing_left_to_recommend_is_an_empty_list():
    rows = [(1, a, "view", NOW) for a in range(1, len(ITEMS) + 1)]  # read everything
    assert lists(model_for(rows), rows, [1]) == [[]]


def test_a_content_reason_names_only_an_item_close_to_it():
    """Every two titles share some n-grams; 「因为你读过《X》」 is said only of items well above X's background."""
    rows = [(1, 8, "view", NOW)]  # 理财第0课：基金定投
    got = lists(model_for(rows), rows, [1], k=len(ITEMS) - 1)[0]
    by_content = {r.article_id for r in got if r.reason == "因为你读过《理财第0课：基金定投》"}
    assert {9, 10, 11, 12} <= by_content and not by_content & {1, 2, 3, 4, 5, 6, 7, 14, 15, 16, 17}, got
    assert {r.reason for r in got if r.article_id not in by_content} == {"换换口味"}  # (13: 摄影第0课 shares 第0课)


def test_new_and_many_readers_are_said_only_when_true():
    recent = [n < 3 for n in range(len(ITEMS))]
    few = [(1, 14, "view", NOW), (2, 14, "view", NOW)]  # two readers are not 「很多人」
    many = few + [(3, 15, "view", NOW), (4, 15, "view", NOW), (5, 15, "view", NOW)]
    for rows, popular in ((few, set()), (many, {15})):
        users = sorted({row[0] for row in rows})
        model = fit_model(ITEMS, weight_matrix(users, INDEX, rows, WEIGHTS, NOW), freshness_of(range(len(ITEMS))),
                          recent=recent)
        got = lists(model, [], [99], k=len(ITEMS))[0]  # a follower with no history
        reasons = {r.article_id: r.reason for r in got}
        assert {a for a, why in reasons.items() if why == "最近很多人在读"} == popular
        assert {a for a, why in reasons.items() if why == "新上架"} == ({1, 2, 3} - popular) & set(reasons)
        assert set(reasons.values()) - {"最近很多人在读", "新上架"} == {"还没读过什么？可以从这篇开始"}


def test_a_model_saved_in_another_format_is_refused():
    import io
    import json

    model = model_for([(1, 1, "view", NOW)])
    saved = dict(np.load(io.BytesIO(model.to_bytes())))
    meta = dict(json.loads(saved["meta"].tobytes().decode()), format=1)
    saved["meta"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    buffer = io.BytesIO()
    np.savez(buffer, **saved)
    with pytest.raises(StaleModel):
        FittedModel.from_bytes(buffer.getvalue())
