"""The HTTP adapter of `Merchant` for the sandbox's server (sandbox/api.py): `/v3/...` (signed like WeChat
Pay), `/sandbox/jsbridge.js`, `/sandbox/pay/confirm` (what the JS bridge posts) and
`/sandbox/pay/notifications` (the delivery log, for people)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from http.cookies import CookieError, SimpleCookie
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping

from sandbox.pay.formats import JSON_TYPE, dumps
from sandbox.pay.merchant import Merchant
from sandbox.wire import Answer, Request, Route

if TYPE_CHECKING:
    from sandbox.api import SandboxServer

JSBRIDGE = Path(__file__).parent.parent / "jsbridge.js"
SANDBOX_URL_MARK = "__SANDBOX_URL__"


def jsbridge_script(base_url: str) -> str:
    """sandbox/jsbridge.js bound to this sandbox: what a test injects with Playwright's
    `page.add_init_script(...)`, as WeChat's browser injects its WeixinJSBridge."""
    return JSBRIDGE.read_text(encoding="utf-8").replace(SANDBOX_URL_MARK, base_url.rstrip("/"))



@dataclass
class HeaderAnswer(Answer):
    """An Answer with extra response headers (sandbox/api.py writes them)."""

    headers: list[tuple[str, str]] = field(default_factory=list)


def request_headers(request: Request) -> Mapping[str, str]:
    """The request's headers (case-insensitive), as sandbox/api.py attaches them."""
    return getattr(request, "headers", None) or {}


def sandbox_openid(request: Request) -> str | None:
    """The sandbox browser's current WeChat user: `sandbox_openid` from the query, else the cookie
    that GET /sandbox/login sets (sandbox/oauth.py)."""
    if request.query.get("sandbox_openid"):
        return request.query["sandbox_openid"]
    cookie = SimpleCookie()
    try:
        cookie.load(request_headers(request).get("Cookie") or "")
    except CookieError:
        return None
    morsel = cookie.get("sandbox_openid")
    return morsel.value if morsel is not None and morsel.value else None


def _cors(request: Request) -> list[tuple[str, str]]:
    origin = request_headers(request).get("Origin")
    if not origin:
        return [("Access-Control-Allow-Origin", "*")]
    return [("Access-Control-Allow-Origin", origin), ("Access-Control-Allow-Credentials", "true"),
            ("Vary", "Origin")]


def _json(data: Any, status: int = 200, headers: list[tuple[str, str]] | None = None) -> HeaderAnswer:
    return HeaderAnswer(status, dumps(data), JSON_TYPE, headers or [])


def _merchant(server: SandboxServer) -> Merchant | None:
    return getattr(server, "payments", None)


def _not_enabled() -> HeaderAnswer:
    return _json({"code": "MCH_NOT_EXISTS", "message": "sandbox: WeChat Pay is off (server.enable_pay(...))"}, 400)


def _v3(server: SandboxServer, request: Request) -> Answer:
    merchant = _merchant(server)
    if merchant is None:
        return _not_enabled()
    target = getattr(request, "target", None) or request.path
    status, body, headers = merchant.handle(request.method, target, request_headers(request), request.body)
    return HeaderAnswer(status, body, JSON_TYPE, headers)


def _confirm(server: SandboxServer, request: Request) -> Answer:
    merchant = _merchant(server)
    if merchant is None:
        return _json({"err_msg": "get_brand_wcpay_request:fail", "err_desc": "sandbox: WeChat Pay is off"},
                     headers=_cors(request))
    try:
        data = json.loads(request.body.decode("utf-8") or "{}")
    except (UnicodeDecodeError, ValueError):
        data = None
    if not isinstance(data, dict):
        return _json({"err_msg": "get_brand_wcpay_request:fail", "err_desc": "JSON expected"}, headers=_cors(request))
    openid = data.get("openid") if isinstance(data.get("openid"), str) and data.get("openid") else None
    action = data.get("action") if data.get("action") in ("pay", "cancel", "fail") else "pay"
    result = merchant.confirm_bridge(data.get("params"), openid or sandbox_openid(request), action)
    return _json(result, headers=_cors(request))


def _preflight(request: Request) -> Answer:
    return HeaderAnswer(204, b"", "text/plain", [*_cors(request), ("Access-Control-Allow-Methods", "POST, OPTIONS"),
                                                   ("Access-Control-Allow-Headers", "Content-Type"),
                                                   ("Access-Control-Max-Age", "600")])


def _script(server: SandboxServer, request: Request) -> Answer:
    return HeaderAnswer(200, jsbridge_script(server.url).encode("utf-8"), "application/javascript; charset=utf-8",
                        _cors(request))


def _notifications(server: SandboxServer, request: Request) -> Answer:
    merchant = _merchant(server)
    if merchant is None:
        return _not_enabled()
    rows = [{"id": d.notification_id, "event_type": d.event_type, "out_trade_no": d.out_trade_no,
             "out_refund_no": d.out_refund_no, "kind": d.kind, "attempt": d.attempt, "at": d.at,
             "status": d.status, "answer": d.answer[:200]}
            for d in merchant.notifier.deliveries(request.query.get("out_trade_no") or None)]
    return _json({"deliveries": rows})


def routes(server: SandboxServer) -> dict[tuple[str, str], Route]:
    """Fixed routes for sandbox/api.py's table."""
    return {
        ("GET", "/sandbox/jsbridge.js"): lambda request: _script(server, request),
        ("POST", "/sandbox/pay/confirm"): lambda request: _confirm(server, request),
        ("OPTIONS", "/sandbox/pay/confirm"): _preflight,
        ("GET", "/sandbox/pay/notifications"): lambda request: _notifications(server, request),
    }


def prefix_routes(server: SandboxServer) -> list[tuple[str, str, Route]]:
    """(method, path prefix, route): the v3 API, whose paths carry out_trade_no / out_refund_no."""
    return [("GET", "/v3/", lambda request: _v3(server, request)),
            ("POST", "/v3/", lambda request: _v3(server, request))]
