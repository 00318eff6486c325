"""A state store whose outage means "no fast path" rather than an error (see store/state.py)."""

from __future__ import annotations

import contextlib
import logging
import time
from typing import Any, Iterator

from store.state import Opening, Snapshot, StateStore, StateUnavailable

log = logging.getLogger(__name__)


class Degrading:
    """Wraps a store so an outage means 'no fast path' rather than an error.

    After a failure Redis is skipped for `cooldown` seconds, so a dead server costs one timeout per
    cooldown instead of one per call. `claim` answers None when unknown: the database decides then.
    """

    def __init__(self, inner: StateStore, cooldown: float = 2.0, clock=time.monotonic) -> None:
        self.inner = inner
        self.cooldown = cooldown
        self._clock = clock
        self._down_until = 0.0

    @property
    def degraded(self) -> bool:
        return self._clock() < self._down_until

    def _fail(self, what: str, exc: Exception) -> None:
        self._down_until = self._clock() + self.cooldown
        log.warning("state store unavailable, degrading", extra={"op": what, "error": str(exc)})

    def _call(self, what: str, fallback: Any, *args: Any) -> Any:
        if self.degraded:
            return fallback
        try:
            return getattr(self.inner, what)(*args)
        except StateUnavailable as exc:
            self._fail(what, exc)
            return fallback

    def load(self, openid: str) -> Snapshot:
        return self._call("load", Snapshot(), openid)

    def save(self, openid: str, snapshot: Snapshot, ttl: int) -> None:
        self._call("save", None, openid, snapshot, ttl)

    @contextlib.contextmanager
    def lock(self, name: str, timeout: float, wait: float) -> Iterator[None]:
        """Without Redis there is no lock here: the message's database transaction serialises writers."""
        with contextlib.ExitStack() as stack:
            if not self.degraded:
                try:
                    stack.enter_context(self.inner.lock(name, timeout, wait))
                except StateUnavailable as exc:
                    self._fail("lock", exc)
            yield

    def claim(self, message_key: str, ttl: int) -> bool | None:
        return self._call("claim", None, message_key, ttl)

    def remember_reply(self, message_key: str, reply: str, ttl: int) -> None:
        self._call("remember_reply", None, message_key, reply, ttl)

    def recall_reply(self, message_key: str) -> str | None:
        return self._call("recall_reply", None, message_key)

    def release_claim(self, message_key: str) -> None:
        self._call("release_claim", None, message_key)

    def ping(self) -> None:
        self.inner.ping()

    def open(self, message_key: str, openid: str, seen_ttl: int, lock_timeout: float) -> Opening:
        """Unknown claim, no lock and no state when the store is down: the database transaction decides."""
        return self._call("open", Opening(None, None, Snapshot()), message_key, openid, seen_ttl, lock_timeout)

    def acquire(self, openid: str, timeout: float, wait: float) -> str | None:
        return self._call("acquire", None, openid, timeout, wait)

    def release(self, openid: str, token: str | None) -> None:
        self._call("release", None, openid, token)

    def close(self, openid: str, token: str | None, snapshot: Snapshot, state_ttl: int,
              message_key: str, reply: str, seen_ttl: int) -> None:
        self._call("close", None, openid, token, snapshot, state_ttl, message_key, reply, seen_ttl)
