"""Named queries of pushes: followers' choices, the (user, day, slot) claims, runs, and the audience of
a round (loaded in a few grouped queries, so a round over 100,000 followers stays a handful of
statements)."""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from dataclasses import dataclass
from typing import Iterable

from peewee import JOIN, fn

from store import ledger
from store.models import Outbox, User, utcnow
from store.outbox import MESSAGE_KINDS, UNSENT
from store.push_models import PushPref, PushRun, PushSend


def mark_unsubscribed(user: User) -> None:
    """WeChat answered 43004: the follower left without the bot hearing of it."""
    User.update(subscribed=False, unsubscribed_at=utcnow()).where(User.id == user.id).execute()


# ---------------------------------------------------------------- followers' choices


def pref_of(user: User) -> PushPref:
    return PushPref.get_or_none(PushPref.user == user) or PushPref(user=user)


def set_pref(user: User, **values: object) -> None:
    """Store `weekly` and/or `hour` for the follower (the row is made on the first choice)."""
    PushPref.insert(user=user, **values).on_conflict(
        conflict_target=[PushPref.user], update={getattr(PushPref, k): v for k, v in values.items()}).execute()


def set_opt_out(user: User, opted_out: bool) -> None:
    User.update(push_opt_out=opted_out).where(User.id == user.id).execute()


def last_push(user: User) -> PushSend | None:
    """The latest push that reached the follower (personal or broadcast)."""
    return (PushSend.select().where((PushSend.user == user) & (PushSend.state == PushSend.SENT))
            .order_by(PushSend.created_at.desc(), PushSend.id.desc()).first())


# ---------------------------------------------------------------- the audience of a round


@dataclass
class Follower:
    """What a round needs to know of one subscribed follower."""

    id: int
    openid: str
    opted_out: bool
    weekly: bool = False
    hour: int | None = None
    capacity: int = 0  # customer-service slots left (the ledger)
    owed: int = 0  # unsent outbox messages, which come first
    today: int = 0  # personal pushes sent or claimed today
    this_slot: bool = False  # already claimed in this round's slot
    broadcast_today: bool = False
    last_day: dt.date | None = None  # the day of the latest push
    broadcasts_this_month: int = 0


def audience(day: dt.date, slot: int, now: dt.datetime, month_start: dt.date) -> list[Follower]:
    """Every subscribed follower with their grants, debts and recent pushes, in a few grouped queries."""
    rows = (User.select(User.id, User.openid, User.push_opt_out, PushPref.weekly, PushPref.hour)
            .join(PushPref, on=(PushPref.user == User.id), join_type=JOIN.LEFT_OUTER)
            .where(User.subscribed == True).order_by(User.id).tuples())  # noqa: E712
    followers = {id_: Follower(id_, openid, opted_out, bool(weekly), hour)
                 for id_, openid, opted_out, weekly, hour in rows}
    for user_id, left in ledger.capacities(None, now).items():
        if user_id in followers:
            followers[user_id].capacity = left
    for user_id, count in owed_messages(followers):
        followers[user_id].owed = count
    since = min(day - dt.timedelta(days=7), month_start)
    for user_id, sent_day, sent_slot in (PushSend.select(PushSend.user, PushSend.day, PushSend.slot)
                                         .where(PushSend.day >= since).tuples()):
        follower = followers.get(user_id)
        if follower is not None:
            _count(follower, sent_day, sent_slot, day, slot, month_start)
    return list(followers.values())


def _count(follower: Follower, sent_day: dt.date, sent_slot: int, day: dt.date, slot: int,
           month_start: dt.date) -> None:
    broadcast = sent_slot == PushSend.BROADCAST
    if sent_day >= month_start and broadcast:
        follower.broadcasts_this_month += 1
    if follower.last_day is None or sent_day > follower.last_day:
        follower.last_day = sent_day
    if sent_day == day:
        follower.broadcast_today |= broadcast
        follower.today += not broadcast
        follower.this_slot |= sent_slot == slot


def owed_messages(user_ids: Iterable[int] | None = None) -> list[tuple[int, int]]:
    """(user, unsent outbox messages): what followers are already owed, unlocks first of all."""
    query = (Outbox.select(Outbox.user, fn.COUNT(Outbox.id))
             .where(Outbox.state.in_(UNSENT) & Outbox.kind.in_(MESSAGE_KINDS)).group_by(Outbox.user))
    if user_ids is not None:
        query = query.where(Outbox.user.in_(list(user_ids)))
    return list(query.tuples())


def recently_pushed(since: dt.date) -> dict[int, set[int]]:
    """Per follower, the articles pushed to them (personally or by broadcast) since `since`."""
    pushed: dict[int, set[int]] = {}
    for user_id, article_id in (PushSend.select(PushSend.user, PushSend.article_id)
                                .where((PushSend.day >= since) & PushSend.article_id.is_null(False)).tuples()):
        pushed.setdefault(user_id, set()).add(article_id)
    return pushed


# ---------------------------------------------------------------- claims and runs


def claim(user_id: int, day: dt.date, slot: int, article_id: int | None, reason: str = "",
          run_id: int | None = None) -> int | None:
    """The unique (user, day, slot) row: whoever inserts it may send. Its id, or None when it exists."""
    inserted = (PushSend.insert(user=user_id, day=day, slot=slot, article_id=article_id, reason=reason,
                                run=run_id).on_conflict_ignore().returning(PushSend.id).tuples().execute())
    return next((row[0] for row in inserted), None)


def settle(claim_id: int, state: str, error: str | None = None) -> None:
    PushSend.update(state=state, error=error).where(PushSend.id == claim_id).execute()


def unclaim(claim_id: int) -> None:
    """Nothing was sent (the ledger had no slot after all): the follower stays open for a later round."""
    PushSend.delete().where(PushSend.id == claim_id).execute()


def start_run(kind: str, day: dt.date, slot: int, holder: str, resumed_from: int | None = None) -> PushRun:
    return PushRun.create(kind=kind, day=day, slot=slot, holder=holder, resumed_from=resumed_from)


def finish_run(run: PushRun, skipped: Counter) -> None:
    run.skipped = json.dumps({reason: n for reason, n in skipped.items() if n}, ensure_ascii=False)
    run.finished_at = utcnow()
    run.save()


def save_progress(run: PushRun, skipped: Counter) -> None:
    """The counts so far, and a sign of life (a round without one for a while counts as interrupted)."""
    run.skipped = json.dumps({reason: n for reason, n in skipped.items() if n}, ensure_ascii=False)
    run.beat_at = utcnow()
    run.save()


def interrupted_runs(kind: str, day: dt.date, silent_for: dt.timedelta) -> list[PushRun]:
    """Today's unfinished runs that gave no sign of life for `silent_for`."""
    return list(PushRun.select().where((PushRun.kind == kind) & (PushRun.day == day) & PushRun.finished_at.is_null()
                                       & (PushRun.beat_at < utcnow() - silent_for)).order_by(PushRun.id))


def runs_of_slot(kind: str, day: dt.date, slot: int) -> int:
    return PushRun.select().where((PushRun.kind == kind) & (PushRun.day == day) & (PushRun.slot == slot)).count()


def close_interrupted(run: PushRun) -> None:
    PushRun.update(finished_at=utcnow()).where((PushRun.id == run.id) & PushRun.finished_at.is_null()).execute()


def last_runs(limit: int = 10) -> list[PushRun]:
    return list(PushRun.select().order_by(PushRun.id.desc()).limit(limit))
