"""The `clock` process: one APScheduler, each job in its own database connection."""

from __future__ import annotations

import functools
import logging
from typing import Any, Callable

from apscheduler.schedulers.blocking import BlockingScheduler

from jobs.housekeeping import prune_processed_messages, requeue_stuck_outbox
from jobs.outbox import deliver_ready
from ops.logs import new_request_id

log = logging.getLogger(__name__)


def _job(database: Any, func: Callable, *args: Any) -> Callable[[], None]:
    @functools.wraps(func)
    def run() -> None:
        new_request_id()
        try:
            with database.connection_context():
                func(*args)
        except Exception:
            log.exception("job failed", extra={"job": func.__name__})

    return run


def build_scheduler(services: Any) -> BlockingScheduler:
    scheduler = BlockingScheduler(timezone="UTC")
    add = functools.partial(scheduler.add_job, coalesce=True, max_instances=1)
    add(_job(services.database, prune_processed_messages, services.settings), "interval", hours=1,
        id="prune_processed_messages")
    add(_job(services.database, requeue_stuck_outbox), "interval", minutes=1, id="requeue_stuck_outbox")
    if services.reconciler is not None:  # open orders: first query after a minute, then the schedule
        add(_job(services.database, services.reconciler.reconcile_due), "interval", seconds=5, id="reconcile_orders")
    if services.refunds is not None:  # refunds asked for by 退款 whose notification has not come
        add(_job(services.database, services.refunds.check_pending), "interval", minutes=1, id="check_refunds")
    if services.gateway is not None:
        add(_job(services.database, deliver_ready, services.gateway, services.outbox.tasks), "interval", seconds=10,
            id="deliver_outbox")
        # keep the shared access_token fresh here, so web workers only ever read it
        add(_job(services.database, services.gateway.access_token), "interval", minutes=5,
            id="refresh_access_token")
    return scheduler
