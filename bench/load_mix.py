"""The followers of bench/load.py: each virtual follower runs one purchase conversation, step by step, at a
fixed cadence (open loop: a step is due at its time, latency counts from then), and retries as WeChat's
servers do.

A conversation: menu click 找内容, search 梯度下降, pick 1, 购买, 确认, then WeChat Pay's notification for the
order on the pay card (signed as tests/paywire.py does). The search and the 确认 are delivered twice
(WeChat's retry after its 5 s wait), so the database can show that no message was handled twice.
Retries: a webhook message that got no answer or a 5xx is delivered again 1 s later, 3 deliveries in
all (WeChat's); a notification without 2xx is sent again every 2 s, 10 times (WeChat Pay's schedule,
compressed).
"""

from __future__ import annotations

import itertools
import re
import time
from dataclasses import dataclass
from typing import Any, Callable
from urllib.parse import urlencode

from bench.http_load import Client
from tests import wire

STEPS = ("menu", "search", "pick", "buy", "confirm", "notify")
TEXTS = {"search": "梯度下降", "pick": "1", "buy": "购买", "confirm": "确认"}
TWICE = {"search", "confirm"}
XML = {"Content-Type": "text/xml"}
SORRY_MARK = "抱歉，系统开了个小差".encode()
WEBHOOK_DELIVERIES, NOTIFY_DELIVERIES = 3, 10


@dataclass
class Record:
    phase: str
    step: str
    openid: str
    due: float
    answered: float | None  # perf_counter of the final answer; None: never answered
    outcome: str  # ok | apology | no order | wrong reply | HTTP nnn | an exception's name
    deliveries: int
    duplicate: str = ""  # the duplicate delivery: "" not sent, "same", or what differed


class Follower:
    """One slot of the load: conversations one after another, each with a fresh openid."""

    def __init__(self, port: int, token: str, notes: Callable[[str, str], tuple[dict, bytes]],
                 touch: Callable[[str, str], None], links: Any, notified: list[tuple[str, bool]],
                 echo: bool = False) -> None:
        self.client = Client(port)
        self.token, self.notes, self.touch, self.echo = token, notes, touch, echo
        self.links, self.notified = links, notified  # the bot's web.links.Links; (out_trade_no, settled)
        self.order: str | None = None

    def run(self, phase: str, openids: list[str], due: list[float], out: list[Record]) -> None:
        """`due[i]` is step i of the conversations of `openids`, one after another."""
        for i, at in enumerate(due):
            openid, step = openids[i // len(STEPS)], STEPS[i % len(STEPS)]
            time.sleep(max(0.0, at - time.perf_counter()))
            if step == "menu":
                self.order = None
                self.touch(openid, "subscribe")
            out.append(self.step(phase, step, openid, at))
        self.client.close()

    def step(self, phase: str, step: str, openid: str, due: float) -> Record:
        if step == "notify" and not self.echo:
            return self._notify(phase, openid, due)
        self.touch(openid, "click" if step == "menu" else "message")
        xml = self._xml(step, openid)
        outcome, body, deliveries = "", b"", 0
        while deliveries < WEBHOOK_DELIVERIES:
            deliveries += 1
            outcome, body = self._post_message(xml)
            if outcome in ("ok", "apology", "wrong reply"):  # answered: WeChat delivers no more
                break
            time.sleep(1.0)
        record = Record(phase, step, openid, due, time.perf_counter() if outcome else None, outcome, deliveries)
        if outcome == "ok" and step == "confirm" and not self.echo:
            self.order = _order_of(self.links, body)
        if outcome == "ok" and step in TWICE:
            again, body2 = self._post_message(xml)
            record.duplicate = "same" if again == "ok" and (body2 == body or body2 == b"success") else again or "differs"
        return record

    def _xml(self, step: str, openid: str) -> str:
        serial = next(_serial)
        if step == "menu":
            return wire.event_xml(openid, "CLICK", "MENU_FIND", create_time=_BASE + serial)
        return wire.text_xml(openid, TEXTS.get(step, "支付通知"), msg_id=_BASE * 1000 + serial)

    def _post_message(self, xml: str) -> tuple[str, bytes]:
        query = urlencode(wire.signed_query(self.token, nonce=f"n{next(_serial):x}"))
        try:
            status, body = self.client.post(f"/wechat?{query}", xml.encode(), XML)
        except Exception as exc:  # refused, reset, timed out: WeChat delivers again
            self.client.close()
            return type(exc).__name__, b""
        if status != 200:
            return f"HTTP {status}", body
        if SORRY_MARK in body:
            return "apology", body
        return ("ok" if body == b"success" or b"<xml>" in body else "wrong reply"), body

    def _notify(self, phase: str, openid: str, due: float) -> Record:
        if self.order is None:  # the conversation did not reach a pay card (a fault cut it short)
            return Record(phase, "notify", openid, due, time.perf_counter(), "no order", 0)
        headers, body = self.notes(self.order, openid)
        outcome, deliveries = "", 0
        while deliveries < NOTIFY_DELIVERIES:
            deliveries += 1
            try:
                status, _ = self.client.post("/pay/notify", body, headers)
                outcome = "ok" if status in (200, 204) else f"HTTP {status}"
            except Exception as exc:
                self.client.close()
                outcome = type(exc).__name__
            if outcome == "ok":
                break
            time.sleep(2.0)
        self.notified.append((self.order, outcome == "ok"))
        return Record(phase, "notify", openid, due, time.perf_counter(), outcome, deliveries)


def _order_of(links: Any, body: bytes) -> str | None:
    """The out_trade_no behind the pay card's link (web/links.py signs it; the bench knows the key)."""
    from web.links import BadLink

    found = re.search(rb"/pay/([A-Za-z0-9_.\-]+)", body)
    if found is None:
        return None
    try:
        return links.open_pay(found.group(1).decode())
    except BadLink:
        return None


_BASE = int(time.time())
_serial = itertools.count(1)  # shared by every follower: no two messages of a run look alike
