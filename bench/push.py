"""Benchmark the personal push round for 100,000 eligible followers against the sandbox.

Setup: a catalog of THUCNews titles (../shared/data/thucnews/dev.txt, the first `--articles`), N
subscribed followers each with a message grant in the sandbox and in the bot's ledger and three views
in one news class (so every profile is real), a fitted model (store.recommend.fit).

Part `choose` (nothing sent): `jobs.push_round.plan` for every follower (the audience queries, the
eligibility rules, the recommender's batch with the 30-day exclusion), against a baseline in the same
process: `Recommendations.batch` alone over the same ids. "eligibility adds" = plan minus batch.

Part `send`: claim + ledger charge + customer-service news card + settle for `--sends` followers through
the sandbox, (a) unthrottled, against the baseline `WechatGateway.send_news` alone to the same number of
other followers, and (b) at the configured `push.rate`, to show the rate limiter holds it.

    .venv/bin/python bench/push.py [--followers 100000] [--articles 2000] [--sends 400] [--rate 20]
        [--pg-url postgresql://postgres@127.0.0.1:5432/bench_push]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.harness import ROOT, note, prepare_backend, start_report  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "thucnews"
PG_URL = "postgresql://postgres@127.0.0.1:5432/bench_push"


def seed(followers: int, articles: int, sandbox, database) -> list[int]:
    """Articles, followers (bulk), their grants in both places and three views each; returns user ids."""
    import json

    from gateways import rules
    from store.models import Article, Event, User, utcnow
    from store.push_models import SendGrant

    lines = (DATA / "dev.txt").read_text(encoding="utf-8").splitlines()[:articles]
    now = utcnow()
    by_class: dict[str, list[int]] = {}
    with database.atomic():
        for n, line in enumerate(lines):
            title, label = line.rsplit("\t", 1)
            article = Article.create(slug=f"t{n}", title=title[:200], summary=title, body=title,
                                     tags=json.dumps([label]))
            by_class.setdefault(label, []).append(article.id)
    quota, lifetime = rules.GRANTS[rules.MESSAGE]
    classes = sorted(by_class)
    for start in range(0, followers, 5000):
        batch = range(start, min(followers, start + 5000))
        with database.atomic():
            User.insert_many([{"openid": f"o_bench{i:06d}", "subscribed": True, "first_seen": now,
                               "last_interaction": now} for i in batch]).execute()
            ids = dict(User.select(User.openid, User.id).where(User.openid.in_([f"o_bench{i:06d}" for i in batch]))
                       .tuples())
            SendGrant.insert_many([{"user": ids[f"o_bench{i:06d}"], "kind": rules.MESSAGE, "quota": quota,
                                    "used": 0, "expires_at": now + lifetime} for i in batch]).execute()
            Event.insert_many([{"user": ids[f"o_bench{i:06d}"], "kind": "view", "payload": "{}", "created_at": now,
                                "article_id": by_class[classes[i % len(classes)]][(i // len(classes) + k) % len(
                                    by_class[classes[i % len(classes)]])]}
                               for i in batch for k in range(3)]).execute()
        for i in batch:
            sandbox.touch(f"o_bench{i:06d}")
        note(f"  [seed] {min(followers, start + 5000)}/{followers} followers")
    return [user_id for (user_id,) in User.select(User.id).order_by(User.id).tuples()]


def sandboxed(pg_url: str, tmpdir: Path):
    """A fresh PostgreSQL + Redis backend, the sandbox, and settings on both (pushes unthrottled)."""
    from sandbox.api import SandboxServer
    from settings import Settings, generate_aes_key

    backend = prepare_backend("postgres", pg_url, "redis://127.0.0.1:6379/13", tmpdir)
    wechat = {"token": "bench", "appid": f"wx{uuid.uuid4().hex[:16]}", "appsecret": "bench-secret",
              "encoding_aes_key": generate_aes_key()}
    sandbox = SandboxServer(wechat["appid"], wechat["appsecret"], wechat["token"], wechat["encoding_aes_key"]).start()
    return sandbox, Settings().replace(
        wechat={**wechat, "api_base_url": sandbox.url}, site={"secret_key": "bench"},
        store={"database_url": backend.database_url, "redis_url": backend.redis_url},
        push={"quiet_start": 0, "quiet_end": 0, "daily_cap": 100, "rate": 1e9})


def send_loop(services, plan, rate: float) -> int:
    """The round's send loop (jobs.push_round.run_round without its PushRun): the pushes sent."""
    from jobs import push_round
    from store.models import utcnow

    limiter, sent = push_round.RateLimit(rate), 0
    for item in plan.pushes:
        limiter.wait()
        sent += push_round.deliver(services, item, plan.day, plan.slot, None, utcnow) == "sent"
    return sent


def timed(run) -> tuple[float, object]:
    started = time.perf_counter()
    result = run()
    return time.perf_counter() - started, result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--followers", type=int, default=100_000)
    parser.add_argument("--articles", type=int, default=2000)
    parser.add_argument("--sends", type=int, default=400)
    parser.add_argument("--rate", type=float, default=20.0, help="push.rate for part (b)")
    parser.add_argument("--pg-url", default=PG_URL)
    args = parser.parse_args(argv)
    started = start_report("bench/push.py", argv)

    from bot import build_services
    from jobs import push_round
    from store import pushes
    from store.models import utcnow
    from store.recommend import fit, recommendations

    sandbox, settings = sandboxed(args.pg_url, Path(tempfile.mkdtemp()))
    services = build_services(settings)
    with services.database.connection_context():
        ids = seed(args.followers, args.articles, sandbox, services.database)
        fit_seconds, summary = timed(lambda: fit())
        note(f"  [fit] {summary.format()}")
        push = services.settings.push
        now = utcnow()
        day = push_round.local_time(now, push).date()
        recent = pushes.recently_pushed(day)
        batch_s, _ = timed(lambda: sum(1 for _ in recommendations().batch(ids, k=1, exclude=recent)))
        plan_s, plan = timed(lambda: push_round.plan(push, now, slot=1))
        audience_s, _ = timed(lambda: pushes.audience(day, 1, now, day.replace(day=1)))
        print(f"\nfollowers {len(ids)}, articles {args.articles}, fit {fit_seconds:.1f} s\n")
        print("| part `choose` | seconds | per 1,000 followers |\n|---|---:|---:|")
        print(f"| baseline: `Recommendations.batch` alone, k=1 | {batch_s:.2f} | {1000 * batch_s / len(ids):.2f} s |")
        print(f"| `push_round.plan` (audience + eligibility + batch) | {plan_s:.2f} | {1000 * plan_s / len(ids):.2f} s |")
        print(f"| of which `pushes.audience` (the grouped queries) | {audience_s:.2f} | |")
        print(f"| eligibility adds (plan / batch) | {plan_s - batch_s:+.2f} | ratio {plan_s / batch_s:.2f} |")
        print(f"\neligible {plan.eligible}, planned {len(plan.pushes)}, skipped {dict(plan.skipped)}\n")

        others = [f"o_bench{i:06d}" for i in range(len(ids) - args.sends, len(ids))]
        raw_s, _ = timed(lambda: [services.gateway.send_news(o, "标题", "理由", "http://127.0.0.1/") for o in others])
        first = push_round.plan(push, utcnow(), 2, args.sends)
        fast_s, fast = timed(lambda: send_loop(services, first, 1e9))
        second = push_round.plan(push, utcnow(), 3, min(args.sends, int(args.rate * 15)))
        slow_s, slow = timed(lambda: send_loop(services, second, args.rate))
        raw_rate = len(others) / raw_s
        print("| part `send` | sends | sends/s | vs baseline |\n|---|---:|---:|---:|")
        print(f"| baseline: `WechatGateway.send_news` alone | {len(others)} | {raw_rate:.0f} | 1.00 |")
        print(f"| round, unthrottled (claim + ledger + send + settle) | {fast} | {fast / fast_s:.0f} | "
              f"{fast / fast_s / raw_rate:.2f} |")
        print(f"| round at `push.rate` = {args.rate:g}/s | {slow} | {slow / slow_s:.1f} | (configured {args.rate:g}) |")
        print(f"\n45015/45047 answered by the sandbox: {sandbox.answered('/cgi-bin/message/custom/send', 45015)}/"
              f"{sandbox.answered('/cgi-bin/message/custom/send', 45047)}")
    sandbox.stop()
    print(f"\ntotal {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
