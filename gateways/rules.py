"""WeChat's rules for reaching followers, in one place (developers.weixin.qq.com; DESIGN.md's facts table).

Customer-service messages (`message/custom/send`, since June 2023): a follower's message grants 5 messages
within 48 h; a menu click (click and scan-code types), a subscribe or a QR scan grants 3 within 1 minute;
a VIEW click grants nothing. A new action refreshes its own grant to the full count; grants of different
actions live side by side, the same action's never add up. Outside every grant WeChat answers 45015, with
the grant spent 45047, to an unsubscribed follower 43004.

Broadcasts (`message/mass/sendall` by user tag): a subscription account sends one a day; on a service
account each follower receives at most four a month. User tags: 100 an account, 20 a follower, at most 50
openids per batch-tagging call. Template messages are for service notices only, never recommendations.
"""

from __future__ import annotations

import datetime as dt

MESSAGE, CLICK, SUBSCRIBE, SCAN = "message", "click", "subscribe", "scan"

# (messages, lifetime) each action grants
GRANTS: dict[str, tuple[int, dt.timedelta]] = {
    MESSAGE: (5, dt.timedelta(hours=48)),
    CLICK: (3, dt.timedelta(minutes=1)),
    SUBSCRIBE: (3, dt.timedelta(minutes=1)),
    SCAN: (3, dt.timedelta(minutes=1)),
}

# WeRoBot message types (MsgType, or Event + "_event") -> the grant they open
_EVENT_GRANTS = {
    "click_event": CLICK, "scancode_push_event": CLICK, "scancode_waitmsg_event": CLICK,
    "subscribe_event": SUBSCRIBE, "scan_event": SCAN,
}
UNSUBSCRIBE = "unsubscribe_event"

OUTSIDE_GRANT, GRANT_SPENT, NOT_SUBSCRIBED = 45015, 45047, 43004

SUBSCRIPTION, SERVICE = "subscription", "service"
ACCOUNT_TYPES = (SUBSCRIPTION, SERVICE)
SUBSCRIPTION_BROADCASTS_A_DAY = 1
SERVICE_BROADCASTS_A_MONTH = 4  # per follower
TAGS_PER_ACCOUNT = 100
TAGS_PER_FOLLOWER = 20
TAG_BATCH = 50
TAG_NAME_CHARS = 30


def grant_of(message_type: str) -> str | None:
    """The grant a received message opens: every user message does, events only as listed, VIEW none."""
    if message_type.endswith("_event"):
        return _EVENT_GRANTS.get(message_type)
    return MESSAGE
