"""The outbox: in order, once, retried, held while WeChat's window is shut."""

from __future__ import annotations

import datetime as dt
import threading

import pytest

from jobs.clock import build_scheduler
from jobs.housekeeping import requeue_stuck_outbox
from jobs.outbox import deliver_ready, deliver_user
from store import ledger, outbox, queries
from store.models import Outbox, utcnow

SEND = "/cgi-bin/message/custom/send"


@pytest.fixture
def services(app):
    with app.services.database.connection_context():
        yield app.services


def wrote(sandbox, openid):
    """The follower wrote to the account: WeChat's grant and the bot's ledger both know."""
    sandbox.touch(openid)
    user = queries.touch_user(openid)
    ledger.record_action(user, "text")
    return user


def queue(user, *texts):
    outbox.enqueue(user, [("text", {"content": t}) for t in texts])
    return outbox.rows_of(user)[-len(texts):]


def states(user):
    return [row.state for row in outbox.rows_of(user)]


def test_rows_go_out_in_order_once(services, sandbox):
    user = wrote(sandbox, "o1")
    queue(user, "一", "二", "三")
    assert deliver_ready(services.gateway) == 3
    assert deliver_ready(services.gateway) == 0
    assert [m["content"] for m in sandbox.sent("o1")] == ["一", "二", "三"]
    assert states(user) == ["sent"] * 3


def test_a_closed_window_holds_the_row_and_all_after_it(services, sandbox):
    user = queries.touch_user("o_never_wrote")  # the sandbox has no interaction: 45015
    queue(user, "一", "二")
    assert deliver_user(services.gateway, user.id) == 0
    assert states(user) == ["waiting", "waiting"]
    wrote(sandbox, "o_never_wrote")
    assert outbox.release_waiting(queries.find_user("o_never_wrote")) == 2  # a fresh row: the flag is set
    assert deliver_user(services.gateway, user.id) == 2
    assert [m["content"] for m in sandbox.sent("o_never_wrote")] == ["一", "二"]


def test_the_ledger_holds_a_row_wechat_would_refuse_without_calling_wechat(services, sandbox):
    sandbox.touch("o1")  # WeChat would take it, but no action reached the bot: the ledger has no slot
    user = queries.touch_user("o1")
    queue(user, "一")
    assert deliver_user(services.gateway, user.id) == 0
    assert states(user) == ["waiting"] and sandbox.calls(SEND) == 0


def test_each_send_is_charged_to_the_ledger_and_stops_at_the_grant(services, sandbox):
    user = wrote(sandbox, "o1")
    queue(user, *"一二三四五六")
    assert deliver_user(services.gateway, user.id) == 5  # a message grants 5
    assert ledger.capacity(user.id) == 0
    assert states(user) == ["sent"] * 5 + ["waiting"]
    assert sandbox.calls(SEND) == 5  # the sixth never reached WeChat


def test_an_unreachable_wechat_is_retried_later_without_overtaking(services, sandbox):
    user = wrote(sandbox, "o1")
    queue(user, "一", "二")
    sandbox.fail_next(SEND, -1)  # system busy
    assert deliver_user(services.gateway, user.id) == 0
    first = outbox.rows_of(user)[0]
    assert first.state == "pending" and first.attempts == 1 and first.next_attempt_at > utcnow()
    assert deliver_user(services.gateway, user.id) == 0  # not due yet, and "二" does not overtake it
    Outbox.update(next_attempt_at=utcnow()).execute()
    assert deliver_user(services.gateway, user.id) == 2
    assert [m["content"] for m in sandbox.sent("o1")] == ["一", "二"]


def test_retries_end_in_failed(services, sandbox):
    user = wrote(sandbox, "o1")
    queue(user, "一")
    for _ in range(len(outbox.RETRY_DELAYS) + 1):
        sandbox.fail_next(SEND, -1)
        Outbox.update(next_attempt_at=utcnow()).execute()
        deliver_user(services.gateway, user.id)
    assert states(user) == ["failed"]


def test_concurrent_senders_send_each_row_once(services, sandbox):
    user = wrote(sandbox, "o1")
    queue(user, *[str(i) for i in range(5)])
    database = services.database

    def sweep():
        with database.connection_context():
            deliver_ready(services.gateway)

    threads = [threading.Thread(target=sweep) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(m["content"] for m in sandbox.sent("o1")) == [str(i) for i in range(5)]
    assert states(user) == ["sent"] * 5


def test_rows_left_sending_by_a_crash_go_out_again(services, sandbox):
    user = wrote(sandbox, "o1")
    (row,) = queue(user, "一")
    outbox.claim_next(user.id)  # claimed, then the process died
    assert deliver_ready(services.gateway) == 0
    Outbox.update(claimed_at=utcnow() - dt.timedelta(minutes=6)).where(Outbox.id == row.id).execute()
    assert requeue_stuck_outbox() == 1
    assert deliver_ready(services.gateway) == 1


def test_the_clock_schedules_its_jobs(app):
    scheduler = build_scheduler(app.services)
    assert {job.id for job in scheduler.get_jobs()} == {
        "leader", "prune_processed_messages", "requeue_stuck_outbox", "deliver_outbox", "refresh_access_token",
        "push_round", "push_resume", "push_broadcast"}


def test_delivery_logs_carry_the_request_id_of_the_message_that_kicked_it(services, sandbox, caplog):
    from ops.logs import request_id

    user = wrote(sandbox, "o_rid")
    queue(user, "一")
    caplog.set_level("INFO", logger="jobs.outbox")
    token = request_id.set("rid-from-message")
    try:
        services.outbox.kick(user.id)
    finally:
        request_id.reset(token)
    assert services.outbox.wait_idle(15)
    delivered = [r for r in caplog.records if r.getMessage() == "outbox delivered"]
    assert [(r.request_id, r.sent) for r in delivered] == [("rid-from-message", 1)]


def test_clock_jobs_log_under_their_own_name(services):
    from jobs.clock import _job
    from ops.logs import request_id

    seen = []

    def sweep():
        seen.append(request_id.get())

    _job(services.database, sweep)()
    assert len(seen) == 1 and seen[0].startswith("sweep-")
