"""Named queries of pushes: followers' choices, the (user, day, slot) claims, runs, and the audience of
a round (loaded in a few grouped queries, so a round over 100,000 followers stays a handful of
statements)."""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from dataclasses import dataclass
from typing import Iterable

from peewee import fn

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
