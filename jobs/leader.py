"""The clock's leader lock: of several `clock` processes exactly one runs the jobs; another takes over
within `push.leader_interval` seconds when it dies.

On PostgreSQL: a session-level advisory lock on a connection of its own (the lock goes the moment the
holder's connection does, so a killed leader frees it at once). Elsewhere (SQLite): a lease row with an
expiry and a fencing token that grows with every change of holder; the holder renews it three times an
interval, so it expires within two thirds of one after the holder stopped.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import threading
import uuid
from typing import Any, Protocol

import psycopg2
from playhouse.db_url import parse

from store.db import is_postgres
from store.models import utcnow
from store.push_models import ClockLease

log = logging.getLogger(__name__)

LOCK_KEY = 7_302_115  # the advisory lock of the clock (migrations use 7_302_114)
LEASE = "clock"


def holder_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class Leader(Protocol):
    name: str

    def check(self) -> bool:
        """Take or keep the lock; True while this process leads."""

    @property
    def is_leader(self) -> bool: ...

    def release(self) -> None: ...


class AdvisoryLeader:
    """pg_try_advisory_lock on a dedicated connection (not the pool's: the lock lives with it)."""

    def __init__(self, database_url: str) -> None:
        self.params = parse(database_url)
        self.params.setdefault("connect_timeout", 2)
        self.name = holder_name()
        self._conn: Any = None
        self._held = False
        self._guard = threading.Lock()

    @property
    def is_leader(self) -> bool:
        return self._held

    def check(self) -> bool:
        with self._guard:
            try:
                self._held = self._alive() if self._held else self._try()
            except psycopg2.Error as exc:
                log.warning("leader lock unavailable", extra={"error": str(exc).strip()})
                self._drop()
            return self._held

    def release(self) -> None:
        with self._guard:
            self._drop()

    def _try(self) -> bool:
        if self._conn is None or self._conn.closed:
            params = dict(self.params)
            self._conn = psycopg2.connect(dbname=params.pop("database"), **params)
            self._conn.autocommit = True
        with self._conn.cursor() as cur:
            cur.execute("SELECT pg_try_advisory_lock(%s)", (LOCK_KEY,))
            won = bool(cur.fetchone()[0])
        if won:
            log.info("clock leads", extra={"holder": self.name})
        return won

    def _alive(self) -> bool:
        with self._conn.cursor() as cur:
            cur.execute("SELECT 1")
        return True

    def _drop(self) -> None:
        self._held = False
        if self._conn is not None:
            try:
                self._conn.close()  # closing the session frees the advisory lock
            except psycopg2.Error:
                pass
            self._conn = None


class LeaseLeader:
    """A lease row: renewed by its holder, taken over by anyone once it expired; `token` fences."""

    def __init__(self, interval: float) -> None:
        self.ttl = dt.timedelta(seconds=interval * 2 / 3)
        self.name = holder_name()
        self.token = 0
        self._until: dt.datetime | None = None

    @property
    def is_leader(self) -> bool:
        return self._until is not None and self._until > utcnow()

    def check(self) -> bool:
        now = utcnow()
        until = now + self.ttl
        kept = (self.token and ClockLease.update(expires_at=until)
                .where((ClockLease.name == LEASE) & (ClockLease.holder == self.name)
                       & (ClockLease.token == self.token)).execute())
        if not kept:
            kept = self._take(now, until)
        self._until = until if kept else None
        return bool(kept)

    def release(self) -> None:
        if self.token:
            (ClockLease.update(expires_at=utcnow() - dt.timedelta(seconds=1))
             .where((ClockLease.name == LEASE) & (ClockLease.holder == self.name)).execute())
        self._until, self.token = None, 0

    def _take(self, now: dt.datetime, until: dt.datetime) -> bool:
        ClockLease.insert(name=LEASE, holder="", token=0, expires_at=now).on_conflict_ignore().execute()
        won = (ClockLease.update(holder=self.name, token=ClockLease.token + 1, expires_at=until)
               .where((ClockLease.name == LEASE) & (ClockLease.expires_at <= now)).execute())
        if not won:
            return False
        self.token = ClockLease.get_by_id(LEASE).token
        log.info("clock leads", extra={"holder": self.name, "token": self.token})
        return True


def leader_for(database: Any, database_url: str, interval: float) -> Leader:
    return AdvisoryLeader(database_url) if is_postgres(database) else LeaseLeader(interval)
