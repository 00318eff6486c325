"""WeChat delivers a message up to 3 times; side effects run once and every delivery gets one reply."""

from __future__ import annotations

import logging
import subprocess
import threading
import time

import pytest
from werobot.robot import BaseRoBot

from bot import create_app
from handlers import events
from store.models import Event, InboundMessage
from tests import wire
from tests.conftest import LiveServer, free_port


def slow_robot(started: threading.Event, release: threading.Event) -> BaseRoBot:
    """The real handlers, with a text handler that waits until the test lets it go."""
    robot = BaseRoBot(SESSION_STORAGE=False)

    @robot.text
    def slow(message, session):
        started.set()
        release.wait(10)
        return session.converse()

    for kind, handlers in events.robot._handlers.items():
        for handler, _ in handlers:
            if handler is not events.on_conversation or kind != "text":
                robot.add_handler(handler, kind)
    return robot


def text_events(app, openid="o_user"):
    with app.services.database.connection_context():
        return [e for e in Event.select().where(Event.kind == "text")
                if e.user.openid == openid]


@pytest.fixture
def private_redis():
    """A Redis server of this test's own, so that the test may stop it."""
    port = free_port()
    process = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                                "--appendonly", "no"], stdout=subprocess.DEVNULL)
    url = f"redis://127.0.0.1:{port}/0"
    import redis

    client = redis.Redis.from_url(url)
    for _ in range(100):
        try:
            client.ping()
            break
        except redis.ConnectionError:
            time.sleep(0.05)
    yield url, process
    process.kill()
    process.wait()


def test_three_sequential_deliveries_record_one_event(live, app, settings):
    replies = [wire.post(live.url, settings.wechat.token, wire.text_xml(msg_id=7)).text for _ in range(3)]
    assert replies[0] == replies[1] == replies[2]
    assert "帮助" in wire.content(live_response := wire.post(live.url, settings.wechat.token,
                                                            wire.text_xml(msg_id=7)))
    assert live_response.text == replies[0]
    assert len(text_events(app)) == 1
    metrics = app.services.metrics
    assert metrics.duplicates._value.get() == 3


def _concurrent_deliveries(settings, robot_settings_app_factory, count=3):
    started, release = threading.Event(), threading.Event()
    app = robot_settings_app_factory(slow_robot(started, release))
    server = LiveServer(app)
    try:
        responses = [None] * count
        xml = wire.text_xml(content="反馈", msg_id=4242)

        def deliver(i):
            responses[i] = wire.post(server.url, settings.wechat.token, xml)

        first = threading.Thread(target=deliver, args=(0,))
        first.start()
        assert started.wait(10)  # the first delivery is inside its handler now
        retries = [threading.Thread(target=deliver, args=(i,)) for i in range(1, count)]
        for t in retries:
            t.start()
        time.sleep(0.3)  # let the retries arrive while the first is still running
        release.set()
        for t in [first, *retries]:
            t.join(20)
        return app, responses
    finally:
        server.stop()


def test_concurrent_retries_while_the_first_is_running(settings):
    app, responses = _concurrent_deliveries(settings, lambda robot: create_app(settings, robot=robot))
    bodies = {r.text for r in responses}
    assert len(bodies) == 1, bodies  # the same reply for every delivery
    assert "对作者说" in wire.content(responses[0])
    assert len(text_events(app)) == 1
    with app.services.database.connection_context():
        assert InboundMessage.select().count() == 1


def test_concurrent_retries_with_redis_stopped(settings, private_redis):
    """Redis dead from the start: the database claim alone keeps exactly-once."""
    url, process = private_redis
    settings = settings.replace(store={"redis_url": url})
    process.kill()
    process.wait()
    app, responses = _concurrent_deliveries(settings, lambda robot: create_app(settings, robot=robot))
    assert len({r.text for r in responses}) == 1
    assert "对作者说" in wire.content(responses[0])
    assert len(text_events(app)) == 1
    assert app.services.state.degraded


def test_redis_dying_between_deliveries(settings, private_redis):
    url, process = private_redis
    settings = settings.replace(store={"redis_url": url})
    app = create_app(settings)
    server = LiveServer(app)
    try:
        first = wire.post(server.url, settings.wechat.token, wire.text_xml(msg_id=99))
        process.kill()
        process.wait()
        again = wire.post(server.url, settings.wechat.token, wire.text_xml(msg_id=99))
        other = wire.post(server.url, settings.wechat.token, wire.text_xml(content="你好", msg_id=100))
    finally:
        server.stop()
    assert first.text == again.text
    assert wire.content(other)  # still answering, without Redis
    assert len(text_events(app)) == 2
    health = app.services.state
    assert health.degraded


def test_events_are_deduplicated_by_sender_time_and_event(live, app, settings):
    xml = wire.event_xml("o_fan", "subscribe", "qrscene_spring", create_time=1_700_000_000)
    first = wire.post(live.url, settings.wechat.token, xml)
    second = wire.post(live.url, settings.wechat.token, xml)
    assert first.text == second.text and "欢迎关注" in wire.content(first)
    later = wire.event_xml("o_fan", "subscribe", "", create_time=1_700_000_001)
    assert "欢迎回来" in wire.content(wire.post(live.url, settings.wechat.token, later))
    with app.services.database.connection_context():
        assert Event.select().where(Event.kind == "subscribe").count() == 2


def test_a_raising_handler_is_logged_with_a_request_id_and_apologised_for(settings, caplog):
    robot = BaseRoBot(SESSION_STORAGE=False)

    @robot.text
    def broken(message, session):
        raise RuntimeError("boom")

    app = create_app(settings, robot=robot)
    server = LiveServer(app)
    try:
        with caplog.at_level(logging.ERROR):
            response = wire.post(server.url, settings.wechat.token, wire.text_xml(msg_id=5))
            again = wire.post(server.url, settings.wechat.token, wire.text_xml(msg_id=5))
    finally:
        server.stop()
    request_id = response.headers["X-Request-Id"]
    assert response.status_code == 200
    assert "抱歉" in wire.content(response) and request_id in wire.content(response)
    assert again.text == response.text  # the retry is not run again
    failures = [r for r in caplog.records if r.getMessage() == "handler failed"]
    assert len(failures) == 1 and failures[0].exc_info[1].args == ("boom",)
    from ops.logs import JsonFormatter

    assert f'"request_id": "{request_id}"' in JsonFormatter().format(failures[0])
    assert app.services.metrics.errors._value.get() == 1
    assert text_events(app) == []  # the failed handler's transaction was rolled back
