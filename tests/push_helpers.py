"""What the push tests share: followers who acted in WeChat (the sandbox and the bot's ledger both know),
a small catalog, and round times in the account's timezone."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from store import ledger, queries
from store.models import Article, utcnow

TITLES = ["机器学习入门：线性回归", "机器学习进阶：决策树", "机器学习实战：特征工程", "个人理财入门：记账与预算",
          "指数基金定投指南", "个人理财进阶：资产配置", "SQL 入门：查询与过滤", "SQL 索引原理"]
NO_QUIET = {"quiet_start": 0, "quiet_end": 0, "leader_interval": 1.0, "rate": 200.0}


def add_catalog() -> list[Article]:
    return [Article.create(slug=f"a{n}", title=t, summary=t, body=f"{t}。" * 5, tags='["测试"]')
            for n, t in enumerate(TITLES)]


def follower(sandbox, openid: str, read: list[Article] = (), action: str = "text", now: dt.datetime | None = None):
    """A subscribed follower whose last action was `action` (a WeRoBot message type) at `now`."""
    sandbox.touch(openid, "subscribe")
    sandbox.touch(openid, "message" if action == "text" else action.removesuffix("_event"))
    user = queries.touch_user(openid)
    queries.mark_subscribed(user, None)
    ledger.record_action(user, action, now)
    for article in read:
        queries.record_event(user, queries.VIEW, article_id=article.id)
    return user


def at_local_hour(hour: int, timezone: str = "Asia/Shanghai", days: int = 0) -> dt.datetime:
    """Naive UTC of today's `hour` o'clock in `timezone` (plus `days`)."""
    zone = ZoneInfo(timezone)
    local = utcnow().replace(tzinfo=dt.timezone.utc).astimezone(zone)
    wanted = local.replace(hour=hour, minute=0, second=0, microsecond=0) + dt.timedelta(days=days)
    return wanted.astimezone(dt.timezone.utc).replace(tzinfo=None)


def pushes_to(sandbox, openid: str) -> list[dict]:
    return [m for m in sandbox.sent(openid) if m["msgtype"] == "news" and m["via"] == "customer_service"]
