"""The synonym list: its store functions (for the admin commands to come) and `synonyms.txt` on import."""

from __future__ import annotations

import pytest

from catalog.importer import run_import
from store.synonyms import add_synonym, remove_synonym, synonym_groups, synonyms_version
from tests.test_import import SERIES_YAML, any_db, db, write_markdown  # noqa: F401 (fixtures)


@pytest.fixture
def catalog_folder(tmp_path):
    folder = tmp_path / "posts"
    write_markdown(folder, "one.md", "title: 围棋定式入门\nslug: one\ntags: [围棋]\n", "正文。\n")
    (folder / "series.yaml").write_text(SERIES_YAML, encoding="utf-8")
    return folder


def test_add_move_and_remove_words(any_db):
    assert add_synonym("LLM", "大语言模型") == "created"
    assert add_synonym("大模型", "LLM") == "created"  # joins the group LLM is in
    assert add_synonym("大模型", "大语言模型") == "unchanged"
    assert synonym_groups() == [["大语言模型", "LLM", "大模型"]]
    before = synonyms_version()
    assert add_synonym("大模型", "神经网络") == "updated"  # moves to a new group
    assert sorted(map(sorted, synonym_groups())) == [["LLM", "大语言模型"], ["大模型", "神经网络"]]
    assert synonyms_version() != before
    assert remove_synonym("LLM") and not remove_synonym("LLM")
    assert synonym_groups() == [["大模型", "神经网络"]]


@pytest.mark.parametrize(("word", "same_as"), [("", "围棋"), ("围棋", "围棋"), ("长" * 65, "围棋")])
def test_bad_words_are_refused(any_db, word, same_as):
    with pytest.raises(ValueError):
        add_synonym(word, same_as)
    assert synonym_groups() == []


def test_the_import_loads_the_synonym_file_and_reports_bad_lines(any_db, catalog_folder):
    (catalog_folder / "synonyms.txt").write_text(
        "# comment line\n围棋 = 棋类, weiqi  # trailing comment\n\n孤零零\n定式、套路\n", encoding="utf-8")
    summary = run_import(catalog_folder, progress=False)
    assert [(error.line, error.reason) for error in summary.errors] == [(4, "a synonym line needs at least two words")]
    assert (summary.synonyms.created, summary.synonyms.rejected) == (3, 1)
    assert "synonyms: 3 created" in summary.format()
    assert sorted(map(sorted, synonym_groups())) == [["weiqi", "围棋", "棋类"], ["套路", "定式"]]
    again = run_import(catalog_folder, progress=False)
    assert (again.synonyms.created, again.synonyms.unchanged) == (0, 3)


def test_strict_mode_stops_at_a_bad_synonym_line(any_db, catalog_folder):
    (catalog_folder / "synonyms.txt").write_text("围棋 = 棋类\n孤零零\n", encoding="utf-8")
    summary = run_import(catalog_folder, strict=True, progress=False)
    assert summary.aborted and synonym_groups() == []


def test_no_synonym_file_no_synonym_line(db, catalog_folder):
    summary = run_import(catalog_folder, progress=False)
    assert summary.ok and "synonyms" not in summary.format()
