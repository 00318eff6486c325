"""推送预览 (what the next personal round would send to 3 followers, and why) and 推送 (a round now, after
确认; the `push_round` task runs it right after the message and reports its PushRun when done).

The preview only reads (jobs/push_round.py `preview` writes nothing and calls no network)."""

from __future__ import annotations

import json

from dialogs import admin_strings as s
from dialogs.admin_confirm import action, ask
from dialogs.admin_routes import admin_route, command
from dialogs.framework import END, STAY, Result, Text, Turn
from jobs.push_round import preview
from store import audit

PUSH_TASK = "push_round"
PREVIEWED = 3
SKIP_NAMES = {"opted_out": "已退订", "quiet_hours": "免打扰时段", "done": "本时段已推", "broadcast_today": "今天已群发",
              "daily_cap": "达到每日上限", "weekly": "每周一次", "other_hour": "选了别的时间", "no_grant": "无客服消息额度",
              "owed_first": "先补发已购内容", "no_recommendation": "暂无可推荐内容", "unsubscribed": "已取关",
              "ledger_error": "额度不符"}


def show_preview(turn: Turn) -> Result:
    planned = preview(turn.app, PREVIEWED)
    if not planned:
        return Text(s.PUSH_PREVIEW_NONE), STAY
    lines = [f"{n}. {p.openid}：《{p.title}》——{p.reason}" for n, p in enumerate(planned, start=1)]
    return Text("\n".join([s.PUSH_PREVIEW_HEAD.format(n=len(planned))] + lines)), STAY


def push_now(turn: Turn) -> Result:
    return ask(turn, "push", {}, s.PUSH_ASK)


@action("push")
def do_push(turn: Turn, args: dict) -> Result:
    audit.record(turn.openid, "push", "push:personal", {}, {"requested": True})
    turn.tasks.append((PUSH_TASK, {}))
    return Text(s.PUSH_STARTED), END


def describe_run(run) -> str:
    """A PushRun in one line: eligible, sent, failed and why the others were skipped."""
    skipped = json.loads(run.skipped or "{}")
    reasons = "，".join(f"{SKIP_NAMES.get(reason, reason)} {n}" for reason, n in sorted(skipped.items())) or s.NONE
    return s.PUSH_RUN.format(eligible=run.eligible, sent=run.sent, failed=run.failed, skipped=reasons)


ROUTES = [admin_route(command("推送预览", "/push-preview"), show_preview),
          admin_route(command("推送", "/push"), push_now)]
