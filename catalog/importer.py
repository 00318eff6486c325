"""Load a catalog (JSONL, CSV, or a folder of Markdown files) into `Series` and `Article`.

`python bot.py import PATH` calls `run_import(PATH)` and prints `summary.format()`.

Rules (see `catalog.sources` for the formats and `catalog.rows` for the per-field checks):

- Upsert by slug, for series and articles alike. A row is the whole truth about its article: an
  absent summary, price or tags means empty, free, none. The one exception is `status`: absent,
  it is "published" for a new article and left as it is for an existing one, so an article a
  creator unlisted in chat stays unlisted until the file says otherwise.
- A row equal to what is stored is not written (`updated_at` stays), so importing twice reports
  everything unchanged the second time. Import never deletes: stored rows absent from the data stay.
- An article's `series` must name a series that is in the database already or defined beside the
  data (`series.yaml` / `series.yml` / `series.jsonl`); otherwise the row is rejected. A series is
  never created implicitly: owning a series unlocks its articles, so a made-up series with a
  default price of 0 would be a way to give paid articles away.
- Bad rows are reported with file and line (the file alone for Markdown) and skipped; good rows
  load. Each batch of rows is its own transaction. With `strict=True` the whole run is one
  transaction and the first bad row rolls it back: nothing of that run is loaded.
- Speed: rows go in batches of `BATCH_ROWS`; each batch costs one SELECT of the stored rows with
  those slugs and multi-row INSERT ... ON CONFLICT (slug) DO UPDATE statements for what changed.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import nullcontext
from dataclasses import dataclass, field
from functools import partial
from itertools import islice
from pathlib import Path
from typing import Any, TypeVar

from peewee import Database, Model, chunked
from tqdm import tqdm

from catalog.rows import ArticleRow, RowProblem, SeriesRow, article_row, series_row
from catalog.sources import RawRow, article_rows, series_rows
from catalog.synonyms import load_group, synonym_file, synonym_lines
from store.db import transaction
from store.models import Article, Series, database_proxy, utcnow

BATCH_ROWS = 500  # rows per SELECT and per transaction
INSERT_ROWS = 90  # rows per INSERT: 90 x 10 columns stays under old SQLite's 999-parameter limit
PROGRESS_DELAY = 0.5  # seconds before the progress bar shows: small imports stay quiet

Row = TypeVar("Row", ArticleRow, SeriesRow)


@dataclass(frozen=True)
class RowError:
    """One rejected row: where it is and why."""

    source: str
    line: int | None
    reason: str

    def __str__(self) -> str:
        return f"{location(self.source, self.line)}: {self.reason}"


def location(source: str, line: int | None) -> str:
    """"file:line", or the file alone when the whole file is the row."""
    return f"{source}:{line}" if line is not None else source


@dataclass
class Tally:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0

    def __str__(self) -> str:
        return (f"{self.created} created, {self.updated} updated, "
                f"{self.unchanged} unchanged, {self.rejected} rejected")


@dataclass
class ImportSummary:
    path: str
    articles: Tally = field(default_factory=Tally)
    series: Tally = field(default_factory=Tally)
    synonyms: Tally = field(default_factory=Tally)  # words after the first of each line of synonyms.txt
    errors: list[RowError] = field(default_factory=list)
    seconds: float = 0.0
    aborted: bool = False  # strict mode met a bad row: the run was rolled back

    @property
    def ok(self) -> bool:
        return not self.errors

    def format(self) -> str:
        """The report the CLI prints."""
        lines = [f"import {self.path}: {self.seconds:.2f} s",
                 f"  articles: {self.articles}",
                 f"  series:   {self.series}"]
        if any(vars(self.synonyms).values()):
            lines.append(f"  synonyms: {self.synonyms}")
        if self.aborted:
            lines.append("strict mode: stopped at the first bad row, nothing was loaded")
        if self.errors:
            lines.append(f"rejected rows ({len(self.errors)}):")
            lines.extend(f"  {error}" for error in self.errors)
        return "\n".join(lines)


class _Abort(Exception):
    """Strict mode met a bad row: unwind and roll back the run's transaction."""


def run_import(path: str | Path, strict: bool = False, progress: bool = True) -> ImportSummary:
    """Import a .jsonl/.csv file or a folder of .md files into the bound database."""
    started = time.monotonic()
    path = Path(path)
    rows = article_rows(path)
    job = _Import(_bound_database(), str(path), strict)
    try:
        with job.run_scope(), _progress(rows, path, progress) as bar:
            job.load_series(series_rows(path))
            job.load_articles(bar)
            job.load_synonyms(path)
    except _Abort:
        job.rolled_back()
    job.summary.seconds = time.monotonic() - started
    return job.summary


class _Import:
    """The state of one run: tallies, errors, slugs seen so far, and the series' ids by slug."""

    def __init__(self, database: Database, path: str, strict: bool) -> None:
        self.strict = strict
        whole = partial(transaction, database)
        self.run_scope = whole if strict else nullcontext
        self.batch_scope = nullcontext if strict else whole
        self.summary = ImportSummary(path)
        self.seen_series: dict[str, str] = {}
        self.seen_articles: dict[str, str] = {}
        self.series_ids: dict[str, int] = {}

    def load_series(self, raws: Iterable[RawRow]) -> None:
        tally = self.summary.series
        rows = [row for raw in raws if (row := self._validate(raw, series_row, tally, self.seen_series))]
        if rows:
            with self.batch_scope():
                self._upsert_series(rows)
        self.series_ids = dict(Series.select(Series.slug, Series.id).tuples())

    def load_articles(self, raws: Iterable[RawRow]) -> None:
        tally = self.summary.articles
        for batch in _batches(raws, BATCH_ROWS):
            rows = [row for raw in batch
                    if (row := self._validate(raw, self._linked_article, tally, self.seen_articles))]
            if rows:
                with self.batch_scope():
                    self._upsert_articles(rows)

    def load_synonyms(self, path: Path) -> None:
        """The synonym file beside the data (catalog/synonyms.py), one transaction per line."""
        tally, source = self.summary.synonyms, str(synonym_file(path))
        for line, words in synonym_lines(path):
            try:
                with self.batch_scope():
                    outcomes = load_group(words)
            except ValueError as problem:
                self.summary.errors.append(RowError(source, line, str(problem)))
                tally.rejected += 1
                if self.strict:
                    raise _Abort from None
                continue
            for outcome in outcomes:
                setattr(tally, outcome, getattr(tally, outcome) + 1)

    def rolled_back(self) -> None:
        """After a strict abort: nothing was written, whatever the tallies counted before."""
        self.summary.aborted = True
        for tally in (self.summary.articles, self.summary.series, self.summary.synonyms):
            tally.created = tally.updated = tally.unchanged = 0

    def _linked_article(self, fields: dict[str, Any]) -> ArticleRow:
        row = article_row(fields)
        if row.series is not None and row.series not in self.series_ids:
            raise RowProblem(f"unknown series {row.series!r}: define it in series.yaml beside the data")
        return row

    def _validate(self, raw: RawRow, parse: Callable[[dict[str, Any]], Row], tally: Tally,
                  seen: dict[str, str]) -> Row | None:
        try:
            if raw.error:
                raise RowProblem(raw.error)
            row = parse(raw.fields)
            if row.slug in seen:
                raise RowProblem(f"duplicate slug {row.slug!r} (first at {seen[row.slug]})")
        except RowProblem as problem:
            self.summary.errors.append(RowError(raw.source, raw.line, str(problem)))
            tally.rejected += 1
            if self.strict:
                raise _Abort from None
            return None
        seen[row.slug] = location(raw.source, raw.line)
        return row

    def _upsert_series(self, rows: list[SeriesRow]) -> None:
        stored = {s.slug: s for s in Series.select().where(Series.slug.in_([r.slug for r in rows]))}
        writes = []
        for row in rows:
            values = {"title": row.title, "summary": row.summary, "price": row.price}
            old = stored.get(row.slug)
            old_state = (old.title, old.summary, old.price) if old else None
            if _count(self.summary.series, old_state, tuple(values.values())):
                writes.append({**values, "slug": row.slug})
        _upsert(Series, writes)

    def _upsert_articles(self, rows: list[ArticleRow]) -> None:
        stored = {a.slug: a for a in Article.select().where(Article.slug.in_([r.slug for r in rows]))}
        writes = []
        for row in rows:
            old = stored.get(row.slug)
            status = row.status or (old.status if old else Article.PUBLISHED)
            values = {"title": row.title, "summary": row.summary, "body": row.body, "price": row.price,
                      "tags": row.tags, "series": self.series_ids[row.series] if row.series else None,
                      "status": status}
            if _count(self.summary.articles, _article_state(old) if old else None, tuple(values.values())):
                tags = json.dumps(list(row.tags), ensure_ascii=False)
                writes.append({**values, "slug": row.slug, "tags": tags})
        _upsert(Article, writes)


def _count(tally: Tally, old_state: tuple | None, new_state: tuple) -> bool:
    """Count a row as created (no stored state), updated or unchanged; True when it must be written."""
    if old_state is None:
        tally.created += 1
    elif old_state == new_state:
        tally.unchanged += 1
        return False
    else:
        tally.updated += 1
    return True


def _article_state(article: Article) -> tuple:
    """A stored article in the order of the importer's values (title ... status), for comparison."""
    return (article.title, article.summary, article.body, article.price, _stored_tags(article.tags),
            article.series_id, article.status)


def _stored_tags(text: str) -> tuple[str, ...] | None:
    """Tags as stored (JSON, however it was formatted); None when unreadable, so they get rewritten."""
    try:
        tags = json.loads(text)
    except (TypeError, json.JSONDecodeError):
        return None
    return tuple(tags) if isinstance(tags, list) else None


def _upsert(model: type[Model], writes: list[dict[str, Any]]) -> None:
    """Insert new rows and overwrite changed ones by slug; `created_at` survives an overwrite."""
    if not writes:
        return
    now = utcnow()
    rows = [{**write, "created_at": now, "updated_at": now} for write in writes]
    overwrite = [model._meta.fields[name] for name in rows[0] if name not in ("slug", "created_at")]
    for chunk in chunked(rows, INSERT_ROWS):
        model.insert_many(chunk).on_conflict(conflict_target=[model.slug], preserve=overwrite).execute()


def _batches(items: Iterable[RawRow], size: int) -> Iterator[list[RawRow]]:
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch


def _progress(rows: Iterator[RawRow], path: Path, enabled: bool) -> tqdm:
    return tqdm(rows, desc=f"import {path.name}", unit=" rows", file=sys.stderr,
                disable=not enabled, delay=PROGRESS_DELAY)


def _bound_database() -> Database:
    database = database_proxy.obj
    if database is None:
        raise RuntimeError("no database bound: call store.db.bind(open_database(url)) first")
    return database
