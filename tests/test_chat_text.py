"""catalog.text: preview, chat rendering, splitting for chat, prices and slugs."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from catalog.text import (
    PREVIEW_MARKER, fen_to_yuan_text, full_text, preview, split_for_chat, stable_slug, to_chat, yuan_to_fen,
)

SENTENCE = "机器学习让计算机从数据中学习规律，而不是由人逐条写下规则。"  # 30 characters, 90 bytes


def size(text: str) -> int:
    return len(text.encode())


def visible(text: str) -> str:
    """The text without whitespace: what must survive a split, in order."""
    return re.sub(r"\s", "", text)


# ---------------------------------------------------------------- preview / full text


def test_preview_stops_at_the_marker_and_full_text_drops_it():
    body = f"第一段。\n\n第二段。\n\n{PREVIEW_MARKER}\n\n付费第一段。\n\n付费第二段。"
    assert preview(body) == "第一段。\n\n第二段。"
    assert full_text(body) == "第一段。\n\n第二段。\n\n付费第一段。\n\n付费第二段。"


def test_marker_is_found_with_loose_spacing():
    body = "免费。\n<!--试读至此-->\n付费。"
    assert preview(body) == "免费。"
    assert full_text(body) == "免费。\n\n付费。"


def test_marker_first_gives_no_preview():
    assert preview(f"{PREVIEW_MARKER}\n\n全部付费。") == ""


def test_full_text_without_marker_is_the_body():
    body = "一段。\n\n二段。\n"
    assert full_text(body) == body


def test_preview_without_marker_takes_whole_paragraphs_within_the_share():
    paragraphs = [f"第{i}段。" + SENTENCE for i in range(10)]  # equal lengths
    body = "\n\n".join(paragraphs)
    cut = preview(body, share=0.3)
    assert cut == "\n\n".join(paragraphs[:3])
    assert len(cut) <= 0.3 * len(body)


def test_preview_without_marker_keeps_at_least_one_paragraph():
    body = SENTENCE * 10 + "\n\n短。"
    assert preview(body, share=0.1) == SENTENCE * 10
    assert preview("唯一的一段。") == "唯一的一段。"


def test_preview_rejects_a_bad_share():
    with pytest.raises(ValueError):
        preview("x", share=0)
    with pytest.raises(ValueError):
        preview("x", share=1.5)


# ---------------------------------------------------------------- to_chat


def test_to_chat_renders_markdown_as_plain_text():
    markdown = (
        "# 标题一\n"
        "\n"
        "正文里有 `inline` 代码、**重点**和[链接](https://example.com/a)。  \n"
        "\n"
        "## 列表 ##\n"
        "\n"
        "- 第一项\n"
        "* 第二项\n"
        "  + 子项\n"
        "\n"
        "```python\n"
        "# 不是标题\n"
        "def f(*args, **kwargs):\n"
        "\n"
        "    return `x`\n"
        "```\n"
        "\n"
        f"{PREVIEW_MARKER}\n"
        "\n"
        "---\n"
        "\n"
        "![示意图](https://example.com/p.png)\n"
    )
    assert to_chat(markdown) == (
        "【标题一】\n"
        "\n"
        "正文里有 inline 代码、重点和链接（https://example.com/a）。\n"
        "\n"
        "【列表】\n"
        "\n"
        "· 第一项\n"
        "· 第二项\n"
        "  · 子项\n"
        "\n"
        "    # 不是标题\n"
        "    def f(*args, **kwargs):\n"
        "\n"
        "        return `x`\n"
        "\n"
        "示意图（https://example.com/p.png）"
    )


def test_to_chat_leaves_code_spans_verbatim():
    assert to_chat("用 `*args, **kwargs` 接收参数，`[a](b)` 不是链接") == "用 *args, **kwargs 接收参数，[a](b) 不是链接"


def test_to_chat_keeps_dunder_names_in_prose():
    assert to_chat("调用 __init__ 方法，**加粗**") == "调用 __init__ 方法，加粗"


def test_to_chat_has_no_trailing_spaces_or_runs_of_blank_lines():
    text = to_chat("a  \n\n\n\n- b \n\n```\ncode   \n```\n")
    assert all(line == line.rstrip() for line in text.splitlines())
    assert "\n\n\n" not in text


# ---------------------------------------------------------------- split_for_chat


def long_article(paragraphs: int = 40) -> str:
    return "\n\n".join(f"第{i}段。" + SENTENCE * (1 + i % 7) for i in range(paragraphs))


def test_split_keeps_every_part_within_the_limit_and_cuts_between_paragraphs():
    text = long_article()
    paragraphs = text.split("\n\n")
    parts = split_for_chat(text)
    assert len(parts) > 1
    assert all(0 < size(part) <= 2000 for part in parts)
    assert [p for part in parts for p in part.split("\n\n")] == paragraphs  # whole paragraphs, in order
    for first, second in zip(parts, parts[1:]):  # greedy: no two neighbours would fit together
        assert size(first) + 2 + size(second) > 2000


def test_split_returns_short_text_whole_and_nothing_for_blank_text():
    assert split_for_chat("一段。\n\n两段。") == ["一段。\n\n两段。"]
    assert split_for_chat(" \n\n \n") == []


def test_a_giant_paragraph_is_cut_at_sentence_ends():
    text = "".join(f"第{i}句，" + SENTENCE[:-1] + "！？；。"[i % 4] for i in range(200))
    parts = split_for_chat(text, limit=1000)
    assert len(parts) > 1
    assert all(size(part) <= 1000 for part in parts)
    assert all(part[-1] in "。！？；" for part in parts)
    assert "".join(parts) == text


def test_closing_quotes_stay_with_their_sentence():
    text = "他说：“好。”" * 100
    parts = split_for_chat(text, limit=100)
    assert all(part.endswith("。”") for part in parts)
    assert "".join(parts) == text


def test_a_paragraph_without_sentence_ends_is_cut_at_character_boundaries():
    text = "汉字😀ab" * 500  # 3-, 4- and 1-byte characters
    parts = split_for_chat(text, limit=2000)
    assert all(size(part) <= 2000 for part in parts)
    assert all(size(part) > 2000 - 4 for part in parts[:-1])  # filled up to the last whole character
    assert "".join(parts) == text


def test_a_giant_paragraph_between_short_ones():
    giant = SENTENCE * 100  # 9,000 bytes
    text = f"开头。\n\n{giant}\n\n结尾。"
    parts = split_for_chat(text)
    assert all(size(part) <= 2000 for part in parts)
    assert visible("".join(parts)) == visible(text)
    assert parts[-1].endswith("\n\n结尾。")


def test_split_rejects_a_limit_below_one_character():
    with pytest.raises(ValueError):
        split_for_chat("x", limit=3)


@settings(deadline=None, max_examples=300)
@given(text=st.text(alphabet=st.sampled_from(list("汉字ab😀 。！？；\n”")), max_size=400),
       limit=st.integers(min_value=4, max_value=80))
def test_split_property_limits_and_content(text, limit):
    parts = split_for_chat(text, limit)
    assert all(part.strip() and size(part) <= limit for part in parts)
    assert visible("".join(parts)) == visible(text)


# ---------------------------------------------------------------- prices


@pytest.mark.parametrize("value, fen", [
    ("9.9", 990), (9.9, 990), (19.9, 1990), (0.07, 7), ("0", 0), (0, 0), (None, 0), ("12", 1200),
    (12, 1200), (" 6.90 ", 690), ("9.900", 990), ("0.01", 1), ("-0", 0),
])
def test_yuan_to_fen(value, fen):
    assert yuan_to_fen(value) == fen


@pytest.mark.parametrize("value, reason", [
    ("-1", "negative"), (-0.5, "negative"), ("9.999", "more than 2 decimals"), (0.001, "more than 2 decimals"),
    ("abc", "not a number"), ("", "not a number"), ("9,9", "not a number"), ("NaN", "not a number"),
    (float("inf"), "not a number"), (True, "not a number"), (False, "not a number"), ([9.9], "not a number"),
])
def test_yuan_to_fen_rejects(value, reason):
    with pytest.raises(ValueError) as error:
        yuan_to_fen(value)
    assert reason in str(error.value)
    assert repr(value) in str(error.value)


@pytest.mark.parametrize("fen, text", [(0, "免费"), (990, "9.9元"), (1000, "10元"), (1, "0.01元"),
                                       (1990, "19.9元"), (12345, "123.45元")])
def test_fen_to_yuan_text(fen, text):
    assert fen_to_yuan_text(fen) == text


def test_price_round_trip():
    for fen in range(0, 3000, 7):
        text = fen_to_yuan_text(fen)
        assert yuan_to_fen(text.removesuffix("元") if fen else "0") == fen


# ---------------------------------------------------------------- slugs


def test_stable_slug():
    slug = stable_slug("机器学习入门")
    assert re.fullmatch(r"a-[0-9a-f]{10}", slug)
    assert stable_slug("机器学习入门") == slug
    assert stable_slug(" 机器学习入门 ") == slug
    assert stable_slug("Ｐｙｔｈｏｎ１") == stable_slug("Python1")  # NFKC folds full-width forms
    assert stable_slug("机器学习进阶") != slug


def test_a_heading_never_ends_a_message_when_text_follows():
    paragraphs = []
    for n in range(12):
        paragraphs += [f"【第{n}节】", "正文" * 150]  # 900 bytes of text under each heading
    parts = split_for_chat("\n\n".join(paragraphs), limit=2000)
    assert all(not part.rstrip().endswith("】") for part in parts[:-1])
    assert "\n\n".join(parts).count("【第") == 12


def test_html_in_a_body_reaches_the_chat_as_plain_text():
    """The chat shows text, never markup: tags go, their words stay, script and style lose their content."""
    body = ('读<b>完</b>这段 <a href="javascript:alert(1)">点我</a><img src=x onerror=alert(1)>'
            '<script>alert(2)</script><style>p{}</style> 1 &lt; 2 &amp; 3 > 0')
    assert to_chat(body) == "读完这段 点我 1 < 2 & 3 > 0"


def test_html_inside_code_stays_as_written():
    body = "看代码：`<div>` 与\n\n```\n<script>x()</script>\n```"
    assert to_chat(body) == "看代码：<div> 与\n\n    <script>x()</script>"
