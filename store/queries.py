"""Named queries: the only place handlers and dialogs reach the database through."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from peewee import fn

from store.db import is_postgres
from store.models import Comment, Credential, Event, Feedback, InboundMessage, User, database_proxy, utcnow

# Behaviour kinds recorded per user.
SUBSCRIBE, TEXT, CLICK, VIEW, SCAN, FEEDBACK, SEARCH = (
    "subscribe", "text", "click", "view", "scan", "feedback", "search")
LIKE, COMMENT, SHARE, SHARE_OPEN, PURCHASE = "like", "comment", "share", "share_open", "purchase"


def record_message(key: str, reply: str, event: Any = None) -> bool:
    """Insert the processed-message record with its reply, after the message's `event` (from
    `event_insert`, or None); False when the record exists (a duplicate delivery).

    The last statement of the message's transaction: a duplicate that got this far rolls its whole
    transaction back. On PostgreSQL a concurrent duplicate blocks at the sender's row lock
    (`touch_user`) or here until the first delivery commits, so exactly one of them commits; there both
    inserts go in one round trip (psycopg2 answers the last statement).
    """
    record = InboundMessage.insert(key=key, reply=reply).on_conflict_ignore().returning(InboundMessage.key)
    if event is None:
        return bool(list(record.execute()))
    if not is_postgres(database_proxy.obj):
        event.execute()
        return bool(list(record.execute()))
    (event_sql, event_params), (record_sql, record_params) = event.sql(), record.sql()
    cursor = database_proxy.obj.execute_sql(f"{event_sql}; {record_sql}", [*event_params, *record_params])
    return cursor.fetchone() is not None


def record_failure(key: str, reply: str) -> None:
    """After a rolled-back handler: remember the apology so duplicates get it and never re-run."""
    InboundMessage.insert(key=key, reply=reply).on_conflict_ignore().execute()


def stored_reply(key: str) -> str | None:
    row = InboundMessage.get_or_none(InboundMessage.key == key)
    return row.reply if row else None


def prune_messages(older_than: dt.timedelta) -> int:
    return InboundMessage.delete().where(InboundMessage.created_at < utcnow() - older_than).execute()


def touch_user(openid: str) -> User:
    """Fetch or create the follower and mark this moment as their last interaction (row-locking it)."""
    now = utcnow()
    updated = list(User.update(last_interaction=now).where(User.openid == openid).returning(User).execute())
    if updated:
        return updated[0]
    User.insert(openid=openid, first_seen=now, last_interaction=now).on_conflict_ignore().execute()
    return User.get(User.openid == openid)


def find_user(openid: str) -> User | None:
    return User.get_or_none(User.openid == openid)


def mark_subscribed(user: User, scene: str | None) -> bool:
    """Return True on the first subscription ever (a referral scene is credited only then)."""
    first = user.subscribed_at is None
    user.subscribed, user.subscribed_at, user.unsubscribed_at = True, utcnow(), None
    if first and scene:
        user.referral_scene = scene
    user.save()
    return first


def delete_behaviour(user: User) -> None:
    """「删除我的数据」: behaviour, comments, feedback and referral go. Orders and purchases (accounting) stay."""
    Event.delete().where(Event.user == user).execute()
    Feedback.delete().where(Feedback.user == user).execute()
    Comment.delete().where(Comment.user == user).execute()
    User.update(referral_scene=None).where(User.id == user.id).execute()


def forget_user(openid: str) -> None:
    """Unsubscribe: behaviour deleted as above, and pushes stop."""
    user = find_user(openid)
    if user is None:
        return
    delete_behaviour(user)
    User.update(subscribed=False, unsubscribed_at=utcnow(), push_opt_out=True).where(User.id == user.id).execute()


def data_held(user: User) -> dict:
    events = (Event.select(Event.kind, fn.COUNT(Event.id)).where(Event.user == user)
              .group_by(Event.kind).tuples())
    return {"events": dict(events),
            "comments": Comment.select().where(Comment.user == user).count(),
            "feedback": Feedback.select().where(Feedback.user == user).count()}


BEHAVIOUR = (VIEW, LIKE, COMMENT, SHARE, PURCHASE)


def behaviour_vectors(openids: list[str] | None = None) -> dict[str, dict[str, int]]:
    """Each user's B_i vector: counts of view, like, comment, share and purchase (zeros included)."""
    query = (Event.select(User.openid, Event.kind, fn.COUNT(Event.id))
             .join(User).where(Event.kind.in_(BEHAVIOUR)).group_by(User.openid, Event.kind))
    if openids is not None:
        query = query.where(User.openid.in_(openids))
    vectors: dict[str, dict[str, int]] = {}
    for openid, kind, count in query.tuples():
        vectors.setdefault(openid, dict.fromkeys(BEHAVIOUR, 0))[kind] = count
    return vectors


def record_event(user: User, kind: str, article_id: int | None = None, **payload: Any) -> Event:
    return Event.create(user=user, kind=kind, article_id=article_id,
                        payload=json.dumps(payload, ensure_ascii=False))


def event_insert(user: User, kind: str, **payload: Any) -> Any:
    """The insert of a message's own event, not yet run: `record_message` sends it with the record."""
    return Event.insert(user=user, kind=kind, payload=json.dumps(payload, ensure_ascii=False))


def events_of(openid: str) -> list[Event]:
    return list(Event.select().join(User).where(User.openid == openid).order_by(Event.id))


def event_counts() -> dict[str, int]:
    query = Event.select(Event.kind, fn.COUNT(Event.id).alias("n")).group_by(Event.kind)
    return {row.kind: row.n for row in query}


def leave_feedback(user: User, text: str) -> None:
    Feedback.create(user=user, text=text)


def read_credential(name: str) -> Credential | None:
    return Credential.get_or_none(Credential.name == name)


def write_credential(name: str, value: str, expires_at: dt.datetime) -> None:
    (Credential.insert(name=name, value=value, expires_at=expires_at)
     .on_conflict(conflict_target=[Credential.name],
                  update={Credential.value: value, Credential.expires_at: expires_at})
     .execute())


def ping() -> None:
    User._meta.database.execute_sql("SELECT 1")


def user_counts() -> dict[str, int]:
    return {"users": User.select().count(),
            "subscribed": User.select().where(User.subscribed == True).count()}  # noqa: E712


def has_event(user: User, kind: str, article_id: int) -> bool:
    return Event.select().where((Event.user == user) & (Event.kind == kind)
                                & (Event.article_id == article_id)).exists()


def credit_share_open(sharer: User, article_id: int, opener: str) -> bool:
    """Referral credit for a shared link: once per opener and article."""
    already = Event.select().where(
        (Event.user == sharer) & (Event.kind == SHARE_OPEN) & (Event.article_id == article_id)
        & (Event.payload == json.dumps({"opener": opener}, ensure_ascii=False))).exists()
    if not already:
        record_event(sharer, SHARE_OPEN, article_id=article_id, opener=opener)
    return not already


def add_comment(user: User, article_id: int, text: str) -> None:
    Comment.create(user=user, article=article_id, text=text)
    record_event(user, COMMENT, article_id=article_id)


def recent_comments(article_id: int, limit: int) -> list:
    return list(Comment.select(Comment, User).join(User).where(Comment.article == article_id)
                .order_by(Comment.created_at.desc(), Comment.id.desc()).limit(limit))
