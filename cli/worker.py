"""`bot.py worker`: an RQ worker running the queued pushes and outbox deliveries (jobs/queue.py)."""

from __future__ import annotations

import argparse
import logging
from typing import Any

from bot import build_services
from cli.common import settings_of
from settings import SettingsError


def worker(args: argparse.Namespace) -> int:
    from jobs.queue import work

    services = build_services(settings_of(args))
    if services.queue is None:
        raise SettingsError("jobs.queue is empty: pushes and the outbox run in-process, no worker needed")
    logging.getLogger("bot").info("worker started", extra={"queue": services.queue.name, "burst": args.burst})
    work(services, burst=args.burst)
    return 0


def register(commands: Any) -> None:
    run = commands.add_parser("worker", help="run queued pushes and outbox deliveries (as many as you like)")
    run.add_argument("--burst", action="store_true", help="exit once the queue is empty")
    run.set_defaults(func=worker)
