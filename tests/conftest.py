"""Shared fixtures: settings per backend, a live bot over real HTTP, a user who chats with it.

Backends: "sqlite" (SQLite file + in-process memory state) and "postgres" (PostgreSQL + Redis on
127.0.0.1). App-level tests run on both. Override the servers with BOT_TEST_DATABASE_URL and
BOT_TEST_REDIS_URL.
"""

from __future__ import annotations

import os
import socket
import sys
import threading
import uuid
from pathlib import Path
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import psycopg2
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from settings import Settings, generate_aes_key  # noqa: E402

PG_URL = os.environ.get("BOT_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/bot_test")
REDIS_URL = os.environ.get("BOT_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
BACKENDS = ["sqlite", "postgres"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def redis_url() -> str:
    return REDIS_URL


@pytest.fixture
def dead_redis_url() -> str:
    """A Redis URL where nothing listens."""
    return f"redis://127.0.0.1:{free_port()}/0"


@pytest.fixture(scope="session")
def pg_url() -> str:
    """Create the test database once; each test then empties the tables it used."""
    from psycopg2 import sql
    from playhouse.db_url import parse

    params = parse(PG_URL)
    name = params.pop("database")
    admin = psycopg2.connect(dbname="postgres", **params)
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
        if cur.fetchone() is None:
            cur.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    admin.close()
    return PG_URL


def _empty_postgres(url: str) -> None:
    from playhouse.db_url import parse

    params = parse(url)
    conn = psycopg2.connect(dbname=params.pop("database"), **params)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        tables = [row[0] for row in cur.fetchall()]
        if tables:
            cur.execute("DROP TABLE " + ", ".join(f'"{t}"' for t in tables) + " CASCADE")
    conn.close()


def make_settings(backend: str, tmp_path: Path, request) -> Settings:
    store = {"database_url": f"sqlite:///{tmp_path / 'bot.db'}", "redis_url": ""}
    if backend == "postgres":
        url = request.getfixturevalue("pg_url")
        _empty_postgres(url)
        store = {"database_url": url, "redis_url": REDIS_URL}
    return Settings().replace(
        wechat={"token": "test-token", "appid": f"wx{uuid.uuid4().hex[:16]}", "appsecret": "test-secret",
                "encoding_aes_key": generate_aes_key()},
        site={"secret_key": "test-secret-key", "base_url": "http://127.0.0.1:8000"},
        store=store,
        admin={"openids": ["o_admin"]},
        bot={"strict_states": True},
    )


@pytest.fixture(params=BACKENDS)
def settings(request, tmp_path) -> Settings:
    return make_settings(request.param, tmp_path, request)


class LiveServer:
    """The WSGI app on a real loopback port, one thread per request (like gunicorn's threads)."""

    def __init__(self, app) -> None:
        class Server(ThreadingMixIn, WSGIServer):
            daemon_threads = True

        class Quiet(WSGIRequestHandler):
            def log_message(self, *args):
                pass

        self.app = app
        self.httpd = make_server("127.0.0.1", 0, app, server_class=Server, handler_class=Quiet)
        self.url = f"http://127.0.0.1:{self.httpd.server_port}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def start_live(app):
    return LiveServer(app)


@pytest.fixture
def app(settings):
    from bot import create_app

    return create_app(settings)


@pytest.fixture
def live(app):
    server = LiveServer(app)
    yield server
    server.stop()


class ChatUser:
    """A follower chatting with the live bot over HTTP: `user.says("帮助")` returns the reply text."""

    _msg_ids = iter(range(10_000_000, 99_999_999))

    def __init__(self, live: LiveServer, token: str, openid: str) -> None:
        self.live, self.token, self.openid = live, token, openid
        self._tick = int(__import__("time").time())

    def _send(self, xml: str) -> str | None:
        from tests import wire

        response = wire.post(self.live.url, self.token, xml)
        assert response.status_code == 200, response.text
        return wire.content(response)

    def says(self, text: str) -> str | None:
        from tests import wire

        return self._send(wire.text_xml(self.openid, text, next(self._msg_ids)))

    def _event(self, event: str, key: str = "") -> str | None:
        from tests import wire

        self._tick += 1  # events are told apart by CreateTime: one per second, as WeChat stamps them
        return self._send(wire.event_xml(self.openid, event, key, create_time=self._tick))

    def subscribes(self, scene: str = "") -> str | None:
        return self._event("subscribe", f"qrscene_{scene}" if scene else "")

    def unsubscribes(self) -> str | None:
        return self._event("unsubscribe")

    def clicks(self, key: str) -> str | None:
        return self._event("CLICK", key)

    def opens(self, url: str) -> str | None:
        return self._event("VIEW", url)

    def scans(self, scene: str) -> str | None:
        return self._event("SCAN", scene)


@pytest.fixture
def user(live, settings) -> ChatUser:
    return ChatUser(live, settings.wechat.token, "o_user")


@pytest.fixture
def admin(live, settings) -> ChatUser:
    return ChatUser(live, settings.wechat.token, "o_admin")
