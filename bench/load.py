"""Load with faults: gunicorn (several workers) on a PostgreSQL and a Redis of the bench's own, two clock
processes, the sandbox playing WeChat and WeChat Pay; followers in purchase conversations at 10x the
expected peak (bench/load_mix.py); the bare WeRoBot echo under the same load in the same run. Then, under
that load, one fault a phase:

- `redis`: redis-server killed (SIGKILL by its pid) and started again on its port `--redis-down` s later;
- `postgres`: `pg_ctl restart -m fast` of the bench's own cluster;
- `worker`: one gunicorn worker of ours killed (SIGKILL; the master starts another);
- `clock`: the clock that holds the leader lock killed (SIGKILL) while its push round is under way.

Expected peak: 3 requests/s. A 知识付费 account this bot serves has ~30,000 followers; its busiest minute
follows the 20:00 push round, sent at `push.rate` = 20/s: if one push in seven is answered at once
that is 3/s, five times the daily average (30,000 x 10% active x 10 messages / 86,400 s = 0.35/s,
x2 for the evening). 10x is 30/s (`--rate`).

Checked afterwards through the database and the sandbox's records: every message handled once (one search
event, one order per conversation, duplicates answered with the first reply), every settled notification
PAID with one purchase and its unlock sent once, no push sent twice, no unlock or push lost.
Phases run on a fixed timeline so that the clocks' round can be scheduled for the `clock` phase.

    .venv/bin/python bench/load.py [--rate 30] [--followers 30] [--cycles 3] [--workers 3]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import load_checks, load_mix  # noqa: E402
from bench.harness import Backend, Dist, ms, note, start_report  # noqa: E402
from bench.http_load import Gunicorn  # noqa: E402
from bench.notify import TOKEN, Notes, OrderRef, Pay, notify_settings, settings_env  # noqa: E402
from bench.servers import OwnPostgres, OwnRedis, pg_bin  # noqa: E402

PHASES = ("echo", "steady", "worker", "redis", "postgres", "clock")
GAP = 4.0  # seconds between phases: the stragglers of one are answered before the next starts
FAULT_AT = 4.0  # seconds into a phase
PUSH_FOLLOWERS, PUSH_RATE = 150, 10


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=float, default=30.0, help="requests/s offered (10x the 3/s peak)")
    parser.add_argument("--followers", type=int, default=30, help="concurrent conversations")
    parser.add_argument("--cycles", type=int, default=3, help="conversations per follower per phase")
    parser.add_argument("--workers", type=int, default=3, help="gunicorn workers of ours")
    parser.add_argument("--redis-down", type=float, default=8.0, help="seconds Redis stays dead")
    parser.add_argument("--pg-bin", default="", help="PostgreSQL's binaries (initdb, pg_ctl)")
    return parser.parse_args(argv)


class Stack:
    """Everything the run starts, stopped by pid in reverse order."""

    def __init__(self, args: argparse.Namespace, folder: Path) -> None:
        self.args, self.folder = args, folder
        self.pg = OwnPostgres(folder / "pg", pg_bin(args.pg_bin))
        self.redis = OwnRedis(folder / "redis")
        self.pay = self.ours = self.echo = None
        self.clocks: dict[int, subprocess.Popen] = {}
        self.notified: list[tuple[str, bool]] = []  # (out_trade_no, settled) of every notification sent

    def start(self) -> None:
        from bench.harness import reset_postgres

        self.pg.start()
        self.redis.start()
        reset_postgres(self.pg.url)
        self.pay = Pay.start(self.folder / "pay")
        settings = notify_settings(Backend("postgres", self.pg.url, self.redis.url), self.pay)
        self.settings = settings.replace(wechat={"appsecret": "bench-secret"})
        self.env = {**settings_env(self.settings), "BOT_WECHAT_APPSECRET": "bench-secret",
                    "BOT_PUSH_QUIET_START": "0", "BOT_PUSH_QUIET_END": "0", "BOT_PUSH_RATE": str(PUSH_RATE)}
        load_checks.seed(self.settings, self.pay.sandbox, PUSH_FOLLOWERS)
        self.ours = Gunicorn("bot:wsgi()", self.env, self.folder / "ours.log", self.args.workers).start(60)
        self.echo = Gunicorn("bench.webhook:echo_app()", self.env, self.folder / "echo.log",
                             self.args.workers).start(60)

    def start_clocks(self, round_at: dt.datetime) -> None:
        """Two `bot.py clock` processes whose personal round fires at `round_at`."""
        local = round_at.astimezone(ZoneInfo("Asia/Shanghai"))
        clock_env = {**self.ours.env, "BOT_PUSH_SCHEDULE": f"{local.second} {local.minute} {local.hour} * * *"}
        for n in range(2):
            proc = subprocess.Popen([sys.executable, "bot.py", "clock"], cwd=ROOT, env=clock_env,
                                    stdout=(self.folder / f"clock{n}.log").open("w"), stderr=subprocess.STDOUT)
            self.clocks[proc.pid] = proc

    def stop(self) -> None:
        for proc in self.clocks.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    proc.kill()
        for server in (self.ours, self.echo):
            if server is not None:
                server.stop()
        if self.pay is not None:
            self.pay.stop()
        self.redis.stop()
        self.pg.stop()


class Faults:
    """The fault of a phase, `FAULT_AT` s in; what it did and when, for the table."""

    def __init__(self, stack: Stack, args: argparse.Namespace) -> None:
        self.stack, self.args = stack, args
        self.window: dict[str, tuple[float, float]] = {}
        self.facts: dict[str, str] = {}

    def run(self, phase: str, start: float) -> None:
        time.sleep(max(0.0, start + FAULT_AT - time.perf_counter()))
        getattr(self, f"_{phase}", lambda: None)()

    def _redis(self) -> None:
        began = time.perf_counter()
        self.stack.redis.kill()
        time.sleep(self.args.redis_down)
        self.stack.redis.start()
        self.window["redis"] = (began, time.perf_counter())
        self.facts["redis"] = f"redis-server killed, started again {time.perf_counter() - began:.1f} s later"

    def _postgres(self) -> None:
        began = time.perf_counter()
        self.stack.pg.restart()
        self.window["postgres"] = (began, time.perf_counter())
        self.facts["postgres"] = f"restart took {time.perf_counter() - began:.1f} s"

    def _worker(self) -> None:
        victim = self.stack.ours.workers()[0]
        os.kill(victim, signal.SIGKILL)
        self.window["worker"] = (time.perf_counter(), time.perf_counter() + 2.0)
        self.facts["worker"] = f"worker pid {victim} killed"

    def _clock(self) -> None:
        took = load_checks.kill_leader(self.stack)
        self.window["clock"] = (took["killed"], took["killed"] + took.get("takeover", 10.0))
        self.facts["clock"] = (f"leader pid {took['pid']} killed after {took['pushes_before']} pushes; lock taken "
                               f"over in {took.get('takeover', float('nan')):.2f} s; first push of the new "
                               f"leader {took.get('resumed', float('nan')):.2f} s after the kill")


def run_phase(phase: str, start: float, stack: Stack, args: argparse.Namespace, faults: Faults,
              notes: Notes, records: list) -> None:
    from web.links import Links

    links = Links(stack.settings.site.base_url, stack.settings.site.secret_key)
    server = stack.echo if phase == "echo" else stack.ours
    steps = len(load_mix.STEPS) * args.cycles
    threads = []
    for slot in range(args.followers):
        openids = [f"o_{phase}_{slot:02d}_{c}" for c in range(args.cycles)]
        due = [start + (slot + k * args.followers) / args.rate for k in range(steps)]
        follower = load_mix.Follower(server.port, TOKEN, lambda no, oid: _note(notes, no, oid),
                                     stack.pay.sandbox.touch, links, stack.notified, echo=phase == "echo")
        threads.append(threading.Thread(target=follower.run, args=(phase, openids, due, records), daemon=True))
    threads.append(threading.Thread(target=faults.run, args=(phase, start), daemon=True))
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)


def _note(notes: Notes, out_trade_no: str, openid: str) -> tuple[dict, bytes]:
    made = notes.success(OrderRef(out_trade_no, load_checks.price, openid))
    return made.headers, made.body


def report(records: list, faults: Faults, args: argparse.Namespace, load: list[float]) -> None:
    print(f"\nOffered {args.rate:g} requests/s (10x a peak of {args.rate / 10:g}/s), {args.followers} followers "
          f"in conversations, {args.workers} gunicorn workers x 8 threads; 1-min load average "
          f"{min(load):.1f}-{max(load):.1f} during the run (2 cores, shared).\n")
    print("| phase | fault | requests | ok | apology | other errors | redelivered | p50 ms | p99 ms | max ms "
          "| in the fault window: answered ok within 1 s |")
    print("|---|---|--:|--:|--:|---|--:|--:|--:|--:|---|")
    for phase in PHASES:
        mine = [r for r in records if r.phase == phase and r.outcome != "no order"]
        done = [r for r in mine if r.answered is not None]
        lat = Dist.of([r.answered - r.due for r in done if r.outcome == "ok"])
        count = Counter(r.outcome for r in mine)
        others = ", ".join(f"{k} {v}" for k, v in count.items() if k not in ("ok", "apology")) or "0"
        window = faults.window.get(phase)
        inside = ""
        if window:
            hit = [r for r in mine if window[0] <= r.due <= window[1]]
            fast = sum(1 for r in hit if r.outcome == "ok" and r.answered - r.due <= 1.0)
            inside = f"{fast}/{len(hit)}"
        print(f"| {phase} | {faults.facts.get(phase, phase if window else '-')} | {len(mine)} | {count['ok']} "
              f"| {count['apology']} | {others} | {sum(r.deliveries > 1 for r in mine)} | {ms(lat.p50)} "
              f"| {ms(lat.p99)} | {ms(lat.max)} | {inside} |")
    by_step = Counter((r.step, r.outcome) for r in records if r.phase != "echo")
    print("\nOutcomes by step (all phases of ours): " + "; ".join(
        f"{step} {outcome} {n}" for (step, outcome), n in sorted(by_step.items())))


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = start_report("bench/load.py", argv)
    phase_seconds = len(load_mix.STEPS) * args.cycles * args.followers / args.rate
    folder = Path(tempfile.mkdtemp(prefix="bench-load-"))
    os.chmod(folder, 0o755)
    stack = Stack(args, folder)
    load: list[float] = []
    try:
        stack.start()
        note(f"stack up after {time.monotonic() - started:.0f} s; phases of {phase_seconds:.0f} s")
        t0_wall = time.time() + 10  # the clocks boot meanwhile
        clock_start = t0_wall + PHASES.index("clock") * (phase_seconds + GAP)
        stack.start_clocks(dt.datetime.fromtimestamp(clock_start + 2, dt.timezone.utc))
        faults, notes, records = Faults(stack, args), Notes(stack.pay), []
        t0 = time.perf_counter() + (t0_wall - time.time())
        for i, phase in enumerate(PHASES):
            start = t0 + i * (phase_seconds + GAP)
            if time.perf_counter() > start:
                note(f"phase {phase} starts late by {time.perf_counter() - start:.1f} s")
            time.sleep(max(0.0, start - time.perf_counter()))
            load.append(os.getloadavg()[0])
            note(f"phase {phase}")
            run_phase(phase, start, stack, args, faults, notes, records)
        report(records, faults, args, load)
        problems = load_checks.verify(stack, records)
        print(f"\nTotal {time.monotonic() - started:.0f} s.")
        note(f"logs (gunicorn, clocks, PostgreSQL, Redis) in {folder}")
        return 1 if problems else 0
    finally:
        stack.stop()


if __name__ == "__main__":
    sys.exit(main())
