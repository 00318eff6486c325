"""The recommend commands as an operator runs them (a separate process on the same database), and the clock's
refit; on both backends. A model fitted by another process reaches the running bot without a restart."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from catalog.importer import run_import
from jobs.recommend import refit_when_due
from settings import ROOT
from store import queries
from store.models import Article
from tests.test_recommend_chat import listed


def run_bot(settings, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, BOT_STORE_DATABASE_URL=settings.store.database_url)
    return subprocess.run([sys.executable, "bot.py", *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=300)


@pytest.fixture
def readers(app):
    """The demo catalog and three followers who read Python titles."""
    with app.services.database.connection_context():
        assert run_import(ROOT / "content" / "demo", progress=False).ok
        python = [a for a in Article.select().order_by(Article.id) if "Python" in a.title]
        for n in range(3):
            user = queries.touch_user(f"o_reader{n}")
            for article in python[n:n + 3]:
                queries.record_event(user, queries.VIEW, article_id=article.id)
    return python


def test_json_is_one_line_per_openid_and_an_unknown_one_gets_the_cold_start_list(settings, readers):
    done = run_bot(settings, "recommend", "o_reader0", "o_nobody", "-k", "2", "--json")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 2
    first, unknown = (json.loads(line) for line in lines)
    assert list(first) == ["openid", "items"] and first["openid"] == "o_reader0" and unknown["openid"] == "o_nobody"
    for entry in (first, unknown):
        assert len(entry["items"]) == 2
        for item in entry["items"]:
            assert list(item) == ["article_id", "title", "score", "reason"]
            assert isinstance(item["article_id"], int) and isinstance(item["score"], float)
            assert isinstance(item["title"], str) and item["reason"]
    assert not {i["article_id"] for i in first["items"]} & {a.id for a in readers[:3]}
    assert unknown["items"][0]["article_id"] == readers[2].id  # the one all three read
    assert [i["reason"] for i in unknown["items"]] == ["最近很多人在读", "新上架"]  # the second: two readers


def test_bad_k_is_a_clear_error(settings, readers):
    done = run_bot(settings, "recommend", "o_reader0", "-k", "0")
    assert done.returncode != 0 and "-k must be at least 1" in done.stderr


def test_fit_and_eval_print_their_summary_and_table(settings, readers):
    fitted = run_bot(settings, "recommend-fit")
    assert fitted.returncode == 0, fitted.stderr
    assert fitted.stdout.startswith("fitted model ") and "30 items" in fitted.stdout and "3 followers" in fitted.stdout
    assert "content" in fitted.stderr  # the progress bar
    table = run_bot(settings, "recommend-eval", "--k", "5", "--quiet")
    assert table.returncode == 0, table.stderr
    rows = [line.split("|")[1].strip() for line in table.stdout.splitlines() if line.startswith("| ")][1:]
    assert rows == ["content", "collaborative", "hybrid", "popularity"]


def test_a_model_fitted_by_another_process_reaches_the_running_bot(user, settings, readers, app):
    user.says("Python编程技巧")
    opened = user.says("1").split("】", 1)[0].removeprefix("【")
    user.received()
    before = listed(user.says("推荐"))
    with app.services.database.connection_context():
        model = Article.get(Article.title == opened)
        fresh = Article.create(slug="py-new", title=f"{opened}（续篇）", summary=model.summary, body=model.body)
    assert fresh.title not in [title for _, title, _, _ in listed(user.says("推荐"))], "the old model lacks it"
    assert run_bot(settings, "recommend-fit", "--quiet").returncode == 0
    after = listed(user.says("推荐"))
    assert fresh.title in [title for _, title, _, _ in after] and after != before


def test_the_clock_refits_when_the_catalog_changes(app, readers):
    settings = app.services.settings
    with app.services.database.connection_context():
        assert refit_when_due(settings) is True
        assert refit_when_due(settings) is False
        Article.create(slug="new-one", title="新文章", body="正文")
        assert refit_when_due(settings) is True
        assert refit_when_due(settings.replace(recommend={"refit_minutes": 0})) is True
