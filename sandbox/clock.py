"""The sandbox's notion of time: real time plus an offset that tests move forward."""

from __future__ import annotations

import threading
import time
from typing import Callable


class Clock:
    """`now()` in epoch seconds; `advance(seconds)` jumps ahead (tokens expire, the 48 h window closes)."""

    def __init__(self, source: Callable[[], float] = time.time) -> None:
        self._source = source
        self._offset = 0.0
        self._guard = threading.Lock()

    def now(self) -> float:
        with self._guard:
            return self._source() + self._offset

    @property
    def offset(self) -> float:
        """Seconds this clock is ahead of its source."""
        with self._guard:
            return self._offset

    def advance(self, seconds: float) -> float:
        """Move the clock forward; return the new time."""
        if seconds < 0:
            raise ValueError("the sandbox clock only moves forward")
        with self._guard:
            self._offset += seconds
        return self.now()
