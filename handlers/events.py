"""WeRoBot handlers: plain decorators at the edge. Conversation goes to the dialogs.

Each handler gets the WeRoBot message and our `Session`; it returns a reply (dialogs.framework.Text or
News) or None. WeRoBot's own session storage stays off: state lives in store/state.py.
"""

from __future__ import annotations

import re

from werobot.robot import BaseRoBot

from dialogs import search_strings, strings
from dialogs.framework import News, Reply, Text
from handlers.pipeline import Session
from store import broadcasts, queries

robot = BaseRoBot(SESSION_STORAGE=False)
MASS_FINISHED = "masssendjobfinish_event"  # WeRoBot has no type of its own for it


@robot.subscribe
def on_subscribe(message, session: Session) -> Reply:
    scene = (message.key or "").removeprefix("qrscene_") or None
    first = queries.mark_subscribed(session.turn.user, scene)
    return Text(strings.WELCOME if first else strings.WELCOME_BACK)


@robot.unsubscribe
def on_unsubscribe(message, session: Session) -> Reply:
    """Pushes stop and profile and behaviour are deleted; WeChat shows no reply to this event."""
    queries.forget_user(session.turn.openid)
    session.turn.record = False
    session.next_state = None
    return None


@robot.scan
def on_scan(message, session: Session) -> Reply:
    return Text(strings.WELCOME_BACK)


@robot.view
def on_view(message, session: Session) -> Reply:
    return None  # a menu link was opened: recorded by the pipeline, nothing to say


@robot.text
@robot.click
def on_conversation(message, session: Session) -> Reply:
    return session.converse()


@robot.voice
def on_voice(message, session: Session) -> Reply:
    """Recognised words count exactly as if typed (commands, numbers, searches), shown back first."""
    heard = spoken_text(getattr(message, "recognition", "") or "")
    if not heard:
        return Text(search_strings.VOICE_UNHEARD)
    session.turn.kind, session.turn.text = "text", heard
    return with_heard(heard, session.converse())


# WeChat's recognition ends sentences with punctuation (「机器学习。」) and may spell a number out.
_EDGE_PUNCTUATION = re.compile(r"^[\s\W_]+|[\s\W_]+$")
_SPOKEN_NUMBER = re.compile(r"^第?([一二两三四五六七八九十]{1,3})[个篇条]?$")
_DIGITS = {"一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}


def spoken_text(recognition: str) -> str:
    """The recognised words as a follower would have typed them: edge punctuation gone, a spoken
    number (「三」, 「第二个」, 「十二」) as digits."""
    text = _EDGE_PUNCTUATION.sub("", recognition.strip())
    spoken = _SPOKEN_NUMBER.match(text)
    value = _numeral(spoken.group(1)) if spoken else None
    return str(value) if value else text


def _numeral(text: str) -> int | None:
    """一..九十九 in Chinese numerals, or None."""
    if "十" not in text:
        return _DIGITS.get(text)
    tens, _, ones = text.partition("十")
    if len(tens) > 1 or len(ones) > 1 or any(ch not in _DIGITS for ch in tens + ones):
        return None
    return _DIGITS.get(tens, 1) * 10 + _DIGITS.get(ones, 0)


def with_heard(heard: str, reply: Reply) -> Reply:
    """The reply, led by a short line repeating what was heard."""
    shown = heard if len(heard) <= 30 else heard[:30] + "…"
    echo = search_strings.VOICE_HEARD.format(text=shown)
    first, *rest = reply if isinstance(reply, list) and reply else [reply]
    if isinstance(first, Text):
        return [Text(f"{echo}\n\n{first.content}"), *rest]
    return [Text(echo)] + ([first] if isinstance(first, News) else []) + rest


@robot.image
@robot.video
@robot.shortvideo
@robot.location
@robot.link
@robot.unknown
def on_other_message(message, session: Session) -> Reply:
    return session.converse()  # the dialogs' default answers what they cannot read


@robot.handler
def on_mass_finished(message, session: Session) -> Reply:
    """WeChat reports a broadcast's result (sent by its broadcast assistant, not a follower). Registered for
    every type, as WeRoBot has none for this event: anything else passes through untouched."""
    if message.type != MASS_FINISHED:
        return None
    fields = message.__dict__
    number = lambda name: int(fields.get(name) or 0)  # noqa: E731
    broadcasts.record_finished(str(fields.get("MsgID") or fields.get("MsgId") or ""), str(fields.get("Status") or ""),
                               number("TotalCount"), number("FilterCount"), number("SentCount"), number("ErrorCount"))
    session.turn.record = False
    return None
