"""The personal push round: each eligible follower gets one recommendation with its reason, as a
customer-service news card, never more than WeChat allows and never twice.

    preview(services, 20)      # what the next round would send to 20 followers (nothing written)
    run_now(services)          # a round now; returns its PushRun

Eligible (in this order, the first reason that fails is the one counted): not opted out, outside quiet
hours, not already claimed in this slot, no broadcast today, under the daily cap, not within a week of
the last push for 「少推点」, this is the follower's chosen hour (「推送时间 N」), and the ledger leaves a
slot beyond what the follower is already owed (pending unlock deliveries come first). The claim row
(follower, day, slot) is inserted before the send, so two rounds at once, or a round resumed after a crash,
never send twice: a follower whose send was in flight when the process died is left without (at most
once). The slot is the round's local hour.
"""

from __future__ import annotations

import datetime as dt
import logging
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Callable
from zoneinfo import ZoneInfo

from tqdm import tqdm

from gateways import rules
from gateways.wechat import OutsideWindow, QuotaExceeded, WechatError
from jobs import customer_service, queue
from jobs.leader import holder_name
from settings import PushSettings
from store import ledger, pushes
from store.db import transaction
from store.models import User, utcnow
from store.push_models import PushRun, PushSend
from store.recommend import recommendations

log = logging.getLogger(__name__)

STOP_HINT = "回复 退订推送 可关闭"
MAX_RESUMES = 3
BEAT = 1.0  # seconds between a running round's saves (its sign of life)
HOLDER = holder_name()
_running = threading.Lock()  # one round at a time in this process (the scheduled one, or its resumption)
Clock = Callable[[], dt.datetime]


@dataclass(frozen=True)
class Planned:
    """One push the round would send: to whom, what, and why."""

    user_id: int
    openid: str
    article_id: int
    title: str
    reason: str


@dataclass
class Plan:
    day: dt.date
    slot: int
    eligible: int = 0
    skipped: Counter = field(default_factory=Counter)
    pushes: list[Planned] = field(default_factory=list)


def local_time(now: dt.datetime, push: PushSettings) -> dt.datetime:
    return now.replace(tzinfo=dt.timezone.utc).astimezone(ZoneInfo(push.timezone))


def skip_reason(f: pushes.Follower, day: dt.date, slot: int, push: PushSettings) -> str | None:
    """Why this follower gets no personal push in this round (None: eligible)."""
    checks = [
        (f.opted_out, "opted_out"),
        (push.quiet(slot), "quiet_hours"),
        (f.this_slot, "done"),
        (f.broadcast_today, "broadcast_today"),
        (f.today >= push.daily_cap, "daily_cap"),
        (f.weekly and f.last_day is not None and f.last_day > day - dt.timedelta(days=7), "weekly"),
        (f.hour is not None and f.hour != slot, "other_hour"),
        (f.capacity == 0, "no_grant"),
        (f.capacity <= f.owed, "owed_first"),
    ]
    return next((reason for failed, reason in checks if failed), None)


def plan(push: PushSettings, now: dt.datetime, slot: int | None = None, limit: int | None = None,
         progress: bool = False) -> Plan:
    """Who would get what and why; writes nothing. `slot` (a local hour) defaults to now's."""
    local = local_time(now, push)
    result = Plan(local.date(), local.hour if slot is None else slot)
    month_start = result.day.replace(day=1)
    chosen = []
    for follower in pushes.audience(result.day, result.slot, now, month_start):
        reason = skip_reason(follower, result.day, result.slot, push)
        if reason:
            result.skipped[reason] += 1
        else:
            chosen.append(follower)
    chosen = chosen[:limit] if limit is not None else chosen
    result.eligible = len(chosen)
    recent = pushes.recently_pushed(result.day - dt.timedelta(days=push.recent_days))
    openids = {f.id: f.openid for f in chosen}
    for user_id, recs in recommendations().batch(list(openids), k=1, exclude=recent, progress=progress):
        if recs:
            top = recs[0]
            result.pushes.append(Planned(user_id, openids[user_id], top.article_id, top.title, top.reason))
        else:
            result.skipped["no_recommendation"] += 1
    return result


def card(services: Any, planned: Planned) -> dict[str, str]:
    """The 1-article news card: the item, its reason, and how to stop."""
    return {"title": planned.title, "description": f"{planned.reason}\n{STOP_HINT}",
            "url": services.pipeline.context.links.share(planned.article_id, planned.openid)}


class RateLimit:
    """At most `rate` calls a second, spaced evenly."""

    def __init__(self, rate: float) -> None:
        self.interval = 1.0 / rate
        self.next = time.monotonic()

    def wait(self) -> None:
        pause = self.next - time.monotonic()
        if pause > 0:
            time.sleep(pause)
        self.next = max(self.next, time.monotonic() - self.interval) + self.interval


def deliver(services: Any, planned: Planned, day: dt.date, slot: int, run_id: int, clock: Clock) -> str:
    """Claim, charge and send one push; the outcome is "sent", "failed" or a skip reason.

    The claim and the charge commit together before the send (so no other round or outbox sees the slot
    free); a send that then fails is settled on the claim row."""
    user = User(id=planned.user_id, openid=planned.openid)
    with transaction(services.database):
        claim = pushes.claim(user.id, day, slot, planned.article_id, planned.reason, run_id)
        if claim is None:
            return "done"
        owed = dict(pushes.owed_messages([user.id])).get(user.id, 0)
        refused = ("owed_first" if ledger.capacity(user.id, clock()) <= owed  # outbox rows since the plan go first
                   else None if ledger.charge(user.id, clock()) else "no_grant")
        if refused:
            pushes.unclaim(claim)
            return refused
    try:
        customer_service.send_charged(services.gateway, user, "news", card(services, planned), clock())
    except (OutsideWindow, QuotaExceeded) as exc:
        log.error("push refused although the ledger allowed it: the ledger is wrong",
                  extra={"user": user.id, "errcode": exc.errcode})
        pushes.settle(claim, PushSend.FAILED, str(exc))
        return "ledger_error"
    except (WechatError, ValueError) as exc:
        pushes.settle(claim, PushSend.FAILED, str(exc))
        unsubscribed = getattr(exc, "errcode", None) == rules.NOT_SUBSCRIBED
        return "unsubscribed" if unsubscribed else "failed"
    pushes.settle(claim, PushSend.SENT)
    return "sent"


def run_round(services: Any, *, limit: int | None = None, slot: int | None = None, clock: Clock = utcnow,
              still: Callable[[], bool] = lambda: True, progress: bool | None = None,
              resumed_from: int | None = None) -> PushRun:
    """Plan and send one round; the PushRun stays unfinished when the leader lock was lost midway."""
    progress = sys.stderr.isatty() if progress is None else progress
    push = services.settings.push
    local = local_time(clock(), push)
    slot = local.hour if slot is None else slot
    run = pushes.start_run(PushRun.PERSONAL, local.date(), slot, HOLDER, resumed_from)  # resumable from here
    planned = plan(push, clock(), slot, limit, progress)
    run.eligible = planned.eligible
    skipped = Counter(planned.skipped)
    if services.queue is not None:
        return _run_queued(services, run, planned, skipped, still)
    limiter, saved = RateLimit(push.rate), time.monotonic()
    for n, item in enumerate(tqdm(planned.pushes, disable=not progress, unit="push", desc="pushing")):
        if not still():
            log.warning("leader lock lost: the round stops here", extra={"run": run.id, "left": len(planned.pushes) - n})
            pushes.save_progress(run, skipped)
            return run
        limiter.wait()
        _count(run, skipped, deliver(services, item, planned.day, planned.slot, run.id, clock))
        if time.monotonic() - saved >= BEAT:
            pushes.save_progress(run, skipped)
            saved = time.monotonic()
    pushes.finish_run(run, skipped)
    log.info("push round finished", extra={"run": run.id, "sent": run.sent, "failed": run.failed,
                                           "ledger_errors": run.ledger_errors, "skipped": dict(skipped)})
    return run


def _run_queued(services: Any, run: PushRun, planned: Plan, skipped: Counter, still: Callable[[], bool]) -> PushRun:
    """The sends as RQ jobs of `jobs.chunk` pushes each; the clock waits, beating, and counts."""
    size = services.settings.jobs.chunk
    calls = [(run.id, planned.day, planned.slot, planned.pushes[i:i + size])
             for i in range(0, len(planned.pushes), size)]
    results = queue.fan_out(services.queue, push_chunk, calls, still, lambda: pushes.save_progress(run, skipped))
    if results is None:
        log.warning("leader lock lost: the queued round stops here", extra={"run": run.id})
        pushes.save_progress(run, skipped)
        return run
    for (*_, items), outcomes in zip(calls, results):
        for outcome in outcomes if outcomes is not None else ["job_failed"] * len(items):
            _count(run, skipped, outcome)
    pushes.finish_run(run, skipped)
    log.info("push round finished", extra={"run": run.id, "sent": run.sent, "failed": run.failed,
                                           "jobs": len(calls), "skipped": dict(skipped)})
    return run


def push_chunk(run_id: int, day: dt.date, slot: int, items: list[Planned]) -> list[str]:
    """The queued job: deliver some of a round's pushes (claim rows make a re-run send nothing twice)."""
    services = queue.worker_services()
    limiter = queue.SharedRate(services.queue.connection, f"{services.queue.name}:push_rate",
                               services.settings.push.rate)
    outcomes = []
    with services.database.connection_context():
        for item in items:
            limiter.wait()
            outcomes.append(deliver(services, item, day, slot, run_id, utcnow))
    return outcomes


def _count(run: PushRun, skipped: Counter, outcome: str) -> None:
    if outcome == "sent":
        run.sent += 1
    elif outcome in ("failed", "ledger_error", "unsubscribed"):
        run.failed += 1
        run.ledger_errors += outcome == "ledger_error"
        skipped[outcome] += outcome != "failed"
    else:
        skipped[outcome] += 1


def preview(services: Any, n: int) -> list[Planned]:
    """What the next round would send to (at most) `n` followers, and why; nothing is sent or written."""
    return plan(services.settings.push, utcnow(), limit=n).pushes


def run_now(services: Any, limit: int | None = None) -> PushRun:
    """A personal round now (the creators' 推送, `bot.py push`); returns its PushRun."""
    with _running:
        return run_round(services, limit=limit)


def scheduled(services: Any, still: Callable[[], bool]) -> None:
    """The clock's cron job."""
    if _running.acquire(blocking=False):
        try:
            run_round(services, still=still)
        finally:
            _running.release()




def resume_interrupted(services: Any, still: Callable[[], bool]) -> PushRun | None:
    """A round of today that stopped midway (its clock died or lost the lock) is finished here."""
    push = services.settings.push
    day = local_time(utcnow(), push).date()
    silent = dt.timedelta(seconds=max(3 * push.leader_interval, 5 * BEAT))
    if not _running.acquire(blocking=False):
        return None
    try:
        for stale in pushes.interrupted_runs(PushRun.PERSONAL, day, silent):
            pushes.close_interrupted(stale)
            if pushes.runs_of_slot(PushRun.PERSONAL, day, stale.slot) > MAX_RESUMES:
                log.error("round interrupted too often, not resumed", extra={"run": stale.id})
                continue
            log.warning("resuming an interrupted round", extra={"run": stale.id, "slot": stale.slot})
            return run_round(services, slot=stale.slot, still=still, resumed_from=stale.id)
        return None
    finally:
        _running.release()
