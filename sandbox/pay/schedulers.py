"""When notifications go out: WeChat Pay's delays on real threads (time compressed by a factor) or on
virtual time that tests advance."""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from typing import Callable, Protocol

log = logging.getLogger("sandbox.pay")


class Scheduler(Protocol):
    """Runs actions later. Delays and `now()` are in WeChat Pay's seconds (compressed or virtual)."""

    def now(self) -> float: ...

    def call_later(self, delay: float, action: Callable[[], None]) -> None: ...

    def close(self) -> None: ...


class ThreadScheduler:
    """Real time divided by `factor` (factor 60: WeChat Pay's 3 minutes pass in 3 seconds). Each due
    action runs in its own daemon thread, so a slow merchant never holds up other deliveries."""

    def __init__(self, factor: float = 1.0) -> None:
        if factor <= 0:
            raise ValueError("time factor must be positive")
        self.factor = factor
        self._start = time.monotonic()
        self._heap: list[tuple[float, int, Callable[[], None]]] = []
        self._seq = itertools.count()
        self._cond = threading.Condition()
        self._running = 0
        self._closed = False
        self._thread = threading.Thread(target=self._loop, name="sandbox-pay-scheduler", daemon=True)
        self._thread.start()

    def now(self) -> float:
        return (time.monotonic() - self._start) * self.factor

    def call_later(self, delay: float, action: Callable[[], None]) -> None:
        with self._cond:
            heapq.heappush(self._heap, (time.monotonic() + max(delay, 0.0) / self.factor, next(self._seq), action))
            self._cond.notify_all()

    def idle(self) -> bool:
        with self._cond:
            return not self._heap and not self._running

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._heap.clear()
            self._cond.notify_all()
        self._thread.join(timeout=5)

    def _loop(self) -> None:
        while True:
            with self._cond:
                while not self._closed and (not self._heap or self._heap[0][0] > time.monotonic()):
                    self._cond.wait(None if not self._heap else max(self._heap[0][0] - time.monotonic(), 0.0))
                if self._closed:
                    return
                _, _, action = heapq.heappop(self._heap)
                self._running += 1
            threading.Thread(target=self._run, args=(action,), name="sandbox-pay-action", daemon=True).start()

    def _run(self, action: Callable[[], None]) -> None:
        try:
            action()
        except Exception:  # a sandbox bug: keep the scheduler alive
            log.exception("sandbox pay action failed")
        finally:
            with self._cond:
                self._running -= 1
                self._cond.notify_all()


class ManualScheduler:
    """Virtual time that moves only when a test calls `advance(seconds)`; due actions then run in the
    caller's thread, in order. Nothing waits: a day of retries passes in one call."""

    def __init__(self) -> None:
        self._now = 0.0
        self._heap: list[tuple[float, int, Callable[[], None]]] = []
        self._seq = itertools.count()
        self._lock = threading.Lock()

    def now(self) -> float:
        with self._lock:
            return self._now

    def call_later(self, delay: float, action: Callable[[], None]) -> None:
        with self._lock:
            heapq.heappush(self._heap, (self._now + max(delay, 0.0), next(self._seq), action))

    def pending(self) -> list[float]:
        """When the waiting actions are due (virtual seconds), soonest first."""
        with self._lock:
            return sorted(due for due, _, _ in self._heap)

    def advance(self, seconds: float = 0.0) -> int:
        """Run everything due within `seconds` from now (including what those actions schedule);
        return how many actions ran."""
        with self._lock:
            target = self._now + seconds
        ran = 0
        while True:
            with self._lock:
                if not self._heap or self._heap[0][0] > target:
                    self._now = max(self._now, target)
                    return ran
                due, _, action = heapq.heappop(self._heap)
                self._now = max(self._now, due)
            action()
            ran += 1

    def drain(self, limit: int = 100_000) -> int:
        """Advance until nothing is waiting (e.g. every retry of a day); return how many actions ran."""
        ran = 0
        while ran < limit:
            pending = self.pending()
            if not pending:
                return ran
            ran += self.advance(max(pending[0] - self.now(), 0.0))
        raise RuntimeError("the scheduler never goes idle")

    def close(self) -> None:
        with self._lock:
            self._heap.clear()
