"""One clock, really: the leader lock on both backends, and real processes against PostgreSQL and the
sandbox: two rounds at once send each (follower, day) once; the leader killed mid-round, the other clock
finishes the round without a duplicate."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from jobs.leader import AdvisoryLeader, LeaseLeader
from store.push_models import ClockLease, PushRun, PushSend
from store.recommend import fit
from tests.push_helpers import add_catalog, follower

ROOT = Path(__file__).resolve().parents[1]


def test_a_lease_is_taken_over_once_it_expired_and_fences_the_old_holder(app):
    with app.services.database.connection_context():
        first, second = LeaseLeader(0.3), LeaseLeader(0.3)
        assert first.check() and not second.check()
        assert first.check()  # renewed
        time.sleep(0.25)  # the holder stopped renewing: the lease (2/3 of the interval) runs out
        assert second.check() and second.token == first.token + 1
        assert not first.check() and not first.is_leader  # its token is stale: it leads no more
        second.release()
        assert first.check()
        assert ClockLease.get().holder == first.name


def test_an_advisory_lock_goes_with_its_holders_connection(pg_url):
    first, second = AdvisoryLeader(pg_url), AdvisoryLeader(pg_url)
    try:
        assert first.check() and not second.check()
        first._conn.close()  # the holder's session ends (a killed process): the lock is free at once
        assert not first.check()
        deadline = time.monotonic() + 10  # the server frees the lock as the closed session's backend exits
        while not second.check():
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert second.is_leader
    finally:
        first.release()
        second.release()


# ---------------------------------------------------------------- real processes


@pytest.fixture
def pg_settings(request, tmp_path):
    from tests.conftest import make_settings

    return make_settings("postgres", tmp_path, request)


@pytest.fixture
def world(pg_settings):
    """The sandbox, the database with 60 followers who wrote, and a fitted model."""
    from sandbox.api import SandboxServer
    from store.db import bind, open_database
    from store.migrations import migrate

    wechat = pg_settings.wechat
    server = SandboxServer(wechat.appid, wechat.appsecret, wechat.token, wechat.encoding_aes_key).start()
    database = bind(open_database(pg_settings.store.database_url))
    migrate(database)
    with database.connection_context():
        articles = add_catalog()
        for n in range(60):
            follower(server, f"o_f{n:03d}", read=articles[n % 3: n % 3 + 1])
        fit()
    yield server, pg_settings, database
    server.stop()
    database.close_all()  # the pool's connections: PostgreSQL's are shared by every test run on the machine


def environment(settings, sandbox, **push) -> dict[str, str]:
    wechat, store = settings.wechat, settings.store
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOT_")}
    env.update({
        "BOT_WECHAT_TOKEN": wechat.token, "BOT_WECHAT_APPID": wechat.appid, "BOT_WECHAT_APPSECRET": wechat.appsecret,
        "BOT_WECHAT_ENCODING_AES_KEY": wechat.encoding_aes_key, "BOT_WECHAT_API_BASE_URL": sandbox.url,
        "BOT_SITE_SECRET_KEY": settings.site.secret_key, "BOT_SITE_BASE_URL": settings.site.base_url,
        "BOT_STORE_DATABASE_URL": store.database_url, "BOT_STORE_REDIS_URL": store.redis_url,
        "BOT_PUSH_QUIET_START": "0", "BOT_PUSH_QUIET_END": "0",
    })
    env.update({f"BOT_PUSH_{key.upper()}": str(value) for key, value in push.items()})
    return env


def start(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "bot.py", *args], cwd=ROOT, env=env, stdout=log.open("w"),
                            stderr=subprocess.STDOUT)


def pushes_per_follower(sandbox) -> Counter:
    return Counter(m["openid"] for m in sandbox.sent() if m["msgtype"] == "news")


def test_two_rounds_at_once_send_each_follower_once(world, tmp_path):
    sandbox, settings, database = world
    env = environment(settings, sandbox, rate=100)
    rounds = [start(["push"], env, tmp_path / f"round{n}.log") for n in range(2)]
    for process in rounds:
        assert process.wait(timeout=120) == 0, (tmp_path / "round0.log").read_text()[-2000:]
    assert pushes_per_follower(sandbox) == Counter({f"o_f{n:03d}": 1 for n in range(60)})
    with database.connection_context():
        runs = list(PushRun.select())
        assert len(runs) == 2 and sum(run.sent for run in runs) == 60
        assert PushSend.select().where(PushSend.state == PushSend.SENT).count() == 60


def _fire_in(seconds: int) -> str:
    """A six-field cron line (seconds first) that fires once, `seconds` from now, in Shanghai time."""
    at = dt.datetime.now(ZoneInfo("Asia/Shanghai")) + dt.timedelta(seconds=seconds)
    return f"{at.second} {at.minute} {at.hour} * * *"


def test_the_leader_killed_mid_round_the_other_clock_finishes_it(world, tmp_path):
    sandbox, settings, database = world
    env = environment(settings, sandbox, rate=15, leader_interval=1, schedule=_fire_in(25))
    clocks = {process.pid: process for process in
              (start(["clock"], env, tmp_path / f"clock{n}.log") for n in range(2))}
    try:
        deadline = time.monotonic() + 60
        while sum(pushes_per_follower(sandbox).values()) < 15:  # the round is under way
            assert time.monotonic() < deadline, (tmp_path / "clock0.log").read_text()[-3000:]
            time.sleep(0.1)
        with database.connection_context():
            (running,) = PushRun.select()
        leader = int(running.holder.split(":")[1])
        clocks.pop(leader).send_signal(signal.SIGKILL)
        while True:
            with database.connection_context():
                done = PushRun.select().where(PushRun.finished_at.is_null(False)
                                              & PushRun.resumed_from.is_null(False)).first()
            if done is not None:
                break
            assert time.monotonic() < deadline + 30, (tmp_path / "clock1.log").read_text()[-3000:]
            time.sleep(0.2)
    finally:
        for process in clocks.values():
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=20)
    counts = pushes_per_follower(sandbox)
    assert max(counts.values()) == 1  # never twice
    with database.connection_context():
        claimed_unsent = PushSend.select().where(PushSend.state == PushSend.CLAIMED).count()
        assert done.resumed_from == running.id and done.sent > 0
    # the send in flight at the kill stays claimed, whether or not WeChat had received it: at most one lost
    assert claimed_unsent <= 1
    assert 60 - claimed_unsent <= len(counts) <= 60


def test_the_command_line_dry_run_limit_and_status(world, tmp_path):
    sandbox, settings, database = world
    env = environment(settings, sandbox, rate=100)

    def run(*args: str) -> str:
        done = subprocess.run([sys.executable, "bot.py", *args], cwd=ROOT, env=env, capture_output=True,
                              text=True, timeout=120)
        assert done.returncode == 0, done.stderr[-2000:]
        return done.stdout

    planned = run("push", "--dry-run").splitlines()
    assert len(planned) == 61 and planned[-1].startswith("would send 60 of 60 eligible")
    assert all(line.startswith("o_f") and "《" in line for line in planned[:-1])
    assert pushes_per_follower(sandbox) == Counter()  # nothing sent
    assert "sent 5," in run("push", "--limit", "5")
    assert len(pushes_per_follower(sandbox)) == 5
    status = run("push", "status")
    assert "personal" in status and "eligible 5, sent 5, failed 0" in status
    assert "audience 0" in run("push", "broadcast", "--dry-run")  # everyone here can be reached personally
