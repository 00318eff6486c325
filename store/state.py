"""Dialog state, dedupe claims and locks: Redis in production, process memory by default.

Both backends pass the same contract suite (tests/test_state_contract.py). Redis is a fast path only:
correctness lives in the database, so `Degrading` turns an unreachable Redis into "no state, no fast
dedupe, no lock" instead of an error, and skips Redis for a few seconds after each failure.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Iterator, Protocol

import redis
from redis.backoff import NoBackoff
from redis.exceptions import LockError, RedisError
from redis.retry import Retry

log = logging.getLogger(__name__)

DATA_VERSION = 1
PENDING = "\x00pending"  # the value of a claimed message id whose reply is not known yet


class StateUnavailable(RuntimeError):
    """The state backend cannot be reached."""


class LockTimeout(RuntimeError):
    """Another message of the same user holds the lock longer than we may wait."""


@dataclass(frozen=True)
class Keys:
    """Every storage key is built here: `{prefix}:{appid}:{openid}:state` and friends."""

    prefix: str
    appid: str

    def state(self, openid: str) -> str:
        return f"{self.prefix}:{self.appid}:{openid}:state"

    def data(self, openid: str) -> str:
        return f"{self.prefix}:{self.appid}:{openid}:data"

    def lock(self, name: str) -> str:
        return f"{self.prefix}:{self.appid}:{name}:lock"

    def seen(self, message_key: str) -> str:
        return f"{self.prefix}:{self.appid}:seen:{message_key}"


@dataclass
class Snapshot:
    """A user's dialog position: `state` is None when idle."""

    state: str | None = None
    data: dict[str, Any] = field(default_factory=dict)


class StateStore(Protocol):
    def load(self, openid: str) -> Snapshot: ...

    def save(self, openid: str, snapshot: Snapshot, ttl: int) -> None:
        """Write state and data with a TTL; a None state deletes both (END)."""

    def lock(self, name: str, timeout: float, wait: float) -> contextlib.AbstractContextManager[None]:
        """Hold `name` for at most `timeout` s; raise LockTimeout after waiting `wait` s."""

    def claim(self, message_key: str, ttl: int) -> bool:
        """True for the first claim of a message id, False for a duplicate."""

    def remember_reply(self, message_key: str, reply: str, ttl: int) -> None: ...

    def recall_reply(self, message_key: str) -> str | None:
        """The reply of a finished message, None while it is pending or unknown."""

    def release_claim(self, message_key: str) -> None: ...

    def ping(self) -> None: ...


def _encode_data(data: dict[str, Any]) -> str:
    return json.dumps({"v": DATA_VERSION, "data": data}, ensure_ascii=False)


def _decode_data(raw: str | bytes | None) -> dict[str, Any]:
    """Data of another version is dropped rather than misread."""
    if not raw:
        return {}
    envelope = json.loads(raw)
    return envelope.get("data", {}) if envelope.get("v") == DATA_VERSION else {}


class MemoryStateStore:
    """One process only: state dies with the process, locks do not cross processes."""

    def __init__(self, keys: Keys, clock=time.monotonic) -> None:
        self.keys = keys
        self._clock = clock
        self._values: dict[str, tuple[str, float]] = {}
        self._guard = threading.Lock()
        self._locks: dict[str, threading.Lock] = {}

    def _get(self, key: str) -> str | None:
        item = self._values.get(key)
        if item is None or item[1] <= self._clock():
            self._values.pop(key, None)
            return None
        return item[0]

    def _set(self, key: str, value: str, ttl: float) -> None:
        self._values[key] = (value, self._clock() + ttl)

    def load(self, openid: str) -> Snapshot:
        with self._guard:
            state = self._get(self.keys.state(openid))
            return Snapshot(state, _decode_data(self._get(self.keys.data(openid))) if state else {})

    def save(self, openid: str, snapshot: Snapshot, ttl: int) -> None:
        with self._guard:
            if snapshot.state is None:
                self._values.pop(self.keys.state(openid), None)
                self._values.pop(self.keys.data(openid), None)
                return
            self._set(self.keys.state(openid), snapshot.state, ttl)
            self._set(self.keys.data(openid), _encode_data(snapshot.data), ttl)

    @contextlib.contextmanager
    def lock(self, name: str, timeout: float, wait: float) -> Iterator[None]:
        with self._guard:
            lock = self._locks.setdefault(self.keys.lock(name), threading.Lock())
        if not lock.acquire(timeout=wait):
            raise LockTimeout(name)
        try:
            yield
        finally:
            lock.release()

    def claim(self, message_key: str, ttl: int) -> bool:
        key = self.keys.seen(message_key)
        with self._guard:
            if self._get(key) is not None:
                return False
            self._set(key, PENDING, ttl)
            return True

    def remember_reply(self, message_key: str, reply: str, ttl: int) -> None:
        with self._guard:
            self._set(self.keys.seen(message_key), reply, ttl)

    def recall_reply(self, message_key: str) -> str | None:
        with self._guard:
            value = self._get(self.keys.seen(message_key))
        return None if value in (None, PENDING) else value

    def release_claim(self, message_key: str) -> None:
        with self._guard:
            self._values.pop(self.keys.seen(message_key), None)

    def ping(self) -> None:
        return None


def redis_client(url: str, timeout: float = 0.25) -> redis.Redis:
    """Short timeouts and no retries: a dead Redis must cost milliseconds, not redis-py's ~3.8 s."""
    return redis.Redis.from_url(
        url, socket_timeout=timeout, socket_connect_timeout=timeout,
        retry=Retry(NoBackoff(), 0), retry_on_error=[], decode_responses=True,
    )


class RedisStateStore:
    def __init__(self, keys: Keys, client: redis.Redis) -> None:
        self.keys = keys
        self.client = client

    @contextlib.contextmanager
    def _errors(self) -> Iterator[None]:
        try:
            yield
        except RedisError as exc:
            raise StateUnavailable(str(exc)) from exc

    def load(self, openid: str) -> Snapshot:
        with self._errors():
            state, data = self.client.mget(self.keys.state(openid), self.keys.data(openid))
        return Snapshot(state, _decode_data(data) if state else {})

    def save(self, openid: str, snapshot: Snapshot, ttl: int) -> None:
        with self._errors():
            if snapshot.state is None:
                self.client.delete(self.keys.state(openid), self.keys.data(openid))
                return
            pipe = self.client.pipeline()
            pipe.set(self.keys.state(openid), snapshot.state, ex=ttl)
            pipe.set(self.keys.data(openid), _encode_data(snapshot.data), ex=ttl)
            pipe.execute()

    @contextlib.contextmanager
    def lock(self, name: str, timeout: float, wait: float) -> Iterator[None]:
        lock = self.client.lock(self.keys.lock(name), timeout=timeout, sleep=0.01, blocking_timeout=wait)
        with self._errors():
            acquired = lock.acquire()
        if not acquired:
            raise LockTimeout(name)
        try:
            yield
        finally:
            with contextlib.suppress(LockError, RedisError):  # expired or Redis gone: nothing to undo
                lock.release()

    def claim(self, message_key: str, ttl: int) -> bool:
        with self._errors():
            return bool(self.client.set(self.keys.seen(message_key), PENDING, nx=True, ex=ttl))

    def remember_reply(self, message_key: str, reply: str, ttl: int) -> None:
        with self._errors():
            self.client.set(self.keys.seen(message_key), reply, ex=ttl)

    def recall_reply(self, message_key: str) -> str | None:
        with self._errors():
            value = self.client.get(self.keys.seen(message_key))
        return None if value in (None, PENDING) else value

    def release_claim(self, message_key: str) -> None:
        with self._errors():
            self.client.delete(self.keys.seen(message_key))

    def ping(self) -> None:
        with self._errors():
            self.client.ping()


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


def open_state_store(redis_url: str, keys: Keys) -> StateStore:
    if not redis_url:
        return MemoryStateStore(keys)
    return RedisStateStore(keys, redis_client(redis_url))
