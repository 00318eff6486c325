"""Open the database named by `store.database_url` and bind the models to it."""

from __future__ import annotations

import contextlib
import threading
from pathlib import Path
from typing import Any, Iterator

import psycopg2
from peewee import Database, PostgresqlDatabase, SqliteDatabase
from playhouse.db_url import parse
from playhouse.pool import PooledPostgresqlDatabase, PooledSqliteDatabase
from psycopg2 import sql

from settings import ROOT
from store.models import database_proxy

SQLITE_PRAGMAS = {
    "busy_timeout": 5000,  # first: switching to WAL must wait for another process's migration, not fail
    "journal_mode": "wal",
    "synchronous": "normal",
    "foreign_keys": 1,
}
# One writer at a time per process, queued fairly here instead of in SQLite's busy handler, whose
# growing sleeps (up to 100 ms) made the tail of concurrent writes long. Re-entrant: nested is fine.
_SQLITE_WRITER = threading.RLock()


def open_database(url: str) -> Database:
    """SQLite (WAL, relative paths from the project root) or a pooled PostgreSQL connection."""
    if url.startswith("sqlite://"):
        path = url.removeprefix("sqlite:///")
        if path != ":memory:":
            file = Path(path) if Path(path).is_absolute() else ROOT / path
            file.parent.mkdir(parents=True, exist_ok=True)
            path = str(file)
        # pooled: opening and closing a SQLite connection per request was two thirds of a message's cost
        return PooledSqliteDatabase(path, pragmas=SQLITE_PRAGMAS, check_same_thread=False,
                                    max_connections=32, stale_timeout=300, timeout=4)
    params = parse(url)
    params.setdefault("connect_timeout", 2)
    return PooledPostgresqlDatabase(
        params.pop("database"), max_connections=32, stale_timeout=300, timeout=4, **params
    )


@contextlib.contextmanager
def _maintenance(url: str) -> Iterator[tuple[Any, str]]:
    """A cursor on the server's `postgres` database (the one in `url` may not exist) and that name.

    Autocommit, since CREATE/DROP DATABASE cannot run in a transaction; an unreachable server fails
    after 3 s unless the URL sets `connect_timeout`.
    """
    params = parse(url)
    name = params.pop("database")
    params.setdefault("connect_timeout", 3)
    admin = psycopg2.connect(dbname="postgres", **params)
    try:
        admin.autocommit = True
        with admin.cursor() as cur:
            yield cur, name
    finally:
        admin.close()


def ensure_database(url: str) -> None:
    """Create the PostgreSQL database named in `url` unless it exists."""
    with _maintenance(url) as (cur, name):
        cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
        if cur.fetchone() is None:
            cur.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def drop_database(url: str) -> None:
    """Drop the PostgreSQL database named in `url`, closing its other connections (tests)."""
    with _maintenance(url) as (cur, name):
        cur.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def bind(database: Database) -> Database:
    """Point every model at `database` (one database per process)."""
    database_proxy.initialize(database)
    return database


def is_postgres(database: Database) -> bool:
    return isinstance(database, PostgresqlDatabase)


@contextlib.contextmanager
def transaction(database: Database) -> Iterator[None]:
    """A write transaction; on SQLite it takes the write lock up front so two writers never deadlock."""
    if not isinstance(database, SqliteDatabase):
        with database.atomic():
            yield
        return
    with _SQLITE_WRITER, database.atomic("IMMEDIATE"):
        yield


def reconnect(database: Database) -> None:
    """A new connection in place of a broken one, inside the caller's `connection_context` (peewee's
    close() would forget the open contexts, and their end would then fail)."""
    contexts = list(database._state.ctx)
    try:
        database.close()
        database.connect()
    finally:
        database._state.ctx[:] = contexts
