"""bench/load.py's world and its verdicts: the seeded database, the leader kill, and the checks through the
database and the sandbox's records that nothing was lost or done twice."""

from __future__ import annotations

import os
import signal
import time
from collections import Counter
from typing import Any

from bench.harness import ROOT, fetch_rows, note

price = 0  # fen: the paid article every conversation buys (set by `seed`)
ARTICLE = "梯度下降"


def seed(settings: Any, sandbox: Any, push_followers: int) -> None:
    """Migrate, import the demo catalog, add `push_followers` subscribed followers who wrote and read (the
    round's audience), fit the model."""
    global price
    from catalog.importer import run_import
    from store import recommend
    from store.db import bind, open_database
    from store.migrations import migrate
    from store.models import Article
    from tests.push_helpers import follower

    database = bind(open_database(settings.store.database_url))
    migrate(database)
    with database.connection_context():
        run_import(ROOT / "content" / "demo", progress=False)
        articles = list(Article.select().order_by(Article.id))
        price = Article.get(Article.title.contains(ARTICLE)).price
        for n in range(push_followers):
            follower(sandbox, f"o_push_{n:03d}", read=[articles[n % len(articles)]])
        recommend.configure(settings.recommend)
        recommend.fit()
    database.close_all()


def _table(model_name: str) -> str:
    from store import models, push_models

    model = getattr(models, model_name, None) or getattr(push_models, model_name)
    return f'"{model._meta.table_name}"'


def pushes(sandbox: Any) -> Counter:
    return Counter(m["openid"] for m in sandbox.sent() if m["openid"].startswith("o_push_"))


def _lock_pid(url: str) -> int | None:
    from jobs.leader import LOCK_KEY

    try:
        rows = fetch_rows(url, f"SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND objid = {LOCK_KEY} "
                               "AND granted")
    except Exception:
        return None
    return rows[0][0] if rows else None


def kill_leader(stack: Any) -> dict[str, float]:
    """Wait until the round is under way, SIGKILL the clock that runs it, and time the takeover: until
    another session holds the advisory lock, and until the next push reaches the sandbox."""
    url, sandbox = stack.pg.url, stack.pay.sandbox
    deadline = time.monotonic() + 40
    while sum(pushes(sandbox).values()) < 10 and time.monotonic() < deadline:
        time.sleep(0.1)
    holder = fetch_rows(url, f"SELECT holder FROM {_table('PushRun')} WHERE finished_at IS NULL")
    pid = int(holder[0][0].split(":")[1]) if holder else next(iter(stack.clocks))
    old_lock, before = _lock_pid(url), sum(pushes(sandbox).values())
    killed = time.perf_counter()
    os.kill(pid, signal.SIGKILL)
    stack.clocks.pop(pid).wait(timeout=10)
    took: dict[str, float] = {"pid": pid, "killed": killed, "pushes_before": before}
    while time.perf_counter() - killed < 60 and not ("takeover" in took and "resumed" in took):
        lock = _lock_pid(url)
        if "takeover" not in took and lock is not None and lock != old_lock:
            took["takeover"] = time.perf_counter() - killed
        if "resumed" not in took and sum(pushes(sandbox).values()) > before + 1:
            took["resumed"] = time.perf_counter() - killed
        time.sleep(0.02)
    return took


def _drain(url: str, seconds: float = 90) -> None:
    """Until every outbox row left pending or sending, and every round finished (or `seconds` passed)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        busy = fetch_rows(url, f"SELECT COUNT(*) FROM {_table('Outbox')} WHERE state IN ('pending', 'sending')")[0][0]
        running = fetch_rows(url, f"SELECT COUNT(*) FROM {_table('PushRun')} WHERE finished_at IS NULL")[0][0]
        if not busy and not running:
            return
        time.sleep(1)
    note("outbox or round not finished in time")


def verify(stack: Any, records: list) -> list[str]:
    """Print the checks; returns the failed ones."""
    from dialogs.strings import UNLOCKED_ARTICLE

    url, sandbox = stack.pg.url, stack.pay.sandbox
    _drain(url)
    user, event, order, purchase = (_table(n) for n in ("User", "Event", "Order", "Purchase"))
    rows = lambda sql: fetch_rows(url, sql)  # noqa: E731
    ours = [r for r in records if r.phase != "echo"]
    searches = Counter(r.openid for r in ours if r.step == "search" and r.outcome == "ok")
    searched = f"e.kind = 'search' AND e.payload LIKE '%{ARTICLE}%'"  # not a 「1」 searched while Redis was down
    twice_search = rows(f"SELECT u.openid FROM {event} e JOIN {user} u ON e.user_id = u.id WHERE {searched} "
                        "GROUP BY u.openid HAVING COUNT(*) > 1")
    search_events = rows(f"SELECT COUNT(*) FROM {event} e WHERE {searched}")[0][0]
    orders = dict(rows(f"SELECT o.out_trade_no, o.state FROM {order} o"))
    twice_order = rows(f"SELECT user_id FROM {order} GROUP BY user_id HAVING COUNT(*) > 1")
    per_order = Counter(no for (no,) in rows(f"SELECT o.out_trade_no FROM {purchase} p JOIN {order} o "
                                              "ON p.order_id = o.id"))
    settled = {no for no, ok in stack.notified if ok}
    unsettled = {no for no, ok in stack.notified if not ok} - settled
    lost = [no for no in settled if orders.get(no) != "paid" or per_order[no] != 1]
    paid = [no for no, state in orders.items() if state == "paid"]
    buyers = dict(rows(f"SELECT o.out_trade_no, u.openid FROM {order} o JOIN {user} u ON o.user_id = u.id "
                       "WHERE o.state = 'paid'"))
    unlocks = Counter(m["openid"] for m in sandbox.sent() if m["msgtype"] == "text"
                      and (m.get("content") or "").startswith(UNLOCKED_ARTICLE.strip()[:8]))
    unlock_wrong = [no for no in paid if unlocks[buyers[no]] != 1]
    outbox = dict(rows(f"SELECT state, COUNT(*) FROM {_table('Outbox')} GROUP BY state"))
    pushed = pushes(sandbox)
    push_states = dict(rows(f"SELECT state, COUNT(*) FROM {_table('PushSend')} GROUP BY state"))
    dup_replies = Counter(r.duplicate for r in ours if r.duplicate not in ("", "same"))
    checks = [
        ("messages: search events = searches answered ok, none twice", f"{search_events} events, "
         f"{sum(searches.values())} searches; followers with 2+: {len(twice_search)}", not twice_search
         and search_events == sum(searches.values())),
        ("messages: duplicate deliveries answered with the first reply", f"{sum(r.duplicate == 'same' for r in ours)} "
         f"same; other {dict(dup_replies) or 0}", not dup_replies),
        ("orders: at most one per conversation (确认 delivered twice)", f"{len(orders)} orders; users with 2+: "
         f"{len(twice_order)}", not twice_order),
        ("payments: every settled notification PAID with exactly one purchase", f"{len(settled)} settled, "
         f"{len(lost)} lost or doubled; {len(unsettled)} never got a 2xx", not lost),
        ("payments: no purchase twice", f"max purchases per order {max(per_order.values(), default=0)}",
         max(per_order.values(), default=0) <= 1),
        ("unlocks: each paid order's unlock sent exactly once (sandbox)", f"{len(paid)} paid, {len(unlock_wrong)} "
         f"not once; outbox {outbox}", not unlock_wrong),
        ("pushes: no follower pushed twice (sandbox)", f"{len(pushed)} followers pushed, max "
         f"{max(pushed.values(), default=0)}; ledger {push_states}", max(pushed.values(), default=0) <= 1),
        ("pushes: none lost but the one in flight at the kill", f"{len(pushed)} sent + "
         f"{push_states.get('claimed', 0)} claimed unsent of {len(pushed) + push_states.get('claimed', 0)}",
         push_states.get("claimed", 0) <= 1),
    ]
    print("\n| check | figure | verdict |\n|---|---|---|")
    for what, figure, good in checks:
        print(f"| {what} | {figure} | {'ok' if good else '**FAILED**'} |")
    problems = stack.ours.problems()
    print(f"\nServer log of ours: {dict(problems) or 'clean'}")
    return [what for what, _, good in checks if not good]
