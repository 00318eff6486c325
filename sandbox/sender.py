"""`Sender`: plays WeChat's server pushing user messages and events to the bot's webhook.

    sender = Sender("http://127.0.0.1:8000/wechat", token, appid, encoding_aes_key, mode="safe")
    result = sender.text("o_user", "帮助")
    result.content          # the passive reply's text (None for "success" / empty)

It builds WeChat's XML (increasing MsgId), signs the URL query (signature = sha1 of the sorted token,
timestamp, nonce; plus `openid`), and in safe or compatible mode encrypts with wechatpy's WeChatCrypto
(an implementation independent of the bot's WeRoBot crypto) and adds `encrypt_type=aes` and
`msg_signature`. Replies are decrypted and their signature checked the same way.

Modes (Message encryption docs): plain = plaintext only; compatible = plaintext fields plus <Encrypt>,
either reply is fine; safe = only <ToUserName> and <Encrypt>, the reply must be encrypted too.
"""

from __future__ import annotations

import hashlib
import itertools
import random
import secrets
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Mapping

import requests
import xmltodict
from wechatpy.crypto import WeChatCrypto
from wechatpy.exceptions import InvalidAppIdException, InvalidSignatureException

if TYPE_CHECKING:
    from sandbox.api import SandboxServer

MODES = ("plain", "safe", "compatible")
REPLY_DEADLINE = 5.0  # seconds WeChat waits for a passive reply
DELIVERIES = 3  # WeChat delivers a message or event this many times at most while no 200 comes back

# Which user actions open a customer-service window (see sandbox/account.py).
_EVENT_TOUCH = {"subscribe": "subscribe", "unsubscribe": "unsubscribe", "SCAN": "scan", "CLICK": "click",
                "scancode_push": "click", "scancode_waitmsg": "click", "VIEW": "view"}


def sign(*parts: str) -> str:
    """WeChat's signature: sha1 over the sorted, concatenated parts."""
    return hashlib.sha1("".join(sorted(parts)).encode("utf-8")).hexdigest()


def cdata(value: str) -> str:
    return "<![CDATA[" + value.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def build_xml(fields: list[tuple[str, Any]]) -> str:
    """<xml> with one element per field: strings in CDATA, integers bare (WeChat's layout)."""
    lines = [f"<{name}>{value if isinstance(value, int) else cdata(str(value))}</{name}>"
             for name, value in fields]
    return "<xml>\n" + "\n".join(lines) + "\n</xml>"


@dataclass
class Reply:
    """A parsed passive reply."""

    msg_type: str
    content: str | None
    articles: list[dict[str, str]]
    fields: dict[str, Any]


@dataclass
class Result:
    """What happened to one push: HTTP status, raw body, and the parsed reply (None for no reply)."""

    status: int
    body: str
    xml: str  # the plaintext message that was pushed (post it again to simulate a retry)
    reply: Reply | None = None
    plain: str = ""  # the reply XML after decryption
    encrypted: bool = False  # whether the reply came encrypted
    problem: str | None = None  # why WeChat would show "该公众号暂时无法提供服务" instead
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status == 200 and self.problem is None

    @property
    def msg_type(self) -> str | None:
        return self.reply.msg_type if self.reply else None

    @property
    def content(self) -> str | None:
        return self.reply.content if self.reply else None

    @property
    def articles(self) -> list[dict[str, str]]:
        return self.reply.articles if self.reply else []


class Sender:
    def __init__(self, webhook_url: str, token: str, appid: str, encoding_aes_key: str = "",
                 mode: str = "plain", *, account: str = "gh_sandbox00001", server: SandboxServer | None = None,
                 session: requests.Session | None = None, timeout: float = REPLY_DEADLINE,
                 clock: Callable[[], float] = time.time) -> None:
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, not {mode!r}")
        if mode != "plain" and not encoding_aes_key:
            raise ValueError(f"{mode} mode needs the encoding_aes_key")
        self.webhook_url = webhook_url
        self.token = token
        self.appid = appid
        self.mode = mode
        self.account = account
        self.server = server
        self.timeout = timeout
        self.clock = clock
        self.crypto = WeChatCrypto(token, encoding_aes_key, appid) if encoding_aes_key else None
        self.http = session or requests.Session()
        # MsgIds look like WeChat's (17 digits) and only grow.
        self._msg_ids = itertools.count(random.randrange(10**16, 5 * 10**16))

    # ------------------------------------------------------------ messages and events

    def text(self, openid: str, content: str) -> Result:
        return self.post(self.text_xml(openid, content))

    def event(self, openid: str, event: str, key: str | None = None, **extra: Any) -> Result:
        """Any event: subscribe (key="qrscene_..." for a QR subscription), unsubscribe, SCAN, CLICK, VIEW."""
        return self.post(self.event_xml(openid, event, key, **extra))

    def subscribe(self, openid: str, scene: str | None = None) -> Result:
        return self.event(openid, "subscribe", f"qrscene_{scene}" if scene else None)

    def unsubscribe(self, openid: str) -> Result:
        return self.event(openid, "unsubscribe")

    def click(self, openid: str, key: str) -> Result:
        return self.event(openid, "CLICK", key)

    def view(self, openid: str, url: str) -> Result:
        return self.event(openid, "VIEW", url)

    def scan(self, openid: str, scene: str) -> Result:
        return self.event(openid, "SCAN", scene)

    def text_xml(self, openid: str, content: str, msg_id: int | None = None,
                 create_time: int | None = None) -> str:
        return build_xml([
            ("ToUserName", self.account), ("FromUserName", openid),
            ("CreateTime", create_time if create_time is not None else int(self.clock())),
            ("MsgType", "text"), ("Content", content),
            ("MsgId", msg_id if msg_id is not None else next(self._msg_ids)),
        ])

    def event_xml(self, openid: str, event: str, key: str | None = None, create_time: int | None = None,
                  **extra: Any) -> str:
        fields: list[tuple[str, Any]] = [
            ("ToUserName", self.account), ("FromUserName", openid),
            ("CreateTime", create_time if create_time is not None else int(self.clock())),
            ("MsgType", "event"), ("Event", event),
        ]
        if key is not None:
            fields.append(("EventKey", key))
        if event == "SCAN" or (event == "subscribe" and key and key.startswith("qrscene_")):
            extra.setdefault("Ticket", "gQ" + secrets.token_urlsafe(40))
        if event == "VIEW":
            extra.setdefault("MenuId", 0)
        fields.extend(extra.items())
        return build_xml(fields)

    # ------------------------------------------------------------ the push itself

    def verify_url(self, echostr: str | None = None) -> Result:
        """WeChat's URL check (GET): a correct webhook echoes `echostr`."""
        echostr = echostr or str(random.randrange(10**18))
        query = self._signed_query(str(int(self.clock())), _nonce())
        query["echostr"] = echostr
        try:
            response = self.http.get(self.webhook_url, params=query, timeout=self.timeout)
        except requests.RequestException as exc:
            return Result(0, "", "", problem=f"no answer: {type(exc).__name__}")
        problem = None if response.status_code == 200 and response.text == echostr else "echostr not echoed"
        return Result(response.status_code, response.text, "", problem=problem)

    def post(self, xml: str, *, query_overrides: Mapping[str, str | None] | None = None, raw: bool = False,
             timestamp: str | None = None, nonce: str | None = None, touch: bool = True) -> Result:
        """Push `xml` (plaintext) to the webhook, signed and encrypted for the mode.

        `timestamp`/`nonce` are signed as given (e.g. a stale timestamp with a valid signature);
        `query_overrides` then replaces query parameters after signing (None removes one);
        `raw=True` posts `xml` as the body unchanged (no encryption, no msg_signature).
        """
        timestamp = timestamp or str(int(self.clock()))
        nonce = nonce or _nonce()
        fields = _fields(xml)
        openid = str(fields.get("FromUserName") or "")
        query = self._signed_query(timestamp, nonce, openid)
        body = xml
        if self.mode != "plain" and not raw:
            body, query["msg_signature"] = self._encrypt(xml, fields, timestamp, nonce)
            query["encrypt_type"] = "aes"
        for name, value in (query_overrides or {}).items():
            if value is None:
                query.pop(name, None)
            else:
                query[name] = value
        if touch and self.server is not None and openid:
            self.server.touch(openid, _touch_kind(fields))
        return self._deliver(query, body, xml, openid)

    def _signed_query(self, timestamp: str, nonce: str, openid: str = "") -> dict[str, str]:
        query = {"signature": sign(self.token, timestamp, nonce), "timestamp": timestamp, "nonce": nonce}
        if openid:
            query["openid"] = openid
        return query

    def _encrypt(self, xml: str, fields: dict[str, Any], timestamp: str, nonce: str) -> tuple[str, str]:
        """Encrypt with wechatpy; return the body for the mode and its msg_signature."""
        assert self.crypto is not None
        envelope = xmltodict.parse(self.crypto.encrypt_message(xml, nonce, timestamp))["xml"]
        encrypted, signature = envelope["Encrypt"], envelope["MsgSignature"]
        if self.mode == "safe":
            body = build_xml([("ToUserName", str(fields.get("ToUserName") or self.account)),
                              ("Encrypt", encrypted)])
        else:  # compatible: the plaintext fields and the ciphertext side by side
            body = xml.rstrip().removesuffix("</xml>") + f"<Encrypt>{cdata(encrypted)}</Encrypt>\n</xml>"
        return body, signature

    def _deliver(self, query: dict[str, str], body: str, xml: str, openid: str) -> Result:
        try:
            response = self.http.post(self.webhook_url, params=query, data=body.encode("utf-8"),
                                      headers={"Content-Type": "text/xml"}, timeout=self.timeout)
        except requests.Timeout:
            return Result(0, "", xml, problem=f"no reply within {self.timeout:g} s")
        except requests.RequestException as exc:
            return Result(0, "", xml, problem=f"webhook unreachable: {type(exc).__name__}")
        result = Result(response.status_code, response.text, xml, headers=dict(response.headers))
        self._read_reply(result, openid)
        return result

    # ------------------------------------------------------------ the reply

    def _read_reply(self, result: Result, openid: str) -> None:
        if result.status != 200:
            result.problem = f"HTTP {result.status}"
            return
        body = result.body.strip()
        if body in ("", "success"):
            return
        try:
            fields = _parse(body)
        except ValueError:
            result.problem = "reply is neither XML nor 'success'"
            return
        if "Encrypt" in fields:
            try:
                body = self._decrypt(fields)
                fields = _parse(body)
            except (InvalidSignatureException, InvalidAppIdException, ValueError) as exc:
                result.problem = f"undecryptable reply: {type(exc).__name__}"
                return
            result.encrypted = True
        elif self.mode == "safe":
            result.problem = "plaintext reply in safe mode"
        result.plain = body
        result.reply = _reply(fields)
        if openid and fields.get("ToUserName") != openid:
            result.problem = result.problem or "reply ToUserName is not the sender"
        elif fields.get("FromUserName") != self.account:
            result.problem = result.problem or "reply FromUserName is not the account"

    def _decrypt(self, fields: dict[str, Any]) -> str:
        if self.crypto is None:
            raise ValueError("encrypted reply but no encoding_aes_key")
        return self.crypto.decrypt_message({"Encrypt": fields["Encrypt"]}, fields.get("MsgSignature", ""),
                                           str(fields.get("TimeStamp", "")), str(fields.get("Nonce", "")))


def _nonce() -> str:
    return str(random.randrange(10**8, 10**10))


def _parse(xml: str) -> dict[str, Any]:
    try:
        document = xmltodict.parse(xml)
    except Exception:
        raise ValueError("malformed XML") from None
    fields = document.get("xml") if isinstance(document, dict) else None
    if not isinstance(fields, dict):
        raise ValueError("no <xml> root")
    return fields


def _fields(xml: str) -> dict[str, Any]:
    """Best effort: a deliberately broken message still gets posted."""
    try:
        return _parse(xml)
    except ValueError:
        return {}


def _touch_kind(fields: dict[str, Any]) -> str:
    if fields.get("MsgType") == "event":
        return _EVENT_TOUCH.get(str(fields.get("Event")), "view")
    return "message"


def _reply(fields: dict[str, Any]) -> Reply:
    msg_type = str(fields.get("MsgType") or "")
    articles: list[dict[str, str]] = []
    if msg_type == "news":
        items = (fields.get("Articles") or {}).get("item") or []
        for item in items if isinstance(items, list) else [items]:
            articles.append({"title": item.get("Title") or "", "description": item.get("Description") or "",
                             "url": item.get("Url") or "", "picurl": item.get("PicUrl") or ""})
    content = fields.get("Content") if msg_type == "text" else None
    return Reply(msg_type, content if content is None else str(content), articles, fields)
