"""WeChat's official message and event samples (the Official Account docs' 接收普通消息 and 接收事件推送),
as field lists, and signed variations of them in odd shapes for the edge's shape checks and the fuzzers.

A sample is a list of (element, value); a value is text or a nested list (ScanCodeInfo and friends).
`CreateTime`, `MsgId` and `FromUserName` are filled per use so that no two deliveries look alike.
"""

from __future__ import annotations

import itertools
from typing import Any, Iterator

Fields = list[tuple[str, Any]]

MESSAGES: dict[str, Fields] = {
    "text": [("MsgType", "text"), ("Content", "this is a test"), ("MsgId", "1234567890123456"),
             ("MsgDataId", "xxxx"), ("Idx", "xxxx")],
    "image": [("MsgType", "image"), ("PicUrl", "http://127.0.0.1/pic.jpg"), ("MediaId", "media_id"),
              ("MsgId", "1234567890123456")],
    "voice": [("MsgType", "voice"), ("MediaId", "media_id"), ("Format", "amr"), ("Recognition", "腾讯微信团队"),
              ("MsgId", "1234567890123456"), ("MediaId16K", "media_id_16k")],
    "video": [("MsgType", "video"), ("MediaId", "media_id"), ("ThumbMediaId", "thumb_media_id"),
              ("MsgId", "1234567890123456")],
    "shortvideo": [("MsgType", "shortvideo"), ("MediaId", "media_id"), ("ThumbMediaId", "thumb_media_id"),
                   ("MsgId", "1234567890123456")],
    "location": [("MsgType", "location"), ("Location_X", "23.134521"), ("Location_Y", "113.358803"),
                 ("Scale", "20"), ("Label", "位置信息"), ("MsgId", "1234567890123456")],
    "link": [("MsgType", "link"), ("Title", "公众平台官网链接"), ("Description", "公众平台官网链接"),
             ("Url", "http://127.0.0.1/link"), ("MsgId", "1234567890123456")],
}

EVENTS: dict[str, Fields] = {
    "subscribe": [("MsgType", "event"), ("Event", "subscribe")],
    "subscribe_scene": [("MsgType", "event"), ("Event", "subscribe"), ("EventKey", "qrscene_123123"),
                        ("Ticket", "TICKET")],
    "unsubscribe": [("MsgType", "event"), ("Event", "unsubscribe")],
    "scan": [("MsgType", "event"), ("Event", "SCAN"), ("EventKey", "SCENE_VALUE"), ("Ticket", "TICKET")],
    "location": [("MsgType", "event"), ("Event", "LOCATION"), ("Latitude", "23.137466"),
                 ("Longitude", "113.352425"), ("Precision", "119.385040")],
    "click": [("MsgType", "event"), ("Event", "CLICK"), ("EventKey", "MENU_HELP")],
    "view": [("MsgType", "event"), ("Event", "VIEW"), ("EventKey", "http://127.0.0.1/"), ("MenuId", "MENUID")],
    "scancode_push": [("MsgType", "event"), ("Event", "scancode_push"), ("EventKey", "6"),
                      ("ScanCodeInfo", [("ScanType", "qrcode"), ("ScanResult", "1")])],
    "pic_sysphoto": [("MsgType", "event"), ("Event", "pic_sysphoto"), ("EventKey", "6"),
                     ("SendPicsInfo", [("Count", "1"),
                                       ("PicList", [("item", [("PicMd5Sum", "1b5f7c23b5bf75682a53e7b6d163e185")])])])],
    "location_select": [("MsgType", "event"), ("Event", "location_select"), ("EventKey", "6"),
                        ("SendLocationInfo", [("Location_X", "23"), ("Location_Y", "113"), ("Scale", "15"),
                                              ("Label", " 广州市海珠区客村艺苑路 106号"), ("Poiname", "")])],
    "templatesendjobfinish": [("MsgType", "event"), ("Event", "TEMPLATESENDJOBFINISH"), ("MsgID", "200163836"),
                              ("Status", "success")],
    "masssendjobfinish": [("MsgType", "event"), ("Event", "MASSSENDJOBFINISH"), ("MsgID", "1988"),
                          ("Status", "sendsuccess"), ("TotalCount", "100"), ("FilterCount", "80"),
                          ("SentCount", "75"), ("ErrorCount", "5")],
}


def sample(name: str, openid: str = "o_sample", create_time: int = 1348831860, msg_id: int = 1) -> Fields:
    """One official sample with its own sender, CreateTime and MsgId."""
    kind, _, which = name.partition(":")
    body = (MESSAGES if kind == "message" else EVENTS)[which]
    head = [("ToUserName", "gh_test"), ("FromUserName", openid), ("CreateTime", str(create_time))]
    return head + [(k, str(msg_id) if k == "MsgId" else v) for k, v in body]


SAMPLES = [f"message:{n}" for n in MESSAGES] + [f"event:{n}" for n in EVENTS]


def to_xml(fields: Fields) -> str:
    def part(name: str, value: Any) -> str:
        if isinstance(value, list):
            return f"<{name}>{''.join(part(k, v) for k, v in value)}</{name}>"
        if value is None:
            return f"<{name}/>"
        return f"<{name}><![CDATA[{value}]]></{name}>" if not value.isdigit() else f"<{name}>{value}</{name}>"

    return "<xml>" + "".join(part(k, v) for k, v in fields) + "</xml>"


# ---------------------------------------------------------------- odd shapes

READ = ("ToUserName", "FromUserName", "CreateTime", "MsgType", "MsgId", "Event", "EventKey", "Content")


def variations(fields: Fields) -> Iterator[tuple[str, Fields]]:
    """(what, fields) for each odd shape of one sample: WeChat never sends these, so each is a 400."""
    names = [k for k, _ in fields]
    for name in names:
        if name in ("MsgId", "Event", "CreateTime", "FromUserName", "ToUserName", "MsgType"):
            yield f"no {name}", [(k, v) for k, v in fields if k != name]
            yield f"empty {name}", [(k, None if k == name else v) for k, v in fields]
        if name in READ:
            yield f"{name} twice", fields + [(name, dict(fields)[name])]
            yield f"{name} nested", [(k, [("a", "1")] if k == name else v) for k, v in fields]
            yield f"huge {name}", [(k, "9" * 9000 if k == name else v) for k, v in fields]
    for name in ("CreateTime", "MsgId"):
        if name in names:
            yield f"{name} not a number", [(k, "abc" if k == name else v) for k, v in fields]
            yield f"{name} superscript digit", [(k, "²" if k == name else v) for k, v in fields]
    yield "MsgType odd", [(k, "te xt<>" if k == "MsgType" else v) for k, v in fields]
    yield "MsgType huge", [(k, "x" * 300 if k == "MsgType" else v) for k, v in fields]
    for shadow in ("source", "content", "time", "key", "message_id", "target"):
        yield f"element named {shadow}", fields + [(shadow, [("a", "1")])]


def odd_messages() -> Iterator[tuple[str, str, str]]:
    """(sample, what, xml) over every official sample; senders and ids unique."""
    serial = itertools.count(1)
    for name in SAMPLES:
        n = next(serial)
        for what, fields in variations(sample(name, f"o_odd_{n}", 1_700_000_000 + n, n)):
            yield name, what, to_xml(fields)
