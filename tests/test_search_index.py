"""Behaviour of `search.SearchIndex`: what a follower typing a few words should get back."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from search import Doc, SearchIndex, normalize

THUCNEWS = Path(__file__).resolve().parents[2] / "shared/data/thucnews"

CATALOG = (
    Doc(1, "机器学习入门：从线性回归到神经网络", tags=("人工智能",)),
    Doc(2, "深度学习实战：用PyTorch训练图像分类模型", tags=("人工智能", "Python")),
    Doc(3, "Python数据分析基础教程", summary="用pandas和numpy处理表格数据", tags=("Python", "数据")),
    Doc(4, "Python爬虫从零开始", tags=("Python",)),
    Doc(5, "Python自动化办公：批量处理Excel", tags=("Python",)),
    Doc(6, "Python面向对象编程精讲", tags=("Python",)),
    Doc(7, "Python并发编程与异步IO", tags=("Python",)),
    Doc(8, "Python Web开发：Django实战", tags=("Python",)),
    Doc(9, "零基础学Python：十天入门", tags=("Python",)),
    Doc(10, "股票投资的十个基本原则", tags=("理财",)),
    Doc(11, "基金定投：普通人的理财方法", summary="每月固定投入指数基金，长期持有，平摊成本", tags=("理财",)),
    Doc(12, "中国古代史：秦汉帝国的兴衰", tags=("历史",)),
    Doc(13, "唐诗三百首赏析", tags=("文学",)),
    Doc(14, "红楼梦人物关系详解", summary="贾宝玉、林黛玉与薛宝钗之间的故事", tags=("文学", "古典小说")),
    Doc(15, "如何科学减肥不反弹", tags=("健康",)),
    Doc(16, "家常红烧肉的做法", summary="五花肉、冰糖、老抽，小火慢炖一小时", tags=("美食",)),
    Doc(17, "考研英语阅读理解技巧", tags=("考试",)),
    Doc(18, "时间管理：番茄工作法详解", tags=("效率",)),
)


@pytest.fixture(scope="module")
def index() -> SearchIndex:
    return SearchIndex.build(CATALOG)


def ids(hits: list) -> list[int]:
    return [hit.id for hit in hits]


def test_normalize_folds_width_case_spaces_and_punctuation() -> None:
    assert normalize("ＰｙＴｈｏｎ　机器 学习，《入门》！\t") == "python机器学习入门"


def test_len_counts_documents(index: SearchIndex) -> None:
    assert len(index) == len(CATALOG)


@pytest.mark.parametrize("doc", CATALOG, ids=lambda doc: str(doc.id))
def test_exact_title_is_found_first(index: SearchIndex, doc: Doc) -> None:
    assert index.search(doc.title)[0].id == doc.id


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("机器学入门", 1),  # dropped 习
        ("红楼人物关系", 14),  # dropped 梦
        ("基金定投普通的理财", 11),  # dropped 人
        ("茄番工作法", 18),  # 番茄 swapped
        ("唐三诗百首", 13),  # 诗三 swapped
        ("考研英语读阅理解", 17),  # 阅读 swapped
    ],
)
def test_typo_still_finds_the_title_in_top_3(index: SearchIndex, query: str, expected: int) -> None:
    assert expected in ids(index.search(query, limit=3))


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("入门 机器学习", 1),
        ("做法 家常 红烧肉", 16),
        ("兴衰 秦汉帝国", 12),
        ("机 器 学 习 入 门", 1),
        ("红楼梦 人物关系 详解", 14),
    ],
)
def test_word_order_and_spaces_are_forgiven(index: SearchIndex, query: str, expected: int) -> None:
    assert index.search(query)[0].id == expected


@pytest.mark.parametrize(("query", "expected"), [("ＰＹＴＨＯＮ爬虫", 4), ("Ｐｙｔｈｏｎ　数据分析", 3), ("ＤＪＡＮＧＯ", 8)])
def test_full_width_input_works(index: SearchIndex, query: str, expected: int) -> None:
    assert index.search(query)[0].id == expected


def test_tags_are_searchable(index: SearchIndex) -> None:
    assert index.search("古典小说")[0].id == 14
    assert set(ids(index.search("人工智能"))) >= {1, 2}


def test_summary_is_searchable(index: SearchIndex) -> None:
    assert index.search("五花肉 冰糖")[0].id == 16
    assert index.search("指数基金")[0].id == 11
    assert index.search("林黛玉")[0].id == 14


def test_paging_returns_disjoint_consecutive_pages(index: SearchIndex) -> None:
    ranking = ids(index.search("python", limit=len(CATALOG)))
    assert len(ranking) == 8  # docs 2-9 mention Python
    pages = [ids(index.search("python", limit=3, offset=offset)) for offset in (0, 3, 6)]
    assert [len(page) for page in pages] == [3, 3, 2]
    assert pages[0] + pages[1] + pages[2] == ranking
    assert len(set(ranking)) == len(ranking)
    assert index.search("python", limit=3, offset=len(CATALOG)) == []


@pytest.mark.parametrize("query", ["python", "理财", *(doc.title for doc in CATALOG)])
def test_scores_are_sorted_and_within_bounds(index: SearchIndex, query: str) -> None:
    scores = [hit.score for hit in index.search(query, limit=10)]
    assert scores == sorted(scores, reverse=True)
    assert all(0.0 < score <= 1.0 for score in scores)


@pytest.mark.parametrize("query", ["鳕鱼罐头批发", "qzxwvkj", "嗯嗯嗯嗯嗯", "天气预报明天下雨"])
def test_nonsense_query_finds_nothing(index: SearchIndex, query: str) -> None:
    assert index.search(query) == []


@pytest.mark.parametrize("query", ["", "   ", "\u3000", "，。！？……", "《》"])
def test_empty_or_punctuation_query_finds_nothing(index: SearchIndex, query: str) -> None:
    assert index.search(query) == []


def test_empty_catalog_finds_nothing() -> None:
    empty = SearchIndex.build([])
    assert len(empty) == 0
    assert empty.search("python") == []


def test_duplicate_ids_are_rejected() -> None:
    with pytest.raises(ValueError):
        SearchIndex.build([Doc(1, "甲"), Doc(1, "乙")])


def test_concurrent_searches_match_serial_results(index: SearchIndex) -> None:
    queries = [doc.title for doc in CATALOG] + ["python", "入门 机器学习", "理财", "茄番工作法", "鳕鱼罐头批发"]
    expected = {query: index.search(query, limit=10) for query in queries}
    work = queries * 40
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda query: index.search(query, limit=10), work))
    assert results == [expected[query] for query in work]


def test_thucnews_titles_are_found_despite_a_dropped_character() -> None:
    """Over the first 2,000 real titles: every 20th title is found first when typed exactly (or a
    title identical after normalisation is), and in the top 3 with its middle character dropped."""
    lines = (THUCNEWS / "dev.txt").read_text(encoding="utf-8").splitlines()[:2000]
    titles = [line.rsplit("\t", 1)[0] for line in lines]
    index = SearchIndex.build(Doc(i, title) for i, title in enumerate(titles))
    assert len(index) == 2000
    for i in range(0, len(titles), 20):
        title, wanted = titles[i], normalize(titles[i])
        assert normalize(titles[index.search(title)[0].id]) == wanted, title
        middle = len(title) // 2
        typo = title[:middle] + title[middle + 1 :]
        assert wanted in [normalize(titles[hit.id]) for hit in index.search(typo, limit=3)], typo
