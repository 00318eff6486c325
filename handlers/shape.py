"""The shape of a verified message: every element WeRoBot or our handlers read, checked before any runs.

WeRoBot trusts its XML: an event without `Event` raises KeyError, a `CreateTime` that is not a number
raises when it is read, an element given twice arrives as a list, one with children or attributes as a
dict, and a top-level element named like one of WeRoBot's attributes (`source`, `content`) replaces that
attribute on the message. So: each element we know has a rule (scalar text, a pattern, a length), the
required ones must be there, and an element name must be a plain name that none of WeRoBot's message
classes uses for an attribute (WeChat's own lowercase `bizmsgmenuid` passes; `source` does not).
Elements we do not read (`ScanCodeInfo`, `MsgDataId`, ...) may have any shape, except the one WeRoBot
reads while it builds the message: a picture event's `SendPicsInfo` (found by fuzzing: `Count` 2 with one
`item` raised TypeError). Reasons are short and name only known elements, so the rejection metric's
labels stay few.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from werobot.messages.events import EventMetaClass
from werobot.messages.messages import MessageMetaClass

_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
# What WeRoBot sets or reads on a message object: an element of that name would replace it.
SHADOWING = {name for cls in [*MessageMetaClass.TYPES.values(), *EventMetaClass.TYPES.values()]
             for name in dir(cls) if not name.startswith("_")} | {"type", "raw"}


class Malformed(ValueError):
    """A verified message whose shape WeChat never sends; `reason` is the 400's body."""


@dataclass(frozen=True)
class Rule:
    pattern: re.Pattern[str] | None  # None: any text
    max_length: int
    what: str  # how the reason names the expected form


def _rule(pattern: str | None, max_length: int, what: str = "text") -> Rule:
    return Rule(re.compile(pattern) if pattern else None, max_length, what)


_ID = _rule(r"[A-Za-z0-9_-]+", 64, "an id")
_INTEGER = _rule(r"[0-9]+", 20, "a number")
_NUMBER = _rule(r"-?[0-9]{1,4}(\.[0-9]{1,12})?", 20, "a number")
_TYPE = _rule(r"[A-Za-z_]+", 64, "a type name")
_URL = _rule(None, 2048)
_SHORT = _rule(None, 256)
_LONG = _rule(None, 8192)

RULES: dict[str, Rule] = {
    "ToUserName": _ID, "FromUserName": _ID, "CreateTime": _rule(r"[0-9]+", 10, "a number"),
    "MsgType": _TYPE, "MsgId": _INTEGER, "MsgID": _INTEGER, "Event": _TYPE, "EventKey": _URL,
    "Content": _LONG, "PicUrl": _URL, "MediaId": _SHORT, "ThumbMediaId": _SHORT, "Format": _SHORT,
    "Recognition": _LONG, "Location_X": _NUMBER, "Location_Y": _NUMBER, "Scale": _INTEGER,
    "Label": _URL, "Title": _URL, "Description": _LONG, "Url": _URL, "Ticket": _URL,
    "Latitude": _NUMBER, "Longitude": _NUMBER, "Precision": _NUMBER, "Status": _SHORT,
}
REQUIRED = ("ToUserName", "FromUserName", "CreateTime", "MsgType")
PICTURE_EVENTS = ("pic_sysphoto", "pic_photo_or_album", "pic_weixin")


def message(fields: dict[str, Any]) -> dict[str, Any]:
    """The fields of a plaintext (or decrypted) message, unchanged when WeRoBot may read them."""
    for name, value in fields.items():
        if not _NAME.fullmatch(name) or name in SHADOWING:
            raise Malformed("unexpected element name")
        rule = RULES.get(name)
        if rule is not None:
            _check(name, value, rule)
    event = (fields.get("MsgType") or "").lower() == "event"
    for name in REQUIRED + (("Event",) if event else ("MsgId",)):
        if not fields.get(name):
            raise Malformed(f"{name} is required")
    if event and fields["Event"].lower() in PICTURE_EVENTS:
        _pictures(fields.get("SendPicsInfo"))
    return fields


def ciphertext(fields: dict[str, Any]) -> str:
    """The `Encrypt` element of a safe-mode envelope (the other elements are not read)."""
    value = fields.get("Encrypt")
    if not isinstance(value, str) or not value:
        raise Malformed("Encrypt must be one non-empty element")
    return value


def _pictures(info: Any) -> None:
    """SendPicsInfo as WeRoBot's picture events read it on construction: Count, then PicList's items
    (a list when Count > 1, else one), each with a PicMd5Sum."""
    count = info.get("Count") if isinstance(info, dict) else None
    if not isinstance(count, str) or not re.fullmatch(r"[0-9]{1,2}", count):
        raise Malformed("SendPicsInfo.Count must be a number")
    pictures = info.get("PicList")
    items = pictures.get("item") if isinstance(pictures, dict) else None
    items = items if int(count) > 1 else [items]
    if not isinstance(items, list) or not all(isinstance(i, dict) and isinstance(i.get("PicMd5Sum"), str)
                                              for i in items):
        raise Malformed("SendPicsInfo.PicList does not match Count")


def _check(name: str, value: Any, rule: Rule) -> None:
    if isinstance(value, list):
        raise Malformed(f"{name} given more than once")
    if value is None:
        return  # empty: `required` decides
    if not isinstance(value, str):
        raise Malformed(f"{name} must be plain text")
    if len(value) > rule.max_length:
        raise Malformed(f"{name} too long")
    if rule.pattern is not None and not (value.isascii() and rule.pattern.fullmatch(value)):
        raise Malformed(f"{name} must be {rule.what}")
