"""Named queries of coupons. A use is reserved by the order placed with it (a conditional update, so two
buyers racing for the last use cannot both get it), consumed when that order is paid, returned when it
closes. The rules of what a code takes off and when it is refused are in payments/coupons.py."""

from __future__ import annotations

import datetime as dt

from peewee import fn

from store.admin_models import Coupon, OrderCoupon
from store.models import Order


def find(code: str) -> Coupon | None:
    return Coupon.get_or_none(fn.UPPER(Coupon.code) == code.upper())


def create(code: str, percent_off: int | None, amount_off: int | None, expires_on: dt.datetime | None,
           max_uses: int | None, article_id: int | None, series_id: int | None, by: str) -> Coupon:
    return Coupon.create(code=code.upper(), percent_off=percent_off, amount_off=amount_off, expires_on=expires_on,
                         max_uses=max_uses, article=article_id, series=series_id, created_by=by)


def listing(limit: int = 12) -> list[Coupon]:
    return list(Coupon.select().order_by(Coupon.stopped, Coupon.id.desc()).limit(limit))


def set_stopped(coupon: Coupon, stopped: bool) -> bool:
    return bool(Coupon.update(stopped=stopped).where((Coupon.id == coupon.id) & (Coupon.stopped != stopped)).execute())


def delete(coupon: Coupon) -> None:
    """Undo of a creation: only while no order holds it (else it is stopped instead)."""
    Coupon.delete().where(Coupon.id == coupon.id).execute()


def held_by_orders(coupon: Coupon) -> bool:
    return OrderCoupon.select().where(OrderCoupon.coupon == coupon).exists()


def take_use(coupon: Coupon, now: dt.datetime) -> bool:
    """Reserve one use if the code is live and a use is left; False when another order got the last one."""
    left = Coupon.max_uses.is_null() | (Coupon.used + Coupon.reserved < Coupon.max_uses)
    live = (Coupon.stopped == False) & (Coupon.expires_on.is_null() | (Coupon.expires_on > now))  # noqa: E712
    return bool(Coupon.update(reserved=Coupon.reserved + 1).where((Coupon.id == coupon.id) & left & live).execute())


def attach(order: Order, coupon: Coupon, discount: int) -> None:
    """The order placed with the use just taken (same transaction)."""
    OrderCoupon.create(order=order, coupon=coupon, discount=discount)


def consume(order: Order) -> bool:
    """The order was paid: its use counts (also after a close had returned it: a late payment stands)."""
    if _move(order, OrderCoupon.RESERVED, OrderCoupon.USED):
        _count(order, used=1, reserved=-1)
        return True
    if _move(order, OrderCoupon.RETURNED, OrderCoupon.USED):
        _count(order, used=1, reserved=0)
        return True
    return False


def release(order: Order) -> bool:
    """The order closed unpaid: its use goes back."""
    if _move(order, OrderCoupon.RESERVED, OrderCoupon.RETURNED):
        _count(order, used=0, reserved=-1)
        return True
    return False


def of_order(order: Order) -> OrderCoupon | None:
    return OrderCoupon.select(OrderCoupon, Coupon).join(Coupon).where(OrderCoupon.order == order).first()


def _move(order: Order, before: str, after: str) -> bool:
    return bool(OrderCoupon.update(state=after)
                .where((OrderCoupon.order == order.id) & (OrderCoupon.state == before)).execute())


def _count(order: Order, used: int, reserved: int) -> None:
    coupon_id = OrderCoupon.select(OrderCoupon.coupon).where(OrderCoupon.order == order.id).scalar()
    Coupon.update(used=Coupon.used + used, reserved=Coupon.reserved + reserved).where(Coupon.id == coupon_id).execute()


def expiry_of(day: dt.date, utc_offset_hours: int = 8) -> dt.datetime:
    """A code valid through `day` (Asia/Shanghai) stops at the next midnight there, in naive UTC."""
    return dt.datetime.combine(day + dt.timedelta(days=1), dt.time()) - dt.timedelta(hours=utc_offset_hours)

