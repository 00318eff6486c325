"""Every rejection at the edge answers its status, runs no handler and writes nothing.

The safe-mode peer is wechatpy's WeChatCrypto (code we did not write) playing WeChat's server.
"""

from __future__ import annotations

import hashlib
import time

import pytest
import requests
import xmltodict
from wechatpy.crypto import WeChatCrypto

from store.models import Event, InboundMessage, User
from tests import wire
from tests.wire import signed_query, text_xml

NOW = lambda: str(int(time.time()))  # noqa: E731


def post(live, query, body):
    return wire.post(live.url, "", body, query)


def assert_nothing_happened(app):
    services = app.services
    with services.database.connection_context():
        assert InboundMessage.select().count() == 0
        assert Event.select().count() == 0
        assert User.select().count() == 0
    assert services.metrics.messages._metrics == {}  # no message reached the pipeline


def safe_peer(settings, appid=None):
    return WeChatCrypto(settings.wechat.token, settings.wechat.encoding_aes_key, appid or settings.wechat.appid)


def encrypted_post(live, settings, plain_xml, appid=None, tamper=None):
    timestamp, nonce = NOW(), "n0nce"
    envelope = xmltodict.parse(safe_peer(settings, appid).encrypt_message(plain_xml, nonce, timestamp))["xml"]
    query = signed_query(settings.wechat.token, timestamp, nonce)
    query.update(encrypt_type="aes", msg_signature=envelope["MsgSignature"])
    if tamper:
        tamper(query)
    body = f"<xml><ToUserName><![CDATA[gh_test]]></ToUserName><Encrypt><![CDATA[{envelope['Encrypt']}]]></Encrypt></xml>"
    return post(live, query, body.encode()), timestamp, nonce


def test_echostr_check(live, settings):
    query = signed_query(settings.wechat.token)
    query["echostr"] = "12345abc"
    assert requests.get(f"{live.url}/wechat", params=query, timeout=10).text == "12345abc"
    query["signature"] = "0" * 40
    assert requests.get(f"{live.url}/wechat", params=query, timeout=10).status_code == 403


def test_plaintext_message_is_answered(live, settings):
    response = post(live, signed_query(settings.wechat.token), text_xml().encode())
    assert response.status_code == 200
    reply = xmltodict.parse(response.text)["xml"]
    assert reply["ToUserName"] == "o_user" and reply["MsgType"] == "text"
    assert "帮助" in reply["Content"]


def test_safe_mode_round_trip_with_wechatpy_as_wechat(live, settings):
    response, timestamp, nonce = encrypted_post(live, settings, text_xml())
    assert response.status_code == 200
    envelope = xmltodict.parse(response.text)["xml"]
    assert "Content" not in envelope  # the reply is encrypted too
    plain = safe_peer(settings).decrypt_message(
        response.text, envelope["MsgSignature"], envelope["TimeStamp"], envelope["Nonce"])
    reply = xmltodict.parse(plain)["xml"]
    assert reply["ToUserName"] == "o_user" and "帮助" in reply["Content"]


def test_compatible_mode_body_carries_both_and_is_decrypted(live, settings):
    """兼容模式: plaintext fields and Encrypt side by side; the decrypted message is the one used."""
    timestamp, nonce = NOW(), "n0nce"
    envelope = xmltodict.parse(safe_peer(settings).encrypt_message(text_xml(content="帮助"), nonce, timestamp))["xml"]
    plain_part = text_xml(content="这段明文不应被使用", msg_id=1001)
    body = plain_part.replace("</xml>", f"<Encrypt><![CDATA[{envelope['Encrypt']}]]></Encrypt></xml>")
    query = signed_query(settings.wechat.token, timestamp, nonce)
    query.update(encrypt_type="aes", msg_signature=envelope["MsgSignature"])
    response = post(live, query, body.encode())
    envelope = xmltodict.parse(response.text)["xml"]
    plain = safe_peer(settings).decrypt_message(
        response.text, envelope["MsgSignature"], envelope["TimeStamp"], envelope["Nonce"])
    assert "帮助" in xmltodict.parse(plain)["xml"]["Content"]


@pytest.mark.parametrize("case, status", [
    ("bad signature", 403),
    ("missing signature", 403),
    ("stale timestamp", 403),
    ("future timestamp", 403),
    ("oversized body", 413),
    ("doctype", 400),
    ("entity", 400),
    ("malformed xml", 400),
    ("missing MsgType", 400),
    ("missing MsgId", 400),
    ("not xml root", 400),
])
def test_plaintext_rejections(live, app, settings, case, status):
    token = settings.wechat.token
    query, body = signed_query(token), text_xml().encode()
    if case == "bad signature":
        query["signature"] = "f" * 40
    elif case == "missing signature":
        del query["signature"]
    elif case == "stale timestamp":
        query = signed_query(token, str(int(time.time()) - 301))
    elif case == "future timestamp":
        query = signed_query(token, str(int(time.time()) + 310))  # clear of the second that passes
    elif case == "oversized body":
        body = text_xml(content="长" * 23000).encode()
        assert len(body) > 64 * 1024
    elif case == "doctype":
        body = b'<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY a "aaaa">]>' + body
    elif case == "entity":
        body = body.replace(b"<xml>", b"<!ENTITY x SYSTEM 'file:///etc/passwd'><xml>")
    elif case == "malformed xml":
        body = body[:-10]
    elif case == "missing MsgType":
        body = body.replace(b"<MsgType><![CDATA[text]]></MsgType>", b"")
    elif case == "missing MsgId":
        body = body.replace(b"<MsgId>1001</MsgId>", b"")
    elif case == "not xml root":
        body = b"<note><MsgType>text</MsgType></note>"
    response = post(live, query, body)
    assert response.status_code == status
    assert response.text  # a clear reason, never an empty page
    assert_nothing_happened(app)


@pytest.mark.parametrize("case", ["wrong appid", "bad msg_signature", "garbage ciphertext"])
def test_safe_mode_rejections(live, app, settings, case):
    if case == "wrong appid":
        response, _, _ = encrypted_post(live, settings, text_xml(), appid="wx_someone_else")
        assert response.status_code == 403
    elif case == "bad msg_signature":
        response, _, _ = encrypted_post(live, settings, text_xml(),
                                        tamper=lambda q: q.update(msg_signature="0" * 40))
        assert response.status_code == 403
    else:
        timestamp, nonce = NOW(), "n0nce"
        garbage = "bm90IHJlYWxseSBlbmNyeXB0ZWQ="
        query = signed_query(settings.wechat.token, timestamp, nonce)
        query.update(encrypt_type="aes", msg_signature=hashlib.sha1(
            "".join(sorted([settings.wechat.token, timestamp, nonce, garbage])).encode()).hexdigest())
        response = post(live, query, f"<xml><Encrypt><![CDATA[{garbage}]]></Encrypt></xml>".encode())
        assert response.status_code == 400
    assert_nothing_happened(app)


def test_rejections_are_counted_by_reason(live, app, settings):
    query = signed_query(settings.wechat.token)
    query["signature"] = "f" * 40
    post(live, query, text_xml().encode())
    metrics = requests.get(f"{live.url}/metrics", timeout=10).text
    assert 'bot_rejections_total{reason="bad signature"} 1.0' in metrics
