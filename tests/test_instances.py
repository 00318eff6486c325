"""More than one machine: two bot instances (separate processes, separate ports) and RQ workers sharing
one PostgreSQL and one Redis. The same message reaching both instances, sequentially or at once, is
handled once and answered alike; the same payment notification reaching both fulfils once and the
unlock reaches the follower once; a push round fanned out to two workers sends each follower one
push, and the round's jobs run again (as after a worker died) send nothing more."""

from __future__ import annotations

import threading
import time
import uuid

import pytest
import requests
from rq import Worker

from jobs import push_round
from jobs.queue import enqueue, job_queue
from sandbox.api import SandboxServer
from sandbox.pay import ManualScheduler
from sandbox.sender import Sender
from store import orders, queries
from store.db import bind, open_database
from store.migrations import migrate
from store.models import Article, Event, InboundMessage, Order, Purchase, User, utcnow
from tests import wire
from tests.conftest import make_settings, with_pay
from tests.instances import BotProcess, Instance
from tests.push_helpers import NO_QUIET, add_catalog, at_local_hour, follower, pushes_to


@pytest.fixture
def base(tmp_path, request):
    return make_settings("postgres", tmp_path, request)


@pytest.fixture
def sandbox(base):
    wechat = base.wechat
    server = SandboxServer(wechat.appid, wechat.appsecret, wechat.token, wechat.encoding_aes_key).start()
    yield server
    server.stop()


@pytest.fixture
def shared(base, tmp_path, sandbox, merchant):
    """PostgreSQL + Redis settings with pay, and a queue of this test's own; the models bound here too."""
    settings = base.replace(wechat={"api_base_url": sandbox.url},
                            jobs={"queue": f"test-{uuid.uuid4().hex[:12]}", "chunk": 3})
    settings = with_pay(settings, sandbox, merchant, tmp_path / "platform", scheduler=ManualScheduler())
    database = bind(open_database(settings.store.database_url))
    migrate(database)
    with database.connection_context():
        yield settings


@pytest.fixture
def instances(shared, tmp_path):
    started = []
    try:
        for n in range(2):
            started.append(Instance(shared, tmp_path / f"instance{n}.log").start())
        yield started
    finally:
        for instance in started:
            instance.stop()


@pytest.fixture
def workers(shared, tmp_path):
    started = [BotProcess(shared, ["worker"], tmp_path / f"worker{n}.log").start() for n in range(2)]
    queue = job_queue(shared)
    assert eventually(lambda: Worker.count(queue=queue) == 2, 120), started[0].log_tail()  # both booted
    yield started
    for worker in started:
        worker.stop()


def text_events(openid: str) -> int:
    return Event.select().join(User).where((Event.kind == "text") & (User.openid == openid)).count()


def test_one_message_delivered_to_both_instances_in_turn_is_handled_once(shared, instances):
    xml = wire.text_xml("o_seq", "帮助", msg_id=71)
    replies = [wire.post(instances[n % 2].url, shared.wechat.token, xml) for n in range(4)]
    assert len({r.text for r in replies}) == 1 and "帮助" in wire.content(replies[0])
    assert text_events("o_seq") == 1


def test_one_message_delivered_to_both_instances_at_once_is_handled_once(shared, instances):
    xml = wire.text_xml("o_con", "反馈", msg_id=72)
    start, replies = threading.Barrier(8), []

    def deliver(n: int) -> None:
        start.wait(10)
        replies.append(wire.post(instances[n % 2].url, shared.wechat.token, xml))

    threads = [threading.Thread(target=deliver, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len(replies) == 8 and len({r.text for r in replies}) == 1, {r.text for r in replies}
    assert "对作者说" in wire.content(replies[0])
    assert text_events("o_con") == 1
    assert InboundMessage.select().count() == 1


def test_a_notification_to_both_instances_fulfils_once_and_unlocks_once(shared, sandbox, instances, workers):
    from tests.test_payments import Notifier

    wechat = shared.wechat
    sender = Sender(f"{instances[0].url}/wechat", wechat.token, wechat.appid, wechat.encoding_aes_key,
                    mode="safe", server=sandbox)
    assert sender.text("o_buyer", "帮助").status == 200  # the follower wrote: a message grant
    article = Article.create(slug="paid", title="付费文章：两台机器", summary="摘要",
                             body="前言。\n\n<!-- 试读至此 -->\n\n付费正文。", price=990)
    order = orders.create(queries.touch_user("o_buyer"), article, None, 990, article.title, 1800, utcnow())
    notifier = Notifier(instances[0], sandbox, wechat.appid)
    headers, body = notifier.success(order)
    answers = []

    def deliver(n: int) -> None:
        answers.append(requests.post(f"{instances[n % 2].url}/pay/notify", data=body, headers=headers, timeout=30))

    threads = [threading.Thread(target=deliver, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert [a.status_code for a in answers] == [204] * 8
    assert Order.get_by_id(order.id).state == "paid"
    assert Purchase.select().where(Purchase.order == order.id).count() == 1
    assert eventually(lambda: any((m["content"] or "").startswith("✅") for m in sandbox.sent("o_buyer")))
    unlocks = [m for m in sandbox.sent("o_buyer") if (m["content"] or "").startswith("✅")]
    assert len(unlocks) == 1


def test_a_round_through_two_workers_sends_each_push_once_and_a_rerun_sends_nothing(shared, sandbox, workers):
    from bot import build_services

    services = build_services(shared.replace(push=NO_QUIET))
    articles = add_catalog()
    openids = [f"o_f{n}" for n in range(8)]
    for n, openid in enumerate(openids):
        follower(sandbox, openid, read=articles[n % 3:n % 3 + 1])
    when = at_local_hour(20)
    run = push_round.run_round(services, clock=lambda: when, progress=False)
    assert (run.eligible, run.sent, run.failed) == (8, 8, 0), workers[0].log_tail()
    assert [len(pushes_to(sandbox, openid)) for openid in openids] == [1] * 8
    again = [enqueue(services.queue, push_round.push_chunk, run.id, run.day, run.slot, [item])
             for item in [push_round.Planned(u.id, u.openid, articles[0].id, "再来一次", "")
                          for u in User.select().where(User.openid.in_(openids))]]
    assert eventually(lambda: all(job.get_status(refresh=True) == "finished" for job in again))
    assert [job.return_value() for job in again] == [["done"]] * 8  # the claim rows hold
    assert [len(pushes_to(sandbox, openid)) for openid in openids] == [1] * 8


def eventually(condition, timeout: float = 60.0) -> bool:
    """True once `condition()` holds (polled), False if it never did within `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return condition()


def test_a_queue_needs_redis_and_a_worker_needs_a_queue(tmp_path, capsys):
    from cli import main
    from settings import SettingsError

    settings = make_settings("sqlite", tmp_path, None)
    with pytest.raises(SettingsError, match="jobs.queue needs store.redis_url"):
        settings.replace(jobs={"queue": "bot"}).check()
    config = tmp_path / "bot.toml"
    config.write_text(f'[wechat]\ntoken = "t"\nappid = "wx1"\n[site]\nsecret_key = "k"\n'
                      f'[store]\ndatabase_url = "{settings.store.database_url}"\n', encoding="utf-8")
    assert main(["--config", str(config), "worker", "--burst"]) == 2
    assert "jobs.queue is empty" in capsys.readouterr().err
