"""The `clock` process: one APScheduler, each job in its own database connection, every job on the leader.

Several clock processes may run (a deploy overlapping the old one, a standby): the `leader` job takes or
keeps the leader lock (jobs/leader.py) three times an interval, and every other job returns at once on a
process that does not lead. Jobs have fixed ids, coalesce missed runs and run one instance at a time.
"""

from __future__ import annotations

import functools
import logging
from typing import Any, Callable

from apscheduler.schedulers.blocking import BlockingScheduler

from jobs import broadcast, push_round
from jobs.housekeeping import prune_processed_messages, requeue_stuck_outbox
from jobs.leader import Leader, leader_for
from jobs.outbox import deliver_ready
from jobs.queue import enqueue_ready
from jobs.recommend import refit_when_due
from ops.logs import new_request_id
from settings import cron_trigger

log = logging.getLogger(__name__)


def _job(database: Any, func: Callable, *args: Any) -> Callable[[], None]:
    @functools.wraps(func)
    def run() -> None:
        new_request_id(func.__name__)
        try:
            with database.connection_context():
                func(*args)
        except Exception:
            log.exception("job failed", extra={"job": func.__name__})

    return run


def _on_leader(leader: Leader, run: Callable[[], None]) -> Callable[[], None]:
    @functools.wraps(run)
    def guarded() -> None:
        if leader.is_leader:
            run()

    return guarded


def build_scheduler(services: Any, leader: Leader | None = None) -> BlockingScheduler:
    """The scheduler with every job; `scheduler.leader` is the lock it competes for."""
    settings = services.settings
    push = settings.push
    leader = leader or leader_for(services.database, settings.store.database_url, push.leader_interval)
    scheduler = BlockingScheduler(timezone="UTC")
    scheduler.leader = leader

    def add(func: Callable[[], None], *trigger: Any, **options: Any) -> None:
        scheduler.add_job(_on_leader(leader, func), *trigger, coalesce=True, max_instances=1, **options)

    scheduler.add_job(_job(services.database, leader.check), "interval", seconds=push.leader_interval / 3,
                      id="leader", coalesce=True, max_instances=1)
    add(_job(services.database, prune_processed_messages, settings), "interval", hours=1,
        id="prune_processed_messages")
    add(_job(services.database, requeue_stuck_outbox), "interval", minutes=1, id="requeue_stuck_outbox")
    add(_job(services.database, refit_when_due, services.settings), "interval", minutes=1, id="refit_recommender")
    if services.reconciler is not None:  # open orders: first query after a minute, then the schedule
        add(_job(services.database, services.reconciler.reconcile_due), "interval", seconds=5, id="reconcile_orders")
    if services.refunds is not None:  # refunds asked for by 退款 whose notification has not come
        add(_job(services.database, services.refunds.check_pending), "interval", minutes=1, id="check_refunds")
    if services.gateway is not None:
        sweep = ((enqueue_ready, services.queue) if services.queue is not None  # workers send, the clock enqueues
                 else (deliver_ready, services.gateway, services.outbox.tasks))
        add(_job(services.database, *sweep), "interval", seconds=10, id="deliver_outbox")
        # keep the shared access_token fresh here, so web workers only ever read it
        add(_job(services.database, services.gateway.access_token), "interval", minutes=5,
            id="refresh_access_token")
        still = lambda: leader.is_leader  # noqa: E731 - a round stops when the lock is lost
        add(_job(services.database, push_round.scheduled, services, still), cron_trigger(push.schedule, push.timezone),
            id="push_round", misfire_grace_time=600)
        add(_job(services.database, push_round.resume_interrupted, services, still), "interval",
            seconds=push.leader_interval, id="push_resume")
        add(_job(services.database, broadcast.scheduled, services),
            cron_trigger(push.broadcast_schedule, push.timezone), id="push_broadcast", misfire_grace_time=600)
    return scheduler
