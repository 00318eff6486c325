"""Interest-tag broadcasts over both backends and the sandbox: tags kept in step in chunks of 50, the
account type's quota, nobody both pushed and broadcast to on one day, MASSSENDJOBFINISH recorded."""

from __future__ import annotations

import datetime as dt
import json
import time

import pytest

from jobs import broadcast, push_round
from store.models import utcnow
from store.push_models import Broadcast, InterestTag
from tests.push_helpers import NO_QUIET, add_catalog, at_local_hour, follower, pushes_to


@pytest.fixture
def services(app, live, sandbox):
    sandbox.webhook_url = f"{live.url}/wechat"  # MASSSENDJOBFINISH comes back to the bot
    app.services.settings = app.services.settings.replace(push={**NO_QUIET, "max_groups": 2})
    with app.services.database.connection_context():
        yield app.services


@pytest.fixture
def articles(services):
    return add_catalog()


def unreachable(sandbox, articles, n: int, topic: slice, prefix: str) -> list:
    """Followers whose last action gave no customer-service grant (a VIEW click), with a reading history."""
    return [follower(sandbox, f"{prefix}{i:03d}", read=articles[topic], action="view_event") for i in range(n)]


def next_month_first() -> dt.datetime:
    """Noon (Shanghai) on the first of next month, as naive UTC: five days in one month follow it."""
    local = at_local_hour(12)
    first = (local.replace(day=1) + dt.timedelta(days=32)).replace(day=1)
    return first


def broadcasts_to(sandbox, openid: str) -> list[dict]:
    return [m for m in sandbox.sent(openid) if m["via"] == "broadcast"]


def test_a_round_tags_in_chunks_of_50_and_sends_the_largest_group_once_a_day(services, sandbox, articles):
    ml = unreachable(sandbox, articles, 120, slice(0, 2), "o_ml")
    money = unreachable(sandbox, articles, 30, slice(3, 5), "o_money")
    run = broadcast.run_broadcast(services)
    assert sandbox.tags.calls == [("batchtagging", 50), ("batchtagging", 50), ("batchtagging", 20)]
    assert run.sent == 120 and json.loads(run.skipped) == {"broadcast_quota": 30}  # one a day: the rest wait
    assert all(len(broadcasts_to(sandbox, u.openid)) == 1 for u in ml)
    assert all(broadcasts_to(sandbox, u.openid) == [] for u in money)
    (tag,) = InterestTag.select()
    assert sandbox.tags.listing() == [{"id": tag.tag_id, "name": tag.name, "count": 120}]
    assert "/" in tag.name or tag.name == "大家都在读"
    again = broadcast.run_broadcast(services)
    assert again.sent == 0 and sandbox.mass.jobs[1:] == []  # the subscription account's quota is spent


def test_finished_jobs_are_recorded_against_the_broadcast(services, sandbox, articles):
    unreachable(sandbox, articles, 3, slice(0, 2), "o_ml")
    broadcast.run_broadcast(services)
    assert sandbox.mass.wait_reported(10)
    deadline = time.monotonic() + 10  # on a loaded machine the post may outlast the sandbox's 5 s wait
    while Broadcast.get().state != "finished" and time.monotonic() < deadline:
        time.sleep(0.1)
    (sent,) = Broadcast.select()
    assert (sent.state, sent.status, sent.total, sent.filtered, sent.sent, sent.errors) == (
        "finished", "send success", 3, 3, 3, 0)


def test_a_service_account_sends_every_group_within_four_a_month(services, sandbox, articles):
    services.settings = services.settings.replace(wechat={"account_type": "service"})
    sandbox.mass.account_type = "service"
    unreachable(sandbox, articles, 4, slice(0, 2), "o_ml")
    unreachable(sandbox, articles, 3, slice(3, 5), "o_money")
    start = next_month_first()
    first = broadcast.run_broadcast(services, clock=lambda: start)
    assert first.sent == 7 and len(sandbox.mass.jobs) == 2  # both groups
    for days in range(1, 4):
        assert broadcast.run_broadcast(services, clock=lambda: start + dt.timedelta(days=days)).sent == 7
    fifth = broadcast.run_broadcast(services, clock=lambda: start + dt.timedelta(days=4))
    assert fifth.sent == 0 and json.loads(fifth.skipped) == {"monthly_quota": 7}
    assert len(sandbox.mass.jobs) == 8


def test_a_follower_pushed_personally_is_left_out_of_that_days_broadcast(services, sandbox, articles):
    group = unreachable(sandbox, articles, 3, slice(0, 2), "o_ml")
    broadcast.run_broadcast(services)  # today all three were tagged and reached
    tomorrow = utcnow() + dt.timedelta(days=1)
    sandbox.clock.advance(24 * 3600)
    pushed = follower(sandbox, group[0].openid, action="click_event", now=tomorrow)  # 3 slots for one minute
    assert push_round.run_round(services, clock=lambda: tomorrow, progress=False).sent == 1
    later = tomorrow + dt.timedelta(minutes=2)  # the grant is gone: unreachable again, but pushed that day
    sandbox.clock.advance(120)
    run = broadcast.run_broadcast(services, clock=lambda: later)
    assert json.loads(run.skipped) == {"pushed_today": 1} and run.sent == 2
    tag = InterestTag.get()
    assert pushed.openid not in sandbox.tags.members(tag.tag_id)  # untagged before the send
    assert len(broadcasts_to(sandbox, pushed.openid)) == 1  # only the first day's
    assert len(pushes_to(sandbox, pushed.openid)) == 1
    assert all(len(broadcasts_to(sandbox, u.openid)) == 2 for u in group[1:])
    assert sandbox.tags.calls[-1] == ("batchuntagging", 1)


def test_a_follower_broadcast_to_gets_no_personal_push_that_day(services, sandbox, articles):
    (user,) = unreachable(sandbox, articles, 1, slice(0, 2), "o_ml")
    broadcast.run_broadcast(services)
    follower(sandbox, user.openid)  # they write afterwards: a grant, but today's broadcast reached them
    run = push_round.run_round(services, progress=False)
    assert run.sent == 0 and json.loads(run.skipped) == {"broadcast_today": 1}
