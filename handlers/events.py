"""WeRoBot handlers: plain decorators at the edge. Conversation goes to the dialogs.

Each handler gets the WeRoBot message and our `Session`; it returns a reply (dialogs.framework.Text or
News) or None. WeRoBot's own session storage stays off: state lives in store/state.py.
"""

from __future__ import annotations

from werobot.robot import BaseRoBot

from dialogs import strings
from dialogs.framework import Reply, Text
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


@robot.image
@robot.voice
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
