"""The send ledger: each follower's live customer-service grants, as WeChat counts them.

Every received message updates it (handlers/pipeline.py) and every customer-service send is charged to
it (jobs/customer_service.py), so the bot knows before calling WeChat whether a message may go. Charging
is a conditional update, so two processes never spend one slot twice; the soonest-closing grant is spent
first, as WeChat does.
"""

from __future__ import annotations

import datetime as dt
from typing import Iterable

from peewee import fn

from gateways import rules
from store.models import User, utcnow
from store.push_models import SendGrant


def record_action(user: User, message_type: str, now: dt.datetime | None = None) -> None:
    """A received message or event: open (or refresh to the full count) the grant it gives."""
    if message_type == rules.UNSUBSCRIBE:
        clear(user.id)
        return
    kind = rules.grant_of(message_type)
    if kind is None:
        return
    quota, lifetime = rules.GRANTS[kind]
    expires = (now or utcnow()) + lifetime
    (SendGrant.insert(user=user.id, kind=kind, quota=quota, used=0, expires_at=expires)
     .on_conflict(conflict_target=[SendGrant.user, SendGrant.kind],
                  update={SendGrant.quota: quota, SendGrant.used: 0, SendGrant.expires_at: expires})
     .execute())


def charge(user_id: int, now: dt.datetime | None = None) -> bool:
    """Spend one slot; False when no live grant has one left (then WeChat would refuse)."""
    now = now or utcnow()
    for _ in rules.GRANTS:  # a concurrent charge may take the chosen grant's last slot: try the next one
        soonest = (SendGrant.select(SendGrant.id).where((SendGrant.user == user_id) & (SendGrant.expires_at > now)
                                                         & (SendGrant.used < SendGrant.quota))
                   .order_by(SendGrant.expires_at).limit(1))
        if (SendGrant.update(used=SendGrant.used + 1)
                .where((SendGrant.id == soonest) & (SendGrant.used < SendGrant.quota)).execute()):
            return True
        if not soonest.exists():
            return False
    return False


def refund(user_id: int, now: dt.datetime | None = None) -> None:
    """WeChat refused the message outright, so it did not count: give the slot back."""
    grant = (SendGrant.select().where((SendGrant.user == user_id) & (SendGrant.expires_at > (now or utcnow()))
                                      & (SendGrant.used > 0)).order_by(SendGrant.expires_at).first())
    if grant is not None:
        SendGrant.update(used=SendGrant.used - 1).where((SendGrant.id == grant.id) & (SendGrant.used > 0)).execute()


def exhaust(user_id: int) -> None:
    """WeChat said 45015/45047 although the ledger had a slot: believe WeChat until the next action."""
    SendGrant.update(used=SendGrant.quota).where(SendGrant.user == user_id).execute()


def clear(user_id: int) -> None:
    """Unsubscribed: every grant closes."""
    SendGrant.delete().where(SendGrant.user == user_id).execute()


def capacity(user_id: int, now: dt.datetime | None = None) -> int:
    return capacities([user_id], now).get(user_id, 0)


def capacities(user_ids: Iterable[int] | None = None, now: dt.datetime | None = None) -> dict[int, int]:
    """Slots left per follower (only followers with any), for all followers when `user_ids` is None."""
    query = (SendGrant.select(SendGrant.user, fn.SUM(SendGrant.quota - SendGrant.used))
             .where((SendGrant.expires_at > (now or utcnow())) & (SendGrant.used < SendGrant.quota))
             .group_by(SendGrant.user))
    if user_ids is not None:
        query = query.where(SendGrant.user.in_(list(user_ids)))
    return {user: int(left) for user, left in query.tuples()}
