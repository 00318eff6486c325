"""The tables. Named queries over them live in store/queries.py; schema changes in store/migrations.py."""

from __future__ import annotations

import datetime as dt

from peewee import (
    BooleanField,
    CharField,
    DatabaseProxy,
    DateTimeField,
    ForeignKeyField,
    IntegerField,
    Model,
    TextField,
)

database_proxy = DatabaseProxy()


def utcnow() -> dt.datetime:
    """Naive UTC, the one time convention of every table."""
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


class BaseModel(Model):
    class Meta:
        database = database_proxy


class User(BaseModel):
    """A follower. Kept after unsubscribing (orders point at it), but emptied of profile and behaviour."""

    openid = CharField(max_length=64, unique=True)
    subscribed = BooleanField(default=False)
    first_seen = DateTimeField(default=utcnow)
    last_interaction = DateTimeField(default=utcnow)  # opens WeChat's 48 h customer-service window
    subscribed_at = DateTimeField(null=True)
    unsubscribed_at = DateTimeField(null=True)
    push_opt_out = BooleanField(default=False)
    referral_scene = CharField(max_length=64, null=True)  # the qrscene_ parameter of the first subscribe
    outbox_waiting = BooleanField(default=False)  # WeChat refused a message: the next one releases it


class Event(BaseModel):
    """One recorded behaviour: it feeds the recommender and the creator's numbers."""

    user = ForeignKeyField(User, backref="events", on_delete="CASCADE")
    kind = CharField(max_length=32, index=True)
    article_id = IntegerField(null=True, index=True)
    payload = TextField(default="{}")  # small JSON
    created_at = DateTimeField(default=utcnow, index=True)


class InboundMessage(BaseModel):
    """The record of processed messages: inserting the key is the authoritative claim."""

    key = CharField(max_length=160, primary_key=True)
    reply = TextField(null=True)  # the rendered plaintext reply, for duplicates
    created_at = DateTimeField(default=utcnow, index=True)


class Credential(BaseModel):
    """Shared secrets fetched at run time, such as the access_token (one writer, many readers)."""

    name = CharField(max_length=64, primary_key=True)
    value = TextField()
    expires_at = DateTimeField()


class Feedback(BaseModel):
    """A message a follower left for the creators with "反馈"."""

    user = ForeignKeyField(User, backref="feedback", on_delete="CASCADE")
    text = TextField()
    created_at = DateTimeField(default=utcnow)


class Series(BaseModel):
    """A 专栏: a priced set of articles. Owning it unlocks all its articles, including later ones."""

    slug = CharField(max_length=80, unique=True)
    title = CharField(max_length=200)
    summary = TextField(default="")
    price = IntegerField(default=0)  # fen
    created_at = DateTimeField(default=utcnow)
    updated_at = DateTimeField(default=utcnow)


class Article(BaseModel):
    DRAFT, PUBLISHED, UNLISTED = "draft", "published", "unlisted"

    slug = CharField(max_length=80, unique=True)
    title = CharField(max_length=200)
    summary = TextField(default="")
    body = TextField()  # Markdown; a line "<!-- 试读至此 -->" ends the free preview
    price = IntegerField(default=0)  # fen; 0 = free
    tags = TextField(default="[]")  # JSON list of strings
    series = ForeignKeyField(Series, null=True, backref="articles", on_delete="SET NULL")
    status = CharField(max_length=16, default=PUBLISHED, index=True)
    created_at = DateTimeField(default=utcnow)
    updated_at = DateTimeField(default=utcnow)


class Comment(BaseModel):
    user = ForeignKeyField(User, backref="comments", on_delete="CASCADE")
    article = ForeignKeyField(Article, backref="comments", on_delete="CASCADE")
    text = TextField()
    created_at = DateTimeField(default=utcnow, index=True)


class Outbox(BaseModel):
    """A message to a follower outside the passive reply, written in the transaction that decided it.

    PENDING -> SENDING -> SENT; WAITING when WeChat refused for the 48 h window or quota (the user's next
    message releases it); FAILED after the last retry. A user's rows go out in id order.
    """

    PENDING, SENDING, SENT, WAITING, FAILED = "pending", "sending", "sent", "waiting", "failed"

    user = ForeignKeyField(User, backref="outbox", on_delete="CASCADE")
    kind = CharField(max_length=16)  # text | news
    payload = TextField()  # JSON
    state = CharField(max_length=16, default=PENDING, index=True)
    attempts = IntegerField(default=0)
    next_attempt_at = DateTimeField(default=utcnow, index=True)
    claimed_at = DateTimeField(null=True)
    last_error = TextField(null=True)
    created_at = DateTimeField(default=utcnow)
    sent_at = DateTimeField(null=True)


class Order(BaseModel):
    """CREATED -> PAID -> REFUNDED; CREATED -> CLOSED (-> PAID when a late SUCCESS arrives).

    Every transition is a conditional update in store/orders.py; `amount` is in fen.
    """

    CREATED, PAID, CLOSED, REFUNDED = "created", "paid", "closed", "refunded"

    out_trade_no = CharField(max_length=32, unique=True)
    user = ForeignKeyField(User, backref="orders", on_delete="RESTRICT")
    article = ForeignKeyField(Article, null=True, on_delete="SET NULL")
    series = ForeignKeyField(Series, null=True, on_delete="SET NULL")
    description = CharField(max_length=127)
    amount = IntegerField()
    state = CharField(max_length=16, default=CREATED, index=True)
    prepay_id = CharField(max_length=64, null=True)
    transaction_id = CharField(max_length=64, null=True)
    refund_no = CharField(max_length=64, null=True)
    created_at = DateTimeField(default=utcnow)
    expires_at = DateTimeField()
    paid_at = DateTimeField(null=True)
    closed_at = DateTimeField(null=True)
    refunded_at = DateTimeField(null=True)
    next_query_at = DateTimeField(null=True, index=True)  # the reconciliation schedule of an open order
    query_count = IntegerField(default=0)


class Purchase(BaseModel):
    """What a follower owns: an article, or a series (which covers its articles, later ones too)."""

    user = ForeignKeyField(User, backref="purchases", on_delete="RESTRICT")
    article = ForeignKeyField(Article, null=True, on_delete="SET NULL")
    series = ForeignKeyField(Series, null=True, on_delete="SET NULL")
    order = ForeignKeyField(Order, unique=True, on_delete="RESTRICT")
    created_at = DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("user", "article"), True), (("user", "series"), True))


class SchemaVersion(BaseModel):
    version = IntegerField(primary_key=True)
    name = CharField(max_length=200)
    applied_at = DateTimeField(default=utcnow)
