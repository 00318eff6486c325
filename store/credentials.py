"""The WeChat gateway's token store, over the `Credential` table and the state store's lock.

The composition root (bot.py) hands this to `gateways.wechat.WechatGateway`, so the gateway stays a thin
wrapper over wechatpy and never imports `store/`: it sees only `read`, `write`, `now` and `refresh_lock`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
from typing import Iterator

from store import queries
from store.models import utcnow
from store.state import LockTimeout, StateStore, StateUnavailable

log = logging.getLogger(__name__)


class CredentialTokens:
    now = staticmethod(utcnow)

    def __init__(self, state: StateStore) -> None:
        self.state = state

    def read(self, name: str) -> tuple[str | None, dt.datetime | None]:
        """The stored value and its expiry (naive UTC), (None, None) when absent or emptied."""
        row = queries.read_credential(name)
        if row is None or not row.value:
            return None, None
        return row.value, row.expires_at

    def write(self, name: str, value: str, expires_at: dt.datetime) -> None:
        queries.write_credential(name, value, expires_at)

    @contextlib.contextmanager
    def refresh_lock(self, name: str, timeout: float, wait: float) -> Iterator[bool]:
        """True while this process may refresh `name`: it holds the lock, or no lock can be had because
        the state store is down. False when another process held it for longer than `wait`."""
        held = contextlib.ExitStack()
        try:
            held.enter_context(self.state.lock(name, timeout, wait))
        except LockTimeout:
            yield False
            return
        except StateUnavailable:
            log.warning("state store down: refreshing without the lock", extra={"credential": name})
        with held:
            yield True
