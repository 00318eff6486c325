"""The bot and the sandbox in one process: what `demo` and `chat` run, and what the README's walkthrough
test photographs. The bot's webhook and H5 pages, the sandbox (WeChat's API, OAuth, WeChat Pay, the
chat page), the demo catalog and the clock's jobs, all on loopback."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import bottle

from bot import create_app
from settings import ROOT, Settings

if TYPE_CHECKING:  # the bot's own commands (serve, clock) never import the sandbox
    from sandbox.api import SandboxServer


def http_server(app: bottle.Bottle | None, host: str, port: int):
    """A threaded WSGI server for development and the demo; production runs gunicorn (see Procfile).
    Port 0 picks a free port; `set_app` may come later."""
    from socketserver import ThreadingMixIn
    from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

    class Server(ThreadingMixIn, WSGIServer):
        daemon_threads = True
        request_queue_size = 128

    class Quiet(WSGIRequestHandler):
        def log_message(self, *a: Any) -> None:
            pass

    return make_server(host, port, app, server_class=Server, handler_class=Quiet)


@dataclass
class Stack:
    sandbox: SandboxServer
    app: bottle.Bottle
    httpd: Any  # the bot's WSGI server
    scheduler: Any  # the clock's jobs, in a thread of this process

    @property
    def settings(self) -> Settings:
        return self.app.services.settings

    @property
    def chat_url(self) -> str:
        return f"{self.sandbox.url}/"

    def serve_in_background(self) -> Stack:
        threading.Thread(target=self.httpd.serve_forever, args=(0.05,), name="bot-http", daemon=True).start()
        return self

    def stop(self) -> None:
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        self.httpd.shutdown()
        self.httpd.server_close()
        if self.app.services.outbox is not None:
            self.app.services.outbox.wait_idle(5)
        self.sandbox.stop()


def start_stack(base: Settings, host: str, port: int, sandbox_port: int, data: Path = ROOT / "data") -> Stack:
    """Bind the bot's port first (0: any free one), wire the sandbox to it, load the demo catalog and
    start the clock; the caller serves `httpd` (or calls `serve_in_background`)."""
    from sandbox.demo import start_sandbox

    httpd = http_server(None, host, port)
    sandbox, settings = start_sandbox(base, host, httpd.server_port, sandbox_port, data)
    app = create_app(settings)
    httpd.set_app(app)
    load_demo_catalog(app.services.database)
    return Stack(sandbox, app, httpd, start_clock(app.services))


def load_demo_catalog(database: Any) -> None:
    from catalog.importer import run_import

    with database.connection_context():
        summary = run_import(ROOT / "content" / "demo", progress=False)
    print(summary.format(), flush=True)


def start_clock(services: Any) -> Any:
    """The clock's jobs (outbox sweeps, order queries, pushes) in a daemon thread: the demo is one process."""
    import logging

    from jobs.clock import build_scheduler

    logging.getLogger("apscheduler").setLevel(logging.WARNING)  # a line per job run would drown the chat
    scheduler = build_scheduler(services)
    threading.Thread(target=scheduler.start, name="demo-clock", daemon=True).start()
    return scheduler
