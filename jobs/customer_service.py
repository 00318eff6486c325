"""Every customer-service send goes through `send`: charge the ledger, call WeChat, settle the charge.

Outbox deliveries (unlocks, later parts of an article) and pushes both use it, so the ledger always
knows what was spent. A refusal by the ledger raises `NoGrant` before WeChat is called; WeChat's
45015/45047 after the ledger allowed the send mean the ledger was wrong (logged as such).
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from gateways import rules
from gateways.wechat import OutsideWindow, QuotaExceeded, WechatError, WechatUnavailable
from store import ledger, pushes
from store.models import User

log = logging.getLogger(__name__)


class NoGrant(OutsideWindow):
    """The ledger has no slot for this follower: the message was not sent (WeChat would refuse it)."""


def send(gateway: Any, user: User, kind: str, payload: dict[str, Any], now: dt.datetime | None = None) -> None:
    """Send one text, news or image message to `user`; raises the gateway's errors (and NoGrant)."""
    if not ledger.charge(user.id, now):
        raise NoGrant(None, "no customer-service grant left for this follower")
    send_charged(gateway, user, kind, payload, now)


def send_charged(gateway: Any, user: User, kind: str, payload: dict[str, Any], now: dt.datetime | None = None) -> None:
    """Send a message whose slot the caller already charged (in its own transaction); settle the charge."""
    try:
        _call(gateway, user.openid, kind, payload)
    except (OutsideWindow, QuotaExceeded) as exc:
        log.error("ledger disagreed with WeChat", extra={"user": user.id, "errcode": exc.errcode})
        ledger.exhaust(user.id)
        raise
    except WechatError as exc:
        if exc.errcode == rules.NOT_SUBSCRIBED:
            pushes.mark_unsubscribed(user)
            ledger.clear(user.id)
        elif exc.errcode is not None or not isinstance(exc, WechatUnavailable):
            ledger.refund(user.id, now)  # an errcode answer: nothing was delivered
        raise  # a network failure keeps the charge: the message may have gone
    except ValueError:
        ledger.refund(user.id, now)
        raise


def _call(gateway: Any, openid: str, kind: str, payload: dict[str, Any]) -> None:
    if kind == "news":
        gateway.send_news(openid, payload["title"], payload["description"], payload["url"],
                          payload.get("picurl", ""))
    elif kind == "image":  # an uploaded media_id (the creators' charts)
        gateway.send_image(openid, payload["media_id"])
    else:
        gateway.send_text(openid, payload["content"])
