"""Fan-out through RQ on Redis, for deployments on several machines.

`job_queue(settings)` is the one place that decides: with `jobs.queue` set, outbox deliveries and the
sends of a push round become RQ jobs that `bot.py worker` processes run (any number, on any machine
that reaches Redis and the database); with it empty (the embedded defaults, SQLite, no Redis) they run
in the process that asks, as before. The clock only enqueues and waits.

Exactly-once does not depend on RQ: a job run twice (a worker died and it was run again) finds the
push's claim row, or the outbox row already claimed, and sends nothing more.
"""

from __future__ import annotations

import logging
import time
from typing import Any, Callable

import redis
from rq import Queue, SimpleWorker
from rq.job import Job, JobStatus
from rq.registry import StartedJobRegistry

from ops.logs import new_request_id, request_id

log = logging.getLogger(__name__)

JOB_TIMEOUT = 600  # seconds a job may run (a chunk of a round at the configured rate takes a few)
POLL = 0.2  # seconds between looks at the jobs a round waits for
DONE = {JobStatus.FINISHED, JobStatus.FAILED, JobStatus.CANCELED, JobStatus.STOPPED}
_worker_services: Any = None  # the Services of this `bot.py worker` process


def job_queue(settings: Any) -> Queue | None:
    """The RQ queue when `jobs.queue` names one; None: everything runs in-process."""
    if not settings.jobs.queue:
        return None
    return Queue(settings.jobs.queue, connection=redis.Redis.from_url(settings.store.redis_url),
                 default_timeout=JOB_TIMEOUT)


def worker_services() -> Any:
    if _worker_services is None:
        raise RuntimeError("queued jobs run only inside `bot.py worker`")
    return _worker_services


class _Worker(SimpleWorker):
    """Jobs run in this process (the services built once); each logs under the request id of whatever
    enqueued it (a message, a notification, a clock job)."""

    def perform_job(self, job: Job, queue: Queue) -> bool:
        kicked_by = job.meta.get("request_id", "-")  # "-": enqueued outside any request
        if kicked_by == "-":
            new_request_id(job.func_name.rsplit(".", 1)[-1])
        else:
            request_id.set(kicked_by)
        return super().perform_job(job, queue)


def enqueue(queue: Queue, func: Callable, *args: Any) -> Job:
    return queue.enqueue(func, *args, meta={"request_id": request_id.get()})


def work(services: Any, burst: bool = False) -> bool:
    """Run this process's worker until stopped (SIGTERM: after the current job), or with `burst` until
    the queue is empty."""
    global _worker_services
    _worker_services = services
    return _Worker([services.queue], connection=services.queue.connection).work(burst=burst, logging_level="WARNING")


class QueuedOutbox:
    """The outbox kicker of a queued deployment (same interface as jobs.outbox.OutboxWorker)."""

    def __init__(self, queue: Queue, delay: float, tasks: dict[str, Callable] | None = None) -> None:
        self.queue, self.delay, self.tasks = queue, delay, tasks or {}  # tasks: run by the worker's own copy

    def kick(self, user_id: int) -> None:
        enqueue(self.queue, deliver_outbox, user_id, time.time() + self.delay)

    def wait_idle(self, timeout: float) -> bool:
        """True once nothing is queued or running (for tests and shutdown)."""
        deadline = time.monotonic() + timeout
        while self.queue.count or StartedJobRegistry(queue=self.queue).count:
            if time.monotonic() > deadline:
                return False
            time.sleep(POLL)
        return True


def deliver_outbox(user_id: int, due: float) -> int:
    """The job: the user's due outbox rows (the passive reply goes first: wait until `due`)."""
    from jobs.outbox import deliver_user

    services = worker_services()
    time.sleep(max(0.0, min(due - time.time(), services.settings.bot.outbox_delay)))
    with services.database.connection_context():
        sent = deliver_user(services.gateway, user_id, services.outbox.tasks)
    log.info("outbox delivered", extra={"user": user_id, "sent": sent})
    return sent


def enqueue_ready(queue: Queue) -> int:
    """The clock's sweep, queued: one delivery job per user with due rows."""
    from store.outbox import users_with_ready

    users = users_with_ready()
    for user_id in users:
        enqueue(queue, deliver_outbox, user_id, 0.0)
    return len(users)


def fan_out(queue: Queue, func: Callable, calls: list[tuple], still: Callable[[], bool],
            beat: Callable[[], None]) -> list[Any] | None:
    """Enqueue `func(*args)` for each of `calls` and wait for all; their results in order (None for a
    job that failed or whose worker died). None when `still()` turned false: the jobs not yet started
    are cancelled. `beat()` runs every second while waiting (the round's sign of life)."""
    jobs = [enqueue(queue, func, *args) for args in calls]
    ids, last_beat = [job.id for job in jobs], time.monotonic()
    while True:
        statuses = [job.get_status(refresh=True) for job in Job.fetch_many(ids, connection=queue.connection)]
        if all(status in DONE for status in statuses):
            break
        if not still():
            for job, status in zip(jobs, statuses):
                if status in (JobStatus.QUEUED, JobStatus.DEFERRED, JobStatus.SCHEDULED):
                    job.cancel()
            return None
        if time.monotonic() - last_beat >= 1.0:
            StartedJobRegistry(queue=queue).cleanup()  # a dead worker's job is failed, not waited for
            beat()
            last_beat = time.monotonic()
        time.sleep(POLL)
    return [job.return_value() if status == JobStatus.FINISHED else None
            for job, status in zip(Job.fetch_many(ids, connection=queue.connection), statuses)]


class SharedRate:
    """At most `rate` calls a second over every worker: a counter per second in Redis."""

    def __init__(self, connection: redis.Redis, key: str, rate: float) -> None:
        self.connection, self.key, self.rate = connection, key, rate

    def wait(self) -> None:
        while True:
            second = int(time.time())
            key = f"{self.key}:{second}"
            with self.connection.pipeline() as pipe:
                taken, _ = pipe.incr(key).expire(key, 5).execute()
            if taken <= self.rate:
                return
            time.sleep(max(0.0, second + 1 - time.time()))
