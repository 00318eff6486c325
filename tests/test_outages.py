"""Redis or the database going away: the bot says so clearly and loses nothing."""

from __future__ import annotations

import psycopg2
import requests
from playhouse.db_url import parse

from bot import create_app
from tests import wire
from tests.conftest import LiveServer, make_settings


def test_healthz_reports_a_dead_redis_as_degraded(settings, dead_redis_url):
    app = create_app(settings.replace(store={"redis_url": dead_redis_url}))
    server = LiveServer(app)
    try:
        answer = wire.post(server.url, settings.wechat.token, wire.text_xml(msg_id=1))
        health = requests.get(f"{server.url}/healthz", timeout=10)
    finally:
        server.stop()
    assert "可以这样用" in wire.content(answer)  # still answering
    assert health.status_code == 200
    assert health.json()["status"] == "degraded" and health.json()["state"].startswith("degraded")
    assert health.json()["degraded"] == ["state"]  # which dependency


def _terminate_connections(url: str) -> int:
    params = parse(url)
    name = params.pop("database")
    conn = psycopg2.connect(dbname="postgres", **params)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = %s AND pid <> pg_backend_pid()", (name,))
        killed = cur.rowcount
    conn.close()
    return killed


def test_database_connections_killed_under_the_bot(request, tmp_path):
    """PostgreSQL drops every connection: the next message gets an answer, never an empty body, and the
    one after that is handled normally."""
    settings = make_settings("postgres", tmp_path, request)
    app = create_app(settings)
    server = LiveServer(app)
    try:
        assert wire.content(wire.post(server.url, settings.wechat.token, wire.text_xml(msg_id=1)))
        assert _terminate_connections(settings.store.database_url) >= 1
        during = wire.post(server.url, settings.wechat.token, wire.text_xml(msg_id=2))
        after = wire.post(server.url, settings.wechat.token, wire.text_xml(msg_id=3))
    finally:
        server.stop()
    assert during.status_code == 200 and wire.content(during)  # a reply or an apology, never silence
    assert "可以这样用" in wire.content(after)


def test_a_database_refusing_writes_answers_with_an_apology(tmp_path, request):
    settings = make_settings("sqlite", tmp_path, request)
    app = create_app(settings)
    server = LiveServer(app)
    try:
        app.services.database.pragma("query_only", 1, permanent=True)  # every new connection is read-only
        response = wire.post(server.url, settings.wechat.token, wire.text_xml(msg_id=9))
    finally:
        server.stop()
    assert response.status_code == 200
    assert "抱歉" in wire.content(response)


def test_a_database_refusing_connections_gets_the_apology_not_a_500(request, tmp_path):
    """PostgreSQL restarting refuses new connections ("the database system is shutting down"): a message
    arriving then is answered with the apology (WeChat shows a 500 as "该公众号暂时无法提供服务"), and the
    next one, once PostgreSQL is back, normally. Found by bench/load.py's PostgreSQL restart."""
    from tests.conftest import free_port

    settings = make_settings("postgres", tmp_path, request)
    app = create_app(settings)
    server = LiveServer(app)
    database = app.services.database
    try:
        database.close_all()
        port, database.connect_params["port"] = database.connect_params.get("port", 5432), free_port()
        during = wire.post(server.url, settings.wechat.token, wire.text_xml(msg_id=21))
        database.connect_params["port"] = port
        after = wire.post(server.url, settings.wechat.token, wire.text_xml(msg_id=22))
    finally:
        server.stop()
        database.close_all()
    assert during.status_code == 200 and "抱歉" in wire.content(during)
    assert "可以这样用" in wire.content(after)


def test_a_row_sent_while_the_database_went_away_is_settled_once(request, tmp_path):
    """The database drops its connections between WeChat accepting an outbox row and the row's mark: the
    mark is retried on a new connection, so the row is SENT (not left SENDING to hold the user's later
    rows and go out again after `requeue_stuck`). Found by bench/load.py's PostgreSQL restart."""
    from jobs.outbox import deliver_user
    from sandbox.api import SandboxServer
    from store import ledger, outbox, queries

    base = make_settings("postgres", tmp_path, request)
    wechat = base.wechat
    sandbox = SandboxServer(wechat.appid, wechat.appsecret, wechat.token, wechat.encoding_aes_key).start()
    app = create_app(base.replace(wechat={"api_base_url": sandbox.url}))
    database, gateway = app.services.database, app.services.gateway

    class CutAfterSending:
        def __getattr__(self, name):
            return getattr(gateway, name)

        def send_text(self, *args, **kwargs):
            answer = gateway.send_text(*args, **kwargs)
            assert _terminate_connections(base.store.database_url) >= 1
            return answer

    try:
        with database.connection_context():
            sandbox.touch("o_cut")
            user = queries.touch_user("o_cut")
            ledger.record_action(user, "text")
            outbox.enqueue(user, [("text", {"content": "一"}), ("text", {"content": "二"})])
            assert deliver_user(CutAfterSending(), user.id) == 2
        with database.connection_context():
            assert [row.state for row in outbox.rows_of(user)] == ["sent", "sent"]
    finally:
        sandbox.stop()
        database.close_all()
    assert [m["content"] for m in sandbox.sent("o_cut")] == ["一", "二"]  # each once
