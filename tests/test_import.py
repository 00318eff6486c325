"""catalog.importer: JSONL, CSV and Markdown folders into Series/Article, upserting by slug."""

from __future__ import annotations

import csv
import json
import time
from pathlib import Path

import pytest

from catalog.importer import run_import
from catalog.text import preview, stable_slug
from store.db import bind, open_database
from store.migrations import migrate
from store.models import Article, Series
from tests.conftest import empty_postgres

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "content" / "demo"
THUCNEWS = ROOT.parent / "shared" / "data" / "thucnews"

SERIES_YAML = """\
- slug: py
  title: Python 进阶
  price: 39.9
  summary: 七篇文章。
- slug: free-sql
  title: SQL 入门
"""


# ---------------------------------------------------------------- fixtures and helpers


def sqlite_database(tmp_path: Path):
    database = bind(open_database(f"sqlite:///{tmp_path}/t.db"))
    migrate(database)
    return database


def postgres_database(url: str):
    """The run's PostgreSQL database (tests/conftest.py), emptied of every table and migrated."""
    empty_postgres(url)
    database = bind(open_database(url))
    migrate(database)
    return database


@pytest.fixture
def db(tmp_path):
    database = sqlite_database(tmp_path)
    yield database
    database.close()


@pytest.fixture(params=["sqlite", "postgres"])
def any_db(request, tmp_path):
    database = (sqlite_database(tmp_path) if request.param == "sqlite"
                else postgres_database(request.getfixturevalue("pg_url")))
    yield database
    if request.param == "postgres":
        database.close_all()
    else:
        database.close()


def write_jsonl(path: Path, rows: list) -> Path:
    lines = (row if isinstance(row, str) else json.dumps(row, ensure_ascii=False) for row in rows)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def write_markdown(folder: Path, name: str, front: str, body: str) -> Path:
    folder.mkdir(exist_ok=True)
    file = folder / name
    file.write_text(f"---\n{front}---\n\n{body}", encoding="utf-8")
    return file


def article(slug: str) -> Article:
    return Article.get(Article.slug == slug)


def reasons(summary) -> list[tuple[str, int | None, str]]:
    return [(Path(e.source).name, e.line, e.reason) for e in summary.errors]


GOOD = [
    {"title": "装饰器入门", "slug": "decorators", "body": "正文一。", "price": "6.9", "tags": ["Python", "装饰器"],
     "summary": "从闭包讲起。", "series": "py"},
    {"title": "生成器", "body": "正文二。", "price": 9.9},
    {"title": "免费的一篇", "slug": "free-one", "body": "正文三。", "status": "draft"},
]


# ---------------------------------------------------------------- formats


def test_jsonl_import(db, tmp_path):
    (tmp_path / "series.yaml").write_text(SERIES_YAML, encoding="utf-8")
    summary = run_import(write_jsonl(tmp_path / "a.jsonl", GOOD), progress=False)

    assert summary.ok, summary.format()
    assert (summary.articles.created, summary.series.created) == (3, 2)
    first = article("decorators")
    assert (first.title, first.body, first.summary, first.price) == ("装饰器入门", "正文一。", "从闭包讲起。", 690)
    assert json.loads(first.tags) == ["Python", "装饰器"]
    assert first.series.slug == "py" and first.series.price == 3990
    assert first.status == Article.PUBLISHED
    second = article(stable_slug("生成器"))
    assert (second.price, second.series, json.loads(second.tags), second.summary) == (990, None, [], "")
    assert article("free-one").status == Article.DRAFT and article("free-one").price == 0


def test_csv_import_with_tag_forms_and_multiline_bodies(db, tmp_path):
    path = tmp_path / "a.csv"
    with path.open("w", encoding="utf-8", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(["title", "slug", "price", "tags", "body"])
        writer.writerow(["甲", "a", "9.9", "Python|装饰器", "第一段。\n\n第二段。"])
        writer.writerow(["乙", "b", "", "SQL, 索引 ,", "正文。"])
        writer.writerow(["丙", "c", "0", '["机器学习", "入门"]', "正文。"])
        writer.writerow(["丁", "d", "-1", "", "正文。"])  # bad price, on line 7
        writer.writerow(["戊", "e", "1", "", "正文。", "多余"])  # a cell too many, line 8
    summary = run_import(path, progress=False)

    assert summary.articles.created == 3
    assert [json.loads(article(s).tags) for s in "abc"] == [["Python", "装饰器"], ["SQL", "索引"], ["机器学习", "入门"]]
    assert (article("a").body, article("a").price, article("b").price) == ("第一段。\n\n第二段。", 990, 0)
    assert reasons(summary) == [("a.csv", 7, "bad price '-1': negative"),
                                ("a.csv", 8, "6 cells but the header has 5 columns")]


def test_csv_with_a_byte_order_mark_from_excel(db, tmp_path):
    path = tmp_path / "excel.csv"
    path.write_text("title,body,price\n标题,正文,1.5\n", encoding="utf-8-sig")
    summary = run_import(path, progress=False)
    assert summary.ok, summary.format()
    assert article(stable_slug("标题")).price == 150


def test_markdown_folder_import(db, tmp_path):
    folder = tmp_path / "posts"
    write_markdown(folder, "one.md", "title: 第一篇\nslug: one\nprice: 9.90\ntags: [Python, 入门]\nseries: py\n",
                   "免费部分。\n\n<!-- 试读至此 -->\n\n付费部分。\n")
    write_markdown(folder, "two.md", "title: no\nsummary: 标题是 no，不是 False。\n", "正文。\n")
    (folder / "series.yaml").write_text(SERIES_YAML, encoding="utf-8")
    (folder / "notes.txt").write_text("not an article", encoding="utf-8")
    summary = run_import(folder, progress=False)

    assert summary.ok, summary.format()
    assert (summary.articles.created, summary.series.created) == (2, 2)
    one = article("one")
    assert (one.price, json.loads(one.tags), one.series.slug) == (990, ["Python", "入门"], "py")
    assert one.body == "免费部分。\n\n<!-- 试读至此 -->\n\n付费部分。"
    assert preview(one.body) == "免费部分。"
    assert article(stable_slug("no")).title == "no"
    assert Series.get(Series.slug == "free-sql").price == 0


def test_the_demo_catalog_loads_without_errors(db):
    files = sorted(DEMO.glob("*.md"))
    assert files and (DEMO / "series.yaml").is_file(), "content/demo is missing"
    summary = run_import(DEMO, progress=False)

    assert summary.ok, summary.format()
    assert summary.articles.created == len(files)
    assert summary.series.created == Series.select().count() > 0
    assert Article.select().where(Article.series.is_null(False)).count() > 0
    assert all(a.body.strip() and a.title for a in Article.select())
    again = run_import(DEMO, progress=False)
    assert (again.articles.unchanged, again.series.unchanged) == (len(files), summary.series.created)


# ---------------------------------------------------------------- upsert and idempotence


def test_second_import_changes_nothing_then_an_edit_updates_one_row(any_db, tmp_path):
    (tmp_path / "series.yaml").write_text(SERIES_YAML, encoding="utf-8")
    path = write_jsonl(tmp_path / "a.jsonl", GOOD)
    first = run_import(path, progress=False)
    assert (first.articles.created, first.series.created) == (3, 2)
    stamps = {a.slug: (a.created_at, a.updated_at) for a in Article.select()}
    series_stamps = {s.slug: s.updated_at for s in Series.select()}

    second = run_import(path, progress=False)
    assert (second.articles.created, second.articles.updated, second.articles.unchanged) == (0, 0, 3)
    assert (second.series.created, second.series.updated, second.series.unchanged) == (0, 0, 2)
    assert {a.slug: (a.created_at, a.updated_at) for a in Article.select()} == stamps
    assert {s.slug: s.updated_at for s in Series.select()} == series_stamps

    edited = [dict(GOOD[0], price="7.9"), *GOOD[1:]]
    third = run_import(write_jsonl(path, edited), progress=False)
    assert (third.articles.created, third.articles.updated, third.articles.unchanged) == (0, 1, 2)
    changed = article("decorators")
    assert changed.price == 790
    assert changed.created_at == stamps["decorators"][0]
    assert changed.updated_at > stamps["decorators"][1]
    assert Article.select().count() == 3


def test_absent_status_keeps_the_stored_one(db, tmp_path):
    path = write_jsonl(tmp_path / "a.jsonl", [{"title": "甲", "slug": "a", "body": "正文。"}])
    run_import(path, progress=False)
    Article.update(status=Article.UNLISTED).where(Article.slug == "a").execute()

    again = run_import(path, progress=False)
    assert again.articles.unchanged == 1 and article("a").status == Article.UNLISTED
    run_import(write_jsonl(path, [{"title": "甲", "slug": "a", "body": "正文。", "status": "published"}]),
               progress=False)
    assert article("a").status == Article.PUBLISHED


def test_absent_optional_fields_mean_empty(db, tmp_path):
    path = write_jsonl(tmp_path / "a.jsonl", [{"title": "甲", "slug": "a", "body": "正文。", "price": 9.9,
                                               "summary": "摘要", "tags": ["x"]}])
    run_import(path, progress=False)
    summary = run_import(write_jsonl(path, [{"title": "甲", "slug": "a", "body": "正文。"}]), progress=False)
    assert summary.articles.updated == 1
    stored = article("a")
    assert (stored.price, stored.summary, json.loads(stored.tags)) == (0, "", [])


# ---------------------------------------------------------------- bad rows


BAD_FILE = [
    GOOD[0],                                                            # 1 good
    {"slug": "no-title", "body": "正文。"},                              # 2
    {"title": "没有正文", "body": "  \n"},                                # 3
    {"title": "价格为负", "body": "正文。", "price": -1},                   # 4
    {"title": "三位小数", "body": "正文。", "price": "9.999"},              # 5
    {"title": "价格不是数", "body": "正文。", "price": "九块九"},           # 6
    {"title": "长" * 201, "body": "正文。"},                              # 7
    {"title": "未知专栏", "body": "正文。", "series": "nope"},              # 8
    {"title": "重复", "slug": "decorators", "body": "正文。"},             # 9
    '{"title": "坏 JSON", ',                                             # 10
    {"title": "拼错字段", "body": "正文。", "prcie": 9.9},                  # 11
    {"title": "状态", "body": "正文。", "status": "hidden"},                # 12
    GOOD[1],                                                            # 13 good
    {"title": "坏 slug", "slug": "Has Space", "body": "正文。"},           # 14
    {"title": "标签", "body": "正文。", "tags": {"a": 1}},                  # 15
    ["not", "an", "object"],                                            # 16
    {"title": "NUL", "body": "正\u0000文。"},                              # 17
    {"title": 42, "body": "正文。"},                                      # 18
    {"title": "太贵", "body": "正文。", "price": 100001},                   # 19
]


def test_bad_rows_are_reported_with_lines_and_good_rows_load(any_db, tmp_path):
    (tmp_path / "series.yaml").write_text(SERIES_YAML, encoding="utf-8")
    rows = BAD_FILE[:15] + [""] + BAD_FILE[15:]  # a blank line is skipped but still counted
    summary = run_import(write_jsonl(tmp_path / "bad.jsonl", rows), progress=False)

    assert (summary.articles.created, summary.articles.rejected) == (2, 17)
    assert {a.slug for a in Article.select()} == {"decorators", stable_slug("生成器")}
    found = {line: reason for source, line, reason in reasons(summary) if source == "bad.jsonl"}
    expected = {
        2: "missing title", 3: "missing body", 4: "bad price -1: negative",
        5: "bad price '9.999': more than 2 decimals", 6: "bad price '九块九': not a number",
        7: "title too long (201 characters, at most 200)", 8: "unknown series 'nope'",
        9: "duplicate slug 'decorators' (first at", 10: "invalid JSON", 11: "unknown field 'prcie'",
        12: "bad status 'hidden'", 14: "bad slug 'Has Space'", 15: "tags must be a list",
        17: "expected a JSON object", 18: "body contains a NUL character", 19: "title must be text",
        20: "above 100000 yuan",
    }
    assert sorted(found) == sorted(expected)
    for line, start in expected.items():
        assert start in found[line], (line, found[line])
    assert "bad.jsonl:9: duplicate slug 'decorators' (first at " in summary.format()
    assert "17 rejected" in summary.format()


def test_markdown_problems_name_the_file(db, tmp_path):
    folder = tmp_path / "posts"
    write_markdown(folder, "good.md", "title: 好\nslug: good\n", "正文。")
    (folder / "no-front.md").write_text("# 只有正文\n", encoding="utf-8")
    write_markdown(folder, "bad-yaml.md", "title: [unclosed\n", "正文。")
    write_markdown(folder, "empty.md", "title: 空\n", "\n")
    write_markdown(folder, "later-dup.md", "title: 重复\nslug: good\n", "正文。")
    summary = run_import(folder, progress=False)

    assert summary.articles.created == 1
    found = {source: reason for source, line, reason in reasons(summary)}
    assert all(line is None for _, line, _ in reasons(summary))
    assert found["no-front.md"].startswith("no YAML front matter")
    assert found["bad-yaml.md"].startswith("bad front matter")
    assert found["empty.md"] == "missing body"
    assert found["later-dup.md"].startswith("duplicate slug 'good' (first at ") and "good.md" in found["later-dup.md"]


def test_strict_mode_loads_nothing_when_a_row_is_bad(any_db, tmp_path):
    (tmp_path / "series.yaml").write_text(SERIES_YAML, encoding="utf-8")
    rows = [*GOOD, *({"title": f"好{i}", "body": "正文。"} for i in range(1200)), {"title": "坏", "body": ""}]
    summary = run_import(write_jsonl(tmp_path / "a.jsonl", rows), strict=True, progress=False)

    assert summary.aborted and not summary.ok
    assert reasons(summary) == [("a.jsonl", len(rows), "missing body")]
    assert (summary.articles.created, summary.series.created) == (0, 0)
    assert Article.select().count() == 0 and Series.select().count() == 0
    assert "nothing was loaded" in summary.format()


def test_strict_mode_loads_everything_when_all_rows_are_good(db, tmp_path):
    (tmp_path / "series.yaml").write_text(SERIES_YAML, encoding="utf-8")
    summary = run_import(write_jsonl(tmp_path / "a.jsonl", GOOD), strict=True, progress=False)
    assert summary.ok and not summary.aborted
    assert Article.select().count() == 3


# ---------------------------------------------------------------- series


def test_series_from_the_database_or_a_sibling_series_jsonl(db, tmp_path):
    first = tmp_path / "first"
    first.mkdir()
    (first / "series.jsonl").write_text('{"slug": "py", "title": "Python", "price": "19.9"}\n', encoding="utf-8")
    run_import(write_jsonl(first / "a.jsonl", [{"title": "甲", "body": "正文。", "series": "py"}]), progress=False)

    later = tmp_path / "later"  # no series file here: "py" is already in the database
    later.mkdir()
    summary = run_import(write_jsonl(later / "b.jsonl", [{"title": "乙", "body": "正文。", "series": "py"}]),
                         progress=False)
    assert summary.ok, summary.format()
    assert [a.series.slug for a in Article.select()] == ["py", "py"]
    assert Series.get(Series.slug == "py").price == 1990


def test_an_unknown_series_is_rejected_not_created(db, tmp_path):
    summary = run_import(write_jsonl(tmp_path / "a.jsonl", [{"title": "甲", "body": "正文。", "series": "ghost"}]),
                         progress=False)
    assert reasons(summary) == [("a.jsonl", 1, "unknown series 'ghost': define it in series.yaml beside the data")]
    assert Series.select().count() == 0 and Article.select().count() == 0


def test_bad_series_definitions_are_reported_with_their_lines(db, tmp_path):
    (tmp_path / "series.yaml").write_text(
        "- slug: ok\n  title: 好专栏\n  price: 9.9\n"   # line 1
        "- title: 没有 slug\n"                          # line 4
        "- slug: cheap\n  title: 价格错\n  price: abc\n"  # line 5
        "- slug: ok\n  title: 重复\n",                   # line 8
        encoding="utf-8")
    rows = [{"title": "甲", "body": "正文。", "series": "ok"}, {"title": "乙", "body": "正文。", "series": "cheap"}]
    summary = run_import(write_jsonl(tmp_path / "a.jsonl", rows), progress=False)

    assert (summary.series.created, summary.series.rejected) == (1, 3)
    assert reasons(summary) == [
        ("series.yaml", 4, "missing slug"),
        ("series.yaml", 5, "bad price 'abc': not a number"),
        ("series.yaml", 8, "duplicate slug 'ok' (first at " + str(tmp_path / "series.yaml") + ":1)"),
        ("a.jsonl", 2, "unknown series 'cheap': define it in series.yaml beside the data"),
    ]
    assert article(stable_slug("甲")).series.slug == "ok"


def test_a_series_edit_updates_only_that_series(db, tmp_path):
    (tmp_path / "series.yaml").write_text(SERIES_YAML, encoding="utf-8")
    path = write_jsonl(tmp_path / "a.jsonl", GOOD)
    run_import(path, progress=False)
    (tmp_path / "series.yaml").write_text(SERIES_YAML.replace("39.9", "29.9"), encoding="utf-8")
    summary = run_import(path, progress=False)
    assert (summary.series.updated, summary.series.unchanged, summary.articles.unchanged) == (1, 1, 3)
    assert Series.get(Series.slug == "py").price == 2990


# ---------------------------------------------------------------- prices through the importer


@pytest.mark.parametrize("price, fen", [("9.9", 990), (9.9, 990), (19.9, 1990), (0, 0), ("0", 0), (None, 0),
                                        ("0.01", 1), (12, 1200), ("100000", 10_000_000)])
def test_prices_are_stored_in_fen(db, tmp_path, price, fen):
    row = {"title": "价格", "slug": "p", "body": "正文。"}
    if price is not None:
        row["price"] = price
    summary = run_import(write_jsonl(tmp_path / "a.jsonl", [row]), progress=False)
    assert summary.ok, summary.format()
    assert article("p").price == fen


# ---------------------------------------------------------------- errors outside rows


def test_unsupported_or_missing_paths(db, tmp_path):
    (tmp_path / "a.txt").write_text("x", encoding="utf-8")
    with pytest.raises(ValueError):
        run_import(tmp_path / "a.txt", progress=False)
    with pytest.raises(FileNotFoundError):
        run_import(tmp_path / "missing.jsonl", progress=False)


# ---------------------------------------------------------------- volume


def thucnews_rows() -> list[dict]:
    rows = []
    for name in ("dev.txt", "test.txt"):
        for line in (THUCNEWS / name).read_text(encoding="utf-8").splitlines():
            title, label = line.rsplit("\t", 1)
            rows.append({"title": title, "slug": f"news-{len(rows)}", "body": f"{title}。\n\n正文。",
                         "price": ["0", "9.9", "19.9"][len(rows) % 3], "tags": [f"class-{label}"]})
    return rows


def test_twenty_thousand_rows(db, tmp_path):
    """Loads 20,000 rows, then re-imports them; the times are printed (pytest -s), never asserted."""
    rows = thucnews_rows()
    assert len(rows) == 20_000
    path = write_jsonl(tmp_path / "news.jsonl", rows)

    started = time.perf_counter()
    first = run_import(path, progress=False)
    loaded = time.perf_counter() - started
    second = run_import(path, progress=False)
    print(f"\n20,000 rows on SQLite: first import {loaded:.2f} s, re-import {second.seconds:.2f} s")

    assert first.ok and first.articles.created == 20_000
    assert (second.articles.created, second.articles.updated, second.articles.unchanged) == (0, 0, 20_000)
    assert Article.select().count() == 20_000
