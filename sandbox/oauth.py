"""Web authorization (网页授权) with snsapi_base: how a page opened inside WeChat learns the user's openid.

    GET /sandbox/login?openid=&next=    the sandbox browser's "current WeChat user": sets the cookie
                                        `sandbox_openid` and redirects to `next`
    GET /connect/oauth2/authorize?appid&redirect_uri&response_type=code&scope=snsapi_base&state
                                        302 to redirect_uri?code=CODE&state=STATE for the current user
                                        (the cookie, or `sandbox_openid=` in the query for tests); with
                                        no current user, a small page asks for an openid
    GET /sns/oauth2/access_token?appid&secret&code&grant_type=authorization_code
                                        {access_token, expires_in, refresh_token, openid, scope}

Rules (developers.weixin.qq.com, 网页授权 / 换取用户授权凭证): a code is single-use and expires after
5 minutes unused; reuse answers 40163 "code been used", an unknown or expired code 40029 "invalid code";
wrong appid 40013, wrong secret 40125, grant_type other than authorization_code 40002, missing appid
41002 / secret 41004 / code 41008; always HTTP 200 with errcode/errmsg, like the rest of the API.
In WeChat the authorize page lives on open.weixin.qq.com and the token endpoint on api.weixin.qq.com:
here both are on the sandbox's one URL.
"""

from __future__ import annotations

import html
import re
import secrets
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Mapping
from urllib.parse import urlencode, urlsplit, urlunsplit

from sandbox.account import ApiError
from sandbox.clock import Clock
from sandbox.pay import HeaderAnswer, sandbox_openid
from sandbox.wire import Answer, Request, Route, json_answer

if TYPE_CHECKING:
    from sandbox.api import SandboxServer

CODE_TTL = 300  # seconds a code stays usable
TOKEN_TTL = 7200
SCOPES = ("snsapi_base", "snsapi_userinfo")
OPENID = re.compile(r"[0-9A-Za-z_\-]{1,64}")
STATE = re.compile(r"[0-9A-Za-z]{0,128}")  # WeChat allows a-zA-Z0-9, at most 128 bytes

ERRMSG = {
    40029: "invalid code",
    40163: "code been used",
    41008: "missing code",
}


class AuthorizeError(Exception):
    """The authorize page refuses the request (WeChat shows an error page, no redirect)."""


@dataclass
class IssuedCode:
    code: str
    openid: str
    scope: str
    issued_at: float
    used: bool = False


class OAuth:
    """Codes and web access tokens for one Official Account. Thread-safe."""

    def __init__(self, appid: str, appsecret: str, clock: Clock) -> None:
        self.appid = appid
        self.appsecret = appsecret
        self.clock = clock
        self._codes: dict[str, IssuedCode] = {}
        self._lock = threading.Lock()

    def authorize(self, query: Mapping[str, str], openid: str) -> str:
        """The redirect (Location) for this user: redirect_uri?code=...&state=..."""
        if query.get("appid") != self.appid:
            raise AuthorizeError("appid 参数错误")
        redirect_uri = query.get("redirect_uri") or ""
        parts = urlsplit(redirect_uri)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise AuthorizeError("redirect_uri 参数错误")
        if query.get("response_type") != "code":
            raise AuthorizeError("response_type 参数错误")
        scope = query.get("scope") or ""
        if scope not in SCOPES:
            raise AuthorizeError("scope 参数错误或没有 scope 权限")
        state = query.get("state") or ""
        if not STATE.fullmatch(state):
            raise AuthorizeError("state 参数错误")
        code = secrets.token_hex(16)
        with self._lock:
            self._codes[code] = IssuedCode(code, openid, scope, self.clock.now())
        extra = urlencode({"code": code, "state": state})
        return urlunsplit(parts._replace(query=f"{parts.query}&{extra}" if parts.query else extra, fragment=""))

    def exchange(self, query: Mapping[str, str]) -> dict[str, Any]:
        """GET /sns/oauth2/access_token: the openid behind a code, once."""
        if query.get("grant_type") != "authorization_code":
            raise ApiError(40002)
        if not query.get("appid"):
            raise ApiError(41002)
        if not query.get("secret"):
            raise ApiError(41004)
        if not query.get("code"):
            raise ApiError(41008, ERRMSG[41008])
        if query["appid"] != self.appid:
            raise ApiError(40013)
        if query["secret"] != self.appsecret:
            raise ApiError(40125)
        with self._lock:
            issued = self._codes.get(query["code"])
            if issued is None or self.clock.now() - issued.issued_at > CODE_TTL:
                raise ApiError(40029, ERRMSG[40029])
            if issued.used:
                raise ApiError(40163, ERRMSG[40163])
            issued.used = True
        return {"access_token": secrets.token_urlsafe(48), "expires_in": TOKEN_TTL,
                "refresh_token": secrets.token_urlsafe(48), "openid": issued.openid, "scope": issued.scope,
                "is_snapshotuser": 0}

    def codes(self) -> list[IssuedCode]:
        with self._lock:
            return list(self._codes.values())


# ---------------------------------------------------------------- HTTP (sandbox/api.py's route table)


def _page(title: str, body: str, status: int = 200) -> Answer:
    page = (f"<!doctype html><html lang=zh-CN><meta charset=utf-8>"
            f"<meta name=viewport content='width=device-width,initial-scale=1'><title>{html.escape(title)}</title>"
            f"<body style='font-family:sans-serif;max-width:30em;margin:2em auto'>{body}</body></html>")
    return Answer(status, page.encode("utf-8"), "text/html; charset=utf-8")


def _authorize(server: SandboxServer, request: Request) -> Answer:
    openid = sandbox_openid(request)
    if openid is None:
        here = f"{server.url}{request.path}?{urlencode(request.query)}"
        form = (f"<h3>沙箱微信：当前用户</h3><p>This page asks WeChat who the user is. Sign in as a sandbox user:</p>"
                f"<form action='/sandbox/login'><input name=openid value='o_user' required>"
                f"<input type=hidden name=next value='{html.escape(here, quote=True)}'> <button>登录</button></form>")
        return _page("微信授权", form)
    try:
        location = server.oauth.authorize(request.query, openid)
    except AuthorizeError as error:
        return _page("微信授权", f"<h3>{html.escape(str(error))}</h3>", 400)
    return HeaderAnswer(302, b"", "text/plain; charset=utf-8", [("Location", location)])


def _access_token(server: SandboxServer, request: Request) -> Answer:
    try:
        return json_answer(server.oauth.exchange(request.query))
    except ApiError as error:
        return json_answer(error.payload())


def _login(request: Request) -> Answer:
    openid = request.query.get("openid", "").strip()
    if not OPENID.fullmatch(openid):
        return _page("登录", "<h3>openid: 1-64 letters, digits, _ or -</h3>", 400)
    target = request.query.get("next") or "/"
    parts = urlsplit(target)
    if parts.scheme not in ("", "http", "https"):
        target = "/"
    cookie = f"sandbox_openid={openid}; Path=/; SameSite=Lax"
    return HeaderAnswer(302, b"", "text/plain; charset=utf-8", [("Set-Cookie", cookie), ("Location", target)])


def routes(server: SandboxServer) -> dict[tuple[str, str], Route]:
    return {
        ("GET", "/connect/oauth2/authorize"): lambda request: _authorize(server, request),
        ("GET", "/sns/oauth2/access_token"): lambda request: _access_token(server, request),
        ("GET", "/sandbox/login"): _login,
    }
