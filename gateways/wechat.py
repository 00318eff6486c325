"""The only code that calls WeChat's Official Account API (over wechatpy's WeChatClient).

    gateway = WechatGateway(settings.wechat, tokens)   # tokens: a TokenStore (bot.py wires the store's)
    gateway.send_text(openid, "...")         # customer-service text, <= 2048 bytes
    gateway.send_news(openid, title, description, url)
    gateway.create_menu({"button": [...]})
    media_id = gateway.upload_image(png_bytes)   # temporary media (3 days); then gateway.send_image(openid, media_id)

The access_token is shared by every process through a `TokenStore` (in production the database's
`Credential` row and the state store's lock, wired by the composition root): readers take it from
there; when it is missing or within 5 minutes of expiry, one process refreshes it under the store's
lock and the others find the new one after the lock (WeChat invalidates the previous token
about 5 minutes after each new fetch, so uncoordinated refreshes break each other).

Errors: every failure is a `WechatError` subclass. `OutsideWindow` (45015: the user's last action is too
old), `QuotaExceeded` (45047), `InvalidToken` (40001/40014/42001, after one refresh and one retry),
`WechatUnavailable` (network, timeout, HTTP error, -1 "system busy"). Nothing is retried after a network
failure: a customer-service message that timed out may still have been delivered.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
from urllib.parse import urlencode
from typing import Any, Callable, Protocol

import requests
from wechatpy import WeChatClient
from wechatpy.exceptions import WeChatClientException
from wechatpy.session import SessionStorage

from gateways import rules
from settings import WechatSettings

log = logging.getLogger(__name__)

CS_TEXT_LIMIT = 2048  # bytes; WeChat answers 45002 above it
IMAGE_LIMIT = 10 * 1024 * 1024  # bytes of a temporary image (media/upload); WeChat answers 40006 above it
REFRESH_MARGIN = 300.0  # seconds before expiry when a token is refreshed
LOCK_NAME = "access_token"
_EPOCH = dt.datetime(1970, 1, 1)


# ---------------------------------------------------------------- errors


class WechatError(Exception):
    """WeChat answered an errcode (or could not be reached: see WechatUnavailable)."""

    def __init__(self, errcode: int | None, errmsg: str) -> None:
        super().__init__(f"{errcode}: {errmsg}")
        self.errcode = errcode
        self.errmsg = errmsg


class OutsideWindow(WechatError):
    """45015: the user has not interacted recently enough for a customer-service message."""


class QuotaExceeded(WechatError):
    """45047: the customer-service quota opened by the user's last action is used up."""


class InvalidToken(WechatError):
    """40001/40014/42001 even after refreshing the access_token."""


class WechatUnavailable(WechatError):
    """Network failure, timeout, HTTP error or WeChat's -1 "system busy": try again later."""


_BY_ERRCODE: dict[int, type[WechatError]] = {
    45015: OutsideWindow,
    45047: QuotaExceeded,
    40001: InvalidToken,
    40014: InvalidToken,
    42001: InvalidToken,
    -1: WechatUnavailable,
}


def error_for(errcode: int | None, errmsg: str) -> WechatError:
    """The typed exception for an errcode (None: no usable answer at all)."""
    if errcode is None:
        return WechatUnavailable(None, errmsg)
    return _BY_ERRCODE.get(errcode, WechatError)(errcode, errmsg)


# ---------------------------------------------------------------- the shared token


class TokenStore(Protocol):
    """Where the shared access_token lives, shared by every process (store/credentials.py in production)."""

    def read(self, name: str) -> tuple[str | None, dt.datetime | None]:
        """The value and its expiry (naive UTC), (None, None) when absent."""

    def write(self, name: str, value: str, expires_at: dt.datetime) -> None: ...

    def now(self) -> dt.datetime:
        """The clock expiries are kept in (naive UTC)."""

    def refresh_lock(self, name: str, timeout: float,
                     wait: float) -> contextlib.AbstractContextManager[bool]:
        """True inside while this process may refresh; False when another held it longer than `wait`."""


class CredentialStorage(SessionStorage):
    """wechatpy's SessionStorage over the token store: one entry per key, shared by processes."""

    def __init__(self, store: TokenStore, now: Callable[[], dt.datetime] | None = None) -> None:
        self.store = store
        self.now = now or store.now

    def read(self, key: str) -> tuple[str | None, dt.datetime | None]:
        return self.store.read(key)

    def get(self, key: str, default: Any = None) -> Any:
        value, expires_at = self.read(key)
        return value if value and expires_at and expires_at > self.now() else default

    def set(self, key: str, value: str, ttl: float | None = None) -> None:
        self.store.write(key, value, self.now() + dt.timedelta(seconds=ttl or 7200))

    def delete(self, key: str) -> None:
        self.store.write(key, "", _EPOCH)


class SharedToken:
    """Read the token from storage; refresh it in one process at a time, double-checked under the lock."""

    def __init__(self, storage: CredentialStorage, key: str, fetch: Callable[[], tuple[str, int]],
                 *, lock_timeout: float, lock_wait: float, margin: float = REFRESH_MARGIN) -> None:
        self.storage = storage
        self.key = key
        self.fetch = fetch
        self.lock_timeout = lock_timeout
        self.lock_wait = lock_wait
        self.margin = dt.timedelta(seconds=margin)

    def get(self) -> str:
        value, expires_at = self.storage.read(self.key)
        if value and self._fresh(expires_at):
            return value
        return self.refresh(stale=value, rejected=False)

    def refresh(self, stale: str | None, rejected: bool) -> str:
        """A token newer than `stale`: another process's if it refreshed meanwhile, else a new fetch.

        `rejected` means WeChat refused `stale` (never hand it out again); otherwise `stale` is only
        near its expiry and may still serve when WeChat cannot be reached.
        """
        with self.storage.store.refresh_lock(LOCK_NAME, self.lock_timeout, self.lock_wait) as mine:
            if mine:
                return self._refresh_locked(stale, rejected)
        log.warning("access_token lock busy, reading what the holder left")
        return self._fallback(stale, rejected, "access_token refresh is held by another process")

    def _refresh_locked(self, stale: str | None, rejected: bool) -> str:
        value, expires_at = self.storage.read(self.key)
        if value and value != stale and self._usable(expires_at):
            return value  # another process refreshed while we waited for the lock
        try:
            token, expires_in = self.fetch()
        except WechatUnavailable:
            return self._fallback(stale, rejected, "access_token fetch failed")
        self.storage.set(self.key, token, expires_in)
        log.info("access_token refreshed", extra={"expires_in": expires_in})
        return token

    def _fallback(self, stale: str | None, rejected: bool, reason: str) -> str:
        """Without a fresh token: a newer stored one, or the old one while it has not expired."""
        value, expires_at = self.storage.read(self.key)
        if value and self._usable(expires_at) and (value != stale or not rejected):
            return value
        raise WechatUnavailable(None, reason)

    def _fresh(self, expires_at: dt.datetime | None) -> bool:
        return expires_at is not None and expires_at - self.storage.now() > self.margin

    def _usable(self, expires_at: dt.datetime | None) -> bool:
        return expires_at is not None and expires_at > self.storage.now()


# ---------------------------------------------------------------- wechatpy client


class _Client(WeChatClient):
    """wechatpy's client on a configurable base URL, with a timeout, without auto_retry (which can
    recurse without end on 40001/42001); its access_token comes from the shared token."""

    def __init__(self, wechat: WechatSettings, storage: CredentialStorage,
                 session: requests.Session | None) -> None:
        super().__init__(wechat.appid, wechat.appsecret, session=storage,
                         timeout=wechat.http_timeout, auto_retry=False)
        self.API_BASE_URL = wechat.api_base_url.rstrip("/") + "/cgi-bin/"
        if session is not None:
            self._http = session
        self.token_source: Callable[[], str] | None = None

    @property
    def access_token(self) -> str:
        """Used by wechatpy when a call carries no token of its own (the gateway always passes one)."""
        if self.token_source is None:
            raise RuntimeError("no token source")
        return self.token_source()

    def fetch_access_token(self) -> dict[str, Any]:
        """GET /cgi-bin/token. The secret is in the URL, so errors never carry the request along."""
        try:
            response = self._http.get(self.API_BASE_URL + "token", timeout=self.timeout, params={
                "grant_type": "client_credential", "appid": self.appid, "secret": self.secret})
        except requests.RequestException as exc:
            raise WechatUnavailable(None, f"token fetch failed: {type(exc).__name__}") from None
        if response.status_code != 200:
            raise WechatUnavailable(None, f"token fetch failed: HTTP {response.status_code}")
        try:
            result = response.json()
        except ValueError:
            raise WechatUnavailable(None, "token fetch failed: not JSON") from None
        if not isinstance(result, dict):
            raise WechatUnavailable(None, "token fetch failed: not a JSON object")
        errcode = int(result.get("errcode") or 0)
        if errcode or not result.get("access_token"):
            raise error_for(errcode, str(result.get("errmsg", "no access_token")))
        return result


# ---------------------------------------------------------------- the gateway


class WechatGateway:
    def __init__(self, wechat: WechatSettings, tokens: TokenStore, *, session: requests.Session | None = None,
                 now: Callable[[], dt.datetime] | None = None, lock_timeout: float | None = None,
                 lock_wait: float | None = None, refresh_margin: float = REFRESH_MARGIN) -> None:
        """`tokens` keeps the shared access_token and its refresh lock; `session` may be injected (tests
        count its calls); `now` replaces the token store's clock (naive UTC) the expiry is compared with."""
        self.wechat = wechat
        self.storage = CredentialStorage(tokens, now)
        self.client = _Client(wechat, self.storage, session)
        self.tokens = SharedToken(
            self.storage, self.client.access_token_key, self._fetch_token,
            lock_timeout=lock_timeout if lock_timeout is not None else 2 * wechat.http_timeout + 1,
            lock_wait=lock_wait if lock_wait is not None else wechat.http_timeout + 1,
            margin=refresh_margin,
        )
        self.client.token_source = self.tokens.get

    # ------------------------------------------------------------ public API

    def access_token(self) -> str:
        return self.tokens.get()

    def send_text(self, openid: str, content: str) -> None:
        """A customer-service text. Longer than 2048 bytes -> ValueError (splitting is the caller's job)."""
        if not content:
            raise ValueError("empty customer-service text")
        size = len(content.encode("utf-8"))
        if size > CS_TEXT_LIMIT:
            raise ValueError(f"customer-service text is {size} bytes, WeChat takes at most {CS_TEXT_LIMIT}")
        self._call("message/custom/send", {"touser": openid, "msgtype": "text", "text": {"content": content}})

    def send_news(self, openid: str, title: str, description: str, url: str, picurl: str = "") -> None:
        """A customer-service news message with one article (WeChat allows one since 2018-10-12)."""
        article = {"title": title, "description": description, "url": url, "picurl": picurl}
        self._call("message/custom/send", {"touser": openid, "msgtype": "news", "news": {"articles": [article]}})

    def create_menu(self, menu: dict[str, Any]) -> None:
        self._call("menu/create", menu)

    def oauth_url(self, redirect_uri: str, state: str = "") -> str:
        """Where an H5 page sends the browser to learn the visitor's openid (snsapi_base: no prompt)."""
        query = urlencode({"appid": self.wechat.appid, "redirect_uri": redirect_uri, "response_type": "code",
                           "scope": "snsapi_base", "state": state})
        return f"{self.wechat.oauth_base_url.rstrip('/')}/connect/oauth2/authorize?{query}#wechat_redirect"

    def oauth_openid(self, code: str) -> str:
        """Exchange the code WeChat appended to our redirect for the visitor's openid.

        Done here rather than with wechatpy's WeChatOAuth, which sets no request timeout.
        """
        url = self.wechat.api_base_url.rstrip("/") + "/sns/oauth2/access_token"
        params = {"appid": self.wechat.appid, "secret": self.wechat.appsecret, "code": code,
                  "grant_type": "authorization_code"}
        try:
            response = self.client._http.get(url, params=params, timeout=self.wechat.http_timeout)
            result = response.json()
        except (requests.RequestException, ValueError) as exc:
            raise self._error("sns/oauth2/access_token", None, type(exc).__name__) from None
        if not isinstance(result, dict) or result.get("errcode") or not result.get("openid"):
            errcode = result.get("errcode") if isinstance(result, dict) else None
            raise self._error("sns/oauth2/access_token", errcode, "no openid for this code")
        return str(result["openid"])

    def close(self) -> None:
        self.client._http.close()

    # ------------------------------------------------------------ media (added for the creators' charts)

    def upload_image(self, content: bytes, filename: str = "chart.png") -> str:
        """A temporary image (media/upload, type=image: PNG/JPEG/GIF up to 10 MB, kept 3 days); its media_id."""
        if not content or len(content) > IMAGE_LIMIT:
            raise ValueError(f"an image must be 1 byte to {IMAGE_LIMIT} bytes, got {len(content)}")
        result = self._call("media/upload", None, type="image",
                            files={"media": (filename, content, "image/png")})
        media_id = result.get("media_id")
        if not isinstance(media_id, str) or not media_id:
            raise WechatUnavailable(None, "media/upload answered without a media_id")
        return media_id

    def send_image(self, openid: str, media_id: str) -> None:
        """A customer-service image message (an uploaded media_id)."""
        self._call("message/custom/send", {"touser": openid, "msgtype": "image", "image": {"media_id": media_id}})
    # ------------------------------------------------------------ user tags and broadcasts

    def create_tag(self, name: str) -> int:
        return int(self._call("tags/create", {"tag": {"name": name}})["tag"]["id"])

    def rename_tag(self, tag_id: int, name: str) -> None:
        self._call("tags/update", {"tag": {"id": tag_id, "name": name}})

    def list_tags(self) -> list[dict[str, Any]]:
        return list(self._get("tags/get").get("tags", []))

    def tag_users(self, tag_id: int, openids: list[str]) -> None:
        """Batch tagging: WeChat takes at most 50 openids a call (the caller chunks)."""
        self._call("tags/members/batchtagging", {"tagid": tag_id, "openid_list": _batch(openids)})

    def untag_users(self, tag_id: int, openids: list[str]) -> None:
        self._call("tags/members/batchuntagging", {"tagid": tag_id, "openid_list": _batch(openids)})

    def tags_of(self, openid: str) -> list[int]:
        return [int(t) for t in self._call("tags/getidlist", {"openid": openid}).get("tagid_list", [])]

    def broadcast_text(self, tag_id: int, content: str) -> str:
        """A mass send to everyone under `tag_id`; returns WeChat's msg_id (MASSSENDJOBFINISH names it)."""
        payload = {"filter": {"is_to_all": False, "tag_id": tag_id}, "msgtype": "text", "text": {"content": content}}
        return str(self._call("message/mass/sendall", payload)["msg_id"])

    def _get(self, endpoint: str) -> dict[str, Any]:
        try:
            result = self.client.get(endpoint, params={"access_token": self.tokens.get()})
        except WeChatClientException as exc:
            raise self._error(endpoint, exc.errcode, exc.errmsg) from None
        except requests.RequestException as exc:
            raise self._error(endpoint, None, f"{type(exc).__name__} calling {endpoint}") from None
        return result if isinstance(result, dict) else {}

    # ------------------------------------------------------------ internals

    def _fetch_token(self) -> tuple[str, int]:
        result = self.client.fetch_access_token()
        return str(result["access_token"]), int(result.get("expires_in") or 7200)

    def _call(self, endpoint: str, payload: dict[str, Any] | None, **extra: Any) -> dict[str, Any]:
        """POST with the shared token; on a token error refresh once and retry once. `extra`: more query
        parameters, and `files` for a multipart upload."""
        token = self.tokens.get()
        try:
            return self._post(endpoint, payload, token, **extra)
        except InvalidToken as error:
            log.warning("access_token rejected, refreshing", extra={"errcode": error.errcode})
        token = self.tokens.refresh(stale=token, rejected=True)
        return self._post(endpoint, payload, token, **extra)

    def _post(self, endpoint: str, payload: dict[str, Any] | None, token: str, files: Any = None,
              **query: str) -> dict[str, Any]:
        try:
            result = self.client.post(endpoint, data=payload, params={"access_token": token, **query}, files=files)
        except WeChatClientException as exc:
            if exc.errcode is None:  # an HTTP error status, not an errcode
                status = getattr(exc.response, "status_code", "?")
                raise self._error(endpoint, None, f"HTTP {status} calling {endpoint}") from None
            raise self._error(endpoint, exc.errcode, exc.errmsg) from None
        except requests.RequestException as exc:  # the URL carries the token: keep it out of the error
            raise self._error(endpoint, None, f"{type(exc).__name__} calling {endpoint}") from None
        if not isinstance(result, dict):
            raise self._error(endpoint, None, f"{endpoint} answered something other than JSON")
        return result

    def _error(self, endpoint: str, errcode: int | None, errmsg: Any) -> WechatError:
        error = error_for(int(errcode) if errcode is not None else None, str(errmsg))
        log.warning("wechat call failed", extra={"endpoint": endpoint, "errcode": errcode})
        return error


def _batch(openids: list[str]) -> list[str]:
    if not 1 <= len(openids) <= rules.TAG_BATCH:
        raise ValueError(f"batch tagging takes 1 to {rules.TAG_BATCH} openids, not {len(openids)}")
    return openids
