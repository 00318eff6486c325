"""One verified message in, one rendered reply out: claim, lock, state, route, record, reply.

Exactly once: the message's database transaction touches the sender (row-locking them), runs the
handler, records the event, and last inserts its `InboundMessage` key with the reply, then commits. A
duplicate delivery fails that insert (on PostgreSQL after waiting for the first to commit), rolls back
and answers the first one's reply. Redis only adds a fast path around it: one round trip claims the
message, takes the sender's lock and reads the state (a duplicate that finds the claim never touches
the database); one more saves the state, remembers the reply and releases the lock.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

from werobot.replies import Article, ArticlesReply, TextReply

from dialogs import strings
from dialogs.context import AppContext
from dialogs.reading import outbox_payload
from dialogs.framework import News, Reply, Router, Text, Turn
from ops.logs import request_id
from ops.metrics import Metrics
from settings import Settings
from store import admins, ledger, outbox, queries
from store.db import transaction
from store.degrading import Degrading
from store.state import LockTimeout, Opening, Snapshot

log = logging.getLogger(__name__)

NO_REPLY = "success"
_POLL = 0.02


class _Duplicate(Exception):
    pass


def message_key(message: Any) -> str:
    """MsgId for messages; FromUserName + CreateTime + Event for events (which have no MsgId)."""
    if message.type.endswith("_event"):
        return f"{message.source}:{message.time}:{message.type.removesuffix('_event')}"
    return str(message.message_id)


@dataclass
class Session:
    """What a WeRoBot handler gets as its second argument: the turn and the way into the dialogs."""

    turn: Turn
    router: Router
    next_state: str | None = None

    def __post_init__(self) -> None:
        self.next_state = self.turn.state

    def converse(self) -> Reply:
        reply, self.next_state = self.router.dispatch(self.turn)
        return reply


def _as_list(reply: Reply | list[Text | News]) -> list[Text | News | None]:
    return list(reply) if isinstance(reply, list) and reply else [reply or None]


class Pipeline:
    def __init__(self, *, robot: Any, router: Router, state: Degrading, database: Any,
                 settings: Settings, metrics: Metrics, outbox: Any = None, context: AppContext | None = None) -> None:
        self.robot = robot
        self.router = router
        self.state = state
        self.database = database
        self.settings = settings
        self.metrics = metrics
        self.outbox = outbox  # jobs.outbox.OutboxWorker, or None where no customer-service API is set up
        self.context = context or AppContext.from_settings(settings)

    def handle(self, message: Any, started: float | None = None) -> str:
        """Return the plaintext reply XML (or "success"); never raises."""
        started = time.monotonic() if started is None else started
        deadline = started + self.settings.bot.reply_deadline
        key = message_key(message)
        store = self.settings.store
        self.metrics.messages.labels(message.type).inc()
        try:
            opening = self.state.open(key, message.source, store.seen_ttl, store.lock_timeout)
            if opening.claimed is False:
                return self._answer_duplicate(key, deadline)
            if self.state.degraded:
                self.metrics.degraded.inc()
            return self._run(key, message, deadline, opening)
        except _Duplicate:
            return self._answer_duplicate(key, deadline)
        except LockTimeout:
            self.state.release_claim(key)  # let WeChat's retry try again
            return self._render(Text(strings.BUSY), message)
        except Exception:
            return self._apologise(key, message)
        finally:
            self.metrics.latency.observe(time.monotonic() - started)

    def _run(self, key: str, message: Any, deadline: float, opening: Opening) -> str:
        store = self.settings.store
        openid = message.source
        token, snapshot = opening.token, opening.snapshot
        if snapshot is None:  # another message of this user holds the lock: wait for it, then read
            wait = max(0.0, min(store.lock_wait, deadline - time.monotonic() - 0.2))
            token = self.state.acquire(openid, store.lock_timeout, wait)
            snapshot = self.state.load(openid)
        try:
            with transaction(self.database):
                session = self._session(message, snapshot)
                ledger.record_action(session.turn.user, message.type)  # WeChat's grants for sending later
                first, *later = _as_list(self._dispatch(message, session))
                event = self._event(session.turn) if session.turn.record else None
                first, deliver = self._follow_ups(session.turn, first, later)
                rendered = self._render(first, message)
                if not queries.record_message(key, rendered, event):
                    raise _Duplicate(key)
        except BaseException:
            self.state.release(openid, token)
            raise
        self.state.close(openid, token, Snapshot(session.next_state, session.turn.data), store.state_ttl,
                         key, rendered, store.seen_ttl)
        if deliver and self.outbox is not None:
            self.outbox.kick(session.turn.user.id)
        return rendered

    @staticmethod
    def _follow_ups(turn: Turn, first: Reply, later: list[Text | News]) -> tuple[Reply, bool]:
        """Replies after the first go out as customer-service messages, and the step's tasks run right
        after this message. A new message also reopens WeChat's window for what waited; paid content
        among it is announced in this reply. Returns the (possibly announced) first reply and whether
        there is anything to deliver."""
        user = turn.user
        outbox.enqueue(user, [outbox_payload(reply) for reply in later] + turn.tasks)
        released = outbox.release_waiting(user)
        unlocks = outbox.pending_unlocks(user) if released else 0
        if unlocks:
            notice = strings.PENDING_UNLOCKS.format(count=unlocks)
            if first is None:
                first = Text(notice)
            elif isinstance(first, Text):
                first = Text(f"{notice}\n\n{first.content}")
        return first, bool(later or turn.tasks or released)

    def _session(self, message: Any, snapshot: Snapshot) -> Session:
        openid = message.source
        user = queries.touch_user(openid)  # row-locks the user until commit: one message at a time
        turn = Turn(
            openid=openid,
            kind=message.type.removesuffix("_event"),
            text=(getattr(message, "content", "") or "").strip() if message.type == "text" else "",
            key=getattr(message, "key", "") or "",
            state=snapshot.state,
            data=snapshot.data,
            is_admin=admins.AdminFlag(openid, self.settings.admin.openids),
            user=user,
            message=message,
            app=self.context,
        )
        return Session(turn, self.router)

    def _dispatch(self, message: Any, session: Session) -> Reply:
        """WeRoBot's handler lists, first non-None reply wins (WeRoBot's rule, without its silent except)."""
        for handler, argc in self.robot.get_handlers(message.type):
            reply = handler(*[message, session][:argc])
            if reply is not None:
                return reply
        return None

    @staticmethod
    def _event(turn: Turn) -> Any:
        """The message's behaviour record (sent with the message record, in one round trip)."""
        payload = {
            "text": {"text": turn.text[:500]},
            "click": {"key": turn.key},
            "view": {"url": turn.key},
            "scan": {"scene": turn.key},
            "subscribe": {"scene": turn.key.removeprefix("qrscene_")},
        }.get(turn.kind, {})
        return queries.event_insert(turn.user, turn.kind, **payload)

    def _answer_duplicate(self, key: str, deadline: float) -> str:
        """Wait for the first delivery's reply (while WeChat still listens), else say nothing."""
        self.metrics.duplicates.inc()
        while True:
            reply = self.state.recall_reply(key) or queries.stored_reply(key)
            if reply or time.monotonic() >= deadline:
                return reply or NO_REPLY
            time.sleep(_POLL)

    def _apologise(self, key: str, message: Any) -> str:
        self.metrics.errors.inc()
        log.exception("handler failed", extra={"msg_key": key, "msg_type": message.type})
        apology = self._render(Text(strings.SORRY.format(request_id=request_id.get())), message)
        try:
            queries.record_failure(key, apology)
            self.state.remember_reply(key, apology, self.settings.store.seen_ttl)
        except Exception:
            log.exception("could not record the failure; a retry may run the message again")
            self.state.release_claim(key)
        return apology

    @staticmethod
    def _render(reply: Reply, message: Any) -> str:
        if isinstance(reply, Text):
            return TextReply(message=message, content=reply.content).render()
        if isinstance(reply, News):
            news = ArticlesReply(message=message)
            news.add_article(Article(reply.title, reply.description, reply.picurl, reply.url))
            return news.render()
        return NO_REPLY
