"""The WeChat gateway against the sandbox over real HTTP, with SQLite and the in-memory state store.

The access_token is shared through the database and refreshed under the state store's lock; token
errors are refreshed once and retried once; errcodes become typed exceptions; the timeout holds.
"""

from __future__ import annotations

import datetime as dt
import sys
import threading
from pathlib import Path
from typing import Any, Iterator

import pytest
import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gateways.wechat import (  # noqa: E402
    InvalidToken,
    OutsideWindow,
    QuotaExceeded,
    WechatError,
    WechatGateway,
    WechatUnavailable,
)
from sandbox import SandboxServer  # noqa: E402
from sandbox.wire import Answer  # noqa: E402
from settings import WechatSettings  # noqa: E402
from store import queries  # noqa: E402
from store.credentials import CredentialTokens  # noqa: E402
from store.db import bind, open_database  # noqa: E402
from store.migrations import migrate  # noqa: E402
from store.models import utcnow  # noqa: E402
from store.state import Keys, MemoryStateStore  # noqa: E402

APPID = "wxgatewaytest00001"
SECRET = "gateway-secret-value"
TOKEN = "gateway-token"
USER = "oGatewayUser000000000000001"
SEND = "/cgi-bin/message/custom/send"
FETCH = "/cgi-bin/token"


class CountingSession(requests.Session):
    """A requests session that remembers every path it called."""

    def __init__(self) -> None:
        super().__init__()
        self.paths: list[str] = []

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> requests.Response:
        self.paths.append(requests.utils.urlparse(url).path)
        return super().request(method, url, *args, **kwargs)

    def count(self, path: str) -> int:
        return self.paths.count(path)


@pytest.fixture
def database(tmp_path: Path) -> Iterator[Any]:
    db = bind(open_database("sqlite:///" + str(tmp_path / "gateway.db")))
    migrate(db)
    yield db
    db.close()


@pytest.fixture
def state() -> MemoryStateStore:
    return MemoryStateStore(Keys("test", APPID))


@pytest.fixture
def server() -> Iterator[SandboxServer]:
    sandbox = SandboxServer(APPID, SECRET, TOKEN).start()
    yield sandbox
    sandbox.stop()


@pytest.fixture
def wechat(server: SandboxServer) -> WechatSettings:
    return WechatSettings(token=TOKEN, appid=APPID, appsecret=SECRET, api_base_url=server.url, http_timeout=2.0)


@pytest.fixture
def make_gateway(wechat: WechatSettings, state: MemoryStateStore, database: Any):
    """Gateways as separate processes would hold them: own HTTP session, shared database and lock."""
    made: list[WechatGateway] = []

    def make(settings: WechatSettings | None = None, **kwargs: Any) -> WechatGateway:
        kwargs.setdefault("session", CountingSession())
        gateway = WechatGateway(settings or wechat, CredentialTokens(state), **kwargs)
        made.append(gateway)
        return gateway

    yield make
    for gateway in made:
        gateway.close()


@pytest.fixture
def gateway(make_gateway) -> WechatGateway:
    return make_gateway()


def stored_token(gateway: WechatGateway) -> Any:
    return queries.read_credential(gateway.client.access_token_key)


# ---------------------------------------------------------------- the shared access_token


def test_token_is_fetched_once_and_shared_through_the_database(make_gateway, server: SandboxServer) -> None:
    first, second = make_gateway(), make_gateway()
    token = first.access_token()
    assert second.access_token() == token
    assert first.access_token() == token
    assert server.token_fetches == 1
    assert second.client._http.count(FETCH) == 0
    row = stored_token(first)
    assert row.value == token
    assert dt.timedelta(seconds=7100) < row.expires_at - utcnow() <= dt.timedelta(seconds=7200)


def test_token_is_refreshed_within_five_minutes_of_expiry(gateway: WechatGateway, server: SandboxServer) -> None:
    old = gateway.access_token()
    key = gateway.client.access_token_key
    queries.write_credential(key, old, utcnow() + dt.timedelta(seconds=400))
    assert gateway.access_token() == old  # 400 s left: still fresh
    queries.write_credential(key, old, utcnow() + dt.timedelta(seconds=200))
    new = gateway.access_token()
    assert new != old and server.token_fetches == 2
    assert stored_token(gateway).value == new


def test_expiry_is_judged_by_the_injected_clock(make_gateway, server: SandboxServer) -> None:
    offset = [dt.timedelta(0)]
    gateway = make_gateway(now=lambda: utcnow() + offset[0])
    old = gateway.access_token()
    offset[0] = dt.timedelta(seconds=7200 - 299)
    assert gateway.access_token() != old
    assert server.token_fetches == 2


def test_rejected_token_is_refreshed_once_and_the_call_retried(gateway: WechatGateway,
                                                               server: SandboxServer) -> None:
    server.touch(USER)
    gateway.send_text(USER, "第一条")
    server.revoke_tokens()  # as if someone fetched a new token elsewhere
    gateway.send_text(USER, "第二条")
    assert server.token_fetches == 2
    assert server.calls(SEND) == 3  # first, rejected, retried
    assert [m["content"] for m in server.sent(USER)] == ["第一条", "第二条"]


def test_expired_token_42001_is_refreshed(gateway: WechatGateway, server: SandboxServer) -> None:
    gateway.access_token()
    server.clock.advance(7201)  # WeChat's clock says expired; the database still says fresh
    server.touch(USER)
    gateway.send_text(USER, "过期后")
    assert server.token_fetches == 2 and len(server.sent(USER)) == 1


@pytest.mark.parametrize("code", [40001, 40014, 42001])
def test_token_error_twice_raises_invalid_token(gateway: WechatGateway, server: SandboxServer, code: int) -> None:
    server.touch(USER)
    server.fail_next(SEND, code, times=2)
    with pytest.raises(InvalidToken) as caught:
        gateway.send_text(USER, "x")
    assert caught.value.errcode == code
    assert server.calls(SEND) == 2  # one retry, no recursion
    assert server.token_fetches == 2


def test_a_refresh_finds_another_process_already_refreshed(make_gateway, server: SandboxServer) -> None:
    first, second = make_gateway(), make_gateway()
    rejected = first.access_token()
    server.revoke_tokens()
    server.touch(USER)
    first.send_text(USER, "x")  # refreshes: fetch 2
    fresh = stored_token(first).value
    assert second.tokens.refresh(stale=rejected, rejected=True) == fresh
    assert server.token_fetches == 2
    assert second.client._http.count(FETCH) == 0


def test_concurrent_threads_fetch_once(make_gateway, server: SandboxServer) -> None:
    server.delay(FETCH, 0.05)  # widen the race
    gateways = [make_gateway() for _ in range(8)]
    barrier = threading.Barrier(len(gateways))
    tokens: list[str] = []
    errors: list[BaseException] = []

    def worker(gateway: WechatGateway) -> None:
        try:
            barrier.wait()
            tokens.append(gateway.access_token())
        except BaseException as exc:  # collected for the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(g,)) for g in gateways]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(tokens) == 8 and len(set(tokens)) == 1
    assert server.token_fetches == 1


def test_one_gateway_shared_by_threads_fetches_once(gateway: WechatGateway, server: SandboxServer) -> None:
    server.delay(FETCH, 0.05)
    server.touch(USER)
    server.account.grant_rules["message"] = (50, 48 * 3600)
    server.touch(USER)
    threads = [threading.Thread(target=gateway.send_text, args=(USER, f"并发{i}")) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert server.token_fetches == 1 and len(server.sent(USER)) == 6


def test_lock_held_elsewhere_serves_the_still_valid_token(make_gateway, state: MemoryStateStore,
                                                          server: SandboxServer) -> None:
    gateway = make_gateway(lock_wait=0.05)
    old = gateway.access_token()
    key = gateway.client.access_token_key
    queries.write_credential(key, old, utcnow() + dt.timedelta(seconds=120))  # near expiry, still valid
    with state.lock("access_token", 5, 1):  # another process is refreshing
        assert gateway.access_token() == old
        with pytest.raises(WechatUnavailable):
            gateway.tokens.refresh(stale=old, rejected=True)  # the old one was rejected: nothing to serve
    assert server.token_fetches == 1


def test_failed_fetch_near_expiry_keeps_the_old_token(gateway: WechatGateway, server: SandboxServer) -> None:
    old = gateway.access_token()
    queries.write_credential(gateway.client.access_token_key, old, utcnow() + dt.timedelta(seconds=100))
    server.fail_next(FETCH, -1)
    assert gateway.access_token() == old
    assert gateway.access_token() != old  # next time the fetch works


# ---------------------------------------------------------------- messages, menu, errors


def test_send_text_and_news_reach_the_user(gateway: WechatGateway, server: SandboxServer) -> None:
    server.touch(USER)
    gateway.send_text(USER, "你好")
    gateway.send_news(USER, "《标题》", "摘要", "http://127.0.0.1:8000/read/1?sig=x", "http://127.0.0.1/p.png")
    text, news = server.sent(USER)
    assert text["msgtype"] == "text" and text["content"] == "你好"
    assert news["msgtype"] == "news"
    assert news["articles"] == [{"title": "《标题》", "description": "摘要",
                                 "url": "http://127.0.0.1:8000/read/1?sig=x", "picurl": "http://127.0.0.1/p.png"}]


def test_create_menu(gateway: WechatGateway, server: SandboxServer) -> None:
    menu = {"button": [{"type": "click", "name": "找内容", "key": "MENU_FIND"},
                       {"type": "click", "name": "我的", "key": "MENU_MINE"},
                       {"type": "click", "name": "帮助", "key": "MENU_HELP"}]}
    gateway.create_menu(menu)
    assert server.menu == menu


def test_invalid_menu_is_a_wechat_error(gateway: WechatGateway, server: SandboxServer) -> None:
    with pytest.raises(WechatError) as caught:
        gateway.create_menu({"button": [{"type": "click", "name": "x", "key": "K"}] * 4})
    assert type(caught.value) is WechatError
    assert caught.value.errcode == 40016 and "invalid button size" in caught.value.errmsg


def test_outside_the_window(gateway: WechatGateway) -> None:
    with pytest.raises(OutsideWindow) as caught:
        gateway.send_text(USER, "你好")
    assert caught.value.errcode == 45015


def test_quota_exceeded(gateway: WechatGateway, server: SandboxServer) -> None:
    server.touch(USER)
    for i in range(5):
        gateway.send_text(USER, f"第{i}条")
    with pytest.raises(QuotaExceeded) as caught:
        gateway.send_text(USER, "第六条")
    assert caught.value.errcode == 45047


def test_text_over_2048_bytes_is_refused_before_any_call(gateway: WechatGateway, server: SandboxServer) -> None:
    server.touch(USER)
    exactly = "字" * 682 + "ab"
    gateway.send_text(USER, exactly)
    calls = server.calls(SEND)
    with pytest.raises(ValueError):
        gateway.send_text(USER, exactly + "c")
    with pytest.raises(ValueError):
        gateway.send_text(USER, "")
    assert server.calls(SEND) == calls


def test_system_busy_is_unavailable(gateway: WechatGateway, server: SandboxServer) -> None:
    server.touch(USER)
    server.fail_next(SEND, -1)
    with pytest.raises(WechatUnavailable) as caught:
        gateway.send_text(USER, "x")
    assert caught.value.errcode == -1
    assert server.calls(SEND) == 1  # not retried


@pytest.mark.parametrize("answer, needle", [
    (Answer(502, b"bad gateway", "text/plain"), "HTTP 502"),
    (Answer(200, b"<html>maintenance</html>", "text/html"), "other than JSON"),
])
def test_http_errors_and_garbage_are_unavailable(gateway: WechatGateway, server: SandboxServer,
                                                 answer: Answer, needle: str) -> None:
    gateway.access_token()
    server.routes[("POST", SEND)] = lambda request: answer
    with pytest.raises(WechatUnavailable) as caught:
        gateway.send_text(USER, "x")
    assert needle in caught.value.errmsg


def test_wrong_secret_is_a_wechat_error_and_stores_nothing(make_gateway, wechat: WechatSettings) -> None:
    gateway = make_gateway(WechatSettings(**{**wechat.__dict__, "appsecret": "wrong"}))
    with pytest.raises(WechatError) as caught:
        gateway.access_token()
    assert caught.value.errcode == 40125
    assert stored_token(gateway) is None


def test_timeout_is_honoured_for_api_calls(make_gateway, wechat: WechatSettings, server: SandboxServer) -> None:
    gateway = make_gateway(WechatSettings(**{**wechat.__dict__, "http_timeout": 0.1}))
    token = gateway.access_token()
    server.touch(USER)
    server.delay(SEND, 0.5)
    with pytest.raises(WechatUnavailable) as caught:
        gateway.send_text(USER, "慢")
    assert token not in str(caught.value)


def test_timeout_is_honoured_for_the_token_fetch(make_gateway, wechat: WechatSettings,
                                                 server: SandboxServer) -> None:
    gateway = make_gateway(WechatSettings(**{**wechat.__dict__, "http_timeout": 0.1}))
    server.delay(FETCH, 0.5)
    with pytest.raises(WechatUnavailable) as caught:
        gateway.access_token()
    assert SECRET not in str(caught.value) and caught.value.__cause__ is None
    assert stored_token(gateway) is None


def test_unreachable_wechat_is_unavailable(gateway: WechatGateway, server: SandboxServer) -> None:
    token = gateway.access_token()
    server.stop()
    with pytest.raises(WechatUnavailable) as caught:
        gateway.send_text(USER, "x")
    assert token not in str(caught.value)


def test_token_store_refresh_lock(state: MemoryStateStore, dead_redis_url: str):
    """Held: True; held by another process past the wait: False; no state store at all: True (refresh
    without the lock rather than not at all)."""
    from store.state import RedisStateStore, redis_client

    tokens = CredentialTokens(state)
    with tokens.refresh_lock("access_token", 5, 0.05) as mine:
        assert mine is True
        with tokens.refresh_lock("access_token", 5, 0.05) as theirs:
            assert theirs is False
    with CredentialTokens(RedisStateStore(Keys("t", "wx"), redis_client(dead_redis_url))).refresh_lock(
            "access_token", 5, 0.05) as mine:
        assert mine is True


# ---------------------------------------------------------------- user tags and broadcasts


def test_tags_and_a_broadcast_through_the_gateway(server, gateway) -> None:
    openids = [f"oTagged{i:03d}" for i in range(3)]
    for openid in openids:
        server.touch(openid, "subscribe")
    tag_id = gateway.create_tag("机器学习")
    gateway.rename_tag(tag_id, "深度学习")
    gateway.tag_users(tag_id, openids)
    gateway.untag_users(tag_id, openids[2:])
    assert gateway.list_tags() == [{"id": tag_id, "name": "深度学习", "count": 2}]
    assert gateway.tags_of(openids[0]) == [tag_id] and gateway.tags_of(openids[2]) == []
    msg_id = gateway.broadcast_text(tag_id, "本周推荐")
    assert msg_id == str(server.mass.jobs[0].msg_id)
    assert sorted(m["openid"] for m in server.sent() if m["via"] == "broadcast") == openids[:2]
    with pytest.raises(WechatError) as refused:
        gateway.broadcast_text(tag_id, "同一天第二次")
    assert refused.value.errcode == 45028  # a subscription account: one a day
    with pytest.raises(ValueError):
        gateway.tag_users(tag_id, [f"o{i}" for i in range(51)])  # never more than 50 a call
