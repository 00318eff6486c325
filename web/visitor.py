"""Who is looking at an H5 page: the openid from WeChat's OAuth (snsapi_base), kept in a signed cookie.

OAuth is bound to the browser that started it: each start draws a random `state`, kept in a short-lived
signed cookie, and the way back signs in only when WeChat returns that same state, once. Any other
return (a code+state URL handed to another browser, a reload after the code was used, a code WeChat
refuses) starts OAuth again instead of signing anyone in; the state's first digit counts those restarts,
so a browser that keeps no cookies ends on a page rather than in a redirect loop.
The visitor cookie is HttpOnly, SameSite=Lax, Secure under https, and a new sign-in gets a new value.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from typing import Mapping
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from itsdangerous import BadSignature, URLSafeTimedSerializer

from gateways.wechat import WechatError, WechatUnavailable
from web.http import HttpResponse
from web.render import message

COOKIE = "kb_visitor"
COOKIE_MAX_AGE = 24 * 3600
STATE_COOKIE = "kb_oauth"
STATE_MAX_AGE = 300  # WeChat's code lives 5 minutes: so does the state waiting for it
MAX_RESTARTS = 2


def in_wechat(user_agent: str) -> bool:
    return "MicroMessenger" in (user_agent or "")


@dataclass(frozen=True)
class Visitor:
    openid: str
    session: str  # drawn at sign-in: the cookie of one sign-in is never that of another
    signed_in_now: bool = False


class Visitors:
    def __init__(self, secret_key: str, gateway, secure: bool) -> None:
        self._cookies = URLSafeTimedSerializer(secret_key, salt="visitor")
        self._states = URLSafeTimedSerializer(secret_key, salt="oauth-state")
        self.gateway = gateway  # gateways.wechat.WechatGateway: oauth_url, oauth_openid
        self.secure = secure

    def identify(self, url: str, query: Mapping[str, str], cookies: Mapping[str, str]) -> Visitor | HttpResponse:
        """The visitor, or the redirect that will tell us (WeChat comes back with ?code=&state=).
        `query` has passed web.inputs.PAGE_QUERY."""
        known = self.known(cookies)
        if known is not None:
            return known
        code, state = query.get("code", ""), query.get("state", "")
        expected = self._load(self._states, cookies.get(STATE_COOKIE, ""), STATE_MAX_AGE)
        if code and isinstance(expected, str) and hmac.compare_digest(state, expected):
            try:
                return Visitor(self.gateway.oauth_openid(code), secrets.token_hex(8), signed_in_now=True)
            except WechatUnavailable:
                return message(503, "微信暂时无法确认身份", "请稍后刷新本页重试。")
            except WechatError:
                pass  # a used or unknown code: ask WeChat again
        restarts = int(state[0]) + 1 if code and state[:1].isdigit() else 0
        if restarts > MAX_RESTARTS:
            return message(400, "无法确认您的微信身份", "请回到公众号对话中重新打开链接。")
        return self._start(url, restarts)

    def known(self, cookies: Mapping[str, str]) -> Visitor | None:
        """The visitor this browser's cookie names, if it is ours and fresh."""
        value = self._load(self._cookies, cookies.get(COOKIE, ""), COOKIE_MAX_AGE)
        if isinstance(value, list) and len(value) == 2 and all(isinstance(part, str) for part in value):
            return Visitor(value[0], value[1])
        return None

    def remember(self, page: HttpResponse, visitor: Visitor) -> HttpResponse:
        value = self._cookies.dumps([visitor.openid, visitor.session])
        page.headers.append(("Set-Cookie", self._cookie(COOKIE, value, COOKIE_MAX_AGE)))
        if visitor.signed_in_now:
            page.headers.append(("Set-Cookie", self._cookie(STATE_COOKIE, "", 0)))  # the state is spent
        return page

    def _start(self, url: str, restarts: int) -> HttpResponse:
        if self.gateway is None:
            return message(503, "暂时无法确认您的微信身份", "公众号尚未配置网页授权（wechat.appsecret）。")
        state = f"{restarts}{secrets.token_hex(16)}"
        location = self.gateway.oauth_url(_without_code(url), state)
        return HttpResponse(302, headers=[("Location", location), (
            "Set-Cookie", self._cookie(STATE_COOKIE, self._states.dumps(state), STATE_MAX_AGE))])

    def _cookie(self, name: str, value: str, max_age: int) -> str:
        return f"{name}={value}; Max-Age={max_age}; HttpOnly; SameSite=Lax; Path=/" + ("; Secure" if self.secure else "")

    @staticmethod
    def _load(serializer: URLSafeTimedSerializer, value: str, max_age: int) -> object:
        try:
            return serializer.loads(value, max_age=max_age)
        except BadSignature:
            return None


def _without_code(url: str) -> str:
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query) if k not in ("code", "state")]
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), ""))
