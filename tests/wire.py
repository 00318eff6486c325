"""WeChat's wire format, written out by hand for tests that need exact control over a request."""

from __future__ import annotations

import hashlib
import time

import requests
import xmltodict


def text_xml(openid: str = "o_user", content: str = "帮助", msg_id: int = 1001) -> str:
    return (f"<xml><ToUserName><![CDATA[gh_test]]></ToUserName><FromUserName><![CDATA[{openid}]]></FromUserName>"
            f"<CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
            f"<Content><![CDATA[{content}]]></Content><MsgId>{msg_id}</MsgId></xml>")


def event_xml(openid: str, event: str, key: str = "", create_time: int | None = None) -> str:
    return (f"<xml><ToUserName><![CDATA[gh_test]]></ToUserName><FromUserName><![CDATA[{openid}]]></FromUserName>"
            f"<CreateTime>{create_time or int(time.time())}</CreateTime><MsgType><![CDATA[event]]></MsgType>"
            f"<Event><![CDATA[{event}]]></Event><EventKey><![CDATA[{key}]]></EventKey></xml>")


def signed_query(token: str, timestamp: str | None = None, nonce: str = "nonce123") -> dict[str, str]:
    timestamp = timestamp or str(int(time.time()))
    signature = hashlib.sha1("".join(sorted([token, timestamp, nonce])).encode()).hexdigest()
    return {"signature": signature, "timestamp": timestamp, "nonce": nonce, "openid": "o_user"}


def post(url: str, token: str, xml: str | bytes, query: dict | None = None) -> requests.Response:
    body = xml.encode() if isinstance(xml, str) else xml
    return requests.post(f"{url}/wechat", params=query or signed_query(token), data=body, timeout=15)


def content(response: requests.Response) -> str | None:
    """The text of a plaintext reply, None for "success"."""
    if response.text == "success":
        return None
    return xmltodict.parse(response.text)["xml"].get("Content")
