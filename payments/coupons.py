"""What a coupon takes off and when it is refused: the one place for these rules.

A use is reserved when the order is placed (store/coupons.py), consumed by `settle_paid` and returned by
`settle_closed` (payments/fulfil.py), so a code counts only for orders that were paid.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

STOPPED, EXPIRED, USED_UP, NOT_HERE, UNKNOWN = "stopped", "expired", "used_up", "not_here", "unknown"
MIN_PRICE = 1  # fen: WeChat Pay takes no order of 0


def refusal(coupon: Any, article_id: int | None, series_id: int | None, now: dt.datetime) -> str | None:
    """Why this code cannot be used on this item now, or None when it can."""
    if coupon is None:
        return UNKNOWN
    if coupon.stopped:
        return STOPPED
    if coupon.expires_on is not None and coupon.expires_on <= now:
        return EXPIRED
    if coupon.max_uses is not None and coupon.used + coupon.reserved >= coupon.max_uses:
        return USED_UP
    if coupon.article_id is not None and coupon.article_id != article_id:
        return NOT_HERE
    if coupon.series_id is not None and coupon.series_id != series_id:
        return NOT_HERE
    return None


def discount(coupon: Any, price: int) -> int:
    """Fen taken off `price`; the price left is at least MIN_PRICE."""
    off = price * coupon.percent_off // 100 if coupon.percent_off else coupon.amount_off or 0
    return max(0, min(off, price - MIN_PRICE))
