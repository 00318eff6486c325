"""Dialog state, dedupe claims and locks: Redis in production, process memory by default.

Both backends pass the same contract suite (tests/test_state_contract.py). Redis is a fast path only:
correctness lives in the database, so `store.degrading.Degrading` turns an unreachable Redis into "no
state, no fast dedupe, no lock" instead of an error.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Iterator, Protocol

import redis
from redis.backoff import NoBackoff
from redis.exceptions import LockError, RedisError
from redis.retry import Retry


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


@dataclass
class Opening:
    """A message's start, in one round trip: its claim, its sender's lock, and the sender's state read
    under that lock when it was free."""

    claimed: bool | None  # None: unknown (the state store is down; the database decides)
    token: str | None = None  # the lock's token; None when not taken
    snapshot: Snapshot | None = None  # None: the lock was busy, nothing was read; take it with `acquire`


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

    # The fast path of one message: `open` at the start, `close` at the end, one round trip each.

    def open(self, message_key: str, openid: str, seen_ttl: int, lock_timeout: float) -> Opening:
        """Claim the message, try the sender's lock without waiting, and read the state if it was free."""

    def acquire(self, openid: str, timeout: float, wait: float) -> str:
        """Wait for the sender's lock (LockTimeout after `wait` s); its token."""

    def release(self, openid: str, token: str | None) -> None:
        """Let go of the sender's lock if `token` still holds it (None: nothing held)."""

    def close(self, openid: str, token: str | None, snapshot: Snapshot, state_ttl: int,
              message_key: str, reply: str, seen_ttl: int) -> None:
        """Save the state, remember the reply and release the lock."""


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

    def _lock_of(self, name: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(self.keys.lock(name), threading.Lock())

    @contextlib.contextmanager
    def lock(self, name: str, timeout: float, wait: float) -> Iterator[None]:
        self.acquire(name, timeout, wait)
        try:
            yield
        finally:
            self._lock_of(name).release()

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

    def open(self, message_key: str, openid: str, seen_ttl: int, lock_timeout: float) -> Opening:
        if not self.claim(message_key, seen_ttl):
            return Opening(False)
        if not self._lock_of(openid).acquire(blocking=False):
            return Opening(True)
        return Opening(True, _MEMORY_TOKEN, self.load(openid))

    def acquire(self, openid: str, timeout: float, wait: float) -> str:
        if not self._lock_of(openid).acquire(timeout=wait):
            raise LockTimeout(openid)
        return _MEMORY_TOKEN

    def release(self, openid: str, token: str | None) -> None:
        if token is not None:
            self._lock_of(openid).release()

    def close(self, openid: str, token: str | None, snapshot: Snapshot, state_ttl: int,
              message_key: str, reply: str, seen_ttl: int) -> None:
        self.save(openid, snapshot, state_ttl)
        self.remember_reply(message_key, reply, seen_ttl)
        self.release(openid, token)


_MEMORY_TOKEN = "memory"  # process memory's locks are owned by whoever took them
# Compare-and-delete: a lock that expired and was taken by another message is not released by us.
_RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0"


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
        pipe = self.client.pipeline(transaction=False)
        self._queue_save(pipe, openid, snapshot, ttl)
        with self._errors():
            pipe.execute()

    def _queue_save(self, pipe: Any, openid: str, snapshot: Snapshot, ttl: int) -> None:
        if snapshot.state is None:
            pipe.delete(self.keys.state(openid), self.keys.data(openid))
            return
        pipe.set(self.keys.state(openid), snapshot.state, ex=ttl)
        pipe.set(self.keys.data(openid), _encode_data(snapshot.data), ex=ttl)

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

    def open(self, message_key: str, openid: str, seen_ttl: int, lock_timeout: float) -> Opening:
        """SET NX of the claim, SET NX of the lock, MGET of the state: one pipeline. Redis runs one
        connection's commands in order, so the state is read after the lock was taken."""
        token = uuid.uuid4().hex
        pipe = self.client.pipeline(transaction=False)
        pipe.set(self.keys.seen(message_key), PENDING, nx=True, ex=seen_ttl)
        pipe.set(self.keys.lock(openid), token, nx=True, px=int(lock_timeout * 1000))
        pipe.mget(self.keys.state(openid), self.keys.data(openid))
        with self._errors():
            claimed, locked, (state, data) = pipe.execute()
        if not claimed:
            self.release(openid, token if locked else None)
            return Opening(False)
        if not locked:
            return Opening(True)
        return Opening(True, token, Snapshot(state, _decode_data(data) if state else {}))

    def acquire(self, openid: str, timeout: float, wait: float) -> str:
        token, deadline = uuid.uuid4().hex, time.monotonic() + wait
        while True:
            with self._errors():
                if self.client.set(self.keys.lock(openid), token, nx=True, px=int(timeout * 1000)):
                    return token
            if time.monotonic() >= deadline:
                raise LockTimeout(openid)
            time.sleep(0.01)

    def release(self, openid: str, token: str | None) -> None:
        if token is not None:
            with self._errors():
                self.client.eval(_RELEASE, 1, self.keys.lock(openid), token)

    def close(self, openid: str, token: str | None, snapshot: Snapshot, state_ttl: int,
              message_key: str, reply: str, seen_ttl: int) -> None:
        pipe = self.client.pipeline(transaction=False)
        self._queue_save(pipe, openid, snapshot, state_ttl)
        pipe.set(self.keys.seen(message_key), reply, ex=seen_ttl)
        if token is not None:
            pipe.eval(_RELEASE, 1, self.keys.lock(openid), token)
        with self._errors():
            pipe.execute()


def open_state_store(redis_url: str, keys: Keys) -> StateStore:
    if not redis_url:
        return MemoryStateStore(keys)
    return RedisStateStore(keys, redis_client(redis_url))
