"""What the benches share to run the app and report on it: progress lines, statistics, the machine's load,
the backends (a fresh database and state store per case), the app's logs, a request straight into the
WSGI callable, the profile tables and the report's head. The HTTP half (gunicorn, load generator) is
bench/http_load.py.

The bench scripts put the project root on sys.path before importing this module; the app's own modules
are imported where they are used, so a gunicorn worker serving a baseline app does not load them.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import logging
import os
import platform
import pstats
import re
import sqlite3
import sys
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping, Sequence

from ops.ports import free_port

ROOT = Path(__file__).resolve().parents[1]
PARTS = ("inprocess", "http", "profile")
BACKEND_LABELS = {
    "sqlite": "SQLite file + memory state",
    "postgres": "PostgreSQL + Redis",
    "redis-down": "PostgreSQL + Redis stopped",
}


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


# ---------------------------------------------------------------- the machine


def machine_jiffies() -> tuple[int, int]:
    """(busy, total) CPU time of the whole machine so far, from /proc/stat."""
    try:
        values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:9]]
    except (OSError, ValueError, IndexError):
        return 0, 0
    return sum(values) - values[3] - values[4], sum(values)


def background_busy(seconds: float = 1.0) -> float:
    """Share of all cores busy while this benchmark sends nothing: other work on the machine."""
    busy0, total0 = machine_jiffies()
    time.sleep(seconds)
    busy1, total1 = machine_jiffies()
    return (busy1 - busy0) / (total1 - total0) if total1 > total0 else float("nan")


def proc_cpu(pid: int) -> float:
    """CPU seconds (user + system) of one process, from /proc."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


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


def start_report(script: str, argv: list[str] | None) -> float:
    """Work from the project root and print the report's head (title, machine, command line); returns the
    start time, for the total at the end."""
    os.chdir(ROOT)
    started = time.monotonic()
    print(f"## {script}\n\n{machine_facts()}")
    print(f"command: .venv/bin/python {script} {' '.join(sys.argv[1:]) if argv is None else ' '.join(argv)}"
          .rstrip())
    return started


# ---------------------------------------------------------------- command line


def add_backend_options(parser: argparse.ArgumentParser, pg_url: str, redis_url: str) -> None:
    parser.add_argument("--pg-url", default=pg_url, help="PostgreSQL bench database (created, tables dropped)")
    parser.add_argument("--redis-url", default=redis_url,
                        help="Redis bench database (only this run's keys are touched)")


def option_list(parser: argparse.ArgumentParser, text: str, allowed: Sequence[str], what: str) -> list[str]:
    """A comma-separated option as a list; a name not in `allowed` is a usage error."""
    found = [name.strip() for name in text.split(",") if name.strip()]
    for name in found:
        if name not in allowed:
            parser.error(f"unknown {what} {name!r}")
    return found


# ---------------------------------------------------------------- backends


@dataclass
class Backend:
    name: str
    database_url: str
    redis_url: str

    @property
    def label(self) -> str:
        return BACKEND_LABELS[self.name]


def prepare_backend(name: str, pg_url: str, redis_url: str, tmpdir: Path) -> Backend:
    """A fresh database for each use: a new SQLite file, or the PostgreSQL bench database emptied; with
    PostgreSQL, the Redis bench database (checked) or, for `redis-down`, a Redis URL where nothing listens."""
    if name == "sqlite":
        return Backend(name, f"sqlite:///{tmpdir / f'bench-{uuid.uuid4().hex[:8]}.db'}", "")
    reset_postgres(pg_url)
    if name == "redis-down":
        return Backend(name, pg_url, f"redis://127.0.0.1:{free_port()}/0")
    ensure_redis(redis_url)
    return Backend(name, pg_url, redis_url)


def pg_connect(url: str) -> Any:
    """A psycopg2 connection of the bench's own to the database of `url` (not the app's pool)."""
    import psycopg2
    from playhouse.db_url import parse

    params = parse(url)
    params.setdefault("connect_timeout", 3)
    return psycopg2.connect(dbname=params.pop("database"), **params)


def reset_postgres(url: str) -> None:
    """Create the bench database if missing, then drop its tables (the app migrates afresh)."""
    from psycopg2 import sql

    from store.db import ensure_database

    ensure_database(url)
    conn = pg_connect(url)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        tables = [row[0] for row in cur.fetchall()]
        if tables:
            cur.execute(sql.SQL("DROP TABLE {} CASCADE").format(
                sql.SQL(", ").join(sql.Identifier(t) for t in tables)))
    conn.close()


def fetch_rows(url: str, sql: str) -> list[tuple]:
    """Plain SQL on the bench database (sqlite3 or psycopg2), independent of the app's connections."""
    if url.startswith("sqlite"):
        conn = sqlite3.connect(url.removeprefix("sqlite:///"), timeout=10)
        try:
            return conn.execute(sql).fetchall()
        finally:
            conn.close()
    conn = pg_connect(url)
    try:
        with conn.cursor() as cur:
            cur.execute(sql)
            return cur.fetchall()
    finally:
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


def close_database(database: Any) -> None:
    with contextlib.suppress(Exception):
        if hasattr(database, "close_all"):
            database.close_all()
        else:
            database.close()


def settings_env(settings: Any) -> dict[str, str]:
    """The settings a bench changes as BOT_<SECTION>_<KEY> variables, for `bot:wsgi()` under gunicorn."""
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


# ---------------------------------------------------------------- the app in process


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


def call_wsgi(app: Callable, path: str, body: bytes, headers: Mapping[str, str], query: str = "") -> tuple[int, bytes]:
    """One POST straight into a WSGI callable, as a WSGI server would make it (headers as HTTP_*, but
    Content-Type as CONTENT_TYPE)."""
    environ = {
        "REQUEST_METHOD": "POST", "SCRIPT_NAME": "", "PATH_INFO": path, "QUERY_STRING": query,
        "CONTENT_TYPE": headers.get("Content-Type", ""), "CONTENT_LENGTH": str(len(body)),
        "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "8000", "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_HOST": "127.0.0.1:8000", "REMOTE_ADDR": "127.0.0.1", "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO(body), "wsgi.errors": sys.stderr,
        "wsgi.multithread": False, "wsgi.multiprocess": False, "wsgi.run_once": False,
    }
    for name, value in headers.items():
        if name.lower() != "content-type":
            environ["HTTP_" + name.upper().replace("-", "_")] = value
    status: list[str] = []

    def start_response(s: str, response_headers: list, exc_info: Any = None) -> Callable:
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


# ---------------------------------------------------------------- profile


def profile_area(filename: str) -> str:
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


def print_profile(stats: pstats.Stats, count: int, unit: str, top: int) -> None:
    """Where the profiled time went: own time by file or package, the `top` functions by own time, and
    this project's functions by cumulative time; calls counted per `unit` (`count` of them ran)."""
    total = stats.total_tt
    by_area: Counter = Counter()
    rows = []
    for (filename, line, func), (cc, nc, tt, ct, callers) in stats.stats.items():
        by_area[profile_area(filename)] += tt
        rows.append((tt, ct, nc, f"{profile_area(filename)}:{line}({func})", profile_area(filename).endswith(".py")))
    print("Own time by file or package:\n")
    print("| where | share of time |")
    print("|---|--:|")
    for area, tt in by_area.most_common(14):
        print(f"| {area} | {tt / total:.1%} |")
    print(f"\nTop functions by own time (share of {total:.2f} s):\n")
    print(f"| function | own | cumulative | calls/{unit} |")
    print("|---|--:|--:|--:|")
    for tt, ct, nc, where, _ in sorted(rows, reverse=True)[:top]:
        print(f"| {where} | {tt / total:.1%} | {ct / total:.1%} | {nc / count:.1f} |")
    print("\nProject functions by cumulative time:\n")
    print(f"| function | cumulative | calls/{unit} |")
    print("|---|--:|--:|")
    ours = [r for r in rows if r[4]]  # files of this project
    for tt, ct, nc, where, _ in sorted(ours, key=lambda r: r[1], reverse=True)[:top]:
        print(f"| {where} | {ct / total:.1%} | {nc / count:.1f} |")


def database_time(database: Any, run: Callable[[], None], width: int) -> tuple[dict[str, list[float]], float]:
    """Seconds in each database call (a statement by its first `width` characters; connect, begin, commit,
    rollback, close) while `run()` sends requests through the app, and the seconds `run()` took. The
    wrappers live on this database object only, and are gone afterwards."""
    timed: dict[str, list[float]] = defaultdict(list)
    savepoint = re.compile(r'"s[0-9a-f]{32}"')
    calls = ("execute_sql", "connect", "begin", "commit", "rollback", "close")

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
        return "`" + (words[:width] + "…" if len(words) > width else words) + "`"

    wrap("execute_sql", statement)
    for name in calls[1:]:
        wrap(name, lambda *a, _name=name, **k: f"<{_name}>")
    try:
        started = time.perf_counter()
        run()
        return timed, time.perf_counter() - started
    finally:
        for name in calls:
            database.__dict__.pop(name, None)


def print_database_calls(timed: Mapping[str, list[float]], count: int, wall: float, unit: str) -> None:
    """database_time's calls, costliest first, per `unit` (`count` of them took `wall` seconds)."""
    print(f"| call | ms/{unit} | calls/{unit} | share of the {unit} |")
    print("|---|--:|--:|--:|")
    for what, seconds in sorted(timed.items(), key=lambda kv: -sum(kv[1])):
        print(f"| {what} | {sum(seconds) / count * 1000:.3f} | {len(seconds) / count:.1f} "
              f"| {sum(seconds) / wall:.1%} |")
