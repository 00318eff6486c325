"""Who is looking at an H5 page: the openid from WeChat's OAuth (snsapi_base), kept in a signed cookie."""

from __future__ import annotations

from typing import Mapping
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from itsdangerous import BadSignature, URLSafeTimedSerializer

from web.http import HttpResponse

COOKIE = "kb_visitor"
COOKIE_MAX_AGE = 24 * 3600


def in_wechat(user_agent: str) -> bool:
    return "MicroMessenger" in (user_agent or "")


class Visitors:
    def __init__(self, secret_key: str, gateway, secure: bool) -> None:
        self._cookies = URLSafeTimedSerializer(secret_key, salt="visitor")
        self.gateway = gateway  # gateways.wechat.WechatGateway: oauth_url, oauth_openid
        self.secure = secure

    def identify(self, url: str, query: Mapping[str, str], cookies: Mapping[str, str]) -> str | HttpResponse:
        """The visitor's openid, or the redirect that will tell us (WeChat comes back with ?code=)."""
        try:
            return self._cookies.loads(cookies.get(COOKIE, ""), max_age=COOKIE_MAX_AGE)
        except BadSignature:
            pass
        if query.get("code"):
            openid = self.gateway.oauth_openid(query["code"])
            return openid
        return HttpResponse(302, headers=[("Location", self.gateway.oauth_url(_without_code(url), "kb"))])

    def remember(self, page: HttpResponse, openid: str) -> HttpResponse:
        flags = "; HttpOnly; SameSite=Lax; Path=/" + ("; Secure" if self.secure else "")
        page.headers.append(("Set-Cookie", f"{COOKIE}={self._cookies.dumps(openid)}; Max-Age={COOKIE_MAX_AGE}{flags}"))
        return page


def _without_code(url: str) -> str:
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query) if k not in ("code", "state")]
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), ""))
