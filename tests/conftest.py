"""Shared fixtures: settings per backend, a live bot over real HTTP, a user who chats with it.

Backends: "sqlite" (SQLite file + in-process memory state) and "postgres" (PostgreSQL + Redis on
127.0.0.1). App-level tests run on both. Override the servers with BOT_TEST_DATABASE_URL and
BOT_TEST_REDIS_URL.
"""

from __future__ import annotations

import os
import sys
import threading
import time
import uuid
from urllib.parse import urlsplit
from pathlib import Path
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import psycopg2
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ops.ports import free_port  # noqa: E402
from settings import Settings, generate_aes_key  # noqa: E402

# each test run gets its own database (suffixed with the process id), so that runs never share tables
PG_URL = os.environ.get("BOT_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/bot_test") + f"_{os.getpid()}"
REDIS_URL = os.environ.get("BOT_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
BACKENDS = ["sqlite", "postgres"]


@pytest.fixture(scope="session")
def redis_url() -> str:
    return REDIS_URL


@pytest.fixture
def dead_redis_url() -> str:
    """A Redis URL where nothing listens."""
    return f"redis://127.0.0.1:{free_port()}/0"


@pytest.fixture(scope="session")
def pg_url():
    """This run's database, created once and dropped at the end; each test empties it first."""
    from store.db import drop_database, ensure_database

    ensure_database(PG_URL)
    yield PG_URL
    drop_database(PG_URL)


def empty_postgres(url: str) -> None:
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
        empty_postgres(url)
        store = {"database_url": url, "redis_url": REDIS_URL}
    return Settings().replace(
        wechat={"token": "test-token", "appid": f"wx{uuid.uuid4().hex[:16]}", "appsecret": "test-secret",
                "encoding_aes_key": generate_aes_key()},
        site={"secret_key": "test-secret-key", "base_url": f"http://127.0.0.1:{free_port()}"},
        store=store,
        admin={"openids": ["o_admin"]},
        bot={"strict_states": True},
    )


@pytest.fixture(params=BACKENDS)
def base_settings(request, tmp_path) -> Settings:
    return make_settings(request.param, tmp_path, request)


@pytest.fixture
def sandbox(base_settings):
    """WeChat's API on loopback for this test."""
    from sandbox.api import SandboxServer

    wechat = base_settings.wechat
    server = SandboxServer(wechat.appid, wechat.appsecret, wechat.token, wechat.encoding_aes_key).start()
    yield server
    server.stop()


@pytest.fixture
def settings(base_settings, sandbox) -> Settings:
    """Settings per backend, with the gateway pointed at the sandbox."""
    return base_settings.replace(wechat={"api_base_url": sandbox.url})


class LiveServer:
    """The WSGI app on a real loopback port, one thread per request (like gunicorn's threads)."""

    def __init__(self, app, port: int | None = None) -> None:
        """On the port of the app's `site.base_url` (links the bot makes then point here)."""
        class Server(ThreadingMixIn, WSGIServer):
            daemon_threads = True
            request_queue_size = 128  # bursts of concurrent deliveries must queue, not be refused

        class Quiet(WSGIRequestHandler):
            def log_message(self, *args):
                pass

        self.app = app
        if port is None:
            port = urlsplit(app.services.settings.site.base_url).port or 0
        self.httpd = make_server("127.0.0.1", port, app, server_class=Server, handler_class=Quiet)
        self.url = f"http://127.0.0.1:{self.httpd.server_port}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def start_live(app):
    return LiveServer(app)


MCHID = "1900000109"
APIV3_KEY = "0123456789abcdef0123456789abcdef"


@pytest.fixture(scope="session")
def merchant(tmp_path_factory):
    """The merchant's API keys (generated once: RSA key generation is slow)."""
    from sandbox.pay import merchant_keys

    return merchant_keys(tmp_path_factory.mktemp("merchant"), MCHID)


def with_pay(settings: Settings, sandbox, merchant, folder, **options) -> Settings:
    """The sandbox plays WeChat Pay for our merchant; the settings point the pay gateway at it."""
    keys = sandbox.enable_pay(MCHID, APIV3_KEY, merchant.public_key_pem(),
                              f"{settings.site.base_url}/pay/notify", merchant_serial_no=merchant.serial_no,
                              folder=str(folder), **options)
    return settings.replace(
        pay={"mchid": MCHID, "apiv3_key": APIV3_KEY, "cert_serial_no": merchant.serial_no,
             "private_key_path": merchant.private_key_path, "public_key_path": keys.public_key_path,
             "public_key_id": keys.public_key_id, "gateway_url": sandbox.url},
        wechat={"oauth_base_url": sandbox.url},
    )


@pytest.fixture
def app(settings):
    from bot import create_app

    app = create_app(settings)
    yield app
    if app.services.outbox is not None:  # the models are bound per process: finish before the next test
        assert app.services.outbox.wait_idle(15)
    app.services.database.close_all()  # each app's pool would keep its connections until garbage collection


@pytest.fixture
def live(app):
    server = LiveServer(app)
    yield server
    server.stop()


class ChatUser:
    """A follower chatting with the live bot the way WeChat delivers it (safe mode, through the sandbox's
    sender): `user.says("帮助")` returns the passive reply's text; `user.received()` what came after."""

    def __init__(self, sender, sandbox, app, openid: str) -> None:
        self.sender, self.sandbox, self.app, self.openid = sender, sandbox, app, openid
        self._tick = int(time.time())
        self._seen = 0

    def _check(self, result):
        assert result.status == 200 and result.problem is None, (result.status, result.body, result.problem)
        return result

    def says(self, text: str) -> str | None:
        return self._check(self.sender.text(self.openid, text)).content

    def sends(self, text: str):
        """The whole result: content, msg_type, articles (news cards)."""
        return self._check(self.sender.text(self.openid, text))

    def _event(self, event: str, key: str | None = None) -> str | None:
        self._tick += 1  # events are told apart by CreateTime: one per second, as WeChat stamps them
        xml = self.sender.event_xml(self.openid, event, key, create_time=self._tick)
        return self._check(self.sender.post(xml)).content

    def subscribes(self, scene: str = "") -> str | None:
        return self._event("subscribe", f"qrscene_{scene}" if scene else None)

    def unsubscribes(self) -> str | None:
        return self._event("unsubscribe")

    def clicks(self, key: str) -> str | None:
        return self._event("CLICK", key)

    def opens(self, url: str) -> str | None:
        return self._event("VIEW", url)

    def scans(self, scene: str) -> str | None:
        return self._event("SCAN", scene)

    def received(self) -> list[dict]:
        """Customer-service messages that reached this user since the last call."""
        worker = self.app.services.outbox
        if worker is not None:
            assert worker.wait_idle(15)
        messages = self.sandbox.sent(self.openid)
        new, self._seen = messages[self._seen:], len(messages)
        return new


@pytest.fixture
def user(live, app, settings, sandbox) -> ChatUser:
    return chat_user(live, app, settings, sandbox, "o_user")


@pytest.fixture
def admin(live, app, settings, sandbox) -> ChatUser:
    return chat_user(live, app, settings, sandbox, "o_admin")


def chat_user(live, app, settings, sandbox, openid: str) -> ChatUser:
    from sandbox.sender import Sender

    wechat = settings.wechat
    sender = Sender(f"{live.url}/wechat", wechat.token, wechat.appid, wechat.encoding_aes_key, mode="safe",
                    server=sandbox)
    return ChatUser(sender, sandbox, app, openid)


@pytest.fixture
def stack(tmp_path):
    """The demo (`python bot.py demo`): bot, sandbox, demo catalog and clock in this process, on free ports."""
    from cli.stack import start_stack
    from settings import load_settings

    settings = load_settings(None).replace(store={"database_url": f"sqlite:///{tmp_path / 'bot.db'}", "redis_url": ""})
    running = start_stack(settings, "127.0.0.1", 0, 0, tmp_path).serve_in_background()
    yield running
    running.stop()
