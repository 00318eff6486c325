"""Benchmark the webhook: our full message pipeline against bare WeRoBot echo, in-process and over HTTP.

Part `inprocess` (no HTTP): the WSGI callable of `bot.create_app(settings)` is called directly with
signed plaintext POSTs -- the help text "帮助" and a menu CLICK on MENU_HELP, every one with a fresh
MsgId / CreateTime so none is a duplicate -- and the very same requests go, interleaved in blocks, to a
bare `werobot.WeRoBot` echo (`robot.wsgi`, WeRoBot's own bottle app). Backends: `sqlite` (SQLite file +
in-memory state), `postgres` (PostgreSQL + Redis on 127.0.0.1) and `redis-down` (PostgreSQL + a Redis
URL where nothing listens).

Part `http`: gunicorn with the Procfile's settings (2 workers, 8 threads, timeout 10) on a free loopback
port serving `bot:wsgi()` configured by BOT_* environment variables, and the echo
(`bench.webhook:echo_app()`) under the same settings. Load: open loop at a fixed rate (latency counted
from each request's scheduled send time, so a stalled server cannot hide queueing), then a closed loop
(N clients back to back) for the maximum throughput. The load generator is Python (threads,
http.client keep-alive) and shares the machine's cores with the server: its CPU use is printed.

Part `profile`: cProfile over the in-process pipeline (no timing figures), time grouped by file.

Aims (the issue): full pipeline within 10x of bare echo in-process; p99 < 50 ms at 200 messages/s
over HTTP.

    .venv/bin/python bench/webhook.py [--parts inprocess,http] [--backends sqlite,postgres,redis-down]
        [--messages 2000] [--rate 200] [--duration 10] [--closed-duration 5] [--concurrency 16]
    .venv/bin/python bench/webhook.py --parts profile --messages 1000   # where the time goes
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import http.client
import io
import itertools
import logging
import os
import platform
import pstats
import queue
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence
from urllib.parse import urlencode

# Run as a script, this file's folder comes first on sys.path (bench/search.py would shadow the
# `search` package): put the project root in front.
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests import wire  # noqa: E402  (WeChat's wire format, shared with the tests)

TOKEN = "bench-token"
HELP_TEXT = "帮助"
MENU_KEY = "MENU_HELP"
KINDS = ("help", "click")
PG_URL = "postgresql://postgres@127.0.0.1:5432/bench_webhook"
REDIS_URL = "redis://127.0.0.1:6379/14"
BACKENDS = ("sqlite", "postgres", "redis-down")
BACKEND_LABELS = {
    "sqlite": "SQLite file + memory state",
    "postgres": "PostgreSQL + Redis",
    "redis-down": "PostgreSQL + Redis stopped",
}
AIM_RATIO = 10.0
AIM_P99_MS = 50.0
GUNICORN_ARGS = ["--workers", "2", "--threads", "8", "--timeout", "10"]  # as the Procfile's `web`
# gunicorn 27 opens a control socket at ~/.gunicorn/gunicorn.ctl, one path shared by every gunicorn of the
# user: the bench's servers go without it so they never disturb another one (serving is unaffected).
GUNICORN_EXTRA = ["--no-control-socket"]

_MSG_BASE = int(time.time()) * 1_000_000  # MsgIds of this run: unique across runs too
_CT_BASE = int(time.time())  # CreateTime of clicks: base + serial, unique per (openid, CreateTime)
_serial = itertools.count(1)  # shared by every factory: no two messages of a run look alike


def note(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


class Progress:
    """At most one stderr line a second: `[label] done/total`."""

    def __init__(self, label: str, total: int) -> None:
        self.label, self.total = label, total
        self._last = 0.0

    def update(self, done: int, extra: str = "") -> None:
        now = time.monotonic()
        if now - self._last >= 1.0 or done >= self.total:
            self._last = now
            note(f"  [{self.label}] {done}/{self.total} {extra}".rstrip())


# ---------------------------------------------------------------- messages


@dataclass(frozen=True)
class Msg:
    kind: str  # "help" | "click"
    qs: str  # signed query string
    body: bytes


class MessageFactory:
    """Signed plaintext WeChat POSTs from a pool of openids, help texts and menu clicks alternating."""

    def __init__(self, token: str, openids: int = 200) -> None:
        self.token = token
        self.openids = [f"o_bench_{i:04d}" for i in range(max(1, openids))]

    def make(self, kind: str) -> Msg:
        n = next(_serial)
        openid = self.openids[n % len(self.openids)]
        if kind == "help":
            xml = wire.text_xml(openid, HELP_TEXT, _MSG_BASE + n)
        else:
            xml = wire.event_xml(openid, "CLICK", MENU_KEY, create_time=_CT_BASE + n)
        query = wire.signed_query(self.token, nonce=f"n{n:x}")  # signed now: valid for +-300 s
        query["openid"] = openid
        return Msg(kind, urlencode(query), xml.encode())

    def batch(self, count: int) -> list[Msg]:
        return [self.make(KINDS[i % 2]) for i in range(count)]


_help_mark: bytes | None = None


def reply_ok(impl: str, kind: str, status: int, body: bytes) -> bool:
    """Ours answers both with the help text; the echo answers the content or the menu key."""
    global _help_mark
    if status != 200 or b"<xml>" not in body:
        return False
    if impl == "ours":
        if _help_mark is None:
            from dialogs import strings

            _help_mark = strings.HELP.splitlines()[0].encode()
        return _help_mark in body
    return (HELP_TEXT.encode() if kind == "help" else MENU_KEY.encode()) in body


# ---------------------------------------------------------------- the two apps


def make_echo_robot(token: str):
    """Bare WeRoBot echo. Its session storage is off (by default WeRoBot would write a SQLite session
    file in the working directory on every message; our bot keeps WeRoBot's sessions off too). A click
    handler echoes the menu key, so both message kinds render a reply, as ours do."""
    import werobot

    robot = werobot.WeRoBot(token=token, SESSION_STORAGE=False)

    @robot.text
    def echo(message):
        return message.content

    @robot.click
    def echo_click(message):
        return message.key

    return robot


def echo_app():
    """gunicorn factory: `gunicorn 'bench.webhook:echo_app()'`, token from BOT_WECHAT_TOKEN."""
    return make_echo_robot(os.environ.get("BOT_WECHAT_TOKEN", TOKEN)).wsgi


def call_wsgi(app: Callable, qs: str, body: bytes) -> tuple[int, bytes]:
    """One POST /wechat straight into a WSGI callable, as a WSGI server would make it."""
    environ = {
        "REQUEST_METHOD": "POST", "SCRIPT_NAME": "", "PATH_INFO": "/wechat", "QUERY_STRING": qs,
        "CONTENT_TYPE": "text/xml", "CONTENT_LENGTH": str(len(body)), "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000", "SERVER_PROTOCOL": "HTTP/1.1", "HTTP_HOST": "127.0.0.1:8000",
        "REMOTE_ADDR": "127.0.0.1", "wsgi.version": (1, 0), "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(body), "wsgi.errors": sys.stderr, "wsgi.multithread": False,
        "wsgi.multiprocess": False, "wsgi.run_once": False,
    }
    status: list[str] = []

    def start_response(s: str, headers: list, exc_info: Any = None) -> Callable:
        status.append(s)
        return lambda data: None

    out = app(environ, start_response)
    try:
        data = b"".join(out)
    finally:
        close = getattr(out, "close", None)
        if close:
            close()
    return int(status[0].split()[0]), data


# ---------------------------------------------------------------- backends and settings


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _pg_params(url: str) -> dict:
    from playhouse.db_url import parse

    return parse(url)


def reset_postgres(url: str) -> None:
    """Create the bench database if missing, then drop its tables (the app migrates afresh)."""
    import psycopg2
    from psycopg2 import sql

    params = _pg_params(url)
    name = params.pop("database")
    admin = psycopg2.connect(dbname="postgres", connect_timeout=3, **params)
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
        if cur.fetchone() is None:
            cur.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    admin.close()
    conn = psycopg2.connect(dbname=name, connect_timeout=3, **params)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        tables = [row[0] for row in cur.fetchall()]
        if tables:
            cur.execute(sql.SQL("DROP TABLE {} CASCADE").format(
                sql.SQL(", ").join(sql.Identifier(t) for t in tables)))
    conn.close()


def ensure_redis(url: str) -> None:
    import redis

    redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2).ping()


def forget_redis_keys(url: str, appid: str) -> int:
    """Delete this run's keys (`kb:{appid}:*`) from the bench Redis database; nothing else."""
    import redis

    client = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
    deleted = 0
    with contextlib.suppress(redis.RedisError):
        batch = []
        for key in client.scan_iter(match=f"kb:{appid}:*", count=1000):
            batch.append(key)
            if len(batch) >= 1000:
                deleted += client.delete(*batch)
                batch = []
        if batch:
            deleted += client.delete(*batch)
    return deleted


@dataclass
class Backend:
    name: str
    database_url: str
    redis_url: str

    @property
    def label(self) -> str:
        return BACKEND_LABELS[self.name]


def prepare_backend(name: str, args: argparse.Namespace, tmpdir: Path) -> Backend:
    """A fresh database for each use: a new SQLite file, or the PostgreSQL bench database emptied."""
    if name == "sqlite":
        return Backend(name, f"sqlite:///{tmpdir / f'bench-{uuid.uuid4().hex[:8]}.db'}", "")
    reset_postgres(args.pg_url)
    if name == "postgres":
        ensure_redis(args.redis_url)
        return Backend(name, args.pg_url, args.redis_url)
    return Backend(name, args.pg_url, f"redis://127.0.0.1:{free_port()}/0")  # nothing listens there


def bench_settings(backend: Backend):
    """As tests/conftest.py's make_settings: fresh appid and AES key, production defaults otherwise.
    WeChat's API base URL points at a loopback port where nothing listens: no traffic leaves 127.0.0.1
    (the help text and the menu click send nothing through the API anyway)."""
    from settings import Settings, generate_aes_key

    return Settings().replace(
        wechat={"token": TOKEN, "appid": f"wx{uuid.uuid4().hex[:16]}", "appsecret": "bench-secret",
                "encoding_aes_key": generate_aes_key(), "api_base_url": f"http://127.0.0.1:{free_port()}"},
        site={"secret_key": "bench-secret-key", "base_url": "http://127.0.0.1:8000"},
        store={"database_url": backend.database_url, "redis_url": backend.redis_url},
    )


def settings_env(settings) -> dict[str, str]:
    """The same settings as BOT_<SECTION>_<KEY> variables, for `bot:wsgi()` under gunicorn."""
    return {
        "BOT_WECHAT_TOKEN": settings.wechat.token,
        "BOT_WECHAT_APPID": settings.wechat.appid,
        "BOT_WECHAT_APPSECRET": settings.wechat.appsecret,
        "BOT_WECHAT_ENCODING_AES_KEY": settings.wechat.encoding_aes_key,
        "BOT_WECHAT_API_BASE_URL": settings.wechat.api_base_url,
        "BOT_SITE_SECRET_KEY": settings.site.secret_key,
        "BOT_SITE_BASE_URL": settings.site.base_url,
        "BOT_STORE_DATABASE_URL": settings.store.database_url,
        "BOT_STORE_REDIS_URL": settings.store.redis_url,
    }


def close_database(database: Any) -> None:
    with contextlib.suppress(Exception):
        if hasattr(database, "close_all"):
            database.close_all()
        else:
            database.close()


def count_rows(database_url: str) -> dict[str, int]:
    """Rows in the message record and the event table: each answered message must appear once."""
    from store.models import Event, InboundMessage

    tables = {"inbound": InboundMessage._meta.table_name, "events": Event._meta.table_name}
    if database_url.startswith("sqlite"):
        conn = sqlite3.connect(database_url.removeprefix("sqlite:///"))
        try:
            return {k: conn.execute(f'SELECT COUNT(*) FROM "{t}"').fetchone()[0] for k, t in tables.items()}
        finally:
            conn.close()
    import psycopg2

    params = _pg_params(database_url)
    conn = psycopg2.connect(dbname=params.pop("database"), connect_timeout=3, **params)
    try:
        with conn.cursor() as cur:
            counts = {}
            for k, t in tables.items():
                cur.execute(f'SELECT COUNT(*) FROM "{t}"')
                counts[k] = cur.fetchone()[0]
            return counts
    finally:
        conn.close()


class CountingLogs(logging.Handler):
    """The app's logs, formatted as in production (JSON) into a file, counted by level."""

    def __init__(self, path: Path) -> None:
        from ops.logs import JsonFormatter

        super().__init__()
        self.setFormatter(JsonFormatter())
        self.stream = path.open("a", encoding="utf-8")
        self.counts: Counter = Counter()

    def emit(self, record: logging.LogRecord) -> None:
        self.counts[record.levelname.lower()] += 1
        self.stream.write(self.format(record) + "\n")

    def close(self) -> None:
        self.stream.close()
        super().close()


@contextlib.contextmanager
def captured_logs(path: Path) -> Iterator[CountingLogs]:
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    handler = CountingLogs(path)
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)
    try:
        yield handler
    finally:
        root.handlers[:], level = saved
        root.setLevel(level)
        handler.close()


# ---------------------------------------------------------------- statistics


def pct(sorted_values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile of an ascending list."""
    if not sorted_values:
        return float("nan")
    rank = max(1, min(len(sorted_values), int(-(-q * len(sorted_values) // 1))))
    return sorted_values[rank - 1]


@dataclass
class Dist:
    n: int
    mean: float
    p50: float
    p99: float
    max: float

    @classmethod
    def of(cls, seconds: Sequence[float]) -> Dist:
        values = sorted(seconds)
        if not values:
            return cls(0, float("nan"), float("nan"), float("nan"), float("nan"))
        return cls(len(values), sum(values) / len(values), pct(values, 0.50), pct(values, 0.99), values[-1])


def ms(seconds: float) -> str:
    if seconds != seconds:  # nan
        return "-"
    value = seconds * 1000
    return f"{value:.3f}" if value < 1 else f"{value:.2f}" if value < 100 else f"{value:.0f}"


# ---------------------------------------------------------------- part 1: in-process


@dataclass
class InprocessResult:
    backend: Backend
    dists: dict[tuple[str, str], Dist]  # (impl, kind) -> per-message seconds
    bad: Counter
    logs: Counter
    slow_1s: int  # ours, messages over 1 s
    background: float  # machine busy share just before the case, nothing sent


def run_inprocess(name: str, args: argparse.Namespace, tmpdir: Path) -> InprocessResult:
    from bot import create_app

    backend = prepare_backend(name, args, tmpdir)
    settings = bench_settings(backend)
    background = background_busy()
    note(f"in-process: {backend.label} (machine busy before: {background:.0%})")
    with captured_logs(tmpdir / f"inprocess-{name}.log") as logs:
        app = create_app(settings)
        echo = make_echo_robot(settings.wechat.token).wsgi
        apps = (("ours", app), ("echo", echo))
        factory = MessageFactory(settings.wechat.token, args.openids)
        bad: Counter = Counter()
        try:
            for impl, wsgi in apps:  # warm-up: imports, first connections, first user rows
                for m in factory.batch(args.warmup):
                    status, body = call_wsgi(wsgi, m.qs, m.body)
                    bad[impl] += not reply_ok(impl, m.kind, status, body)
            bad.clear()
            samples: dict[tuple[str, str], list[float]] = defaultdict(list)
            total = 2 * args.messages  # per implementation: `messages` of each kind
            progress = Progress(f"in-process {name}", total)
            done, block = 0, 100
            clock = time.perf_counter
            while done < total:
                msgs = factory.batch(min(block, total - done))  # re-signed per block: fresh timestamps
                for impl, wsgi in apps:  # the same requests to both, block by block
                    for m in msgs:
                        started = clock()
                        status, body = call_wsgi(wsgi, m.qs, m.body)
                        samples[(impl, m.kind)].append(clock() - started)
                        bad[impl] += not reply_ok(impl, m.kind, status, body)
                done += len(msgs)
                progress.update(done)
        finally:
            close_database(app.services.database)
            if backend.name == "postgres":
                forget_redis_keys(backend.redis_url, settings.wechat.appid)
    ours = samples[("ours", "help")] + samples[("ours", "click")]
    return InprocessResult(backend, {key: Dist.of(v) for key, v in samples.items()}, bad,
                           Counter(logs.counts), sum(s > 1.0 for s in ours), background)


def print_inprocess(results: list[InprocessResult], args: argparse.Namespace) -> None:
    print(f"\n### In-process (WSGI callable called directly, no HTTP): ms per message, "
          f"{args.messages} of each kind per implementation\n")
    print("| backend | message | ours mean | ours p50 | ours p99 | ours max | echo mean | echo p50 | echo p99 "
          "| ours/echo mean | ours/echo p50 | wrong replies (ours/echo) |")
    print("|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
    for r in results:
        for kind in KINDS:
            o, e = r.dists[("ours", kind)], r.dists[("echo", kind)]
            label = "帮助 (text)" if kind == "help" else "CLICK MENU_HELP"
            print(f"| {r.backend.label} | {label} | {ms(o.mean)} | {ms(o.p50)} | {ms(o.p99)} | {ms(o.max)} "
                  f"| {ms(e.mean)} | {ms(e.p50)} | {ms(e.p99)} | {o.mean / e.mean:.1f}x | {o.p50 / e.p50:.1f}x "
                  f"| {r.bad['ours']}/{r.bad['echo']} |")
    for r in results:
        if r.backend.name == "redis-down":
            worst = max(r.dists[("ours", k)].max for k in KINDS)
            print(f"\nRedis stopped: {r.dists[('ours', 'help')].n + r.dists[('ours', 'click')].n} messages "
                  f"answered ({r.bad['ours']} wrong), slowest {ms(worst)} ms, {r.slow_1s} over 1 s "
                  f"(design: < 1 s); state-store warnings logged: {r.logs.get('warning', 0)} "
                  f"(one per 2 s cool-down)")
        elif r.logs.get("warning") or r.logs.get("error"):
            print(f"\n{r.backend.label}: app logged {dict(r.logs)}")
    print("\nMachine busy (all cores) in the second before each case, with nothing sent: "
          + ", ".join(f"{r.backend.name} {r.background:.0%}" for r in results)
          + " (other work on the machine disturbs the figures)")


# ---------------------------------------------------------------- part 2: over HTTP


def _machine_jiffies() -> tuple[int, int]:
    """(busy, total) CPU time of the whole machine so far, from /proc/stat."""
    try:
        values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:9]]
    except (OSError, ValueError, IndexError):
        return 0, 0
    return sum(values) - values[3] - values[4], sum(values)


def background_busy(seconds: float = 1.0) -> float:
    """Share of all cores busy while this benchmark sends nothing: other work on the machine."""
    busy0, total0 = _machine_jiffies()
    time.sleep(seconds)
    busy1, total1 = _machine_jiffies()
    return (busy1 - busy0) / (total1 - total0) if total1 > total0 else float("nan")


def _proc_cpu(pid: int) -> float:
    """CPU seconds (user + system) of one process, from /proc."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


class Gunicorn:
    """gunicorn as a subprocess on a free loopback port; stopped by its own pid (SIGTERM, then SIGKILL)."""

    def __init__(self, target: str, env: dict[str, str], log_path: Path) -> None:
        self.target, self.log_path = target, log_path
        self.port = free_port()
        base = {k: v for k, v in os.environ.items() if not k.startswith("BOT_")}
        self.env = {**base, **env, "PYTHONUNBUFFERED": "1"}
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 30.0) -> Gunicorn:
        cmd = [sys.executable, "-m", "gunicorn", *GUNICORN_ARGS, *GUNICORN_EXTRA,
               "--bind", f"127.0.0.1:{self.port}", self.target]
        self.log = self.log_path.open("ab")
        self.proc = subprocess.Popen(cmd, cwd=ROOT, env=self.env, stdout=self.log, stderr=subprocess.STDOUT)
        try:
            return self._wait_ready(timeout)
        except BaseException:
            self.stop()  # __exit__ does not run when __enter__ fails
            raise

    def _wait_ready(self, timeout: float) -> Gunicorn:
        workers = int(GUNICORN_ARGS[GUNICORN_ARGS.index("--workers") + 1])
        deadline = time.monotonic() + timeout
        query = urlencode({**wire.signed_query(self.env["BOT_WECHAT_TOKEN"]), "echostr": "ready"})
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.proc.returncode}:\n{self.log_tail()}")
            booted = self.log_path.read_text(errors="replace").count("Booting worker")
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                conn.request("GET", f"/wechat?{query}")
                answer = conn.getresponse().read()
                conn.close()
                if answer == b"ready" and booted >= workers:
                    return self
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"gunicorn did not answer within {timeout:.0f} s:\n{self.log_tail()}")

    def workers(self) -> list[int]:
        try:
            return [int(p) for p in Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children").read_text().split()]
        except (OSError, ValueError, AttributeError):
            return []

    def cpu(self) -> float:
        return sum(_proc_cpu(pid) for pid in self.workers())

    def log_tail(self, lines: int = 20) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        return ""

    def problems(self) -> Counter:
        """Errors the server logged: gunicorn's own and the app's JSON lines."""
        found: Counter = Counter()
        for line in self.log_path.read_text(errors="replace").splitlines():
            if '"level": "error"' in line or "[ERROR]" in line or "[CRITICAL]" in line:
                found["error"] += 1
            elif '"level": "warning"' in line or "[WARNING]" in line:
                found["warning"] += 1
            if "WORKER TIMEOUT" in line:
                found["worker timeout"] += 1
        return found

    def stop(self) -> None:
        if self.proc is None:
            return
        workers = self.workers()
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)  # graceful: the master stops its workers
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        bind = f"127.0.0.1:{self.port}".encode()
        for pid in workers:  # a worker outliving its master (should not happen): end it by its own pid
            with contextlib.suppress(OSError):
                if bind in Path(f"/proc/{pid}/cmdline").read_bytes():
                    os.kill(pid, signal.SIGKILL)
        self.proc = None
        self.log.close()

    def __enter__(self) -> Gunicorn:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()


class Client:
    """One keep-alive connection. A reused connection the server closed while idle is reopened once."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.conn: http.client.HTTPConnection | None = None
        self.reused = False
        self.reconnects = 0

    def post(self, msg: Msg) -> tuple[int, bytes]:
        for attempt in (0, 1):
            if self.conn is None:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
                self.reused = False
            try:
                self.conn.request("POST", f"/wechat?{msg.qs}", body=msg.body,
                                  headers={"Content-Type": "text/xml"})
                response = self.conn.getresponse()
                data = response.read()
                if response.will_close:
                    self.close()
                else:
                    self.reused = True
                return response.status, data
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                stale = self.reused
                self.close()
                if attempt == 0 and stale:
                    self.reconnects += 1
                    continue
                raise
        raise AssertionError("unreachable")

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None


@dataclass
class LoadResult:
    mode: str  # "open" | "closed"
    offered: float  # messages/s (open loop), clients (closed loop)
    sent: int
    ok: int
    errors: Counter
    latency: Dist  # from the scheduled send time (open) or the send (closed), answered requests
    service: Dist  # from the actual send
    seconds: float
    client_cpu: float  # share of one core
    server_cpu: float  # share of one core, both workers
    machine_busy: float  # share of all cores: server, client, PostgreSQL, Redis, everything
    reconnects: int
    capped: bool = False

    @property
    def throughput(self) -> float:
        return self.ok / self.seconds if self.seconds > 0 else 0.0


def _send(client: Client, impl: str, msg: Msg) -> str | None:
    try:
        status, data = client.post(msg)
    except Exception as exc:  # timeouts, refused, reset: counted, the run goes on
        client.close()
        return type(exc).__name__
    if status != 200:
        return f"HTTP {status}"
    return None if reply_ok(impl, msg.kind, status, data) else "wrong reply"


def open_loop(port: int, impl: str, msgs: list[Msg], rate: float, clients: int, label: str,
              server: Gunicorn) -> LoadResult:
    """Requests are due at t0 + i/rate whatever happened before; latency counts from the due time."""
    jobs: queue.SimpleQueue = queue.SimpleQueue()
    records: list[tuple[float, float, float, str | None] | None] = [None] * len(msgs)
    pool = [Client(port) for _ in range(clients)]

    def work(client: Client) -> None:
        while True:
            job = jobs.get()
            if job is None:
                break
            i, due = job
            started = time.perf_counter()
            error = _send(client, impl, msgs[i])
            records[i] = (due, started, time.perf_counter(), error)
        client.close()

    threads = [threading.Thread(target=work, args=(c,), daemon=True) for c in pool]
    for t in threads:
        t.start()
    progress = Progress(label, len(msgs))
    cpu0, scpu0, jiffies0 = time.process_time(), server.cpu(), _machine_jiffies()
    t0 = time.perf_counter() + 0.05
    for i in range(len(msgs)):
        due = t0 + i / rate
        delay = due - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        jobs.put((i, due))
        progress.update(i + 1, "sent")
    for _ in threads:
        jobs.put(None)
    for t in threads:
        t.join(timeout=30)
    wall = time.perf_counter() - t0
    return _load_result("open", rate, records, pool, t0, wall, (cpu0, scpu0, jiffies0), server)


def closed_loop(port: int, impl: str, msgs: list[Msg], clients: int, duration: float, label: str,
                server: Gunicorn, quiet: bool = False) -> LoadResult:
    """`clients` threads, each sending its next message as soon as the last one is answered."""
    index = itertools.count()
    records: list[tuple[float, float, float, str | None] | None] = [None] * len(msgs)
    pool = [Client(port) for _ in range(clients)]
    t0 = time.perf_counter()
    deadline = t0 + duration

    def work(client: Client) -> None:
        while time.perf_counter() < deadline:
            i = next(index)
            if i >= len(msgs):
                break
            started = time.perf_counter()
            error = _send(client, impl, msgs[i])
            records[i] = (started, started, time.perf_counter(), error)
        client.close()

    cpu0, scpu0, jiffies0 = time.process_time(), server.cpu(), _machine_jiffies()
    threads = [threading.Thread(target=work, args=(c,), daemon=True) for c in pool]
    for t in threads:
        t.start()
    progress = Progress(label, int(duration))
    while any(t.is_alive() for t in threads) and time.perf_counter() < deadline + 30:
        time.sleep(0.25)
        if not quiet:
            progress.update(min(int(duration), int(time.perf_counter() - t0)),
                            f"s, {sum(r is not None for r in records)} answered")
    for t in threads:
        t.join(timeout=1)
    wall = time.perf_counter() - t0
    result = _load_result("closed", clients, records, pool, t0, wall, (cpu0, scpu0, jiffies0), server)
    result.capped = next(index) >= len(msgs)
    return result


def _load_result(mode: str, offered: float, records: list, pool: list[Client], t0: float, wall: float,
                 before: tuple[float, float, tuple[int, int]], server: Gunicorn) -> LoadResult:
    cpu0, scpu0, (busy0, total0) = before
    busy1, total1 = _machine_jiffies()
    done = [r for r in records if r is not None]
    errors = Counter(r[3] for r in done if r[3] is not None)
    errors["not answered"] += len(records) - len(done) if mode == "open" else 0
    errors = +errors
    ok = [r for r in done if r[3] is None]
    seconds = (max(r[2] for r in done) - t0) if done else wall
    return LoadResult(
        mode, offered, len(done), len(ok), errors,
        Dist.of([r[2] - r[0] for r in ok]), Dist.of([r[2] - r[1] for r in ok]), seconds,
        (time.process_time() - cpu0) / wall, (server.cpu() - scpu0) / wall,
        (busy1 - busy0) / (total1 - total0) if total1 > total0 else float("nan"),
        sum(c.reconnects for c in pool),
    )


@dataclass
class HttpResult:
    impl: str
    backend: Backend | None
    open: LoadResult
    closed: LoadResult
    server_log: Counter
    rows: dict[str, int] = field(default_factory=dict)
    answered: int = 0
    background: float = float("nan")


def run_http(impl: str, name: str | None, args: argparse.Namespace, tmpdir: Path) -> HttpResult:
    backend = prepare_backend(name, args, tmpdir) if impl == "ours" else None
    if impl == "ours":
        settings = bench_settings(backend)
        env, target, token = settings_env(settings), "bot:wsgi()", settings.wechat.token
        title = f"ours, {backend.label}"
    else:
        env, target, token, title = {"BOT_WECHAT_TOKEN": TOKEN}, "bench.webhook:echo_app()", TOKEN, "bare echo"
    note(f"HTTP: gunicorn {' '.join(GUNICORN_ARGS)} '{target}' ({title})")
    if backend and backend.name == "sqlite":
        note("  note: memory state is per process -- each of the 2 workers has its own state, locks and fast "
             "dedupe (the design allows memory for one process only); dedupe still holds through the database")
    factory = MessageFactory(token, args.openids)
    label = impl if backend is None else f"{impl} {backend.name}"
    try:
        with Gunicorn(target, env, tmpdir / f"gunicorn-{label.replace(' ', '-')}.log") as server:
            note(f"  listening on 127.0.0.1:{server.port}, workers {server.workers()}")
            note(f"  warm-up: {args.http_warmup} messages")
            warm = closed_loop(server.port, impl, factory.batch(args.http_warmup), args.concurrency, 30.0,
                               f"{label} warm-up", server, quiet=True)
            background = background_busy()
            note(f"  machine busy with nothing sent: {background:.0%}")
            msgs = factory.batch(int(args.rate * args.duration))
            opened = open_loop(server.port, impl, msgs, args.rate, args.clients, f"{label} open loop", server)
            msgs = factory.batch(args.closed_cap)
            closed = closed_loop(server.port, impl, msgs, args.concurrency, args.closed_duration,
                                 f"{label} closed loop", server)
        result = HttpResult(impl, backend, opened, closed, server.problems(), background=background)
        if backend is not None:
            result.rows = count_rows(backend.database_url)
            result.answered = warm.ok + opened.ok + closed.ok
        return result
    finally:
        if backend is not None and backend.name == "postgres":
            forget_redis_keys(backend.redis_url, settings.wechat.appid)


def print_http(results: list[HttpResult], args: argparse.Namespace) -> None:
    def who(r: HttpResult) -> str:
        return "bare WeRoBot echo" if r.backend is None else f"ours: {r.backend.label}"

    def errs(load: LoadResult) -> str:
        text = ", ".join(f"{k} {v}" for k, v in load.errors.items()) or "0"
        return text + (f" ({load.reconnects} reconnects)" if load.reconnects else "")

    print(f"\n### Over HTTP: gunicorn {' '.join(GUNICORN_ARGS)}, 127.0.0.1; help texts and menu clicks "
          f"alternating, {args.openids} openids, every MsgId unique\n")
    print(f"Open loop at {args.rate:g} messages/s for {args.duration:g} s ({args.clients} client connections); "
          "latency from each request's scheduled send time, ms:\n")
    print("| server | sent | answered ok | achieved msg/s | p50 | p99 | max | errors | client CPU | server CPU "
          "| machine busy |")
    print("|---|--:|--:|--:|--:|--:|--:|---|--:|--:|--:|")
    for r in results:
        o = r.open
        print(f"| {who(r)} | {o.sent} | {o.ok} | {o.throughput:.0f} | {ms(o.latency.p50)} | {ms(o.latency.p99)} "
              f"| {ms(o.latency.max)} | {errs(o)} | {o.client_cpu:.0%} | {o.server_cpu:.0%} | {o.machine_busy:.0%} |")
    print(f"\nClosed loop: {args.concurrency} clients back to back for {args.closed_duration:g} s, ms:\n")
    print("| server | answered ok | throughput msg/s | p50 | p99 | max | errors | client CPU | server CPU "
          "| machine busy |")
    print("|---|--:|--:|--:|--:|--:|---|--:|--:|--:|")
    for r in results:
        c = r.closed
        capped = " (message cap hit)" if c.capped else ""
        print(f"| {who(r)} | {c.ok} | {c.throughput:.0f}{capped} | {ms(c.latency.p50)} | {ms(c.latency.p99)} "
              f"| {ms(c.latency.max)} | {errs(c)} | {c.client_cpu:.0%} | {c.server_cpu:.0%} | {c.machine_busy:.0%} |")
    print(f"\nClient and server CPU are shares of one core ({os.cpu_count()} cores = {os.cpu_count() * 100}%); "
          "machine busy is the share of all cores (gunicorn, this load generator, PostgreSQL, Redis, ...): "
          "the Python load generator shares the cores with the server. Machine busy in the second before the "
          "load, with nothing sent (other work on the machine): "
          + ", ".join(f"{who(r)} {r.background:.0%}" for r in results) + ".")
    for r in results:
        if r.backend is not None:
            exact = "each answered message ran once" if r.rows.get("inbound") == r.answered == r.rows.get("events") \
                else "MISMATCH"
            print(f"- {who(r)}: {r.answered} answered OK; database rows: inbound {r.rows.get('inbound')}, "
                  f"events {r.rows.get('events')} ({exact}); server log: {dict(r.server_log) or 'clean'}")
            if r.backend.name == "sqlite":
                print("  (memory state is per process: each of the 2 workers has its own state, locks and fast "
                      "dedupe -- the design allows memory for one process only; dedupe still holds through the "
                      "database record)")
        else:
            print(f"- {who(r)}: server log: {dict(r.server_log) or 'clean'}")


# ---------------------------------------------------------------- aims


def print_aims(inproc: list[InprocessResult], over_http: list[HttpResult], args: argparse.Namespace) -> None:
    print("\n### Aims\n")
    print("| aim | case | figure | verdict |")
    print("|---|---|---|---|")
    for r in inproc:
        worst = max(KINDS, key=lambda k: r.dists[("ours", k)].mean / r.dists[("echo", k)].mean)
        ratio = r.dists[("ours", worst)].mean / r.dists[("echo", worst)].mean
        ok = ratio <= AIM_RATIO and not r.bad["ours"]
        print(f"| full pipeline within {AIM_RATIO:g}x of bare echo (in-process, mean) | {r.backend.label} "
              f"| {ratio:.1f}x (worst: {worst}) | {'met' if ok else 'NOT met'} |")
    for r in over_http:
        if r.backend is None:
            continue
        o = r.open
        ok = o.latency.p99 * 1000 < AIM_P99_MS and not o.errors and o.throughput >= 0.95 * args.rate
        print(f"| p99 < {AIM_P99_MS:g} ms at {args.rate:g} messages/s over HTTP | {r.backend.label} "
              f"| p99 {ms(o.latency.p99)} ms, {o.throughput:.0f} msg/s, errors {sum(o.errors.values())} "
              f"| {'met' if ok else 'NOT met'} |")


# ---------------------------------------------------------------- part 3: profile


def _area(filename: str) -> str:
    """Group a profiled file: project files by path, libraries by package, the rest by module."""
    if filename.startswith("~") or filename.startswith("<"):
        return "(built-ins)"
    path = Path(filename)
    with contextlib.suppress(ValueError):
        rel = path.relative_to(ROOT)
        if rel.parts[0] != ".venv":
            return str(rel)
    parts = path.parts
    if "site-packages" in parts:
        return parts[parts.index("site-packages") + 1].removesuffix(".py")
    return f"stdlib {path.stem}"


def run_profile(name: str, args: argparse.Namespace, tmpdir: Path) -> None:
    from bot import create_app

    backend = prepare_backend(name, args, tmpdir)
    settings = bench_settings(backend)
    note(f"profile: {backend.label}")
    with captured_logs(tmpdir / f"profile-{name}.log"):
        app = create_app(settings)
        factory = MessageFactory(settings.wechat.token, args.openids)
        try:
            for m in factory.batch(args.warmup):
                call_wsgi(app, m.qs, m.body)
            msgs = factory.batch(2 * args.messages)
            profiler = cProfile.Profile()
            started = time.perf_counter()
            profiler.enable()
            for m in msgs:
                call_wsgi(app, m.qs, m.body)
            profiler.disable()
            wall = time.perf_counter() - started
            timed, plain_wall = _database_time(app, factory.batch(2 * args.messages))
        finally:
            close_database(app.services.database)
            if backend.name == "postgres":
                forget_redis_keys(backend.redis_url, settings.wechat.appid)
    stats = pstats.Stats(profiler)
    total = stats.total_tt
    print(f"\n### Profile: ours, {backend.label}: {len(msgs)} messages, {wall / len(msgs) * 1000:.2f} ms each "
          f"under cProfile\n")
    by_area: Counter = Counter()
    rows = []
    for (filename, line, func), (cc, nc, tt, ct, callers) in stats.stats.items():
        by_area[_area(filename)] += tt
        rows.append((tt, ct, nc, f"{_area(filename)}:{line}({func})", _area(filename).endswith(".py")))
    print("Own time by file or package:\n")
    print("| where | share of time |")
    print("|---|--:|")
    for area, tt in by_area.most_common(14):
        print(f"| {area} | {tt / total:.1%} |")
    print(f"\nTop functions by own time (share of {total:.2f} s):\n")
    print("| function | own | cumulative | calls/message |")
    print("|---|--:|--:|--:|")
    for tt, ct, nc, where, _ in sorted(rows, reverse=True)[:args.profile_top]:
        print(f"| {where} | {tt / total:.1%} | {ct / total:.1%} | {nc / len(msgs):.1f} |")
    print("\nProject functions by cumulative time:\n")
    print("| function | cumulative | calls/message |")
    print("|---|--:|--:|")
    ours = [r for r in rows if r[4]]  # files of this project
    for tt, ct, nc, where, _ in sorted(ours, key=lambda r: r[1], reverse=True)[:args.profile_top]:
        print(f"| {where} | {ct / total:.1%} | {nc / len(msgs):.1f} |")
    n = 2 * args.messages
    print(f"\nDatabase calls, timed without the profiler ({n} more messages, {plain_wall / n * 1000:.2f} ms each; "
          "statement execution only, building the SQL is not included):\n")
    print("| call | ms/message | calls/message | share of the message |")
    print("|---|--:|--:|--:|")
    for what, seconds in sorted(timed.items(), key=lambda kv: -sum(kv[1])):
        print(f"| {what} | {sum(seconds) / n * 1000:.3f} | {len(seconds) / n:.1f} | {sum(seconds) / plain_wall:.1%} |")
    print(f"| all of the above | {sum(map(sum, timed.values())) / n * 1000:.3f} | | "
          f"{sum(map(sum, timed.values())) / plain_wall:.1%} |")


def _database_time(app: Any, msgs: list[Msg]) -> tuple[dict[str, list[float]], float]:
    """Seconds spent in each database call (statement by its first words; connect, begin, commit, close)
    while `msgs` go through the app; the wrappers live on this app's database object only."""
    import re

    database = app.services.database
    timed: dict[str, list[float]] = defaultdict(list)
    savepoint = re.compile(r'"s[0-9a-f]{32}"')

    def wrap(name: str, label: Callable[..., str]) -> None:
        inner = getattr(database, name)

        def timed_call(*a: Any, **k: Any) -> Any:
            started = time.perf_counter()
            try:
                return inner(*a, **k)
            finally:
                timed[label(*a, **k)].append(time.perf_counter() - started)

        setattr(database, name, timed_call)

    def statement(sql: str, *rest: Any, **kw: Any) -> str:
        words = savepoint.sub('"s…"', " ".join(sql.split()))
        return "`" + (words[:60] + "…" if len(words) > 60 else words) + "`"

    wrap("execute_sql", statement)
    for name in ("connect", "begin", "commit", "close"):
        wrap(name, lambda *a, _name=name, **k: f"<{_name}>")
    try:
        started = time.perf_counter()
        for m in msgs:
            call_wsgi(app, m.qs, m.body)
        return timed, time.perf_counter() - started
    finally:
        for name in ("execute_sql", "connect", "begin", "commit", "close"):
            database.__dict__.pop(name, None)


# ---------------------------------------------------------------- main


def machine_facts() -> str:
    cpu = "?"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return (f"date {time.strftime('%Y-%m-%d %H:%M %Z')}, nproc {os.cpu_count()} "
            f"(usable {len(os.sched_getaffinity(0))}), CPU {cpu}, python {platform.python_version()}, "
            f"{platform.system()} {platform.release()}")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        epilog="Run from the repo root: .venv/bin/python bench/webhook.py. Needs PostgreSQL and Redis on "
               "127.0.0.1 for the postgres and redis-down backends.",
    )
    parser.add_argument("--parts", default="inprocess,http",
                        help="comma-separated: inprocess, http, profile (cProfile of the in-process pipeline)")
    parser.add_argument("--backends", default=",".join(BACKENDS),
                        help=f"in-process and profile backends, comma-separated from {', '.join(BACKENDS)}")
    parser.add_argument("--http-backends", default="sqlite,postgres",
                        help="backends served by gunicorn (the echo baseline always runs)")
    parser.add_argument("--messages", type=int, default=2000,
                        help="in-process: messages of each kind (help, click) per implementation and backend")
    parser.add_argument("--warmup", type=int, default=100, help="in-process warm-up messages per implementation")
    parser.add_argument("--openids", type=int, default=200, help="distinct senders, round robin")
    parser.add_argument("--rate", type=float, default=200.0, help="HTTP open loop: messages per second")
    parser.add_argument("--duration", type=float, default=10.0, help="HTTP open loop: seconds")
    parser.add_argument("--clients", type=int, default=32, help="HTTP open loop: client connections")
    parser.add_argument("--closed-duration", type=float, default=5.0, help="HTTP closed loop: seconds")
    parser.add_argument("--concurrency", type=int, default=16, help="HTTP closed loop (and warm-up): clients")
    parser.add_argument("--closed-cap", type=int, default=25000,
                        help="HTTP closed loop: messages prepared (a run ends early when they run out)")
    parser.add_argument("--http-warmup", type=int, default=300, help="HTTP warm-up messages per server")
    parser.add_argument("--profile-top", type=int, default=20, help="profile: rows per table")
    parser.add_argument("--pg-url", default=PG_URL, help="PostgreSQL bench database (created, tables dropped)")
    parser.add_argument("--redis-url", default=REDIS_URL, help="Redis bench database (only this run's keys "
                                                               "are touched)")
    args = parser.parse_args(argv)
    args.parts = [p.strip() for p in args.parts.split(",") if p.strip()]
    args.backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    args.http_backends = [b.strip() for b in args.http_backends.split(",") if b.strip()]
    for part in args.parts:
        if part not in ("inprocess", "http", "profile"):
            parser.error(f"unknown part {part!r}")
    for backend in args.backends + args.http_backends:
        if backend not in BACKENDS:
            parser.error(f"unknown backend {backend!r}")
    if args.messages < 1 or args.rate <= 0 or args.duration <= 0 or args.closed_duration <= 0:
        parser.error("--messages, --rate, --duration and --closed-duration must be positive")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    os.chdir(ROOT)
    started = time.monotonic()
    print(f"## bench/webhook.py\n\n{machine_facts()}")
    print(f"command: .venv/bin/python bench/webhook.py {' '.join(sys.argv[1:]) if argv is None else ' '.join(argv)}"
          .rstrip())
    inproc: list[InprocessResult] = []
    over_http: list[HttpResult] = []
    with tempfile.TemporaryDirectory(prefix="bench-webhook-") as tmp:
        tmpdir = Path(tmp)
        if "inprocess" in args.parts:
            for name in args.backends:
                inproc.append(run_inprocess(name, args, tmpdir))
            print_inprocess(inproc, args)
            sys.stdout.flush()
        if "http" in args.parts:
            over_http.append(run_http("echo", None, args, tmpdir))
            for name in args.http_backends:
                over_http.append(run_http("ours", name, args, tmpdir))
            print_http(over_http, args)
        if inproc or over_http:
            print_aims(inproc, over_http, args)
        if "profile" in args.parts:
            for name in args.backends:
                run_profile(name, args, tmpdir)
    print(f"\n(total {time.monotonic() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
