"""`bot.py push`: a personal round now, the interest-tag broadcasts, or the last rounds."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from cli.common import settings_of


def push(args: argparse.Namespace) -> int:
    from bot import build_services

    services = build_services(settings_of(args))
    if services.gateway is None and not (args.dry_run or args.action == "status"):
        print("pushes need wechat.appsecret (customer-service and broadcast APIs)", file=sys.stderr)
        return 2
    with services.database.connection_context():
        return {"round": _round, "broadcast": _broadcast, "status": _status}[args.action](services, args)


def _round(services: Any, args: argparse.Namespace) -> int:
    from jobs import push_round
    from store.models import utcnow

    if args.dry_run:
        plan = push_round.plan(services.settings.push, utcnow(), limit=args.limit, progress=sys.stderr.isatty())
        for item in plan.pushes:
            print(f"{item.openid}\t《{item.title}》\t{item.reason}")
        print(f"would send {len(plan.pushes)} of {plan.eligible} eligible; skipped {dict(plan.skipped)}")
        return 0
    print(_describe(push_round.run_now(services, limit=args.limit)))
    return 0


def _broadcast(services: Any, args: argparse.Namespace) -> int:
    from jobs import broadcast
    from store.models import utcnow

    if args.dry_run:
        plan = broadcast.plan(services.settings, utcnow())
        for send in plan.sends:
            print(f"group {send.slot}「{send.group.name}」\t{len(send.group.members)} followers\t《{send.item.title}》")
        print(f"audience {plan.audience}; skipped {dict(plan.skipped)}")
        return 0
    print(_describe(broadcast.run_broadcast(services)))
    return 0


def _status(services: Any, args: argparse.Namespace) -> int:
    from store import pushes

    runs = pushes.last_runs(args.limit or 10)
    for run in runs:
        print(_describe(run))
    if not runs:
        print("no rounds yet")
    return 0


def _describe(run: Any) -> str:
    finished = f"{run.finished_at:%Y-%m-%d %H:%M:%S}" if run.finished_at else "unfinished"
    return (f"#{run.id} {run.kind} {run.day} slot {run.slot}: started {run.started_at:%Y-%m-%d %H:%M:%S} UTC, "
            f"{finished}; eligible {run.eligible}, sent {run.sent}, failed {run.failed} "
            f"(ledger errors {run.ledger_errors}), skipped {json.loads(run.skipped or '{}')}")


def register(commands: Any) -> None:
    parser = commands.add_parser("push", help="run a personal push round now, the broadcasts, or show the last rounds")
    parser.add_argument("action", nargs="?", default="round", choices=["round", "broadcast", "status"],
                        help="round (default): one personal round; broadcast: the interest-tag broadcasts; "
                             "status: the last rounds")
    parser.add_argument("--dry-run", action="store_true", help="who would get what and why; nothing is sent")
    parser.add_argument("--limit", type=int, help="at most N followers (status: the last N rounds)")
    parser.set_defaults(func=push)
