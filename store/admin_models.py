"""The tables of running the shop by message: admins, failed #auth tries, the audit trail, coupons.

Kept apart from store/models.py; migrations 10-19 create them (store/migrations.py).
"""

from __future__ import annotations

from peewee import BooleanField, CharField, DateTimeField, ForeignKeyField, IntegerField, TextField

from store.models import Article, BaseModel, Order, Series, utcnow


class Admin(BaseModel):
    """An admin added at run time with #auth (those in [admin] openids need no row). Revoked, not deleted."""

    openid = CharField(max_length=64, unique=True)
    added_at = DateTimeField(default=utcnow)
    revoked_at = DateTimeField(null=True)
    revoked_by = CharField(max_length=64, null=True)


class AuthFailure(BaseModel):
    """One wrong #auth passphrase: enough of them in a while locks the openid out."""

    openid = CharField(max_length=64, index=True)
    failed_at = DateTimeField(default=utcnow, index=True)


class Audit(BaseModel):
    """Who changed what, from what to what, when. `before`/`after` are JSON; an undone entry keeps
    `undone_at`, and the undo itself is an entry of its own."""

    admin = CharField(max_length=64, index=True)
    action = CharField(max_length=32)  # publish, edit, price, unlist, list, coupon_new, coupon_stop, ...
    target = CharField(max_length=100)  # "article:12", "coupon:SPRING", "order:KB...", "admin:o_x"
    before = TextField(default="{}")
    after = TextField(default="{}")
    created_at = DateTimeField(default=utcnow, index=True)
    undone_at = DateTimeField(null=True)


class Coupon(BaseModel):
    """A discount code: a percentage or an amount off, optionally for one article or series, until an
    expiry date, for a number of uses. `reserved` counts open orders holding a use; `used` paid ones."""

    code = CharField(max_length=32, unique=True)
    percent_off = IntegerField(null=True)  # 1-99
    amount_off = IntegerField(null=True)  # fen
    expires_on = DateTimeField(null=True)  # naive UTC: the end of the expiry day in Asia/Shanghai
    max_uses = IntegerField(null=True)
    used = IntegerField(default=0)
    reserved = IntegerField(default=0)
    article = ForeignKeyField(Article, null=True, on_delete="CASCADE")
    series = ForeignKeyField(Series, null=True, on_delete="CASCADE")
    stopped = BooleanField(default=False)
    created_by = CharField(max_length=64)
    created_at = DateTimeField(default=utcnow)


class OrderCoupon(BaseModel):
    """The coupon an order was placed with: RESERVED at 确认, USED once paid, RETURNED when closed."""

    RESERVED, USED, RETURNED = "reserved", "used", "returned"

    order = ForeignKeyField(Order, unique=True, on_delete="CASCADE")
    coupon = ForeignKeyField(Coupon, on_delete="CASCADE")
    discount = IntegerField()  # fen taken off the list price
    state = CharField(max_length=16, default=RESERVED)


ADMIN_TABLES = [Admin, AuthFailure, Audit, Coupon, OrderCoupon]
