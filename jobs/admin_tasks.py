"""Work that admin commands queue as outbox tasks, run right after their message (jobs/outbox.py):
the 统计 chart (drawn, uploaded, sent as an image), delivering another follower's messages now (赠送),
asking WeChat Pay for a refund (退款, payments/refunds.py), and a push round (推送)."""

from __future__ import annotations

import json
from typing import Any, Callable

from charts.render import stats_png
from dialogs.admin_shop import DELIVER_TASK, REFUND_TASK
from dialogs.admin_stats import CHART_TASK
from dialogs import admin_strings
from dialogs.admin_push import describe_run
from jobs import customer_service, push_round
from jobs.outbox import Tasks, deliver_user
from store import outbox, stats
from store.models import Outbox


def send_chart(gateway: Any) -> Callable[[Outbox], None]:
    def run(row: Outbox) -> None:
        payload = json.loads(row.payload)
        numbers = stats.compute(stats.window(int(payload["days"])))
        png = stats_png(f"{numbers.window.label}数据", numbers.per_day, numbers.funnel, numbers.top)
        customer_service.send(gateway, row.user, "image", {"media_id": gateway.upload_image(png)})

    return run


def deliver_other(gateway: Any, tasks: Tasks) -> Callable[[Outbox], None]:
    def run(row: Outbox) -> None:
        deliver_user(gateway, int(json.loads(row.payload)["user"]), tasks)

    return run


def push_task(services: Any) -> Callable[[Outbox], None]:
    """推送: a personal round now, then its PushRun summary to the admin who asked."""
    def run(row: Outbox) -> None:
        summary = describe_run(push_round.run_now(services))
        outbox.enqueue(row.user, [("text", {"content": admin_strings.PUSH_DONE.format(summary=summary)})])

    return run


def admin_tasks(gateway: Any, tasks: Tasks, refunds: Any = None) -> Tasks:
    """The admin tasks, added to `tasks` (which the deliver task hands on, so nested rows run too)."""
    tasks[CHART_TASK] = send_chart(gateway)
    tasks[DELIVER_TASK] = deliver_other(gateway, tasks)
    if refunds is not None:
        tasks[REFUND_TASK] = refunds.run
    return tasks
