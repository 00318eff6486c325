"""Signed messages of odd shapes: every official sample is answered, every odd variation of one is a 400
with a short reason, counted by reason, before any handler runs or any row is written."""

from __future__ import annotations

import time

import pytest
import xmltodict
from wechatpy.crypto import WeChatCrypto

from handlers import shape
from tests import samples, wire
from tests.test_webhook_security import assert_nothing_happened


def rejections(app) -> dict[str, float]:
    counter = app.services.metrics.rejections
    return {labels[0]: child._value.get() for labels, child in counter._metrics.items()}


def encrypted(settings, xml: str) -> tuple[dict, bytes]:
    """The safe-mode delivery of `xml`, wechatpy's WeChatCrypto playing WeChat."""
    wechat = settings.wechat
    timestamp, nonce = str(int(time.time())), "n0nce"
    envelope = xmltodict.parse(WeChatCrypto(wechat.token, wechat.encoding_aes_key, wechat.appid)
                               .encrypt_message(xml, nonce, timestamp))["xml"]
    query = wire.signed_query(wechat.token, timestamp, nonce)
    query.update(encrypt_type="aes", msg_signature=envelope["MsgSignature"])
    return query, f"<xml><Encrypt><![CDATA[{envelope['Encrypt']}]]></Encrypt></xml>".encode()


@pytest.mark.parametrize("name", samples.SAMPLES)
def test_official_samples_are_answered(live, settings, name):
    xml = samples.to_xml(samples.sample(name, "o_sample", int(time.time()), 4242))
    response = wire.post(live.url, settings.wechat.token, xml)
    assert response.status_code == 200
    assert response.text == "success" or xmltodict.parse(response.text)["xml"]["ToUserName"] == "o_sample"


@pytest.mark.parametrize("mode", ["plaintext", "safe"])
def test_odd_shapes_are_refused_before_any_handler(live, app, settings, mode):
    odd = list(samples.odd_messages())
    assert len(odd) > 600
    for name, what, xml in odd:
        query, body = encrypted(settings, xml) if mode == "safe" else (wire.signed_query(settings.wechat.token), xml)
        response = wire.post(live.url, "", body, query)
        assert response.status_code == 400, (name, what, response.status_code, response.text[:200])
        assert 0 < len(response.text) < 80, (name, what)
    assert_nothing_happened(app)
    counted = rejections(app)
    assert sum(counted.values()) == len(odd)
    assert {"Event is required", "CreateTime must be a number", "MsgId given more than once",
            "FromUserName must be plain text", "unexpected element name"} <= set(counted)
    assert len(counted) < 60  # reasons name known elements only: the metric's labels stay few


@pytest.mark.parametrize("encrypt", ["<Encrypt>a</Encrypt><Encrypt>b</Encrypt>", "<Encrypt><a>1</a></Encrypt>",
                                     "<Encrypt></Encrypt>", ""])
def test_odd_safe_mode_envelopes_are_refused(live, app, settings, encrypt):
    query = wire.signed_query(settings.wechat.token)
    query.update(encrypt_type="aes", msg_signature="0" * 40)
    response = wire.post(live.url, "", f"<xml><ToUserName>gh_test</ToUserName>{encrypt}</xml>", query)
    assert response.status_code == 400 and response.text == "Encrypt must be one non-empty element"
    assert_nothing_happened(app)


@pytest.mark.parametrize("timestamp", ["²", "１２３", "9" * 5000, "-1", ""])
def test_odd_timestamps_are_refused(live, app, settings, timestamp):
    response = wire.post(live.url, "", wire.text_xml(), wire.signed_query(settings.wechat.token, timestamp or " "))
    assert response.status_code == 403
    assert_nothing_happened(app)


@pytest.mark.parametrize("fields, reason", [
    ({"MsgType": "event"}, "ToUserName is required"),
    ({"ToUserName": "gh", "FromUserName": "o", "CreateTime": "1", "MsgType": "EVENT"}, "Event is required"),
    ({"ToUserName": "gh", "FromUserName": "o", "CreateTime": "1", "MsgType": "text"}, "MsgId is required"),
    ({"ToUserName": "gh", "FromUserName": "o:seen:1", "CreateTime": "1", "MsgType": "text", "MsgId": "1"},
     "FromUserName must be an id"),
    ({"ToUserName": "gh", "FromUserName": "o", "CreateTime": "1", "MsgType": "location", "MsgId": "1",
      "Location_X": "1e400"}, "Location_X must be a number"),
    ({"@id": "1"}, "unexpected element name"),
])
def test_shape_reasons(fields, reason):
    with pytest.raises(shape.Malformed) as raised:
        shape.message(fields)
    assert str(raised.value) == reason


def _pictures(info) -> str:
    fields = samples.sample("event:pic_sysphoto", "o_pics", int(time.time()))
    return samples.to_xml([(k, info if k == "SendPicsInfo" else v) for k, v in fields if info or k != "SendPicsInfo"])


PIC = [("PicMd5Sum", "1b5f7c23b5bf75682a53e7b6d163e185")]


@pytest.mark.parametrize("info", [
    [("Count", "2"), ("PicList", [("item", PIC)])],  # found by fuzz/run.py: WeRoBot raised TypeError
    [("Count", "1"), ("PicList", [("item", PIC), ("item", PIC)])],
    [("PicList", [("item", PIC)])], [("Count", "x"), ("PicList", [("item", PIC)])], "two", None,
    [("Count", "1"), ("PicList", "none")], [("Count", "1"), ("PicList", [("item", "abc")])],
])
def test_odd_picture_events_are_refused(live, app, settings, info):
    response = wire.post(live.url, settings.wechat.token, _pictures(info))
    assert response.status_code == 400 and response.text.startswith("SendPicsInfo")
    assert_nothing_happened(app)


def test_picture_event_with_two_pictures_is_answered(live, settings):
    response = wire.post(live.url, settings.wechat.token,
                         _pictures([("Count", "2"), ("PicList", [("item", PIC), ("item", PIC)])]))
    assert response.status_code == 200


def test_wechats_own_lowercase_elements_pass(live, settings):
    """A reply chosen from a customer-service menu carries `bizmsgmenuid`: lowercase, and WeChat's."""
    fields = samples.sample("message:text", "o_menu", int(time.time()), 5151) + [("bizmsgmenuid", "101")]
    response = wire.post(live.url, settings.wechat.token, samples.to_xml(fields))
    assert response.status_code == 200 and "ToUserName" in response.text
