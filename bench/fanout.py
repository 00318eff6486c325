"""Benchmark push throughput through the queue: one personal round to N followers against the sandbox,
sent (a) in the clock's process (`jobs.queue` empty: the baseline), (b) by 1 and (c) by 2 `bot.py worker`
processes (RQ on Redis, `jobs.chunk` pushes a job), on PostgreSQL + Redis, in one run.

Each round takes a slot of its own, so all three send to the same followers; `push.rate` is unthrottled,
so the figure is what the send path costs (claim + ledger charge + customer-service call + settle, plus the
shared rate counter in Redis and the job round trip when queued). The plan (audience, eligibility and
recommender batch) is timed apart and left out of sends/s. The sandbox runs in this process.

    .venv/bin/python bench/fanout.py [--followers 2000] [--chunk 50]
        [--pg-url postgresql://postgres@127.0.0.1:5432/bench_fanout]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.harness import ROOT, note, settings_env, start_report  # noqa: E402
from bench.push import sandboxed, seed  # noqa: E402

PG_URL = "postgresql://postgres@127.0.0.1:5432/bench_fanout"


def start_workers(settings, count: int, log_dir: Path) -> list[subprocess.Popen]:
    """`count` worker processes, returned once RQ lists them all."""
    from rq import Worker

    from jobs.queue import job_queue

    env = {**{k: v for k, v in os.environ.items() if not k.startswith("BOT_")}, **settings_env(settings),
           "BOT_JOBS_QUEUE": settings.jobs.queue, "BOT_JOBS_CHUNK": str(settings.jobs.chunk),
           "BOT_PUSH_RATE": str(settings.push.rate)}
    procs = [subprocess.Popen([sys.executable, "bot.py", "worker"], cwd=ROOT, env=env,
                              stdout=(log_dir / f"worker{n}.log").open("ab"), stderr=subprocess.STDOUT)
             for n in range(count)]
    queue = job_queue(settings)
    while Worker.count(queue=queue) < count:
        if any(p.poll() is not None for p in procs):
            raise RuntimeError(f"a worker exited; see {log_dir}")
        time.sleep(0.2)
    return procs


def stop(procs: list[subprocess.Popen]) -> None:
    for proc in procs:
        proc.terminate()
    for proc in procs:
        proc.wait(15)


def timed_round(services, slot: int) -> tuple[float, int, int]:
    from jobs import push_round

    started = time.perf_counter()
    run = push_round.run_round(services, slot=slot, progress=False)
    return time.perf_counter() - started, run.sent, run.failed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--followers", type=int, default=2000)
    parser.add_argument("--articles", type=int, default=300)
    parser.add_argument("--chunk", type=int, default=50)
    parser.add_argument("--pg-url", default=PG_URL)
    args = parser.parse_args(argv)
    started = start_report("bench/fanout.py", argv)

    from bot import build_services
    from store.recommend import fit

    log_dir = Path(tempfile.mkdtemp())
    sandbox, base = sandboxed(args.pg_url, log_dir)
    local = build_services(base)
    queued = build_services(base.replace(jobs={"queue": f"bench-{uuid.uuid4().hex[:8]}", "chunk": args.chunk}))
    rows = []
    with local.database.connection_context():
        seed(args.followers, args.articles, sandbox, local.database)
        note(f"  [fit] {fit().format()}")
        plan_s = min(timed_plan(local.settings.push, slot) for slot in (1, 2))
        for label, services, workers, slot in [("in the clock's process (baseline)", local, 0, 3),
                                               ("1 queue worker", queued, 1, 4), ("2 queue workers", queued, 2, 5)]:
            procs = start_workers(queued.settings, workers, log_dir) if workers else []
            try:
                seconds, sent, failed = timed_round(services, slot)
            finally:
                stop(procs)
            rows.append((label, sent, failed, seconds, sent / max(seconds - plan_s, 1e-9)))
            note(f"  [{label}] {sent} sent in {seconds:.1f} s")
    baseline = rows[0][4]
    print(f"\nfollowers {args.followers}, {args.chunk} pushes a job, plan {plan_s:.2f} s (left out of sends/s)\n")
    print("| round sent | sent | failed | round s | sends/s | vs baseline |\n|---|---:|---:|---:|---:|---:|")
    for label, sent, failed, seconds, rate in rows:
        print(f"| {label} | {sent} | {failed} | {seconds:.2f} | {rate:.0f} | {rate / baseline:.2f} |")
    print(f"\nsends the sandbox took: {len([m for m in sandbox.sent() if m['msgtype'] == 'news'])}"
          f" (= {sum(r[1] for r in rows)} expected: nothing twice)")
    sandbox.stop()
    print(f"\ntotal {time.monotonic() - started:.0f} s")
    return 0


def timed_plan(push, slot: int) -> float:
    from jobs import push_round
    from store.models import utcnow

    started = time.perf_counter()
    push_round.plan(push, utcnow(), slot)
    return time.perf_counter() - started


if __name__ == "__main__":
    sys.exit(main())
