"""Tables of the push room: the send ledger, preferences, push sends and runs, interest tags, broadcasts,
and the clock's leader lease. Queries over them live in store/ledger.py and store/pushes.py."""

from __future__ import annotations

from peewee import BooleanField, CharField, DateField, DateTimeField, ForeignKeyField, IntegerField, TextField

from store.models import BaseModel, User, utcnow


class SendGrant(BaseModel):
    """One live customer-service grant of a follower, as WeChat counts it (gateways/rules.py)."""

    user = ForeignKeyField(User, backref="grants", on_delete="CASCADE")
    kind = CharField(max_length=16)  # message | click | subscribe | scan
    quota = IntegerField()
    used = IntegerField(default=0)
    expires_at = DateTimeField()

    class Meta:
        indexes = ((("user", "kind"), True),)


class PushPref(BaseModel):
    """What a follower chose in chat; no row = the defaults (daily, the account's first round)."""

    user = ForeignKeyField(User, unique=True, on_delete="CASCADE")
    weekly = BooleanField(default=False)  # 少推点
    hour = IntegerField(null=True)  # 推送时间 N, local hour


class PushSend(BaseModel):
    """One push to one follower: the unique (user, day, slot) row is the claim that makes a second send
    impossible. Personal rounds use the round's local hour as slot; broadcasts use BROADCAST."""

    CLAIMED, SENT, FAILED = "claimed", "sent", "failed"
    BROADCAST = -1

    user = ForeignKeyField(User, backref="pushes", on_delete="CASCADE")
    day = DateField(index=True)
    slot = IntegerField()
    article_id = IntegerField(null=True)
    reason = TextField(default="")
    state = CharField(max_length=16, default=CLAIMED)
    error = TextField(null=True)
    run = IntegerField(null=True)
    created_at = DateTimeField(default=utcnow, index=True)

    class Meta:
        indexes = ((("user", "day", "slot"), True),)


class PushRun(BaseModel):
    """One round (personal or broadcast): what it found and did. `finished_at` empty = running or
    interrupted; an interrupted round is resumed by the next leader."""

    PERSONAL, BROADCAST = "personal", "broadcast"

    kind = CharField(max_length=16, default=PERSONAL)
    day = DateField()
    slot = IntegerField()
    holder = CharField(max_length=80, default="")
    started_at = DateTimeField(default=utcnow)
    beat_at = DateTimeField(default=utcnow)  # the running round's last sign of life
    finished_at = DateTimeField(null=True)
    eligible = IntegerField(default=0)
    sent = IntegerField(default=0)
    failed = IntegerField(default=0)
    skipped = TextField(default="{}")  # JSON {reason: count}
    ledger_errors = IntegerField(default=0)  # 45015/45047 answers: the ledger was wrong
    resumed_from = IntegerField(null=True)


class InterestTag(BaseModel):
    """The WeChat user tag kept for interest group `slot`; renamed when the group's name changes."""

    slot = IntegerField(unique=True)
    tag_id = IntegerField(unique=True)
    name = CharField(max_length=30)


class TagMember(BaseModel):
    """Who WeChat has under one of our tags (a mirror, so a sync only sends the changes)."""

    user = ForeignKeyField(User, on_delete="CASCADE")
    tag_id = IntegerField(index=True)

    class Meta:
        indexes = ((("user", "tag_id"), True),)


class Broadcast(BaseModel):
    """One mass send to one interest group; the unique (day, group) row is its claim."""

    CLAIMED, SUBMITTED, FINISHED, FAILED = "claimed", "submitted", "finished", "failed"

    day = DateField()
    group = IntegerField()
    name = CharField(max_length=30, default="")
    tag_id = IntegerField(null=True)
    article_id = IntegerField(null=True)
    recipients = IntegerField(default=0)
    msg_id = CharField(max_length=32, null=True, index=True)
    state = CharField(max_length=16, default=CLAIMED)
    status = CharField(max_length=64, null=True)  # MASSSENDJOBFINISH Status, e.g. "send success"
    total = IntegerField(null=True)
    filtered = IntegerField(null=True)
    sent = IntegerField(null=True)
    errors = IntegerField(null=True)
    created_at = DateTimeField(default=utcnow)
    finished_at = DateTimeField(null=True)

    class Meta:
        indexes = ((("day", "group"), True),)


class ClockLease(BaseModel):
    """The leader lock where PostgreSQL's advisory locks are not available: a row with an expiry and a
    fencing token that grows with every change of holder."""

    name = CharField(max_length=32, primary_key=True)
    holder = CharField(max_length=80)
    token = IntegerField(default=0)
    expires_at = DateTimeField()


PUSH_TABLES = [SendGrant, PushPref, PushSend, PushRun]
BROADCAST_TABLES = [InterestTag, TagMember, Broadcast]
