"""`search.SearchIndex` asked the way followers talk: questions, pinyin, synonyms, traditional
characters, article bodies. The phrasings here are in neither the code nor bench/search.py."""

from __future__ import annotations

import pytest

from handlers.events import spoken_text
from search import Doc, SearchIndex, normalize
from search.normalize import terms
from search.pinyin import split_syllables
from search.postings import Postings
from search.suggest import closest_names
from search.windows import best_window

CATALOG = (
    Doc(1, "机器学习入门：从线性回归到神经网络", tags=("人工智能",), body="本文先讲损失函数，再讲梯度下降。"),
    Doc(2, "深度学习实战：用PyTorch训练图像分类模型", tags=("人工智能", "Python")),
    Doc(3, "Python数据分析基础教程", summary="用pandas和numpy处理表格数据", tags=("Python", "数据")),
    Doc(4, "股票投资的十个基本原则", tags=("投资",), body="长期持有优质公司，别追涨杀跌。"),
    Doc(5, "基金定投：普通人的长期计划", summary="每月固定投入，平摊成本", tags=("投资", "家庭财务")),
    Doc(6, "红楼梦人物关系详解", summary="贾宝玉、林黛玉与薛宝钗之间的故事", tags=("文学",)),
    Doc(7, "家常红烧肉的做法", tags=("美食",),
        body="五花肉切块焯水。关键一步：冰糖炒出糖色，再放肉翻炒上色，最后小火慢炖一小时。"),
    Doc(8, "考研英语阅读理解技巧", tags=("考试",)),
    Doc(9, "番茄工作法：二十五分钟的专注", tags=("效率",)),
    Doc(10, "宇宙的起源：大爆炸理论简史", tags=("科普",), body="哈勃发现星系正在彼此远离。"),
    Doc(11, "咖啡烘焙的化学", tags=("美食", "科普")),
    Doc(12, "城市骑行路线推荐", tags=("运动",)),
)
SYNONYMS = [("人工智能", "AI"), ("家庭财务", "理财", "管钱")]


@pytest.fixture(scope="module")
def index() -> SearchIndex:
    return SearchIndex.build(CATALOG, synonyms=SYNONYMS)


def top(index: SearchIndex, query: str) -> int | None:
    hits = index.search(query)
    return hits[0].id if hits else None


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("你们这有讲红烧肉的吗", 7),
        ("红楼梦相关的有没有", 6),
        ("麻烦找找番茄工作法", 9),
        ("想学机器学习，有文章吗", 1),
        ("请教一下咖啡烘焙", 11),
        ("阅读理解，求资料！", 8),
        ("我对宇宙的起源很感兴趣", 10),
        ("谁能讲讲骑行路线？", 12),
        ("股票投资有啥要注意的", 4),
    ],
)
def test_the_words_around_a_question_do_not_decide(index: SearchIndex, query: str, expected: int) -> None:
    assert top(index, query) == expected


EXAMS = (
    "今年考生高考志愿怎么填", "高考作文题目公布", "高考分数线出炉", "高考期间的交通管制", "高考英语听力改革",
    "高考状元的学习方法", "手机拍照能找到丢失的猫", "高考志愿填报的五个误区", "家长眼中的高考", "高考前一晚该做什么",
)


@pytest.mark.parametrize("query", ["我要生高考志，谢啦", "找找考生高啊", "有人写过生高考志愿吗"])
def test_a_piece_cut_across_words_is_found_inside_a_question(query: str) -> None:
    """Among many titles holding 高考, the piece 「生高考志」 (jieba: 生 / 高考 / 志) finds the one holding it."""
    index = SearchIndex.build(Doc(i, title) for i, title in enumerate(EXAMS))
    assert top(index, query) == 0


def test_the_piece_is_the_window_a_document_holds_that_everyday_language_explains_worst() -> None:
    texts = [normalize(doc.title) for doc in CATALOG]
    postings = Postings.build(texts, analyzer="char_wb", ngram_range=(1, 3))
    window = best_window(terms("有人写过楼梦人物吗"), postings, texts)
    assert window is not None and window.text == "楼梦人物" and 0 < window.factor <= 1
    assert best_window(terms("楼梦人物蹿璇弩鳖"), postings, texts) is None  # chance characters are no asking
    assert best_window(terms("咖啡师资格证"), postings, texts) is None  # a rarer word the catalogue lacks


@pytest.mark.parametrize("query", ["你们这有讲潜水艇的吗", "麻烦找找量子纠缠", "谁能讲讲火山爆发？"])
def test_a_question_about_what_the_catalog_lacks_finds_nothing(index: SearchIndex, query: str) -> None:
    assert index.search(query) == []


@pytest.mark.parametrize(
    ("query", "expected"),
    [("hongloumeng", 6), ("hong lou meng", 6), ("fanqie gongzuofa", 9), ("kafei", 11), ("红烧rou", 7),
     ("qixing luxian", 12), ("hlm", 6), ("kyyy", 8)],
)
def test_pinyin_and_initials_find_the_titles_they_spell(index: SearchIndex, query: str, expected: int) -> None:
    assert top(index, query) == expected


def test_pinyin_splits_into_the_fewest_syllables() -> None:
    assert split_syllables("xiangjiao") == ["xiang", "jiao"]
    assert split_syllables("lue") == ["lve"]
    assert split_syllables("pandas") is None


def test_latin_words_that_are_not_pinyin_are_not_read_as_pinyin(index: SearchIndex) -> None:
    assert top(index, "pytorch") == 2
    assert index.search("xqzv") == []


@pytest.mark.parametrize(("query", "expected"),
                         [("pandas相关的有没有", 3), ("能不能找到讲PyTorch的", 2), ("numpy怎么用啊", 3)])
def test_a_latin_word_inside_a_question_is_what_it_asks_for(index: SearchIndex, query: str, expected: int) -> None:
    assert top(index, query) == expected


def test_a_latin_word_is_a_window_unless_it_spells_pinyin() -> None:
    texts = [normalize(title) for title in ("SQL 索引原理", "SQL 窗口函数", "秀出你的MAN范儿", "讲好一个故事", "的确如此")]
    postings = Postings.build(texts, analyzer="char_wb", ngram_range=(1, 3))
    window = best_window(terms("谁讲过SQL的"), postings, texts)
    assert window is not None and window.text == "sql" and window.factor == 1.0
    assert best_window(terms("新浪man"), postings, texts) is None  # man: pinyin, and characters were meant
    assert best_window(terms("谁讲过QL的"), postings, texts) is None  # only whole Latin words count


def test_a_latin_word_in_a_mistyped_fragment_is_not_taken_for_the_piece() -> None:
    docs = [Doc(1, "玩《三国印魂》3G手机天天送惊喜"), Doc(2, "G3笔记本新干线首轮发车"), Doc(3, "手机游戏排行榜")]
    assert top(SearchIndex.build(docs), "魂》G3手机天天") == 1


def test_synonyms_and_abbreviations_count_as_their_equals(index: SearchIndex) -> None:
    assert {hit.id for hit in index.search("AI")} >= {1, 2}
    assert top(index, "管钱") == 5  # through the tag 家庭财务
    assert top(index, "理财") == 5


def test_a_latin_synonym_only_counts_as_a_whole_word() -> None:
    index = SearchIndex.build([Doc(1, "网页制作：html与css"), Doc(2, "机器学习笔记")], synonyms=[("ml", "机器学习")])
    assert top(index, "ML") == 2
    assert top(index, "html") == 1
    assert 2 not in {hit.id for hit in index.search("html")}


def test_traditional_characters_find_simplified_titles(index: SearchIndex) -> None:
    assert top(index, "紅樓夢人物關係") == 6
    assert top(index, "機器學習") == 1


def test_the_body_is_searched_below_every_title_match_and_quoted(index: SearchIndex) -> None:
    hits = index.search("冰糖炒出糖色")
    assert hits[0].id == 7 and "冰糖炒出糖色" in hits[0].snippet and hits[0].snippet.startswith("…")
    found = index.search("梯度下降", limit=10)
    assert found[0].id == 1 and "梯度下降" in found[0].snippet
    title_and_body = index.search("红烧肉", limit=10)
    assert title_and_body[0].id == 7 and title_and_body[0].snippet == ""  # a title match shows no quote


def test_a_body_match_ranks_below_a_title_match() -> None:
    index = SearchIndex.build([Doc(1, "杂谈", body="今天聊聊星系的形成"), Doc(2, "星系的形成与演化")])
    hits = index.search("星系的形成")
    assert [hit.id for hit in hits] == [2, 1]
    assert hits[0].score > hits[1].score and hits[1].snippet


def test_closest_names_offer_something_for_any_query() -> None:
    names = ["投资", "人工智能", "美食", "科普", "文学"]
    assert closest_names("投资理念", names)[0] == "投资"
    assert closest_names("meishi", names)[0] == "美食"
    assert closest_names("zzzz", names) == names[:3]


@pytest.mark.parametrize(
    ("recognition", "typed"),
    [("红烧肉。", "红烧肉"), ("五。", "5"), ("第三篇", "3"), ("十一", "11"), ("下一页！", "下一页"), ("三国演义", "三国演义")],
)
def test_recognised_speech_reads_as_typed(recognition: str, typed: str) -> None:
    assert spoken_text(recognition) == typed
