"""Named queries of the outbox: enqueue in the message's transaction, claim and settle when delivering."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from store.models import Outbox, User, utcnow

RETRY_DELAYS = (5, 30, 120, 600, 3600)  # seconds after each failed attempt; then FAILED
CHECK_ORDERS = "check_orders"  # not a message: query the user's open orders with WeChat Pay, then unlock
MESSAGE_KINDS = ("text", "news")
UNSENT = (Outbox.PENDING, Outbox.WAITING)


def enqueue(user: User, rows: list[tuple[str, dict[str, Any]]]) -> None:
    """Queue (kind, payload) rows for the user, in this order, in one statement."""
    if rows:
        Outbox.insert_many([{"user": user, "kind": kind, "payload": json.dumps(payload, ensure_ascii=False)}
                            for kind, payload in rows]).execute()


def depth() -> int:
    """Rows not yet sent (pending, waiting for the user's window, or being sent)."""
    return Outbox.select().where(Outbox.state.in_(UNSENT + (Outbox.SENDING,))).count()


def users_with_ready(limit: int = 500) -> list[int]:
    rows = (Outbox.select(Outbox.user).where((Outbox.state == Outbox.PENDING)
                                             & (Outbox.next_attempt_at <= utcnow()))
            .distinct().limit(limit).tuples())
    return [user_id for (user_id,) in rows]


def claim_next(user_id: int) -> Outbox | None:
    """The user's oldest unsent row, if it is due; claimed by a conditional update (one sender wins).

    A waiting or not-yet-due row blocks the rows after it, so a user's messages never overtake.
    """
    head = (Outbox.select().where((Outbox.user == user_id) & Outbox.state.in_(UNSENT + (Outbox.SENDING,)))
            .order_by(Outbox.id).first())
    if head is None or head.state != Outbox.PENDING or head.next_attempt_at > utcnow():
        return None
    won = (Outbox.update(state=Outbox.SENDING, claimed_at=utcnow(), attempts=Outbox.attempts + 1)
           .where((Outbox.id == head.id) & (Outbox.state == Outbox.PENDING)).execute())
    return Outbox.get_by_id(head.id) if won else None


def mark_sent(row: Outbox) -> None:
    Outbox.update(state=Outbox.SENT, sent_at=utcnow(), last_error=None).where(Outbox.id == row.id).execute()


def mark_waiting(row: Outbox, error: str) -> None:
    """WeChat refused this user for now: the row and every later one wait for the user's next message."""
    (Outbox.update(state=Outbox.WAITING, last_error=error)
     .where((Outbox.user == row.user_id) & (Outbox.id >= row.id)
            & ((Outbox.id == row.id) | (Outbox.state == Outbox.PENDING))).execute())
    User.update(outbox_waiting=True).where(User.id == row.user_id).execute()


def mark_retry(row: Outbox, error: str) -> None:
    """Back to PENDING after a delay, or FAILED when the retries are used up."""
    if row.attempts > len(RETRY_DELAYS):
        Outbox.update(state=Outbox.FAILED, last_error=error).where(Outbox.id == row.id).execute()
        return
    due = utcnow() + dt.timedelta(seconds=RETRY_DELAYS[row.attempts - 1])
    Outbox.update(state=Outbox.PENDING, next_attempt_at=due, last_error=error).where(Outbox.id == row.id).execute()


def mark_failed(row: Outbox, error: str) -> None:
    Outbox.update(state=Outbox.FAILED, last_error=error).where(Outbox.id == row.id).execute()


def release_waiting(user: User) -> int:
    """The user wrote again, so WeChat's window is open again: waiting rows may go.
    Costs nothing for the many users with nothing waiting (the flag came with the user's row)."""
    if not user.outbox_waiting:
        return 0
    User.update(outbox_waiting=False).where(User.id == user.id).execute()
    return (Outbox.update(state=Outbox.PENDING, next_attempt_at=utcnow())
            .where((Outbox.user == user) & (Outbox.state == Outbox.WAITING)).execute())


def take_next_unsent(user: User) -> Outbox | None:
    """Hand the oldest unsent row to the passive reply instead (「继续」): it is then settled as SENT."""
    messages = Outbox.select().where((Outbox.user == user) & Outbox.state.in_(UNSENT)
                                     & Outbox.kind.in_(MESSAGE_KINDS)).order_by(Outbox.id)
    for row in messages:
        if Outbox.update(state=Outbox.SENT, sent_at=utcnow()).where(
                (Outbox.id == row.id) & Outbox.state.in_(UNSENT)).execute():
            return row
    return None


def requeue_stuck(older_than: dt.timedelta) -> int:
    """Rows left SENDING by a crashed process go out again (at least once, never lost)."""
    return (Outbox.update(state=Outbox.PENDING)
            .where((Outbox.state == Outbox.SENDING) & (Outbox.claimed_at < utcnow() - older_than)).execute())


def pending_unlocks(user: User) -> int:
    """Unlock deliveries of paid orders that have not reached the user yet (counted by order)."""
    rows = Outbox.select(Outbox.payload).where((Outbox.user == user) & Outbox.state.in_(UNSENT))
    return len({json.loads(r.payload).get("unlock") for r in rows} - {None})


def rows_of(user: User) -> list[Outbox]:
    return list(Outbox.select().where(Outbox.user == user).order_by(Outbox.id))
