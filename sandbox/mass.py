"""Broadcasts (群发) by user tag: quotas, delivery into the sent-message log, and the MASSSENDJOBFINISH
event WeChat posts back to the account's server when the job is done.

Rules (developers.weixin.qq.com, "群发接口和原创校验" and the account-type comparison): a subscription
account may broadcast once a day (a second answers 45028 "has no masssend quota"); on a service account
each follower receives at most four broadcasts a month and the rest are filtered out of the job. Only
`text` is modelled (mpnews needs uploaded media). The event's FilterCount is the number of followers
left to send to after filtering, SentCount those reached, ErrorCount the rest.
"""

from __future__ import annotations

import datetime as dt
import itertools
import threading
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable
from zoneinfo import ZoneInfo

from sandbox.account import CS_TEXT_LIMIT, ApiError
from sandbox.sender import build_xml
from sandbox.wire import Answer, Request, json_answer

if TYPE_CHECKING:
    from sandbox.api import SandboxServer

SUBSCRIPTION, SERVICE = "subscription", "service"
BEIJING = ZoneInfo("Asia/Shanghai")
SUBSCRIPTION_A_DAY = 1
SERVICE_A_MONTH = 4  # per follower
ASSISTANT = "o_mass_send_assistant"  # FromUserName of MASSSENDJOBFINISH (WeChat's broadcast assistant)


@dataclass
class MassJob:
    msg_id: int
    tag_id: int
    content: str
    time: float
    total: int
    filtered: int
    sent: int
    reported: bool = False


class MassSender:
    """`deliver(openid, content)` records a delivery; `report(job)` posts the event (both from the server)."""

    def __init__(self, tags: Any, subscribed: Callable[[str], bool], deliver: Callable[[str, str], None],
                 now: Callable[[], float], account_type: str = SUBSCRIPTION) -> None:
        self.tags, self.subscribed, self.deliver, self.now = tags, subscribed, deliver, now
        self.account_type = account_type
        self.jobs: list[MassJob] = []
        self.report: Callable[[MassJob], None] = lambda job: None
        self._received: Counter[tuple[str, str]] = Counter()  # (openid, month) -> broadcasts received
        self._ids = itertools.count(1_000_001)
        self._lock = threading.Lock()
        self._reported = threading.Condition()

    def send_all(self, payload: Any) -> MassJob:
        tag_id, content = _parse(payload)
        with self._lock:
            members = self.tags.members(tag_id)
            if self.account_type == SUBSCRIPTION and self._today() >= SUBSCRIPTION_A_DAY:
                raise ApiError(45028, "has no masssend quota")
            month = self._local().strftime("%Y-%m")
            reachable = [o for o in members if self.subscribed(o)
                         and (self.account_type == SUBSCRIPTION or self._received[o, month] < SERVICE_A_MONTH)]
            for openid in reachable:
                self._received[openid, month] += 1
                self.deliver(openid, content)
            job = MassJob(next(self._ids), tag_id, content, self.now(), len(members), len(reachable), len(reachable))
            self.jobs.append(job)
        threading.Thread(target=self._report, args=(job,), daemon=True).start()
        return job

    def received(self, openid: str) -> int:
        """Broadcasts `openid` received this month."""
        with self._lock:
            return self._received[openid, self._local().strftime("%Y-%m")]

    def wait_reported(self, timeout: float = 10.0) -> bool:
        """For tests: True once every job's MASSSENDJOBFINISH was posted."""
        with self._reported:
            return self._reported.wait_for(lambda: all(job.reported for job in self.jobs), timeout)

    def _report(self, job: MassJob) -> None:
        try:
            self.report(job)
        finally:
            with self._reported:
                job.reported = True
                self._reported.notify_all()

    def _local(self) -> dt.datetime:
        return dt.datetime.fromtimestamp(self.now(), BEIJING)

    def _today(self) -> int:
        day = self._local().date()
        return sum(1 for job in self.jobs if dt.datetime.fromtimestamp(job.time, BEIJING).date() == day)


def _parse(payload: Any) -> tuple[int, str]:
    if not isinstance(payload, dict) or not isinstance(payload.get("filter"), dict):
        raise ApiError(47001)
    if payload["filter"].get("is_to_all"):
        raise ApiError(47001, "is_to_all is not modelled by the sandbox")
    if payload.get("msgtype") != "text":
        raise ApiError(40008)
    content = payload.get("text", {}).get("content") if isinstance(payload.get("text"), dict) else None
    if not isinstance(content, str) or not content:
        raise ApiError(44004)
    if len(content.encode("utf-8")) > CS_TEXT_LIMIT:
        raise ApiError(45002)
    return payload["filter"].get("tag_id"), content


def finish_event(job: MassJob, account_id: str) -> str:
    """The MASSSENDJOBFINISH push, in WeChat's layout."""
    return build_xml([
        ("ToUserName", account_id), ("FromUserName", ASSISTANT), ("CreateTime", int(job.time)),
        ("MsgType", "event"), ("Event", "MASSSENDJOBFINISH"), ("MsgID", job.msg_id),
        ("Status", "send success"), ("TotalCount", job.total), ("FilterCount", job.filtered),
        ("SentCount", job.sent), ("ErrorCount", job.filtered - job.sent),
    ])


def routes(server: SandboxServer) -> dict[tuple[str, str], Any]:
    def send_all(request: Request) -> Answer:
        server._authorized(request)
        job = server.mass.send_all(request.json())
        return json_answer({"errcode": 0, "errmsg": "send job submission success", "msg_id": job.msg_id})

    return {("POST", "/cgi-bin/message/mass/sendall"): send_all}
