"""The chat page: a person plays a WeChat user talking to the bot through the sandbox.

    GET  /                      the page (sandbox/chat.html, self-contained)
    POST /chat/send             {"openid", "text"} | {"openid", "event": "subscribe"|"unsubscribe"|..., "key"}
                                | {"openid", "key"} (a CLICK menu event) -> the passive reply
    GET  /chat/messages?openid=&after=   messages the bot sent since message id `after`, each with `via`:
                                customer_service or broadcast
    GET  /chat/menu             the menu the bot created (or the default three keys)
    GET  /chat/config           {"creators": [openid, ...]}: whom the page offers as a creator (admin)
    GET  /chat/clock            {"now", "offset"}: the sandbox's time, and how far it was moved ahead
    POST /chat/clock            {"seconds": N}: time travel (the 48 h window, access tokens), forward only
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from sandbox.account import ApiError
from sandbox.wire import Answer, Request, Route, json_answer

if TYPE_CHECKING:
    from sandbox.api import SandboxServer

PAGE = Path(__file__).with_name("chat.html")

DEFAULT_MENU = {"button": [
    {"type": "click", "name": "找内容", "key": "MENU_FIND"},
    {"type": "click", "name": "我的", "key": "MENU_MINE"},
    {"type": "click", "name": "帮助", "key": "MENU_HELP"},
]}

EVENTS = {"subscribe", "unsubscribe", "CLICK", "VIEW", "SCAN"}
LONGEST_JUMP = 366 * 86400  # seconds one time-travel step may move the clock


def routes(server: SandboxServer) -> dict[tuple[str, str], Route]:
    return {
        ("GET", "/"): lambda request: _page(),
        ("POST", "/chat/send"): lambda request: _send(server, request),
        ("GET", "/chat/messages"): lambda request: _messages(server, request),
        ("GET", "/chat/menu"): lambda request: _menu(server),
        ("GET", "/chat/config"): lambda request: json_answer({"creators": list(server.creators)}),
        ("GET", "/chat/clock"): lambda request: _clock(server),
        ("POST", "/chat/clock"): lambda request: _travel(server, request),
    }


def _page() -> Answer:
    return Answer(200, PAGE.read_bytes(), "text/html; charset=utf-8")


def _error(message: str, status: int = 400) -> Answer:
    return json_answer({"error": message}, status)


def _send(server: SandboxServer, request: Request) -> Answer:
    try:
        data = request.json()
    except ApiError:
        return _error("JSON body expected")
    openid = str(data.get("openid") or "").strip() if isinstance(data, dict) else ""
    if not openid:
        return _error("openid is required")
    if not server.webhook_url:
        return _error("the sandbox has no webhook_url: start it with the bot's /wechat URL", 503)
    sender = server.sender()
    if data.get("text"):
        result = sender.text(openid, str(data["text"]))
    elif data.get("event") in EVENTS:
        result = sender.event(openid, data["event"], data.get("key") or None)
    elif data.get("key"):
        result = sender.click(openid, str(data["key"]))
    else:
        return _error("one of text, event or key is required")
    return json_answer(_result_json(result))


def _result_json(result: Any) -> dict[str, Any]:
    reply = result.reply
    return {
        "status": result.status,
        "problem": result.problem,
        "reply": None if reply is None else {
            "msg_type": reply.msg_type, "content": reply.content, "articles": reply.articles,
        },
    }


def _messages(server: SandboxServer, request: Request) -> Answer:
    openid = request.query.get("openid", "")
    try:
        after = int(request.query.get("after") or 0)
    except ValueError:
        return _error("after must be a message id")
    messages = server.sent(openid, after) if openid else []
    last = max([after] + [m["id"] for m in messages])
    return json_answer({"messages": messages, "last": last})


def _menu(server: SandboxServer) -> Answer:
    return json_answer(server.menu or DEFAULT_MENU)


def _clock(server: SandboxServer) -> Answer:
    return json_answer({"now": server.clock.now(), "offset": server.clock.offset})


def _travel(server: SandboxServer, request: Request) -> Answer:
    try:
        data = request.json()
    except ApiError:
        return _error("JSON body expected")
    seconds = data.get("seconds") if isinstance(data, dict) else None
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not 0 < seconds <= LONGEST_JUMP:
        return _error(f"seconds must be a number above 0 and at most {LONGEST_JUMP}")
    server.clock.advance(seconds)
    return _clock(server)
