"""WeChat's server-side rules for one Official Account, without HTTP.

Everything the API endpoints decide lives here, so it can be read in one place and tested without a
socket. Sources (developers.weixin.qq.com, see the report in sandbox/README.md):

- access_token: valid 7200 s; a new fetch from /cgi-bin/token invalidates the previous one, which
  "stays usable for five minutes" so servers can switch over (Get_access_token). The stable token
  (/cgi-bin/stable_token) is isolated from it: normal mode returns the same token until it is within
  5 minutes of expiry, force_refresh invalidates the previous one (api_getstableaccesstoken).
- customer-service messages (api_sendcustommessage): allowed only after certain user actions, with a
  quota per action: a user message gives 5 messages within 48 h; a menu click (click/scancode types),
  a subscription or a QR scan give 3 messages within 1 minute. VIEW menu clicks give nothing.
  Outside every window -> 45015; window open but quota used -> 45047; an unsubscribed follower -> 43004.
- menus (Creating_Custom-Defined_Menu): 1-3 buttons, 1-5 sub-buttons, name <= 16 bytes (sub-button
  <= 60), key <= 128 bytes, url <= 1024 bytes.
"""

from __future__ import annotations

import itertools
import re
import secrets
import threading
from dataclasses import dataclass, field
from typing import Any

from sandbox.clock import Clock

TOKEN_TTL = 7200
TOKEN_GRACE = 300  # seconds a superseded token keeps working
STABLE_RENEW_BEFORE = 300  # normal-mode stable_token renews this long before expiry
CS_TEXT_LIMIT = 2048  # bytes of a customer-service text

# Documented errmsg texts (WeChat appends " rid: ..." to each).
ERRMSG: dict[int, str] = {
    -1: "system error",
    40001: "invalid credential, access_token is invalid or not latest",
    40002: "invalid grant_type",
    40003: "invalid openid",
    40007: "invalid media_id",
    40008: "invalid message type",
    40013: "invalid appid",
    40014: "invalid access_token",
    40016: "invalid button size",
    40017: "invalid button type",
    40018: "invalid button name size",
    40019: "invalid button key size",
    40020: "invalid button url size",
    40023: "invalid sub button size",
    40024: "invalid sub button type",
    40025: "invalid sub button name size",
    40026: "invalid sub button key size",
    40027: "invalid sub button url size",
    40066: "invalid url",
    40125: "invalid appsecret",
    41001: "access_token missing",
    41002: "appid missing",
    41004: "appsecret missing",
    42001: "access_token expired",
    43004: "require subscribe",
    43001: "require GET method",
    43002: "require POST method",
    44002: "empty post data",
    44003: "empty news data",
    44004: "empty content",
    45002: "content size out of limit",
    45008: "article size out of limit",
    45015: "response out of time limit or subscription is canceled",
    45047: "out of response count limit",
    46003: "menu no exist",
    47001: "data format error",
}

_TOKEN_RE = re.compile(r"\d+_[A-Za-z0-9_-]{40,}")

# (quota, window seconds) per user action, from the customer-service message rules.
DEFAULT_GRANTS: dict[str, tuple[int, float]] = {
    "message": (5, 48 * 3600),
    "click": (3, 60),
    "subscribe": (3, 60),
    "scan": (3, 60),
}

BUTTON_TYPES = {
    "click", "view", "scancode_push", "scancode_waitmsg", "pic_sysphoto", "pic_photo_or_album",
    "pic_weixin", "location_select", "media_id", "view_limited", "article_id", "article_view_limited",
    "miniprogram",
}


class ApiError(Exception):
    """An errcode answer. `payload()` is the JSON WeChat returns (with HTTP 200)."""

    def __init__(self, errcode: int, errmsg: str | None = None) -> None:
        self.errcode = errcode
        self.errmsg = errmsg or ERRMSG.get(errcode, "error")
        super().__init__(f"{errcode} {self.errmsg}")

    def payload(self) -> dict[str, Any]:
        rid = "-".join(secrets.token_hex(4) for _ in range(3))
        return {"errcode": self.errcode, "errmsg": f"{self.errmsg} rid: {rid}"}


@dataclass
class IssuedToken:
    value: str
    kind: str  # "token" or "stable"
    expires_at: float
    cut_off_at: float | None = None  # set when superseded: the end of the 5-minute grace
    revoked: bool = False


@dataclass
class Grant:
    """Permission to send customer-service messages, opened by one kind of user action."""

    kind: str
    expires_at: float
    quota: int
    used: int = 0


@dataclass
class Follower:
    openid: str
    subscribed: bool = True
    grants: dict[str, Grant] = field(default_factory=dict)


@dataclass
class SentMessage:
    id: int
    openid: str
    msgtype: str
    time: float
    content: str | None = None
    articles: list[dict[str, str]] = field(default_factory=list)
    media_id: str | None = None  # image messages
    via: str = "customer_service"  # or "broadcast" (a mass send by tag, sandbox/mass.py)

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "openid": self.openid, "msgtype": self.msgtype, "time": self.time,
                "content": self.content, "articles": [dict(a) for a in self.articles], "media_id": self.media_id,
                "via": self.via}


class Account:
    """The state WeChat keeps for one Official Account. Thread-safe: every method takes one lock."""

    def __init__(self, appid: str, appsecret: str, clock: Clock,
                 grants: dict[str, tuple[int, float]] | None = None, media: Any = None) -> None:
        self.appid = appid
        self.appsecret = appsecret
        self.clock = clock
        self.grant_rules = dict(DEFAULT_GRANTS if grants is None else grants)
        self._lock = threading.RLock()
        self._tokens: dict[str, IssuedToken] = {}
        self._serial = itertools.count(1)
        self._message_ids = itertools.count(1)
        self._followers: dict[str, Follower] = {}
        self._sent: list[SentMessage] = []
        self.menu: dict[str, Any] | None = None
        self.token_fetches = 0  # successful /cgi-bin/token answers
        self.media = media  # sandbox.media.MediaStore: image messages name its media_ids

    # ------------------------------------------------------------ access_token

    def check_credentials(self, grant_type: str | None, appid: str | None, secret: str | None) -> None:
        if grant_type != "client_credential":
            raise ApiError(40002)
        if not appid:
            raise ApiError(41002)
        if not secret:
            raise ApiError(41004)
        if appid != self.appid:
            raise ApiError(40013)
        if secret != self.appsecret:
            raise ApiError(40125)

    def issue_token(self) -> dict[str, Any]:
        """GET /cgi-bin/token: a new token; the previous ones stop working 5 minutes from now."""
        with self._lock:
            now = self.clock.now()
            for old in self._tokens.values():
                if old.kind == "token" and old.cut_off_at is None:
                    old.cut_off_at = now + TOKEN_GRACE
            token = self._new_token("token", now)
            self.token_fetches += 1
            return {"access_token": token.value, "expires_in": TOKEN_TTL}

    def issue_stable_token(self, force_refresh: bool) -> dict[str, Any]:
        """POST /cgi-bin/stable_token: the same token until 5 minutes before expiry, unless forced."""
        with self._lock:
            now = self.clock.now()
            current = self._current_stable(now)
            if current and not force_refresh and current.expires_at - now > STABLE_RENEW_BEFORE:
                return {"access_token": current.value, "expires_in": int(current.expires_at - now)}
            if current and force_refresh:
                current.revoked = True
            token = self._new_token("stable", now)
            return {"access_token": token.value, "expires_in": TOKEN_TTL}

    def check_token(self, value: str | None) -> None:
        """Raise the errcode WeChat gives for an unusable access_token."""
        if not value:
            raise ApiError(41001)
        if not _TOKEN_RE.fullmatch(value):
            raise ApiError(40014)
        with self._lock:
            token = self._tokens.get(value)
            now = self.clock.now()
            if token is None or token.revoked:
                raise ApiError(40001)
            if token.cut_off_at is not None and now >= token.cut_off_at:
                raise ApiError(40001)  # "not latest"
            if now >= token.expires_at:
                raise ApiError(42001)

    def revoke_tokens(self) -> None:
        """Test hook: every issued token answers 40001 from now on (as if fetched elsewhere)."""
        with self._lock:
            for token in self._tokens.values():
                token.revoked = True

    def live_tokens(self) -> list[str]:
        with self._lock:
            now = self.clock.now()
            return [t.value for t in self._tokens.values()
                    if not t.revoked and now < t.expires_at and (t.cut_off_at is None or now < t.cut_off_at)]

    def _new_token(self, kind: str, now: float) -> IssuedToken:
        value = f"{next(self._serial)}_{secrets.token_urlsafe(96)}"
        token = IssuedToken(value, kind, now + TOKEN_TTL)
        self._tokens[value] = token
        return token

    def _current_stable(self, now: float) -> IssuedToken | None:
        live = [t for t in self._tokens.values()
                if t.kind == "stable" and not t.revoked and now < t.expires_at]
        return max(live, key=lambda t: t.expires_at, default=None)

    # ------------------------------------------------------------ users and the 48 h window

    def touch(self, openid: str, kind: str = "message") -> None:
        """Record a user action. `kind`: message, click, subscribe, scan (open a window), view (none),
        unsubscribe (closes every window)."""
        with self._lock:
            follower = self._followers.setdefault(openid, Follower(openid))
            if kind == "unsubscribe":
                follower.subscribed = False
                follower.grants.clear()
                return
            if kind == "subscribe":
                follower.subscribed = True
            if kind not in self.grant_rules:
                return
            quota, window = self.grant_rules[kind]
            follower.grants[kind] = Grant(kind, self.clock.now() + window, quota)

    def send_custom(self, payload: Any) -> SentMessage:
        """POST /cgi-bin/message/custom/send after the token check: validate, charge the quota, record."""
        openid, msgtype, content, articles = _parse_custom(payload)
        media_id = content if msgtype == "image" else None
        if media_id is not None and (self.media is None or self.media.get(media_id) is None):
            raise ApiError(40007)
        with self._lock:
            self._charge(openid)
            message = SentMessage(next(self._message_ids), openid, msgtype, self.clock.now(),
                                  None if media_id else content, articles, media_id=media_id)
            self._sent.append(message)
            return message

    def record_broadcast(self, openid: str, content: str) -> None:
        """A mass send reached `openid` (sandbox/mass.py decides who)."""
        with self._lock:
            self._sent.append(SentMessage(next(self._message_ids), openid, "text", self.clock.now(), content,
                                          via="broadcast"))

    def is_follower(self, openid: str) -> bool:
        """Whether `openid` ever followed or wrote to this account (WeChat knows its followers)."""
        with self._lock:
            return openid in self._followers

    def is_subscribed(self, openid: str) -> bool:
        with self._lock:
            follower = self._followers.get(openid)
            return bool(follower and follower.subscribed)

    def sent(self, openid: str | None = None, after: int = 0) -> list[dict[str, Any]]:
        with self._lock:
            return [m.as_dict() for m in self._sent
                    if (openid is None or m.openid == openid) and m.id > after]

    def _charge(self, openid: str) -> None:
        follower = self._followers.get(openid)
        now = self.clock.now()
        live = [g for g in follower.grants.values() if g.expires_at > now] if follower else []
        if follower and not follower.subscribed:
            raise ApiError(43004)
        if not follower or not live:
            raise ApiError(45015)
        available = [g for g in live if g.used < g.quota]
        if not available:
            raise ApiError(45047)
        min(available, key=lambda g: g.expires_at).used += 1  # spend the soonest-closing window first

    # ------------------------------------------------------------ menu

    def create_menu(self, payload: Any) -> None:
        validate_menu(payload)
        with self._lock:
            self.menu = payload

    def delete_menu(self) -> None:
        with self._lock:
            self.menu = None


def _parse_custom(payload: Any) -> tuple[str, str, str | None, list[dict[str, str]]]:
    if not isinstance(payload, dict):
        raise ApiError(47001)
    openid = payload.get("touser")
    if not isinstance(openid, str) or not openid:
        raise ApiError(40003)
    msgtype = payload.get("msgtype")
    if msgtype == "text":
        content = (payload.get("text") or {}).get("content") if isinstance(payload.get("text"), dict) else None
        if not isinstance(content, str) or not content:
            raise ApiError(44004)
        if len(content.encode("utf-8")) > CS_TEXT_LIMIT:
            raise ApiError(45002)
        return openid, msgtype, content, []
    if msgtype == "news":
        news = payload.get("news")
        items = news.get("articles") if isinstance(news, dict) else None
        if not isinstance(items, list) or not items:
            raise ApiError(44003)
        if len(items) > 1:
            raise ApiError(45008)  # one article per news message since 2018-10-12
        item = items[0] if isinstance(items[0], dict) else {}
        article = {k: str(item.get(k) or "") for k in ("title", "description", "url", "picurl")}
        if not article["title"] and not article["description"]:
            raise ApiError(44003)
        return openid, msgtype, None, [article]
    if msgtype == "image":  # the media_id travels in the content slot; send_custom checks it exists
        media_id = (payload.get("image") or {}).get("media_id") if isinstance(payload.get("image"), dict) else None
        if not isinstance(media_id, str) or not media_id:
            raise ApiError(40007)
        return openid, msgtype, media_id, []
    raise ApiError(40008)


def _size(value: Any) -> int:
    return len(value.encode("utf-8")) if isinstance(value, str) else 0


def validate_menu(payload: Any) -> None:
    """Raise the errcode of the first rule the menu breaks (1-3 buttons, 1-5 sub-buttons, sizes)."""
    buttons = payload.get("button") if isinstance(payload, dict) else None
    if not isinstance(buttons, list):
        raise ApiError(47001)
    if not 1 <= len(buttons) <= 3:
        raise ApiError(40016)
    for button in buttons:
        if not isinstance(button, dict):
            raise ApiError(47001)
        if not 1 <= _size(button.get("name")) <= 16:
            raise ApiError(40018)
        if "sub_button" in button:
            subs = button["sub_button"]
            if not isinstance(subs, list) or not 1 <= len(subs) <= 5:
                raise ApiError(40023)
            for sub in subs:
                if not isinstance(sub, dict):
                    raise ApiError(47001)
                if not 1 <= _size(sub.get("name")) <= 60:
                    raise ApiError(40025)
                _check_action(sub, (40024, 40026, 40027))
        else:
            _check_action(button, (40017, 40019, 40020))


def _check_action(button: dict[str, Any], codes: tuple[int, int, int]) -> None:
    bad_type, bad_key, bad_url = codes
    kind = button.get("type")
    if kind not in BUTTON_TYPES:
        raise ApiError(bad_type)
    if kind in ("view", "miniprogram") and not 1 <= _size(button.get("url")) <= 1024:
        raise ApiError(bad_url)
    if kind not in ("view", "miniprogram", "media_id", "view_limited", "article_id", "article_view_limited"):
        if not 1 <= _size(button.get("key")) <= 128:
            raise ApiError(bad_key)
