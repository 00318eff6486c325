"""Commands that run the bot: the webhook server, the demo with the sandbox, the clock."""

from __future__ import annotations

import argparse
from typing import Any

from bot import build_services, create_app
from cli.common import settings_of
from cli.stack import http_server, start_stack


def serve(args: argparse.Namespace) -> None:
    httpd = http_server(create_app(settings_of(args)), args.host, args.port)
    print(f"webhook: http://{args.host}:{httpd.server_port}/wechat", flush=True)
    httpd.serve_forever()


def demo(args: argparse.Namespace) -> None:
    """The bot on embedded defaults, wired to the sandbox: chat with it, and pay, in a browser."""
    stack = start_stack(settings_of(args), args.host, args.port, args.sandbox_port)
    print(f"webhook: {stack.settings.site.base_url}/wechat", flush=True)
    print(f"chat with the bot: {stack.chat_url}", flush=True)
    try:
        stack.httpd.serve_forever()
    finally:
        stack.stop()


def clock(args: argparse.Namespace) -> None:
    import logging

    from jobs.clock import build_scheduler

    logging.getLogger("apscheduler.executors").setLevel(logging.WARNING)  # not a line per leader check
    scheduler = build_scheduler(build_services(settings_of(args)))
    logging.getLogger("bot").info("clock started", extra={"jobs": [job.id for job in scheduler.get_jobs()]})
    scheduler.start()


def register(commands: Any) -> None:
    run = commands.add_parser("serve", help="run the webhook (threaded dev server)")
    run.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    run.add_argument("--port", type=int, default=8000, help="port to listen on (default 8000)")
    run.set_defaults(func=serve)

    play = commands.add_parser("demo", help="run the bot with the sandbox and a chat page (no WeChat needed)")
    play.add_argument("--host", default="127.0.0.1", help="address of the bot and the sandbox (default 127.0.0.1)")
    play.add_argument("--port", type=int, default=8000, help="the bot's port (default 8000)")
    play.add_argument("--sandbox-port", type=int, default=8001, help="the sandbox's port, chat page included (default 8001)")
    play.set_defaults(func=demo)

    tick = commands.add_parser("clock", help="run the scheduler (exactly one such process)")
    tick.set_defaults(func=clock)
