"""Notifications: TRANSACTION.SUCCESS / REFUND.SUCCESS delivered to the merchant on WeChat Pay's retry
schedule (15s/15s/30s/3m/10m/20m/30m/30m/30m/60m/3h/3h/3h/6h/6h after the first attempt) until it answers
200/204, with switches (drop, duplicate, delay, reorder, SIGNTEST probes); every attempt is recorded."""

from __future__ import annotations

import base64
import dataclasses
import secrets
import threading
import uuid
from dataclasses import dataclass
from typing import Any, Callable

import requests

from sandbox.clock import Clock
from sandbox.pay.formats import dumps, rfc3339
from sandbox.pay.keys import aes_gcm_encrypt
from sandbox.pay.schedulers import Scheduler

PROBE_PREFIX = "WECHATPAY/SIGNTEST/"  # signature probes: merchants must reject them
RETRY_DELAYS: tuple[int, ...] = (15, 15, 30, 180, 600, 1200, 1800, 1800, 1800, 3600,
                                 10800, 10800, 10800, 21600, 21600)  # 24h4m in all
ANSWER_TIMEOUT = 5.0  # seconds WeChat Pay waits for the merchant's answer to a notification


@dataclass
class Delivery:
    """One POST of a notification to the merchant, and the merchant's answer."""

    notification_id: str
    event_type: str
    out_trade_no: str
    out_refund_no: str | None
    kind: str  # "notify" (an attempt of the schedule), "duplicate" (an extra copy) or "probe" (SIGNTEST)
    attempt: int  # 1 for the first attempt of the schedule; 0 for probes and duplicates
    at: float  # scheduler time (WeChat Pay seconds) of the attempt
    url: str
    headers: dict[str, str]
    body: bytes
    status: int | None  # the merchant's HTTP status; None: no answer (refused, timeout)
    answer: str  # the merchant's body (truncated) or the network error

    @property
    def accepted(self) -> bool:
        return self.status in (200, 204)


@dataclass
class Notice:
    """A notification WeChat Pay owes the merchant, with its delivery state."""

    id: str
    event_type: str
    out_trade_no: str
    out_refund_no: str | None
    url: str
    resource: dict[str, Any]  # the plaintext inside the encrypted resource
    body: bytes  # the JSON posted on every attempt (same id, same ciphertext)
    created_at: float  # scheduler time
    duplicate: int = 1
    delay: float = 0.0
    probes: int = 0
    state: str = "pending"  # pending, held (reordered), dropped, delivered, given_up
    attempts: int = 0


@dataclass
class Controls:
    """Switches for the next notifications (each notice keeps the values it was created with)."""

    drop: bool = False  # never deliver
    duplicate: int = 1  # deliver each this many times in all (copies follow the accepted delivery)
    delay: float = 0.0  # WeChat Pay seconds before the first attempt
    reorder: bool = False  # hold TRANSACTION.* back until the order's refund notification has gone out
    probes: int = 0  # SIGNTEST probes (garbage signature) sent before the first attempt


class Notifier:
    """Delivers notifications on WeChat Pay's schedule and records every attempt."""

    def __init__(self, sign: Callable[[bytes], list[tuple[str, str]]], apiv3_key: str, clock: Clock,
                 scheduler: Scheduler, *, answer_timeout: float = ANSWER_TIMEOUT,
                 post: Callable[..., requests.Response] | None = None) -> None:
        self._sign = sign
        self._apiv3_key = apiv3_key
        self._clock = clock
        self.scheduler = scheduler
        self.answer_timeout = answer_timeout
        self._post = post or requests.post
        self.controls = Controls()
        self._lock = threading.Lock()
        self._notices: list[Notice] = []
        self._deliveries: list[Delivery] = []

    def configure(self, **switches: Any) -> Controls:
        """Set switches for the notifications created from now on: drop, duplicate, delay, reorder,
        probes (see `Controls`). `configure()` with no arguments resets them."""
        with self._lock:
            self.controls = dataclasses.replace(Controls() if not switches else self.controls, **switches)
            if self.controls.duplicate < 1 or self.controls.probes < 0 or self.controls.delay < 0:
                raise ValueError("duplicate >= 1, probes >= 0, delay >= 0")
            return self.controls

    # ------------------------------------------------------------ inspection

    def deliveries(self, out_trade_no: str | None = None, event_type: str | None = None,
                   kind: str | None = None) -> list[Delivery]:
        with self._lock:
            return [d for d in self._deliveries if (out_trade_no is None or d.out_trade_no == out_trade_no)
                    and (event_type is None or d.event_type == event_type) and (kind is None or d.kind == kind)]

    def notices(self, out_trade_no: str | None = None) -> list[Notice]:
        with self._lock:
            return [n for n in self._notices if out_trade_no is None or n.out_trade_no == out_trade_no]

    # ------------------------------------------------------------ sending

    def send(self, event_type: str, summary: str, original_type: str, resource: dict[str, Any], url: str,
             out_trade_no: str, out_refund_no: str | None = None) -> Notice:
        """Create a notification (encrypted with the APIv3 key) and start delivering it."""
        nonce, ciphertext = aes_gcm_encrypt(self._apiv3_key, dumps(resource), original_type)
        notice_id = str(uuid.uuid4())
        body = dumps({
            "id": notice_id, "create_time": rfc3339(self._clock.now()), "resource_type": "encrypt-resource",
            "event_type": event_type, "summary": summary,
            "resource": {"original_type": original_type, "algorithm": "AEAD_AES_256_GCM", "ciphertext": ciphertext,
                         "associated_data": original_type, "nonce": nonce},
        })
        with self._lock:
            controls = self.controls
            notice = Notice(notice_id, event_type, out_trade_no, out_refund_no, url, resource, body,
                            self.scheduler.now(), controls.duplicate, controls.delay, controls.probes)
            if controls.drop:
                notice.state = "dropped"
            elif controls.reorder and event_type.startswith("TRANSACTION."):
                notice.state = "held"
            self._notices.append(notice)
        if notice.state == "dropped":
            return notice
        for _ in range(notice.probes):
            self.scheduler.call_later(notice.delay, lambda: self._attempt(notice, "probe"))
        if notice.state == "pending":
            self.scheduler.call_later(notice.delay, lambda: self._deliver(notice))
        return notice

    def release(self, out_trade_no: str | None = None) -> int:
        """Send held (reordered) notifications now; return how many."""
        with self._lock:
            held = [n for n in self._notices if n.state == "held"
                    and (out_trade_no is None or n.out_trade_no == out_trade_no)]
            for notice in held:
                notice.state = "pending"
        for notice in held:
            self.scheduler.call_later(0, lambda notice=notice: self._deliver(notice))
        return len(held)

    def close(self) -> None:
        self.scheduler.close()

    def _deliver(self, notice: Notice) -> None:
        with self._lock:
            if notice.state != "pending":
                return
            notice.attempts += 1
            attempt = notice.attempts
        delivery = self._attempt(notice, "notify", attempt)
        if notice.event_type.startswith("REFUND.") and attempt == 1:
            self.release(notice.out_trade_no)  # reorder: the held payment notification follows the refund's
        if delivery.accepted:
            with self._lock:
                notice.state = "delivered"
            for _ in range(notice.duplicate - 1):
                self.scheduler.call_later(0, lambda: self._attempt(notice, "duplicate"))
        elif attempt <= len(RETRY_DELAYS):
            self.scheduler.call_later(RETRY_DELAYS[attempt - 1], lambda: self._deliver(notice))
        else:
            with self._lock:
                notice.state = "given_up"

    def _attempt(self, notice: Notice, kind: str, attempt: int = 0) -> Delivery:
        headers = {"Content-Type": "application/json", "User-Agent": "Mozilla/4.0", **dict(self._sign(notice.body))}
        if kind == "probe":
            headers["Wechatpay-Signature"] = PROBE_PREFIX + base64.b64encode(secrets.token_bytes(24)).decode()
        at = self.scheduler.now()
        try:
            response = self._post(notice.url, data=notice.body, headers=headers, timeout=self.answer_timeout,
                                  allow_redirects=False)
            status: int | None = response.status_code
            answer = response.text[:2000]
        except requests.RequestException as exc:
            status, answer = None, f"{type(exc).__name__}: {exc}"[:2000]
        delivery = Delivery(notice.id, notice.event_type, notice.out_trade_no, notice.out_refund_no, kind, attempt,
                            at, notice.url, headers, notice.body, status, answer)
        with self._lock:
            self._deliveries.append(delivery)
        return delivery
