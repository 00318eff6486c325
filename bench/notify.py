"""Benchmark `POST /pay/notify`: WeChat Pay's TRANSACTION.SUCCESS notifications, verified and settled.

Two kinds of delivery, each against a baseline measured in the same run on the same notifications:

- `first`: the first delivery of a notification for an order nobody settled yet. The order turns PAID
  and one transaction writes the purchase, the purchase event and the outbox rows of the unlock message.
- `duplicate`: the exact same notification again (WeChat Pay repeats until it sees 2xx): 204, nothing
  written.
- baseline: `PayGateway.parse_notification(headers, body)` alone, on the same notification: verifying the
  SHA256-RSA signature and decrypting the AEAD_AES_256_GCM resource. "settlement adds" is our answer
  minus this.

Notifications are built independently with tests/paywire.py (`cryptography`, from the spec), signed with
the sandbox platform's "WeChat Pay public key" (sandbox.pay: `merchant_keys` + `SandboxServer.enable_pay`,
as tests/conftest.py `with_pay`); the bot verifies in public-key mode and its `pay.gateway_url` points at
the sandbox on loopback (the notify path never calls it). Orders are created straight in the database
(store/orders.py `create`), one follower each (store/queries.py `touch_user`), all for one paid article.
The app has no `wechat.appsecret`, so there is no outbox worker: the unlock rows stay pending and their
delivery to the chat is not part of these figures.

Part `inprocess`: the WSGI callable of `bot.create_app(settings)` called directly, one thread; the
baseline and our answer alternate block by block. Part `http`: gunicorn with the Procfile's settings
(2 workers, 8 threads) serving `bot:wsgi()` configured by BOT_* variables, N keep-alive clients back to
back (closed loop); the baseline there is `bench.notify:parse_only_app()` under the same gunicorn: a
Bottle route that only verifies and decrypts, then answers 204. Part `profile`: cProfile of first
deliveries and the time of each database call (no timing figures). Backends: `sqlite` (SQLite file +
memory state) and `postgres` (PostgreSQL `bench_notify` + Redis db 13). After every run the database is
checked: each order PAID with exactly one purchase, one purchase event and one unlock (its outbox rows),
and the duplicates answered 204 with nothing new written; the exit status is 1 when a check fails.

    .venv/bin/python bench/notify.py [--parts inprocess,http] [--backends sqlite,postgres]
        [--orders 2000] [--duplicates 2000] [--http-orders 2000] [--http-duplicates 2000] [--clients 8]
    .venv/bin/python bench/notify.py --parts profile --backends postgres   # where the time goes
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import hashlib
import itertools
import json
import os
import pstats
import sys
import tempfile
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

# Run as a script, this file's folder comes first on sys.path (bench/search.py would shadow the
# `search` package): put the project root in front.
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import harness, http_load  # noqa: E402
from bench.harness import (  # noqa: E402
    PARTS, Backend, Dist, Progress, add_backend_options, background_busy, call_wsgi, captured_logs,
    close_database, database_time, fetch_rows, forget_redis_keys, ms, note, option_list, prepare_backend,
    print_database_calls, print_profile, proc_cpu, start_report,
)
from bench.http_load import GUNICORN_ARGS, Gunicorn, LoadResult  # noqa: E402

TOKEN = "bench-token"
MCHID = "1900000109"
APIV3_KEY = "0123456789abcdef0123456789abcdef"
PRICE = 990  # fen
PG_URL = "postgresql://postgres@127.0.0.1:5432/bench_notify"
REDIS_URL = "redis://127.0.0.1:6379/13"
BACKENDS = ("sqlite", "postgres")
KINDS = ("first", "duplicate")
KIND_LABELS = {"first": "first delivery (settles)", "duplicate": "duplicate (already settled)"}
RESIGN_AFTER = 200.0  # seconds: a kept notification older than this is signed afresh (window is 300 s)
DATA = ROOT.parent / "shared" / "data" / "thucnews"


# ---------------------------------------------------------------- keys, settings, notifications


@dataclass
class Pay:
    """The sandbox playing WeChat Pay for our merchant, and the key files the bot is configured with."""

    sandbox: Any
    merchant: Any  # sandbox.pay.MerchantKeys
    platform: Any  # sandbox.pay.PlatformKeys
    appid: str

    @classmethod
    def start(cls, folder: Path) -> Pay:
        from sandbox.api import SandboxServer
        from sandbox.pay import ManualScheduler, merchant_keys
        from settings import generate_aes_key

        appid = f"wx{uuid.uuid4().hex[:16]}"
        merchant = merchant_keys(folder / "merchant", MCHID)
        sandbox = SandboxServer(appid, "bench-secret", TOKEN, generate_aes_key()).start()
        try:
            platform = sandbox.enable_pay(MCHID, APIV3_KEY, merchant.public_key_pem(),
                                          "http://127.0.0.1:8000/pay/notify", merchant_serial_no=merchant.serial_no,
                                          folder=str(folder / "platform"), scheduler=ManualScheduler())
        except BaseException:
            sandbox.stop()
            raise
        return cls(sandbox, merchant, platform, appid)

    def stop(self) -> None:
        self.sandbox.stop()


def notify_settings(backend: Backend, pay: Pay):
    """Production defaults, pay on (public-key mode, gateway = the sandbox), no appsecret (no outbox worker)."""
    from settings import Settings, generate_aes_key

    return Settings().replace(
        wechat={"token": TOKEN, "appid": pay.appid, "appsecret": "", "encoding_aes_key": generate_aes_key(),
                "api_base_url": pay.sandbox.url},
        site={"secret_key": "bench-secret-key", "base_url": "http://127.0.0.1:8000"},
        store={"database_url": backend.database_url, "redis_url": backend.redis_url},
        pay={"mchid": MCHID, "apiv3_key": APIV3_KEY, "cert_serial_no": pay.merchant.serial_no,
             "private_key_path": pay.merchant.private_key_path, "public_key_path": pay.platform.public_key_path,
             "public_key_id": pay.platform.public_key_id, "gateway_url": pay.sandbox.url},
    )


def settings_env(settings) -> dict[str, str]:
    """The settings as BOT_<SECTION>_<KEY> variables, for `bot:wsgi()` and `parse_only_app()`."""
    env = harness.settings_env(settings)
    env["BOT_WECHAT_APPSECRET"] = settings.wechat.appsecret
    for key in ("mchid", "apiv3_key", "cert_serial_no", "private_key_path", "public_key_path", "public_key_id",
                "gateway_url"):
        env[f"BOT_PAY_{key.upper()}"] = str(getattr(settings.pay, key))
    return env


@dataclass(frozen=True)
class OrderRef:
    out_trade_no: str
    amount: int
    openid: str


@dataclass
class Note:
    order: OrderRef
    headers: dict[str, str]
    body: bytes
    signed_at: float


class Notes:
    """TRANSACTION.SUCCESS notifications from tests/paywire.py, signed as WeChat Pay (the sandbox platform)."""

    def __init__(self, pay: Pay) -> None:
        from tests import paywire

        self.paywire = paywire
        self.appid = pay.appid
        self.key = paywire.load_private_key(pay.platform.public_key_private_path)
        self.serial = pay.platform.public_key_id

    def success(self, order: OrderRef) -> Note:
        resource = self.paywire.transaction(order.out_trade_no, order.amount, order.openid, MCHID, self.appid)
        headers, body = self.paywire.notification(resource, "TRANSACTION.SUCCESS", APIV3_KEY, self.key, self.serial)
        return Note(order, headers, body, time.time())

    def fresh(self, kept: Note) -> Note:
        """The kept notification while it is well inside the 300 s window, else the same payment signed anew."""
        return kept if time.time() - kept.signed_at < RESIGN_AFTER else self.success(kept.order)


def article_body(chars: int) -> str:
    """A paid article of about `chars` characters: real THUCNews titles as sentences, 5 per paragraph, the
    first paragraph free (the preview marker after it)."""
    titles: list[str] = []
    with contextlib.suppress(OSError):
        for line in (DATA / "dev.txt").read_text(encoding="utf-8").splitlines():
            title = line.split("\t")[0].strip()
            if title:
                titles.append(title)
            if sum(map(len, titles)) > chars:
                break
    if not titles:
        titles = [f"第{i}句：知识付费内容的正文示例，用于基准测试" for i in range(chars // 20 + 1)]
    paragraphs, used = [], 0
    for start in range(0, len(titles), 5):
        paragraph = "，".join(titles[start:start + 5]) + "。"
        paragraphs.append(paragraph)
        used += len(paragraph)
        if used >= chars:
            break
    return paragraphs[0] + "\n\n<!-- 试读至此 -->\n\n" + "\n\n".join(paragraphs[1:])


def seed(database: Any, count: int, article_chars: int, links: Any) -> tuple[list[OrderRef], int]:
    """One paid article and `count` followers with one open order each, in one transaction. Returns the
    orders and how many outbox rows one unlock of this article writes (dialogs/purchase.unlock_messages)."""
    from dialogs.purchase import unlock_messages
    from store import orders, queries
    from store.db import transaction
    from store.models import Article, utcnow

    refs = []
    with database.connection_context():
        with transaction(database):
            article = Article.create(slug=f"bench-{uuid.uuid4().hex[:8]}", title="付费文章：支付通知基准测试",
                                     summary="基准测试用的付费文章", body=article_body(article_chars), price=PRICE)
            now = utcnow()
            for i in range(count):
                user = queries.touch_user(f"o_notify_{uuid.uuid4().hex[:12]}")
                order = orders.create(user, article, None, PRICE, article.title, 1800, now)
                refs.append(OrderRef(order.out_trade_no, order.amount, user.openid))
        probe = orders.find(refs[0].out_trade_no)
        rows = len(unlock_messages(probe, links))
    return refs, rows


# ---------------------------------------------------------------- checking the database


class Db:
    """Plain SQL on the bench database (sqlite3 or psycopg2), independent of the app's connections."""

    def __init__(self, url: str) -> None:
        from store.models import Event, Order, Outbox, Purchase, User

        self.url = url
        self.tables = {"order": Order._meta.table_name, "purchase": Purchase._meta.table_name,
                       "outbox": Outbox._meta.table_name, "event": Event._meta.table_name,
                       "user": User._meta.table_name}

    def rows(self, sql: str) -> list[tuple]:
        return fetch_rows(self.url, sql)

    def t(self, name: str) -> str:
        return f'"{self.tables[name]}"'

    def snapshot(self) -> dict[str, Any]:
        """Row counts of everything a settlement writes, and a digest of every order's settled columns."""
        counts = {name: self.rows(f"SELECT COUNT(*) FROM {self.t(name)}")[0][0]
                  for name in ("order", "purchase", "outbox", "event", "user")}
        orders = self.rows(f"SELECT id, state, transaction_id, paid_at, next_query_at FROM {self.t('order')} "
                           "ORDER BY id")
        digest = hashlib.sha256(repr([tuple(map(str, row)) for row in orders]).encode()).hexdigest()[:16]
        return {**counts, "orders digest": digest}

    def check(self, refs: Sequence[OrderRef], unlock_rows: int) -> list[str]:
        """Problems with `refs` after their first deliveries (empty = exactly once everywhere)."""
        wanted = {r.out_trade_no for r in refs}
        problems: list[str] = []
        state = {no: st for no, st in self.rows(f"SELECT out_trade_no, state FROM {self.t('order')}") if no in wanted}
        not_paid = [no for no in wanted if state.get(no) != "paid"]
        if not_paid:
            problems.append(f"{len(not_paid)} orders not PAID")
        purchases = Counter(no for (no,) in self.rows(
            f"SELECT o.out_trade_no FROM {self.t('purchase')} p JOIN {self.t('order')} o ON p.order_id = o.id"))
        wrong = [no for no in wanted if purchases.get(no) != 1]
        if wrong:
            problems.append(f"{len(wrong)} orders without exactly one purchase")
        unlocks: Counter = Counter()
        for (payload,) in self.rows(f"SELECT payload FROM {self.t('outbox')}"):
            unlocks[json.loads(payload).get("unlock")] += 1
        wrong = [no for no in wanted if unlocks.get(no) != unlock_rows]
        if wrong:
            problems.append(f"{len(wrong)} orders without exactly one unlock ({unlock_rows} outbox rows)")
        events: Counter = Counter()
        for (payload,) in self.rows(f"SELECT payload FROM {self.t('event')} WHERE kind = 'purchase'"):
            events[json.loads(payload).get("order")] += 1
        wrong = [no for no in wanted if events.get(no) != 1]
        if wrong:
            problems.append(f"{len(wrong)} orders without exactly one purchase event")
        return problems


def compare(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[str]:
    return [f"{k} {before[k]} -> {after[k]}" for k in before if before[k] != after[k]]


# ---------------------------------------------------------------- part 1: in-process


def call_notify(app: Callable, headers: Mapping[str, str], body: bytes) -> tuple[int, bytes]:
    """One POST /pay/notify straight into a WSGI callable, as a WSGI server would make it."""
    return call_wsgi(app, "/pay/notify", body, headers)


class Split:
    """Times the two halves of the endpoint on this app instance only (instance attributes, no code
    change): `parse` = the gateway's verify + decrypt inside the request, `settle` = the transaction."""

    def __init__(self, endpoint: Any) -> None:
        self.parse: list[float] = []
        self.settle: list[float] = []
        self.endpoint = endpoint
        self.on = False
        self._wrap(endpoint.pay, "parse_notification", self.parse)
        self._wrap(endpoint, "_settle", self.settle)

    def _wrap(self, target: Any, name: str, into: list[float]) -> None:
        inner = getattr(target, name)

        def timed(*a: Any, **k: Any) -> Any:
            if not self.on:
                return inner(*a, **k)
            started = time.perf_counter()
            try:
                return inner(*a, **k)
            finally:
                into.append(time.perf_counter() - started)

        setattr(target, name, timed)

    def take(self) -> tuple[list[float], list[float]]:
        parse, settle = self.parse[:], self.settle[:]
        self.parse.clear()
        self.settle.clear()
        return parse, settle


@dataclass
class InprocessResult:
    backend: Backend
    dists: dict[tuple[str, str], Dist]  # (kind, "ours" | "baseline" | "inner parse" | "settle") -> seconds
    throughput: dict[str, float]  # kind -> notifications/s, one thread (count / time inside the calls)
    counts: dict[str, int]
    unlock_rows: int
    problems: list[str]
    statuses: dict[str, Counter]
    logs: Counter
    seeding: float
    resigned: int
    background: float


def run_inprocess(name: str, args: argparse.Namespace, tmpdir: Path, pay: Pay) -> InprocessResult:
    from bot import create_app

    backend = prepare_backend(name, args.pg_url, args.redis_url, tmpdir)
    settings = notify_settings(backend, pay)
    background = background_busy()
    note(f"in-process: {backend.label} (machine busy before: {background:.0%})")
    notes = Notes(pay)
    with captured_logs(tmpdir / f"inprocess-{name}.log") as logs:
        app = create_app(settings)
        services = app.services
        try:
            started = time.perf_counter()
            refs, unlock_rows = seed(services.database, args.warmup + args.orders, args.article_chars,
                                     services.pipeline.context.links)
            seeding = time.perf_counter() - started
            note(f"  seeded {len(refs)} orders in {seeding:.1f} s; one unlock = {unlock_rows} outbox rows")
            gateway = services.notify.pay
            statuses: dict[str, Counter] = {k: Counter() for k in KINDS}
            for ref in refs[:args.warmup]:  # imports, first connections, caches
                n = notes.success(ref)
                gateway.parse_notification(n.headers, n.body)
                call_notify(app, n.headers, n.body)
                call_notify(app, n.headers, n.body)
            split = Split(services.notify)
            split.on = True
            split.take()
            samples: dict[tuple[str, str], list[float]] = defaultdict(list)
            clock = time.perf_counter

            def block(kind: str, batch: list[Note], index: int) -> None:
                def ours() -> None:
                    for n in batch:
                        t = clock()
                        status, _ = call_notify(app, n.headers, n.body)
                        samples[(kind, "ours")].append(clock() - t)
                        statuses[kind][status] += 1

                def baseline() -> None:
                    for n in batch:
                        t = clock()
                        gateway.parse_notification(n.headers, n.body)
                        samples[(kind, "baseline")].append(clock() - t)

                split.on = False  # the baseline calls the same gateway: keep it out of the split
                steps = (baseline, ours) if index % 2 == 0 else (ours, baseline)  # alternate who goes first
                for step in steps:
                    split.on = step is ours
                    step()
                split.on = False
                parse, settle = split.take()
                samples[(kind, "inner parse")].extend(parse)
                samples[(kind, "settle")].extend(settle)

            kept: list[Note] = []
            timed = refs[args.warmup:]
            progress = Progress(f"in-process {name} first", len(timed))
            for index, start in enumerate(range(0, len(timed), args.block)):
                batch = [notes.success(ref) for ref in timed[start:start + args.block]]  # signed just before use
                block("first", batch, index)
                kept.extend(batch)
                progress.update(start + len(batch))
            before = Db(backend.database_url).snapshot()
            problems = Db(backend.database_url).check(refs, unlock_rows)
            progress = Progress(f"in-process {name} duplicate", args.duplicates)
            resigned = 0
            again = itertools.cycle(kept)
            for index, start in enumerate(range(0, args.duplicates, args.block)):
                batch = []
                for _ in range(min(args.block, args.duplicates - start)):
                    original = next(again)
                    n = notes.fresh(original)
                    resigned += n is not original
                    batch.append(n)
                block("duplicate", batch, index)
                progress.update(start + len(batch))
            after = Db(backend.database_url).snapshot()
            problems += [f"duplicates changed the database: {d}" for d in compare(before, after)]
            for kind, expected in (("first", len(timed)), ("duplicate", args.duplicates)):
                if statuses[kind] != Counter({204: expected}):
                    problems.append(f"{kind}: answers {dict(statuses[kind])}, expected 204 x {expected}")
        finally:
            close_database(services.database)
            if backend.redis_url:
                forget_redis_keys(backend.redis_url, settings.wechat.appid)
    throughput = {k: len(samples[(k, "ours")]) / sum(samples[(k, "ours")]) for k in KINDS}
    return InprocessResult(backend, {key: Dist.of(v) for key, v in samples.items()}, throughput, after,
                           unlock_rows, problems, statuses, Counter(logs.counts), seeding, resigned, background)


def print_inprocess(results: list[InprocessResult], args: argparse.Namespace) -> None:
    print("\n### In-process (WSGI callable called directly, one thread): ms per notification\n")
    print(f"{args.orders} first deliveries (one order each) and {args.duplicates} duplicates per backend, "
          f"after {args.warmup} warm-up orders; baseline = `PayGateway.parse_notification` on the same "
          f"notification, alternating with ours in blocks of {args.block}.\n")
    print("| backend | delivery | ours mean | ours p50 | ours p99 | ours max | baseline mean | baseline p50 "
          "| baseline p99 | settlement adds (mean) | ours/baseline mean | notifications/s (1 thread) |")
    print("|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
    for r in results:
        for kind in KINDS:
            o, b = r.dists[(kind, "ours")], r.dists[(kind, "baseline")]
            print(f"| {r.backend.label} | {KIND_LABELS[kind]} | {ms(o.mean)} | {ms(o.p50)} | {ms(o.p99)} "
                  f"| {ms(o.max)} | {ms(b.mean)} | {ms(b.p50)} | {ms(b.p99)} | +{ms(o.mean - b.mean)} "
                  f"| {o.mean / b.mean:.2f}x | {r.throughput[kind]:.0f} |")
    print("\nInside our answer (the same requests, timed around the endpoint's two halves on this app instance):\n")
    print("| backend | delivery | whole request mean | verify + decrypt (gateway) mean | settle transaction mean "
          "| settle p50 | settle p99 | the rest (Bottle, request scope, response) |")
    print("|---|---|--:|--:|--:|--:|--:|--:|")
    for r in results:
        for kind in KINDS:
            o, p, s = r.dists[(kind, "ours")], r.dists[(kind, "inner parse")], r.dists[(kind, "settle")]
            print(f"| {r.backend.label} | {KIND_LABELS[kind]} | {ms(o.mean)} | {ms(p.mean)} | {ms(s.mean)} "
                  f"| {ms(s.p50)} | {ms(s.p99)} | {ms(o.mean - p.mean - s.mean)} |")
    print()
    for r in results:
        verdict = "OK: every order PAID with exactly one purchase, one purchase event and one unlock " \
                  f"({r.unlock_rows} outbox rows); duplicates answered 204 and wrote nothing" \
            if not r.problems else "PROBLEMS: " + "; ".join(r.problems)
        print(f"- {r.backend.label}: {verdict}. Answers: first {dict(r.statuses['first'])}, duplicate "
              f"{dict(r.statuses['duplicate'])}. Rows at the end: orders {r.counts['order']}, purchases "
              f"{r.counts['purchase']}, outbox {r.counts['outbox']}, events {r.counts['event']} (warm-up "
              f"included). Seeding {args.warmup + args.orders} orders took {r.seeding:.1f} s."
              + (f" {r.resigned} duplicates were signed afresh (older than {RESIGN_AFTER:.0f} s)." if r.resigned
                 else "") + (f" App log: {dict(r.logs)}." if r.logs else ""))
    print("\nMachine busy (all cores) in the second before each case, with nothing sent: "
          + ", ".join(f"{r.backend.name} {r.background:.0%}" for r in results))


# ---------------------------------------------------------------- part 2: over HTTP


def parse_only_app():
    """gunicorn factory, the HTTP baseline: Bottle, POST /pay/notify -> `PayGateway.parse_notification` ->
    204 (401 when it does not verify). Settings from BOT_* like `bot:wsgi()`. GET /wechat?echostr=...
    echoes, for the readiness probe of bench/http_load.py's Gunicorn."""
    import bottle

    from gateways.pay import PayGateway
    from gateways.pay_results import BadNotification
    from settings import load_settings

    settings = load_settings()
    gateway = PayGateway(settings.pay, settings.wechat.appid, f"{settings.site.base_url}/pay/notify")
    app = bottle.Bottle()

    @app.get("/wechat")
    def ready():
        return bottle.request.query.get("echostr", "")

    @app.post("/pay/notify")
    def notify():
        headers = {name: value for name, value in bottle.request.headers.items()}
        try:
            gateway.parse_notification(headers, bottle.request.body.read())
        except BadNotification:
            bottle.response.status = 401
            return ""
        bottle.response.status = 204
        return ""

    return app


def postgres_cpu() -> float:
    """CPU seconds of every `postgres` process on the machine (other sessions' too), from /proc."""
    total = 0.0
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if (entry / "comm").read_text().strip() == "postgres":
                    total += proc_cpu(int(entry.name))
    return total


def closed_loop(port: int, batch: list[Note], clients: int, label: str, server: Gunicorn,
                quiet: bool = False) -> LoadResult:
    """`clients` threads, each posting the next notification as soon as the last one is answered, until
    every notification of `batch` was posted once. Adds the gunicorn workers' CPU seconds per answer and
    the CPU of every `postgres` process (share of one core)."""

    def post(client: http_load.Client, i: int) -> str | None:
        return client.attempt("/pay/notify", batch[i].body, batch[i].headers, 204)

    pg0 = postgres_cpu()
    result = http_load.closed_loop(port, len(batch), post, clients, label, server, quiet=quiet)
    result.server_cpu_each = result.server_cpu * result.wall / max(1, result.ok)
    result.postgres_cpu = (postgres_cpu() - pg0) / result.wall
    return result


@dataclass
class HttpResult:
    label: str
    backend: Backend | None
    loads: dict[str, LoadResult]  # "first" | "duplicate" | "baseline"
    server_log: Counter
    problems: list[str] = field(default_factory=list)
    unlock_rows: int = 0
    counts: dict[str, Any] = field(default_factory=dict)
    background: float = float("nan")


def run_http_baseline(args: argparse.Namespace, tmpdir: Path, pay: Pay) -> HttpResult:
    """gunicorn serving parse_only_app(): verify + decrypt + 204, the same notifications' kind."""
    backend = Backend("sqlite", f"sqlite:///{tmpdir / 'unused.db'}", "")  # settings need one; never opened
    env = settings_env(notify_settings(backend, pay))
    notes = Notes(pay)
    note(f"HTTP: gunicorn {' '.join(GUNICORN_ARGS)} 'bench.notify:parse_only_app()' (baseline: verify + "
         "decrypt only)")
    with Gunicorn("bench.notify:parse_only_app()", env, tmpdir / "gunicorn-baseline.log") as server:
        note(f"  listening on 127.0.0.1:{server.port}, workers {server.workers()}")
        fake = [OrderRef(f"KB{int(time.time())}{i:014d}", PRICE, f"o_notify_{i:012d}")
                for i in range(args.http_warmup + args.http_orders)]
        closed_loop(server.port, [notes.success(r) for r in fake[:args.http_warmup]], args.clients,
                    "baseline warm-up", server, quiet=True)
        background = background_busy()
        note(f"  machine busy with nothing sent: {background:.0%}")
        batch = [notes.success(r) for r in fake[args.http_warmup:]]
        load = closed_loop(server.port, batch, args.clients, "baseline", server)
    result = HttpResult("baseline: verify + decrypt only (`parse_only_app`)", None, {"baseline": load},
                        server.problems(), background=background)
    if load.errors:
        result.problems.append(f"baseline answers other than 204: {dict(load.errors)}")
    return result


def run_http(name: str, args: argparse.Namespace, tmpdir: Path, pay: Pay) -> HttpResult:
    from store.db import bind, open_database
    from store.migrations import migrate
    from dialogs.context import AppContext

    backend = prepare_backend(name, args.pg_url, args.redis_url, tmpdir)
    settings = notify_settings(backend, pay)
    database = bind(open_database(backend.database_url))  # the bench seeds before gunicorn starts
    try:
        migrate(database)
        refs, unlock_rows = seed(database, args.http_warmup + args.http_orders, args.article_chars,
                                 AppContext.from_settings(settings).links)
    finally:
        close_database(database)
    note(f"HTTP: gunicorn {' '.join(GUNICORN_ARGS)} 'bot:wsgi()' ({backend.label}); {len(refs)} orders seeded")
    if name == "sqlite":
        note("  note: memory state is per process (the notify path does not use it)")
    notes = Notes(pay)
    db = Db(backend.database_url)
    problems: list[str] = []
    loads: dict[str, LoadResult] = {}
    label = f"ours {name}"
    try:
        with Gunicorn("bot:wsgi()", settings_env(settings),
                         tmpdir / f"gunicorn-{name}.log") as server:
            note(f"  listening on 127.0.0.1:{server.port}, workers {server.workers()}")
            warm = [notes.success(r) for r in refs[:args.http_warmup]]
            closed_loop(server.port, warm, args.clients, f"{label} warm-up", server, quiet=True)
            closed_loop(server.port, warm, args.clients, f"{label} warm-up", server, quiet=True)
            background = background_busy()
            note(f"  machine busy with nothing sent: {background:.0%}")
            first = [notes.success(r) for r in refs[args.http_warmup:]]  # signed just before use
            loads["first"] = closed_loop(server.port, first, args.clients, f"{label} first deliveries", server)
            problems += db.check(refs, unlock_rows)
            before = db.snapshot()
            again = itertools.cycle(first)
            dups = [notes.fresh(next(again)) for _ in range(args.http_duplicates)]
            loads["duplicate"] = closed_loop(server.port, dups, args.clients, f"{label} duplicates", server)
            after = db.snapshot()
            problems += [f"duplicates changed the database: {d}" for d in compare(before, after)]
            for kind, load in loads.items():
                if load.errors or load.ok != load.sent:
                    problems.append(f"{kind}: answers other than 204: {dict(load.errors)}")
        result = HttpResult(f"ours: {backend.label}", backend, loads, server.problems(), problems, unlock_rows,
                            after, background)
        return result
    finally:
        if backend.redis_url:
            forget_redis_keys(backend.redis_url, settings.wechat.appid)


def print_http(results: list[HttpResult], args: argparse.Namespace) -> None:
    print(f"\n### Over HTTP: gunicorn {' '.join(GUNICORN_ARGS)}, 127.0.0.1; {args.clients} keep-alive "
          "clients back to back (closed loop)\n")
    print(f"{args.http_orders} first deliveries (one order each) and {args.http_duplicates} duplicates per "
          f"backend, after {args.http_warmup} warm-up orders delivered twice; the baseline server gets "
          f"{args.http_orders} notifications. Latency from send to answer, ms:\n")
    print("| server | delivery | answered 204 / sent | notifications/s | p50 | p99 | max | errors "
          "| client CPU | server CPU | server CPU ms per notification | PostgreSQL CPU | machine busy |")
    print("|---|---|--:|--:|--:|--:|--:|---|--:|--:|--:|--:|--:|")
    for r in results:
        for kind, load in r.loads.items():
            errors = ", ".join(f"{k} {v}" for k, v in load.errors.items()) or "0"
            if load.reconnects:
                errors += f" ({load.reconnects} reconnects)"
            cpu_each = load.server_cpu_each * 1000
            what = "verify + decrypt, 204" if kind == "baseline" else KIND_LABELS[kind]
            print(f"| {r.label} | {what} | {load.ok} / {load.sent} | {load.throughput:.0f} | {ms(load.latency.p50)} "
                  f"| {ms(load.latency.p99)} | {ms(load.latency.max)} | {errors} | {load.client_cpu:.0%} "
                  f"| {load.server_cpu:.0%} | {cpu_each:.2f} | {load.postgres_cpu:.0%} | {load.machine_busy:.0%} |")
    print(f"\nClient and server CPU are shares of one core ({os.cpu_count()} cores = {os.cpu_count() * 100}%); "
          "server CPU ms per notification is the gunicorn workers' CPU time over the phase divided by the "
          "answers; PostgreSQL CPU counts every `postgres` process on the machine (other sessions' too); "
          "machine busy is the share of all cores (gunicorn, this load generator, PostgreSQL, ...). "
          "Machine busy in the second before the load, with nothing sent: "
          + ", ".join(f"{r.label.split(':')[0] if r.backend is None else r.backend.name} {r.background:.0%}"
                      for r in results) + ".")
    for r in results:
        if r.backend is None:
            print(f"- {r.label}: server log: {dict(r.server_log) or 'clean'}"
                  + (f"; PROBLEMS: {'; '.join(r.problems)}" if r.problems else ""))
            continue
        verdict = "OK: every order PAID with exactly one purchase, one purchase event and one unlock " \
                  f"({r.unlock_rows} outbox rows); duplicates answered 204 and wrote nothing" \
            if not r.problems else "PROBLEMS: " + "; ".join(r.problems)
        print(f"- {r.label}: {verdict}. Rows at the end: orders {r.counts.get('order')}, purchases "
              f"{r.counts.get('purchase')}, outbox {r.counts.get('outbox')}, events {r.counts.get('event')} "
              f"(warm-up included); server log: {dict(r.server_log) or 'clean'}")


# ---------------------------------------------------------------- part 3: profile


def run_profile(name: str, args: argparse.Namespace, tmpdir: Path, pay: Pay) -> None:
    from bot import create_app

    backend = prepare_backend(name, args.pg_url, args.redis_url, tmpdir)
    settings = notify_settings(backend, pay)
    note(f"profile: {backend.label}")
    notes = Notes(pay)
    n = args.profile_orders
    with captured_logs(tmpdir / f"profile-{name}.log"):
        app = create_app(settings)
        services = app.services
        try:
            refs, _ = seed(services.database, args.warmup + 3 * n, args.article_chars, services.pipeline.context.links)
            for ref in refs[:args.warmup]:
                x = notes.success(ref)
                call_notify(app, x.headers, x.body)
            profiled = [notes.success(r) for r in refs[args.warmup:args.warmup + n]]
            profiler = cProfile.Profile()
            started = time.perf_counter()
            profiler.enable()
            for x in profiled:
                call_notify(app, x.headers, x.body)
            profiler.disable()
            wall = time.perf_counter() - started
            firsts = [notes.success(r) for r in refs[args.warmup + n:args.warmup + 2 * n]]
            timed_first, wall_first = database_time(services.database, lambda: deliver(app, firsts), width=70)
            timed_dup, wall_dup = database_time(services.database, lambda: deliver(app, firsts), width=70)
            seconds = [notes.success(r) for r in refs[args.warmup + 2 * n:args.warmup + 3 * n]]
            steps_first = step_time(app, seconds)
            steps_dup = step_time(app, seconds)
        finally:
            close_database(services.database)
            if backend.redis_url:
                forget_redis_keys(backend.redis_url, settings.wechat.appid)
    print(f"\n### Profile: first deliveries, {backend.label}: {n} notifications, {wall / n * 1000:.2f} ms each "
          "under cProfile\n")
    print_profile(pstats.Stats(profiler), n, "notification", args.profile_top)
    for kind, steps in (("first deliveries", steps_first), ("duplicates", steps_dup)):
        whole = sum(steps["whole request"])
        print(f"\nSteps of the request, {kind}, timed without the profiler ({n} notifications, "
              f"{whole / n * 1000:.2f} ms each; wrappers on the bench process's functions, no code change; "
              "a step includes the database calls it makes):\n")
        print("| step | ms/notification | calls/notification | share of the request |")
        print("|---|--:|--:|--:|")
        for what, values in steps.items():
            calls = f"{len(values) / n:.1f}" if not what.startswith("other") else ""
            print(f"| {what} | {sum(values) / n * 1000:.3f} | {calls} | {sum(values) / whole:.1%} |")
    for kind, timed, plain in (("first deliveries", timed_first, wall_first), ("duplicates", timed_dup, wall_dup)):
        print(f"\nDatabase calls, {kind}, timed without the profiler ({n} notifications, "
              f"{plain / n * 1000:.2f} ms each; statement execution only, building the SQL is not included):\n")
        print_database_calls(timed, n, plain, "notification")
        every = sum(map(sum, timed.values()))
        print(f"| all of the above | {every / n * 1000:.3f} | {sum(map(len, timed.values())) / n:.1f} "
              f"| {every / plain:.1%} |")


def step_time(app: Any, batch: list[Note]) -> dict[str, list[float]]:
    """Seconds in each step of a notification while `batch` goes through the app: module functions that
    payments/fulfil.py calls (replaced by timing wrappers for the batch, then restored), the endpoint's
    verify + decrypt and settle halves, the commit; "other" = what none of them covers (Bottle, request
    scope, lazy loads of order.user / order.article in settle_paid, BEGIN, logging)."""
    import payments.fulfil as fulfil
    from store import orders, outbox, queries

    services = app.services
    endpoint, database = services.notify, services.database
    timed: dict[str, list[float]] = defaultdict(list)
    patched: list[tuple[Any, str, Any, bool]] = []

    def wrap(target: Any, name: str, label: str) -> None:
        inner = getattr(target, name)
        own = name in vars(target)

        def timed_call(*a: Any, **k: Any) -> Any:
            started = time.perf_counter()
            try:
                return inner(*a, **k)
            finally:
                timed[label].append(time.perf_counter() - started)

        patched.append((target, name, inner, own))
        setattr(target, name, timed_call)

    wrap(endpoint.pay, "parse_notification", "verify + decrypt (`PayGateway.parse_notification`)")
    wrap(orders, "find", "`store/orders.py:find` (SELECT order)")
    wrap(fulfil, "check", "`payments/fulfil.py:check` (+ lazy SELECT of order.user)")
    wrap(orders, "mark_paid", "`store/orders.py:mark_paid` (UPDATE order; SAVEPOINT, INSERT purchase)")
    wrap(queries, "record_event", "`store/queries.py:record_event` (INSERT event)")
    wrap(fulfil, "unlock_messages", "`dialogs/purchase.py:unlock_messages` (render the article, split)")
    wrap(outbox, "enqueue", "`store/outbox.py:enqueue` (INSERT outbox, one per row)")
    wrap(database, "commit", "COMMIT")
    try:
        for x in batch:
            started = time.perf_counter()
            status, _ = call_notify(app, x.headers, x.body)
            timed["whole request"].append(time.perf_counter() - started)
            if status != 204:
                raise RuntimeError(f"profile: answer {status}")
    finally:
        for target, name, inner, own in reversed(patched):
            if own:  # a module's function (or an attribute the instance had): put it back
                setattr(target, name, inner)
            else:  # a method found on the class: drop the instance's wrapper
                target.__dict__.pop(name, None)
    whole = timed.pop("whole request")
    covered = [sum(v) for v in timed.values()]
    out = {"whole request": whole, **timed}
    out["other (Bottle, request scope, lazy loads in settle_paid, BEGIN, log)"] = [sum(whole) - sum(covered)]
    return out


def deliver(app: Callable, batch: list[Note]) -> None:
    """Post every notification of `batch` into the app; each must be answered 204."""
    for x in batch:
        status, _ = call_notify(app, x.headers, x.body)
        if status != 204:
            raise RuntimeError(f"profile: answer {status}")


# ---------------------------------------------------------------- main


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        epilog="Run from the repo root: .venv/bin/python bench/notify.py. Needs PostgreSQL and Redis on "
               "127.0.0.1 for the postgres backend. Progress goes to stderr, the report (Markdown) to stdout.",
    )
    parser.add_argument("--parts", default="inprocess,http",
                        help="comma-separated: inprocess, http, profile (cProfile + database calls)")
    parser.add_argument("--backends", default=",".join(BACKENDS),
                        help=f"comma-separated from {', '.join(BACKENDS)} (every part)")
    parser.add_argument("--orders", type=int, default=2000, help="in-process: first deliveries (orders) per backend")
    parser.add_argument("--duplicates", type=int, default=2000, help="in-process: duplicate deliveries per backend")
    parser.add_argument("--warmup", type=int, default=50, help="in-process: warm-up orders (delivered twice)")
    parser.add_argument("--block", type=int, default=100,
                        help="in-process: ours and the baseline alternate in blocks of this many")
    parser.add_argument("--http-orders", type=int, default=2000, help="HTTP: first deliveries (orders) per backend")
    parser.add_argument("--http-duplicates", type=int, default=2000, help="HTTP: duplicate deliveries per backend")
    parser.add_argument("--http-warmup", type=int, default=100, help="HTTP: warm-up orders (delivered twice)")
    parser.add_argument("--clients", type=int, default=8, help="HTTP: concurrent keep-alive clients")
    parser.add_argument("--no-http-baseline", action="store_true",
                        help="HTTP: skip the parse-only gunicorn baseline")
    parser.add_argument("--article-chars", type=int, default=3000,
                        help="length of the paid article (its unlock is split into outbox rows of <= 2000 bytes)")
    parser.add_argument("--profile-orders", type=int, default=500, help="profile: notifications per table")
    parser.add_argument("--profile-top", type=int, default=20, help="profile: rows per table")
    add_backend_options(parser, PG_URL, REDIS_URL)
    args = parser.parse_args(argv)
    args.parts = option_list(parser, args.parts, PARTS, "part")
    args.backends = option_list(parser, args.backends, BACKENDS, "backend")
    for name in ("orders", "http_orders", "block", "clients", "profile_orders", "article_chars"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")
    for name in ("duplicates", "http_duplicates", "warmup", "http_warmup"):
        if getattr(args, name) < 0:
            parser.error(f"--{name.replace('_', '-')} must not be negative")
    if args.warmup < 1 and "profile" in args.parts:
        args.warmup = 1
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = start_report("bench/notify.py", argv)
    problems: list[str] = []
    with tempfile.TemporaryDirectory(prefix="bench-notify-") as tmp:
        tmpdir = Path(tmp)
        note("keys: merchant and WeChat Pay platform (sandbox)")
        pay = Pay.start(tmpdir)
        try:
            if "inprocess" in args.parts:
                inproc = [run_inprocess(name, args, tmpdir, pay) for name in args.backends]
                print_inprocess(inproc, args)
                sys.stdout.flush()
                problems += [f"in-process {r.backend.name}: {p}" for r in inproc for p in r.problems]
            if "http" in args.parts:
                over_http = [] if args.no_http_baseline else [run_http_baseline(args, tmpdir, pay)]
                over_http += [run_http(name, args, tmpdir, pay) for name in args.backends]
                print_http(over_http, args)
                sys.stdout.flush()
                problems += [f"HTTP {r.label}: {p}" for r in over_http for p in r.problems]
            if "profile" in args.parts:
                for name in args.backends:
                    run_profile(name, args, tmpdir, pay)
        finally:
            pay.stop()
    print(f"\n(total {time.monotonic() - started:.0f} s)")
    for problem in problems:
        note(f"CHECK FAILED: {problem}")
    return 1 if problems else 0  # a failed exactly-once check fails the run


if __name__ == "__main__":
    sys.exit(main())
