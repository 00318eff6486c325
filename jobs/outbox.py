"""Delivering the outbox through the WeChat gateway.

The web process kicks `OutboxWorker` right after a message's transaction wrote rows, so the rest of an
article follows the passive reply within a second; the clock's `deliver_ready` sweeps whatever is left
(retries, rows released by a new message, a web process that died). Rows are claimed by a conditional
update, so several processes never send one row twice; each send is charged to the send ledger
(jobs/customer_service.py), and a row the ledger has no slot for waits like one WeChat refused. A
process that dies mid-send leaves a SENDING row that `requeue_stuck` sends again (at least once: WeChat
has no idempotency key for these messages).
"""

from __future__ import annotations

import contextlib
import json
import logging
import queue
import threading
import time
from typing import Any, Callable

import peewee

from gateways.pay_results import PayUnavailable
from jobs import customer_service
from gateways.wechat import OutsideWindow, QuotaExceeded, WechatError, WechatUnavailable
from ops.logs import request_id
from store import outbox
from store.db import reconnect
from store.models import Outbox

log = logging.getLogger(__name__)


Tasks = dict[str, Callable[[Outbox], None]]  # outbox kinds that are work, not messages (e.g. check_orders)
RETRYABLE = (WechatUnavailable, PayUnavailable)


def send(gateway: Any, row: Outbox, tasks: Tasks | None = None) -> None:
    if tasks and row.kind in tasks:
        tasks[row.kind](row)
        return
    customer_service.send(gateway, row.user, row.kind, json.loads(row.payload))


def deliver_user(gateway: Any, user_id: int, tasks: Tasks | None = None) -> int:
    """Send the user's due rows in order; stop at the first that cannot go now."""
    sent = 0
    while (row := outbox.claim_next(user_id)) is not None:
        try:
            send(gateway, row, tasks)
        except (OutsideWindow, QuotaExceeded) as exc:
            outbox.mark_waiting(row, str(exc))  # the user's next message reopens the window
            return sent
        except RETRYABLE as exc:
            outbox.mark_retry(row, str(exc))
            return sent
        except (WechatError, ValueError) as exc:
            log.error("outbox row refused", extra={"row": row.id, "error": str(exc)})
            outbox.mark_failed(row, str(exc))
            continue
        settle_sent(row)
        sent += 1
    return sent


def settle_sent(row: Outbox, seconds: float = 15.0) -> None:
    """Mark a row WeChat accepted as SENT, retried on a fresh connection while the database is away (a
    restart takes seconds): left SENDING, the row would hold the user's later rows back until
    `requeue_stuck`, and then go out a second time."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            outbox.mark_sent(row)
            return
        except (peewee.OperationalError, peewee.InterfaceError):
            if time.monotonic() >= deadline:
                raise
            log.warning("marking a sent outbox row failed; retrying", extra={"row": row.id})
            time.sleep(0.5)
            with contextlib.suppress(peewee.OperationalError, peewee.InterfaceError):
                reconnect(Outbox._meta.database)


def deliver_ready(gateway: Any, tasks: Tasks | None = None) -> int:
    users = outbox.users_with_ready()
    sent = sum(deliver_user(gateway, user_id, tasks) for user_id in users)
    if users:
        log.info("outbox sweep", extra={"users": len(users), "sent": sent})
    return sent


class OutboxWorker:
    """One background thread per process, delivering for users whose messages just wrote rows.

    `delay` lets the passive reply reach WeChat first, so the parts arrive in reading order. Each
    delivery logs under the request id of the message (or notification) that kicked it.
    """

    def __init__(self, gateway: Any, database: Any, delay: float = 0.5, tasks: Tasks | None = None) -> None:
        self.gateway = gateway
        self.tasks = tasks or {}
        self.database = database
        self.delay = delay
        self._queue: queue.Queue[tuple[float, int, str]] = queue.Queue()
        self._outstanding = 0  # kicked and not yet attempted
        self._changed = threading.Condition()
        self._thread: threading.Thread | None = None

    def kick(self, user_id: int) -> None:
        with self._changed:
            self._outstanding += 1
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="outbox", daemon=True)
                self._thread.start()
        self._queue.put((time.monotonic() + self.delay, user_id, request_id.get()))

    def wait_idle(self, timeout: float) -> bool:
        """For tests and shutdown: True once everything kicked so far was attempted."""
        with self._changed:
            return self._changed.wait_for(lambda: self._outstanding == 0, timeout)

    def _run(self) -> None:
        while True:
            due, user_id, kicked_by = self._queue.get()
            time.sleep(max(0.0, due - time.monotonic()))
            request_id.set(kicked_by)
            try:
                with self.database.connection_context():
                    sent = deliver_user(self.gateway, user_id, self.tasks)
                log.info("outbox delivered", extra={"user": user_id, "sent": sent})
            except Exception:
                log.exception("outbox delivery failed; the clock will retry", extra={"user": user_id})
            finally:
                with self._changed:
                    self._outstanding -= 1
                    self._changed.notify_all()
