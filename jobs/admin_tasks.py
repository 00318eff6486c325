"""Work that admin commands queue as outbox tasks, run right after their message (jobs/outbox.py):
the 统计 chart (drawn, uploaded, sent as an image), delivering another follower's messages now (赠送),
and asking WeChat Pay for a refund (退款, payments/refunds.py)."""

from __future__ import annotations

import json
from typing import Any, Callable

from charts.render import stats_png
from dialogs.admin_shop import DELIVER_TASK, REFUND_TASK
from dialogs.admin_stats import CHART_TASK
from jobs.outbox import Tasks, deliver_user
from store import stats
from store.models import Outbox


def send_chart(gateway: Any) -> Callable[[Outbox], None]:
    def run(row: Outbox) -> None:
        payload = json.loads(row.payload)
        numbers = stats.compute(stats.window(int(payload["days"])))
        png = stats_png(f"{numbers.window.label}数据", numbers.per_day, numbers.funnel, numbers.top)
        gateway.send_image(row.user.openid, gateway.upload_image(png))

    return run


def deliver_other(gateway: Any, tasks: Tasks) -> Callable[[Outbox], None]:
    def run(row: Outbox) -> None:
        deliver_user(gateway, int(json.loads(row.payload)["user"]), tasks)

    return run


def admin_tasks(gateway: Any, tasks: Tasks, refunds: Any = None) -> Tasks:
    """The admin tasks, added to `tasks` (which the deliver task hands on, so nested rows run too)."""
    tasks[CHART_TASK] = send_chart(gateway)
    tasks[DELIVER_TASK] = deliver_other(gateway, tasks)
    if refunds is not None:
        tasks[REFUND_TASK] = refunds.run
    return tasks
