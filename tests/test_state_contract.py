"""One contract, every backend: process memory and a real Redis on 127.0.0.1."""

from __future__ import annotations

import threading
import time
import uuid

import pytest

from store.degrading import Degrading
from store.state import (
    Keys, LockTimeout, MemoryStateStore, Opening, RedisStateStore, Snapshot, StateUnavailable, redis_client,
)
from tests.conftest import REDIS_URL


@pytest.fixture(params=["memory", "redis"])
def store(request, redis_url):
    keys = Keys("test", f"wx{uuid.uuid4().hex[:8]}")
    if request.param == "memory":
        return MemoryStateStore(keys)
    return RedisStateStore(keys, redis_client(redis_url))


def test_idle_user_has_no_state(store):
    assert store.load("u1") == Snapshot(None, {})


def test_state_and_data_round_trip(store):
    store.save("u1", Snapshot("search:results", {"page": 2, "q": "机器学习"}), ttl=60)
    assert store.load("u1") == Snapshot("search:results", {"page": 2, "q": "机器学习"})
    assert store.load("u2") == Snapshot(None, {})


def test_end_deletes_state_and_data(store):
    store.save("u1", Snapshot("feedback:awaiting_text", {"x": 1}), ttl=60)
    store.save("u1", Snapshot(None, {}), ttl=60)
    assert store.load("u1") == Snapshot(None, {})


def test_state_expires_after_its_ttl(store):
    store.save("u1", Snapshot("feedback:awaiting_text", {"x": 1}), ttl=1)
    deadline = time.monotonic() + 5
    while store.load("u1").state is not None and time.monotonic() < deadline:
        time.sleep(0.1)
    assert store.load("u1") == Snapshot(None, {})


def test_claim_is_granted_once(store):
    assert store.claim("m1", ttl=60) is True
    assert store.claim("m1", ttl=60) is False
    assert store.claim("m2", ttl=60) is True


def test_claim_is_atomic_under_threads(store):
    wins = []
    barrier = threading.Barrier(16)

    def contend():
        barrier.wait()
        wins.append(store.claim("hot", ttl=60))

    threads = [threading.Thread(target=contend) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert wins.count(True) == 1


def test_reply_is_pending_until_remembered(store):
    store.claim("m1", ttl=60)
    assert store.recall_reply("m1") is None
    store.remember_reply("m1", "<xml>hi</xml>", ttl=60)
    assert store.recall_reply("m1") == "<xml>hi</xml>"
    assert store.claim("m1", ttl=60) is False


def test_released_claim_can_be_taken_again(store):
    store.claim("m1", ttl=60)
    store.release_claim("m1")
    assert store.claim("m1", ttl=60) is True


def test_lock_excludes_and_times_out(store):
    with store.lock("u1", timeout=5, wait=1):
        with pytest.raises(LockTimeout):
            with store.lock("u1", timeout=5, wait=0.05):
                pass
        with store.lock("u2", timeout=5, wait=0.05):  # other users are not blocked
            pass
    with store.lock("u1", timeout=5, wait=0.05):  # released on exit
        pass


def test_lock_serialises_threads(store):
    inside, overlaps = [], []

    def work():
        with store.lock("u1", timeout=5, wait=5):
            inside.append(1)
            overlaps.append(len(inside))
            time.sleep(0.01)
            inside.pop()

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert overlaps == [1] * 8


def test_data_of_another_version_is_dropped(store):
    store.save("u1", Snapshot("feedback:awaiting_text", {"x": 1}), ttl=60)
    raw_key = store.keys.data("u1")
    if isinstance(store, RedisStateStore):
        store.client.set(raw_key, '{"v": 999, "data": {"x": 1}}')
    else:
        store._values[raw_key] = ('{"v": 999, "data": {"x": 1}}', time.monotonic() + 60)
    assert store.load("u1") == Snapshot("feedback:awaiting_text", {})


def test_keys_are_built_in_one_shape():
    keys = Keys("kb", "wxapp")
    assert keys.state("o1") == "kb:wxapp:o1:state"
    assert keys.data("o1") == "kb:wxapp:o1:data"
    assert keys.lock("o1") == "kb:wxapp:o1:lock"
    assert keys.seen("123") == "kb:wxapp:seen:123"


def test_unreachable_redis_raises_state_unavailable(dead_redis_url):
    store = RedisStateStore(Keys("t", "wx"), redis_client(dead_redis_url))
    with pytest.raises(StateUnavailable):
        store.load("u1")
    with pytest.raises(StateUnavailable):
        with store.lock("u1", timeout=1, wait=0.1):
            pass


class CountingStore(MemoryStateStore):
    """A store that fails like a dead Redis and counts how often it is asked."""

    def __init__(self):
        super().__init__(Keys("t", "wx"))
        self.calls = 0

    def load(self, openid):
        self.calls += 1
        raise StateUnavailable("down")

    claim = load


def test_degrading_skips_a_dead_store_during_cooldown():
    inner = CountingStore()
    now = [100.0]
    store = Degrading(inner, cooldown=2.0, clock=lambda: now[0])
    assert store.load("u1") == Snapshot()
    assert store.claim("m1", 60) is None  # unknown: the database decides
    assert inner.calls == 1  # the second call did not touch the dead store
    now[0] += 2.5
    store.load("u1")
    assert inner.calls == 2


# ---------------------------------------------------------------- the fast path: open ... close


def test_open_claims_locks_and_reads_the_state(store):
    store.save("u1", Snapshot("search:results", {"q": "机器学习"}), ttl=60)
    opening = store.open("m1", "u1", seen_ttl=60, lock_timeout=5)
    assert opening.claimed is True and opening.token
    assert opening.snapshot == Snapshot("search:results", {"q": "机器学习"})
    with pytest.raises(LockTimeout):  # the sender is locked until close
        store.acquire("u1", timeout=5, wait=0.05)
    assert store.open("m1", "u1", seen_ttl=60, lock_timeout=5) == Opening(False)  # a duplicate
    store.close("u1", opening.token, Snapshot("search:page", {"page": 2}), 60, "m1", "<xml>r</xml>", 60)
    assert store.recall_reply("m1") == "<xml>r</xml>"
    assert store.load("u1") == Snapshot("search:page", {"page": 2})
    store.release("u1", store.acquire("u1", timeout=5, wait=0.05))  # close released the lock


def test_open_with_the_sender_locked_reads_nothing(store):
    token = store.acquire("u1", timeout=5, wait=0.05)
    opening = store.open("m2", "u1", seen_ttl=60, lock_timeout=5)
    assert opening == Opening(True)  # claimed, but no lock and no state: wait with acquire, then load
    store.release("u1", token)
    later = store.acquire("u1", timeout=5, wait=0.05)
    store.close("u1", later, Snapshot(None, {}), 60, "m2", "<xml>r</xml>", 60)
    assert store.load("u1") == Snapshot(None, {})


def test_duplicate_open_leaves_the_lock_free(store):
    first = store.open("m3", "u1", seen_ttl=60, lock_timeout=5)
    store.close("u1", first.token, Snapshot(None, {}), 60, "m3", "r", 60)
    assert store.open("m3", "u2", seen_ttl=60, lock_timeout=5) == Opening(False)
    store.release("u2", store.acquire("u2", timeout=5, wait=0.05))  # the duplicate's lock was let go


def test_an_expired_lock_taken_by_another_is_not_released():
    store = RedisStateStore(Keys("test", f"wx{uuid.uuid4().hex[:8]}"), redis_client(REDIS_URL))
    first = store.open("m4", "u1", seen_ttl=60, lock_timeout=0.05)
    time.sleep(0.1)
    second = store.acquire("u1", timeout=5, wait=0.05)
    store.release("u1", first.token)  # too late: the lock is the second's now
    with pytest.raises(LockTimeout):
        store.acquire("u1", timeout=5, wait=0.05)
    store.release("u1", second)


def test_degrading_open_without_a_store_lets_the_database_decide(dead_redis_url):
    store = Degrading(RedisStateStore(Keys("t", "wx"), redis_client(dead_redis_url)))
    assert store.open("m1", "u1", 60, 5) == Opening(None, None, Snapshot())
    assert store.acquire("u1", 5, 1) is None
    store.close("u1", None, Snapshot("a:b", {}), 60, "m1", "r", 60)  # nothing raised
