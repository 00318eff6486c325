"""The sandbox behaves like WeChat's servers: tokens, customer-service rules, menus, the message sender.

Everything runs over real HTTP on 127.0.0.1. The sender's safe mode is checked against a tiny WSGI app
that decrypts with WeRoBot's MessageCrypt: wechatpy (playing WeChat) and WeRoBot (the bot's stack) must
interoperate.
"""

from __future__ import annotations

import contextlib
import hashlib
import sys
import threading
import time
from pathlib import Path
from socketserver import ThreadingMixIn
from typing import Any, Callable, Iterator
from urllib.parse import parse_qs
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import pytest
import requests
import xmltodict

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from settings import generate_aes_key  # noqa: E402
from sandbox import SandboxServer, Sender  # noqa: E402
from werobot.crypto import MessageCrypt  # noqa: E402
from werobot.replies import Article, ArticlesReply, TextReply  # noqa: E402

APPID = "wxsandboxtest00001"
SECRET = "sandbox-secret"
TOKEN = "sandbox-token"
USER = "oSandboxUser000000000000001"
SEND = "/cgi-bin/message/custom/send"


# ---------------------------------------------------------------- fixtures and helpers


@pytest.fixture
def aes_key() -> str:
    return generate_aes_key()


@pytest.fixture
def server(aes_key: str) -> Iterator[SandboxServer]:
    sandbox = SandboxServer(APPID, SECRET, TOKEN, aes_key).start()
    yield sandbox
    sandbox.stop()


def fetch_token(server: SandboxServer, appid: str = APPID, secret: str = SECRET,
                grant_type: str = "client_credential") -> requests.Response:
    return requests.get(f"{server.url}/cgi-bin/token", timeout=5,
                        params={"grant_type": grant_type, "appid": appid, "secret": secret})


def token_of(server: SandboxServer) -> str:
    return fetch_token(server).json()["access_token"]


def post(server: SandboxServer, path: str, token: str | None, payload: Any) -> dict[str, Any]:
    params = {"access_token": token} if token is not None else {}
    response = requests.post(server.url + path, params=params, json=payload, timeout=5)
    assert response.status_code == 200  # WeChat answers API errors with HTTP 200
    return response.json()


def text(openid: str, content: str) -> dict[str, Any]:
    return {"touser": openid, "msgtype": "text", "text": {"content": content}}


def news(openid: str, count: int = 1) -> dict[str, Any]:
    articles = [{"title": f"标题{i}", "description": "摘要", "url": "http://127.0.0.1/read/1", "picurl": ""}
                for i in range(count)]
    return {"touser": openid, "msgtype": "news", "news": {"articles": articles}}


def errcode(answer: dict[str, Any]) -> int:
    return answer["errcode"]


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _Quiet(WSGIRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass


@contextlib.contextmanager
def serve_wsgi(app: Callable) -> Iterator[str]:
    httpd = make_server("127.0.0.1", 0, app, server_class=_Server, handler_class=_Quiet)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_port}/wechat"
    finally:
        httpd.shutdown()
        httpd.server_close()


class EchoBot:
    """A minimal webhook on WeRoBot's crypto: checks signatures, decrypts, echoes, encrypts the reply."""

    def __init__(self, aes_key: str) -> None:
        self.crypt = MessageCrypt(TOKEN, aes_key, APPID)
        self.received: list[dict[str, Any]] = []  # {"query", "body", "fields"}

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> list[bytes]:
        query = {k: v[-1] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}
        timestamp, nonce = query.get("timestamp", ""), query.get("nonce", "")
        expected = hashlib.sha1("".join(sorted([TOKEN, timestamp, nonce])).encode()).hexdigest()
        if query.get("signature") != expected:
            return self._answer(start_response, "403 Forbidden", "bad signature")
        if not timestamp.isdigit() or abs(time.time() - int(timestamp)) > 300:
            return self._answer(start_response, "403 Forbidden", "stale timestamp")
        if environ["REQUEST_METHOD"] == "GET":
            return self._answer(start_response, "200 OK", query.get("echostr", ""))
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        fields = xmltodict.parse(body)["xml"]
        encrypted = query.get("encrypt_type") == "aes"
        if encrypted:
            plain = self.crypt.decrypt_message(timestamp, nonce, query.get("msg_signature"), fields["Encrypt"])
            fields = xmltodict.parse(plain)["xml"]
        self.received.append({"query": query, "body": body.decode(), "fields": fields})
        reply = self._reply(fields)
        if reply != "success" and encrypted:
            reply = self.crypt.encrypt_message(reply)
        return self._answer(start_response, "200 OK", reply)

    def _reply(self, fields: dict[str, Any]) -> str:
        who = {"target": fields["FromUserName"], "source": fields["ToUserName"]}
        if fields["MsgType"] == "event":
            content = f"event: {fields['Event']} {fields.get('EventKey') or ''}".strip()
            return TextReply(content=content, **who).render()
        if fields.get("Content") == "silent":
            return "success"
        if fields.get("Content") == "card":
            reply = ArticlesReply(**who)
            reply.add_article(Article(title="试读", description="第一章", img="", url="http://127.0.0.1/read/7"))
            return reply.render()
        return TextReply(content=f"echo: {fields.get('Content')}", **who).render()

    @staticmethod
    def _answer(start_response: Callable, status: str, body: str) -> list[bytes]:
        data = body.encode("utf-8")
        start_response(status, [("Content-Type", "text/xml; charset=utf-8"), ("Content-Length", str(len(data)))])
        return [data]


@pytest.fixture
def echo(aes_key: str) -> Iterator[tuple[EchoBot, str]]:
    bot = EchoBot(aes_key)
    with serve_wsgi(bot) as url:
        yield bot, url


# ---------------------------------------------------------------- access_token


def test_token_fetch_answers_token_and_expiry(server: SandboxServer) -> None:
    response = fetch_token(server)
    assert response.status_code == 200
    body = response.json()
    assert body["expires_in"] == 7200
    assert len(body["access_token"]) > 100
    assert server.token_fetches == 1


@pytest.mark.parametrize("kwargs, code", [
    ({"appid": "wxsomebodyelse000"}, 40013),
    ({"secret": "wrong"}, 40125),
    ({"grant_type": "password"}, 40002),
    ({"appid": ""}, 41002),
    ({"secret": ""}, 41004),
])
def test_token_fetch_errors_are_errcodes_with_http_200(server: SandboxServer, kwargs: dict, code: int) -> None:
    response = fetch_token(server, **kwargs)
    assert response.status_code == 200
    assert response.json()["errcode"] == code
    assert "access_token" not in response.json()
    assert server.token_fetches == 0


def test_a_new_fetch_invalidates_the_previous_token_after_five_minutes(server: SandboxServer) -> None:
    first, second = token_of(server), token_of(server)
    assert first != second
    server.touch(USER)
    assert errcode(post(server, SEND, first, text(USER, "旧令牌仍可用"))) == 0
    server.clock.advance(299)
    server.touch(USER)
    assert errcode(post(server, SEND, first, text(USER, "还在五分钟内"))) == 0
    server.clock.advance(2)
    assert errcode(post(server, SEND, first, text(USER, "过了五分钟"))) == 40001
    assert errcode(post(server, SEND, second, text(USER, "新令牌"))) == 0


def test_a_token_expires_after_7200_seconds_with_42001(server: SandboxServer) -> None:
    token = token_of(server)
    server.clock.advance(7200)
    server.touch(USER)
    assert errcode(post(server, SEND, token, text(USER, "过期"))) == 42001


def test_missing_malformed_and_unknown_tokens(server: SandboxServer) -> None:
    server.touch(USER)
    assert errcode(post(server, SEND, None, text(USER, "x"))) == 41001
    assert errcode(post(server, SEND, "not a token", text(USER, "x"))) == 40014
    well_formed = "9_" + "A" * 120
    assert errcode(post(server, SEND, well_formed, text(USER, "x"))) == 40001


def test_revoke_tokens_makes_every_token_answer_40001(server: SandboxServer) -> None:
    token = token_of(server)
    server.touch(USER)
    server.revoke_tokens()
    assert errcode(post(server, SEND, token, text(USER, "x"))) == 40001


def test_stable_token_is_isolated_reused_and_force_refreshed(server: SandboxServer) -> None:
    def stable(force: bool = False) -> dict[str, Any]:
        body = {"grant_type": "client_credential", "appid": APPID, "secret": SECRET, "force_refresh": force}
        return requests.post(f"{server.url}/cgi-bin/stable_token", json=body, timeout=5).json()

    first = stable()
    assert stable()["access_token"] == first["access_token"]  # normal mode: same token
    token_of(server)  # a /cgi-bin/token fetch does not touch stable tokens
    server.clock.advance(301)
    server.touch(USER)
    assert errcode(post(server, SEND, first["access_token"], text(USER, "x"))) == 0
    forced = stable(force=True)
    assert forced["access_token"] != first["access_token"]
    assert errcode(post(server, SEND, first["access_token"], text(USER, "x"))) == 40001
    assert errcode(post(server, SEND, forced["access_token"], text(USER, "x"))) == 0
    bad = requests.post(f"{server.url}/cgi-bin/stable_token", timeout=5,
                        json={"grant_type": "client_credential", "appid": APPID, "secret": "nope"}).json()
    assert bad["errcode"] == 40125


# ---------------------------------------------------------------- customer-service messages


def test_custom_text_is_accepted_and_recorded(server: SandboxServer) -> None:
    token = token_of(server)
    server.touch(USER)
    answer = post(server, SEND, token, text(USER, "你好"))
    assert answer == {"errcode": 0, "errmsg": "ok"}
    [message] = server.sent(USER)
    assert message["openid"] == USER and message["msgtype"] == "text" and message["content"] == "你好"
    assert server.sent("someone-else") == []


def test_custom_news_takes_exactly_one_article(server: SandboxServer) -> None:
    token = token_of(server)
    server.touch(USER)
    assert errcode(post(server, SEND, token, news(USER, 1))) == 0
    assert server.sent(USER)[0]["articles"][0]["title"] == "标题0"
    assert errcode(post(server, SEND, token, news(USER, 2))) == 45008
    assert errcode(post(server, SEND, token, news(USER, 0))) == 44003


def test_never_interacted_user_is_outside_the_window(server: SandboxServer) -> None:
    assert errcode(post(server, SEND, token_of(server), text(USER, "你好"))) == 45015
    assert server.sent() == []


def test_the_window_closes_48_hours_after_the_last_message(server: SandboxServer) -> None:
    token = token_of(server)
    server.touch(USER)
    server.clock.advance(48 * 3600 - 10)
    token = token_of(server)  # the first token would have expired meanwhile
    assert errcode(post(server, SEND, token, text(USER, "47 小时后"))) == 0
    server.clock.advance(11)
    token = token_of(server)
    assert errcode(post(server, SEND, token, text(USER, "48 小时后"))) == 45015


def test_quota_of_five_messages_then_45047_until_the_user_writes_again(server: SandboxServer) -> None:
    token = token_of(server)
    server.touch(USER)
    codes = [errcode(post(server, SEND, token, text(USER, f"第{i}条"))) for i in range(6)]
    assert codes == [0, 0, 0, 0, 0, 45047]
    server.touch(USER)
    assert errcode(post(server, SEND, token, text(USER, "又能发了"))) == 0
    assert len(server.sent(USER)) == 6


def test_menu_click_opens_a_short_window_of_three(server: SandboxServer) -> None:
    token = token_of(server)
    server.touch(USER, "click")
    codes = [errcode(post(server, SEND, token, text(USER, "x"))) for _ in range(4)]
    assert codes == [0, 0, 0, 45047]
    server.touch(USER, "click")
    server.clock.advance(61)
    assert errcode(post(server, SEND, token, text(USER, "一分钟后"))) == 45015


def test_unsubscribing_closes_the_window_with_43004(server: SandboxServer) -> None:
    token = token_of(server)
    server.touch(USER)
    server.touch(USER, "unsubscribe")
    assert errcode(post(server, SEND, token, text(USER, "x"))) == 43004
    server.touch(USER, "subscribe")  # back: a fresh one-minute grant
    assert errcode(post(server, SEND, token, text(USER, "x"))) == 0


def test_text_is_limited_to_2048_bytes(server: SandboxServer) -> None:
    token = token_of(server)
    server.touch(USER)
    exactly = "字" * 682 + "ab"  # 2046 + 2 bytes
    assert errcode(post(server, SEND, token, text(USER, exactly))) == 0
    assert errcode(post(server, SEND, token, text(USER, exactly + "c"))) == 45002
    assert errcode(post(server, SEND, token, text(USER, ""))) == 44004


def test_malformed_requests(server: SandboxServer) -> None:
    token = token_of(server)
    server.touch(USER)
    bad_json = requests.post(server.url + SEND, params={"access_token": token}, data=b"{not json", timeout=5)
    assert bad_json.json()["errcode"] == 47001
    empty = requests.post(server.url + SEND, params={"access_token": token}, data=b"", timeout=5)
    assert empty.json()["errcode"] == 44002
    wrong_method = requests.get(server.url + SEND, params={"access_token": token}, timeout=5)
    assert wrong_method.json()["errcode"] == 43002
    assert errcode(post(server, SEND, token, {"touser": USER, "msgtype": "hologram"})) == 40008
    assert errcode(post(server, SEND, token, {"msgtype": "text", "text": {"content": "x"}})) == 40003


def test_injected_failure_answers_once(server: SandboxServer) -> None:
    token = token_of(server)
    server.touch(USER)
    server.fail_next(SEND, -1)
    assert errcode(post(server, SEND, token, text(USER, "x"))) == -1
    assert errcode(post(server, SEND, token, text(USER, "x"))) == 0


# ---------------------------------------------------------------- menu


def _menu(*buttons: dict[str, Any]) -> dict[str, Any]:
    return {"button": list(buttons)}


CLICK = {"type": "click", "name": "帮助", "key": "MENU_HELP"}


def test_valid_menu_is_recorded(server: SandboxServer) -> None:
    menu = _menu({"type": "click", "name": "找内容", "key": "MENU_FIND"},
                 {"type": "click", "name": "我的", "key": "MENU_MINE"},
                 {"name": "更多", "sub_button": [CLICK, {"type": "view", "name": "官网", "url": "http://127.0.0.1/"}]})
    assert errcode(post(server, "/cgi-bin/menu/create", token_of(server), menu)) == 0
    assert server.menu == menu
    got = requests.get(f"{server.url}/cgi-bin/menu/get", params={"access_token": token_of(server)}, timeout=5)
    assert got.json()["menu"] == menu


@pytest.mark.parametrize("menu, code", [
    (_menu(), 40016),
    (_menu(CLICK, CLICK, CLICK, CLICK), 40016),
    (_menu({"name": "更多", "sub_button": [CLICK] * 6}), 40023),
    (_menu({"name": "更多", "sub_button": []}), 40023),
    (_menu({**CLICK, "name": "六个汉字名字"}), 40018),  # 18 bytes > 16
    (_menu({"type": "click", "name": "帮助"}), 40019),
    (_menu({**CLICK, "key": "K" * 129}), 40019),
    (_menu({"type": "teleport", "name": "帮助", "key": "K"}), 40017),
    (_menu({"type": "view", "name": "官网"}), 40020),
    (_menu({"name": "更多", "sub_button": [{**CLICK, "name": "长" * 21}]}), 40025),  # 63 bytes > 60
    (_menu({"name": "更多", "sub_button": [{**CLICK, "type": "teleport"}]}), 40024),
    ({"menu": []}, 47001),
])
def test_menu_rules(server: SandboxServer, menu: dict[str, Any], code: int) -> None:
    assert errcode(post(server, "/cgi-bin/menu/create", token_of(server), menu)) == code
    assert server.menu is None


# ---------------------------------------------------------------- the sender


def test_safe_mode_round_trip_with_werobot_crypto(server: SandboxServer, aes_key: str, echo) -> None:
    bot, url = echo
    sender = Sender(url, TOKEN, APPID, aes_key, mode="safe", server=server)
    result = sender.text(USER, "帮助")
    assert result.ok and result.status == 200
    assert result.encrypted and result.msg_type == "text" and result.content == "echo: 帮助"
    [seen] = bot.received
    assert seen["fields"]["Content"] == "帮助" and seen["fields"]["FromUserName"] == USER
    assert seen["query"]["encrypt_type"] == "aes" and seen["query"]["openid"] == USER
    assert "帮助" not in seen["body"] and "FromUserName" not in seen["body"]  # safe: ciphertext only


def test_compatible_mode_posts_plaintext_and_ciphertext(aes_key: str, echo) -> None:
    bot, url = echo
    result = Sender(url, TOKEN, APPID, aes_key, mode="compatible").text(USER, "你好")
    assert result.ok and result.content == "echo: 你好"
    body = bot.received[0]["body"]
    assert "<Encrypt>" in body and "你好" in body


def test_plain_mode_round_trip_and_news_reply(echo) -> None:
    bot, url = echo
    sender = Sender(url, TOKEN, APPID)
    result = sender.text(USER, "你好")
    assert result.ok and not result.encrypted and result.content == "echo: 你好"
    assert "encrypt_type" not in bot.received[0]["query"]
    card = sender.text(USER, "card")
    assert card.msg_type == "news"
    assert card.articles == [{"title": "试读", "description": "第一章", "url": "http://127.0.0.1/read/7",
                              "picurl": ""}]


def test_success_reply_means_no_reply(aes_key: str, echo) -> None:
    _, url = echo
    result = Sender(url, TOKEN, APPID, aes_key, mode="safe").text(USER, "silent")
    assert result.ok and result.reply is None and result.body == "success"


def test_events_carry_wechat_fields(aes_key: str, echo) -> None:
    bot, url = echo
    sender = Sender(url, TOKEN, APPID, aes_key, mode="safe")
    assert sender.event(USER, "subscribe", key="qrscene_abc").content == "event: subscribe qrscene_abc"
    assert sender.click(USER, "MENU_HELP").content == "event: CLICK MENU_HELP"
    sender.view(USER, "http://127.0.0.1/read/1")
    sender.scan(USER, "abc")
    sender.unsubscribe(USER)
    fields = [r["fields"] for r in bot.received]
    assert [f["Event"] for f in fields] == ["subscribe", "CLICK", "VIEW", "SCAN", "unsubscribe"]
    assert fields[0]["Ticket"] and fields[3]["Ticket"]
    assert fields[2]["EventKey"] == "http://127.0.0.1/read/1"
    assert "EventKey" not in fields[4]
    assert all(f["MsgType"] == "event" and "MsgId" not in f for f in fields)


def test_msg_ids_increase(echo) -> None:
    bot, url = echo
    sender = Sender(url, TOKEN, APPID)
    for word in ("一", "二", "三"):
        sender.text(USER, word)
    ids = [int(r["fields"]["MsgId"]) for r in bot.received]
    assert ids == sorted(ids) and len(set(ids)) == 3


def test_bad_signature_and_stale_timestamp_are_rejected(aes_key: str, echo) -> None:
    bot, url = echo
    sender = Sender(url, TOKEN, APPID, aes_key, mode="safe")
    xml = sender.text_xml(USER, "你好")
    forged = sender.post(xml, query_overrides={"signature": "0" * 40})
    assert forged.status == 403 and forged.problem == "HTTP 403" and forged.reply is None
    stale = sender.post(xml, timestamp=str(int(time.time()) - 3600))
    assert stale.status == 403 and stale.body == "stale timestamp"
    assert bot.received == []
    assert sender.post(xml).ok  # the same message, signed now, goes through


def test_reply_in_plaintext_is_a_problem_in_safe_mode(aes_key: str, echo) -> None:
    _, url = echo
    sender = Sender(url, TOKEN, APPID, aes_key, mode="safe")
    raw = sender.post(sender.text_xml(USER, "你好"), raw=True)  # no encryption: the echo bot answers plaintext
    assert raw.status == 200 and raw.problem == "plaintext reply in safe mode"


def test_verify_url_echoes(echo) -> None:
    _, url = echo
    assert Sender(url, TOKEN, APPID).verify_url("12345").ok


def test_unreachable_webhook_is_a_problem_not_an_exception() -> None:
    with serve_wsgi(lambda environ, start: []) as url:
        pass  # closed again: nothing listens there now
    result = Sender(url, TOKEN, APPID).text(USER, "你好")
    assert result.status == 0 and result.problem.startswith("webhook unreachable")


def test_sender_tells_the_server_the_user_interacted(server: SandboxServer, aes_key: str, echo) -> None:
    _, url = echo
    sender = Sender(url, TOKEN, APPID, aes_key, mode="safe", server=server)
    token = token_of(server)
    assert errcode(post(server, SEND, token, text(USER, "x"))) == 45015
    sender.text(USER, "你好")
    assert errcode(post(server, SEND, token, text(USER, "x"))) == 0
    sender.unsubscribe(USER)
    assert errcode(post(server, SEND, token, text(USER, "x"))) == 43004


def test_sender_rejects_unknown_mode_and_missing_key() -> None:
    with pytest.raises(ValueError):
        Sender("http://127.0.0.1:9/wechat", TOKEN, APPID, mode="secret")
    with pytest.raises(ValueError):
        Sender("http://127.0.0.1:9/wechat", TOKEN, APPID, mode="safe")


# ---------------------------------------------------------------- the chat page


def test_chat_page_is_self_contained_and_chinese(server: SandboxServer) -> None:
    page = requests.get(server.url + "/", timeout=5)
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    html = page.text
    for needle in ("关注", "取消关注", "发送", "openid", "/chat/send", "/chat/messages"):
        assert needle in html
    assert "<script src" not in html and "<link" not in html and "https://" not in html
    menu = requests.get(server.url + "/chat/menu", timeout=5).json()
    assert [(b["name"], b["key"]) for b in menu["button"]] == [
        ("找内容", "MENU_FIND"), ("我的", "MENU_MINE"), ("帮助", "MENU_HELP")]


def test_chat_send_relays_to_the_webhook(aes_key: str, echo) -> None:
    bot, url = echo
    with SandboxServer(APPID, SECRET, TOKEN, aes_key, webhook_url=url) as sandbox:
        def chat(**payload: Any) -> dict[str, Any]:
            response = requests.post(sandbox.url + "/chat/send", json={"openid": USER, **payload}, timeout=10)
            assert response.status_code == 200
            return response.json()

        assert chat(text="帮助")["reply"] == {"msg_type": "text", "content": "echo: 帮助", "articles": []}
        assert chat(event="subscribe", key="qrscene_abc")["reply"]["content"] == "event: subscribe qrscene_abc"
        assert chat(key="MENU_FIND")["reply"]["content"] == "event: CLICK MENU_FIND"
        assert chat(text="card")["reply"]["articles"][0]["url"] == "http://127.0.0.1/read/7"
        assert chat(text="silent") == {"status": 200, "problem": None, "reply": None}
        assert bot.received[0]["query"]["encrypt_type"] == "aes"  # the page uses safe mode with a key

        # customer-service messages appear through polling
        token = token_of(sandbox)
        post(sandbox, SEND, token, text(USER, "客服消息一"))
        post(sandbox, SEND, token, news(USER))
        polled = requests.get(sandbox.url + "/chat/messages", params={"openid": USER, "after": 0}, timeout=5).json()
        assert [m["msgtype"] for m in polled["messages"]] == ["text", "news"]
        params = {"openid": USER, "after": polled["last"]}
        later = requests.get(sandbox.url + "/chat/messages", params=params, timeout=5).json()
        assert later["messages"] == [] and later["last"] == polled["last"]


def test_chat_send_without_webhook_or_openid(server: SandboxServer) -> None:
    missing = requests.post(server.url + "/chat/send", json={"openid": USER, "text": "你好"}, timeout=5)
    assert missing.status_code == 503
    no_user = requests.post(server.url + "/chat/send", json={"text": "你好"}, timeout=5)
    assert no_user.status_code == 400
