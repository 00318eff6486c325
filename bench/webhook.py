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

The in-process part also runs the cost floor (bench/floor.py: the echo plus one committed insert of the
message id, plus one pipelined Redis round trip on PostgreSQL + Redis) on the same requests, database
and Redis.

Aims (the issues): full pipeline within 10x of bare echo and within 2x of the floor in-process, and on
PostgreSQL + Redis cheaper than with Redis stopped; p99 < 50 ms at 200 messages/s over HTTP.

    .venv/bin/python bench/webhook.py [--parts inprocess,http] [--backends sqlite,postgres,redis-down]
        [--messages 2000] [--rate 200] [--duration 10] [--closed-duration 5] [--concurrency 16]
    .venv/bin/python bench/webhook.py --parts profile --messages 1000   # where the time goes
"""

from __future__ import annotations

import argparse
import cProfile
import itertools
import os
import pstats
import queue
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable
from urllib.parse import urlencode

# Run as a script, this file's folder comes first on sys.path (bench/search.py would shadow the
# `search` package): put the project root in front.
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import http_load  # noqa: E402
from bench.floor import floor_app  # noqa: E402
from bench.harness import (  # noqa: E402
    PARTS, Backend, Dist, Progress, add_backend_options, background_busy, call_wsgi, captured_logs,
    close_database, database_time, fetch_rows, forget_redis_keys, free_port, ms, note, option_list,
    prepare_backend, print_database_calls, print_profile, settings_env, start_report,
)
from bench.http_load import (  # noqa: E402
    GUNICORN_ARGS, Client, Gunicorn, LoadResult, Record, cpu_counters, load_result,
)
from tests import wire  # noqa: E402  (WeChat's wire format, shared with the tests)

TOKEN = "bench-token"
HELP_TEXT = "帮助"
MENU_KEY = "MENU_HELP"
KINDS = ("help", "click")
PG_URL = "postgresql://postgres@127.0.0.1:5432/bench_webhook"
REDIS_URL = "redis://127.0.0.1:6379/14"
BACKENDS = ("sqlite", "postgres", "redis-down")
XML = {"Content-Type": "text/xml"}
AIM_RATIO = 10.0
AIM_FLOOR = 2.0
AIM_P99_MS = 50.0

_MSG_BASE = int(time.time()) * 1_000_000  # MsgIds of this run: unique across runs too
_CT_BASE = int(time.time())  # CreateTime of clicks: base + serial, unique per (openid, CreateTime)
_serial = itertools.count(1)  # shared by every factory: no two messages of a run look alike


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
    if impl == "ours":  # "echo" and "floor" echo
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


def post_message(app: Callable, msg: Msg) -> tuple[int, bytes]:
    """One POST /wechat straight into a WSGI callable, as a WSGI server would make it."""
    return call_wsgi(app, "/wechat", msg.body, XML, msg.qs)


# ---------------------------------------------------------------- backends and settings


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


def count_rows(database_url: str) -> dict[str, int]:
    """Rows in the message record and the event table: each answered message must appear once."""
    from store.models import Event, InboundMessage

    tables = {"inbound": InboundMessage._meta.table_name, "events": Event._meta.table_name}
    return {k: fetch_rows(database_url, f'SELECT COUNT(*) FROM "{t}"')[0][0] for k, t in tables.items()}


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

    backend = prepare_backend(name, args.pg_url, args.redis_url, tmpdir)
    settings = bench_settings(backend)
    background = background_busy()
    note(f"in-process: {backend.label} (machine busy before: {background:.0%})")
    with captured_logs(tmpdir / f"inprocess-{name}.log") as logs:
        app = create_app(settings)
        echo = make_echo_robot(settings.wechat.token).wsgi
        floor, close_floor = floor_app(settings.wechat.token, backend.database_url,
                                       backend.redis_url if backend.name == "postgres" else "",
                                       f"kb:{settings.wechat.appid}:floor")
        apps = (("ours", app), ("echo", echo), ("floor", floor))
        factory = MessageFactory(settings.wechat.token, args.openids)
        bad: Counter = Counter()
        try:
            for impl, wsgi in apps:  # warm-up: imports, first connections, first user rows
                for m in factory.batch(args.warmup):
                    status, body = post_message(wsgi, m)
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
                        status, body = post_message(wsgi, m)
                        samples[(impl, m.kind)].append(clock() - started)
                        bad[impl] += not reply_ok(impl, m.kind, status, body)
                done += len(msgs)
                progress.update(done)
        finally:
            close_database(app.services.database)
            close_floor()
            if backend.name == "postgres":
                forget_redis_keys(backend.redis_url, settings.wechat.appid)
    ours = samples[("ours", "help")] + samples[("ours", "click")]
    return InprocessResult(backend, {key: Dist.of(v) for key, v in samples.items()}, bad,
                           Counter(logs.counts), sum(s > 1.0 for s in ours), background)


def print_inprocess(results: list[InprocessResult], args: argparse.Namespace) -> None:
    print(f"\n### In-process (WSGI callable called directly, no HTTP): ms per message, "
          f"{args.messages} of each kind per implementation\n")
    print("| backend | message | ours mean | ours p50 | ours p99 | ours max | floor mean | floor p50 | floor p99 "
          "| echo mean | echo p50 | ours/floor mean | ours/floor p50 | ours/echo mean | wrong replies (ours/floor/echo) |")
    print("|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
    for r in results:
        for kind in KINDS:
            o, f, e = (r.dists[(impl, kind)] for impl in ("ours", "floor", "echo"))
            label = "帮助 (text)" if kind == "help" else "CLICK MENU_HELP"
            print(f"| {r.backend.label} | {label} | {ms(o.mean)} | {ms(o.p50)} | {ms(o.p99)} | {ms(o.max)} "
                  f"| {ms(f.mean)} | {ms(f.p50)} | {ms(f.p99)} | {ms(e.mean)} | {ms(e.p50)} "
                  f"| {o.mean / f.mean:.2f}x | {o.p50 / f.p50:.2f}x | {o.mean / e.mean:.1f}x "
                  f"| {r.bad['ours']}/{r.bad['floor']}/{r.bad['echo']} |")
    print("\nFloor: the bare echo plus one committed INSERT of the message id into the same database "
          "(bench/floor.py), and on PostgreSQL + Redis one pipelined Redis round trip (SET NX of the seen key, "
          "GET of the state); with Redis stopped the floor has no Redis step.")
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


def send(client: Client, impl: str, msg: Msg) -> str | None:
    """Post one message: None when answered right, else what went wrong."""
    return client.attempt(f"/wechat?{msg.qs}", msg.body, XML, 200,
                          lambda data: reply_ok(impl, msg.kind, 200, data))


def open_loop(port: int, impl: str, msgs: list[Msg], rate: float, clients: int, label: str,
              server: Gunicorn) -> LoadResult:
    """Requests are due at t0 + i/rate whatever happened before; latency counts from the due time."""
    jobs: queue.SimpleQueue = queue.SimpleQueue()
    records: list[Record | None] = [None] * len(msgs)
    pool = [Client(port) for _ in range(clients)]

    def work(client: Client) -> None:
        while True:
            job = jobs.get()
            if job is None:
                break
            i, due = job
            started = time.perf_counter()
            error = send(client, impl, msgs[i])
            records[i] = (due, started, time.perf_counter(), error)
        client.close()

    threads = [threading.Thread(target=work, args=(c,), daemon=True) for c in pool]
    for t in threads:
        t.start()
    progress = Progress(label, len(msgs))
    before = cpu_counters(server)
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
    return load_result("open", rate, records, pool, t0, wall, before, server)


def closed_loop(port: int, impl: str, msgs: list[Msg], clients: int, duration: float, label: str,
                server: Gunicorn, quiet: bool = False) -> LoadResult:
    """`clients` threads, each sending its next message as soon as the last one is answered."""
    return http_load.closed_loop(port, len(msgs), lambda client, i: send(client, impl, msgs[i]), clients, label,
                                 server, seconds=duration, poll=0.25, quiet=quiet)


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
    backend = prepare_backend(name, args.pg_url, args.redis_url, tmpdir) if impl == "ours" else None
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
        worst = max(KINDS, key=lambda k: r.dists[("ours", k)].mean / r.dists[("floor", k)].mean)
        ratio = r.dists[("ours", worst)].mean / r.dists[("floor", worst)].mean
        print(f"| full pipeline within {AIM_FLOOR:g}x of the floor (in-process, mean) | {r.backend.label} "
              f"| {ratio:.2f}x (worst: {worst}) | {'met' if ratio <= AIM_FLOOR and not r.bad['ours'] else 'NOT met'} |")
    by_name = {r.backend.name: r for r in inproc}
    if {"postgres", "redis-down"} <= set(by_name):
        up, down = (sum(by_name[n].dists[("ours", k)].mean for k in KINDS) / 2 for n in ("postgres", "redis-down"))
        print(f"| PostgreSQL + Redis cheaper than PostgreSQL with Redis stopped (mean) | both | {ms(up)} ms vs "
              f"{ms(down)} ms | {'met' if up < down else 'NOT met'} |")
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


def run_profile(name: str, args: argparse.Namespace, tmpdir: Path) -> None:
    from bot import create_app

    backend = prepare_backend(name, args.pg_url, args.redis_url, tmpdir)
    settings = bench_settings(backend)
    note(f"profile: {backend.label}")
    with captured_logs(tmpdir / f"profile-{name}.log"):
        app = create_app(settings)
        factory = MessageFactory(settings.wechat.token, args.openids)
        try:
            for m in factory.batch(args.warmup):
                post_message(app, m)
            msgs = factory.batch(2 * args.messages)
            profiler = cProfile.Profile()
            started = time.perf_counter()
            profiler.enable()
            for m in msgs:
                post_message(app, m)
            profiler.disable()
            wall = time.perf_counter() - started
            more = factory.batch(2 * args.messages)
            timed, plain_wall = database_time(app.services.database, lambda: post_all(app, more), width=60)
        finally:
            close_database(app.services.database)
            if backend.name == "postgres":
                forget_redis_keys(backend.redis_url, settings.wechat.appid)
    print(f"\n### Profile: ours, {backend.label}: {len(msgs)} messages, {wall / len(msgs) * 1000:.2f} ms each "
          f"under cProfile\n")
    print_profile(pstats.Stats(profiler), len(msgs), "message", args.profile_top)
    n = len(more)
    print(f"\nDatabase calls, timed without the profiler ({n} more messages, {plain_wall / n * 1000:.2f} ms each; "
          "statement execution only, building the SQL is not included):\n")
    print_database_calls(timed, n, plain_wall, "message")
    print(f"| all of the above | {sum(map(sum, timed.values())) / n * 1000:.3f} | | "
          f"{sum(map(sum, timed.values())) / plain_wall:.1%} |")


def post_all(app: Callable, msgs: list[Msg]) -> None:
    for m in msgs:
        post_message(app, m)


# ---------------------------------------------------------------- main


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
    add_backend_options(parser, PG_URL, REDIS_URL)
    args = parser.parse_args(argv)
    args.parts = option_list(parser, args.parts, PARTS, "part")
    args.backends = option_list(parser, args.backends, BACKENDS, "backend")
    args.http_backends = option_list(parser, args.http_backends, BACKENDS, "backend")
    if args.messages < 1 or args.rate <= 0 or args.duration <= 0 or args.closed_duration <= 0:
        parser.error("--messages, --rate, --duration and --closed-duration must be positive")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = start_report("bench/webhook.py", argv)
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
