"""The personal push round over both backends and the sandbox: eligibility, grants, the claim row."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from jobs import push_round
from store import ledger, outbox, pushes, queries
from store.models import utcnow
from store.push_models import PushSend
from tests.push_helpers import NO_QUIET, add_catalog, at_local_hour, follower, pushes_to

SEND = "/cgi-bin/message/custom/send"


@pytest.fixture
def services(app):
    app.services.settings = app.services.settings.replace(push=NO_QUIET)
    with app.services.database.connection_context():
        yield app.services


@pytest.fixture
def articles(services):
    return add_catalog()


def round_at(services, when: dt.datetime, **options):
    return push_round.run_round(services, clock=lambda: when, progress=False, **options)


def skipped(run) -> dict:
    return json.loads(run.skipped)


def test_followers_who_wrote_get_one_push_with_its_reason(services, sandbox, articles):
    follower(sandbox, "o_a", read=articles[:1])
    follower(sandbox, "o_b", read=articles[3:4])
    when = at_local_hour(20)
    run = round_at(services, when)
    assert (run.eligible, run.sent, run.failed, run.ledger_errors) == (2, 2, 0, 0)
    for openid in ("o_a", "o_b"):
        (card,) = pushes_to(sandbox, openid)
        article = card["articles"][0]
        assert article["description"].endswith("回复 退订推送 可关闭")
        assert article["description"].split("\n")[0]  # the recommender's reason comes first
        assert "/s/" in article["url"]
    again = round_at(services, when)
    assert again.sent == 0 and skipped(again) == {"done": 2}  # a second round that day: nothing twice
    assert sandbox.answered(SEND, 45015) == sandbox.answered(SEND, 45047) == 0


def test_opted_out_followers_are_skipped(services, sandbox, articles):
    user = follower(sandbox, "o_a")
    pushes.set_opt_out(user, True)
    run = round_at(services, at_local_hour(20))
    assert run.sent == 0 and skipped(run) == {"opted_out": 1} and pushes_to(sandbox, "o_a") == []


def test_quiet_hours_are_the_accounts_timezone(services, sandbox, articles):
    follower(sandbox, "o_a")
    services.settings = services.settings.replace(push={"quiet_start": 22, "quiet_end": 8,
                                                        "timezone": "America/New_York"})
    late_in_new_york = at_local_hour(23, "America/New_York")  # daytime in Shanghai
    run = round_at(services, late_in_new_york)
    assert run.sent == 0 and skipped(run) == {"quiet_hours": 1}
    run = round_at(services, at_local_hour(21, "America/New_York"))
    assert run.sent == 1


def test_the_daily_cap_holds_across_rounds_of_one_day(services, sandbox, articles):
    follower(sandbox, "o_a")
    assert round_at(services, at_local_hour(12)).sent == 1
    second = round_at(services, at_local_hour(20))
    assert second.sent == 0 and skipped(second) == {"daily_cap": 1}
    services.settings = services.settings.replace(push={"daily_cap": 2})
    assert round_at(services, at_local_hour(21)).sent == 1
    assert len(pushes_to(sandbox, "o_a")) == 2


def test_weekly_followers_wait_a_week(services, sandbox, articles):
    user = follower(sandbox, "o_a")
    pushes.set_pref(user, weekly=True)
    assert round_at(services, at_local_hour(20)).sent == 1
    later = at_local_hour(20, days=3)
    ledger.record_action(user, "text", later - dt.timedelta(hours=1))  # they wrote again that day
    run = round_at(services, later)
    assert run.sent == 0 and skipped(run) == {"weekly": 1}
    pushes.set_pref(user, weekly=False)  # 多推点
    assert round_at(services, later).sent == 1


def test_a_chosen_hour_is_kept(services, sandbox, articles):
    user = follower(sandbox, "o_a")
    pushes.set_pref(user, hour=21)
    run = round_at(services, at_local_hour(20))
    assert run.sent == 0 and skipped(run) == {"other_hour": 1}
    assert round_at(services, at_local_hour(21)).sent == 1


def test_a_menu_click_two_minutes_ago_gets_nothing_and_wechat_refuses_nothing(services, sandbox, articles):
    follower(sandbox, "o_clicked", action="click_event")
    follower(sandbox, "o_wrote")
    sandbox.clock.advance(120)  # two minutes pass for WeChat and for the bot
    run = round_at(services, utcnow() + dt.timedelta(seconds=120))
    assert run.sent == 1 and skipped(run) == {"no_grant": 1}
    assert pushes_to(sandbox, "o_clicked") == [] and len(pushes_to(sandbox, "o_wrote")) == 1
    assert sandbox.answered(SEND, 45015) == 0 and sandbox.answered(SEND, 45047) == 0


def test_a_pending_unlock_delivery_is_never_starved(services, sandbox, articles):
    owed = follower(sandbox, "o_owed")
    outbox.enqueue(owed, [("text", {"content": f"第{i}段"}) for i in range(5)])  # all five slots are owed
    room = follower(sandbox, "o_room")
    outbox.enqueue(room, [("text", {"content": f"第{i}段"}) for i in range(4)])  # one slot is free
    run = round_at(services, at_local_hour(20))
    assert run.sent == 1 and skipped(run) == {"owed_first": 1}
    assert pushes_to(sandbox, "o_owed") == [] and len(pushes_to(sandbox, "o_room")) == 1
    from jobs.outbox import deliver_user
    assert deliver_user(services.gateway, owed.id) == 5  # the unlock still has all it needs
    assert deliver_user(services.gateway, room.id) == 4
    assert sandbox.answered(SEND, 45047) == 0


def test_43004_marks_the_follower_unsubscribed(services, sandbox, articles):
    user = follower(sandbox, "o_gone")
    sandbox.touch("o_gone", "unsubscribe")  # the bot never heard of it
    run = round_at(services, at_local_hour(20))
    assert run.sent == 0 and run.failed == 1 and skipped(run) == {"unsubscribed": 1}
    assert queries.find_user("o_gone").subscribed is False and ledger.capacity(user.id) == 0


def test_a_refusal_the_ledger_did_not_expect_is_counted_as_a_ledger_error(services, sandbox, articles):
    user = follower(sandbox, "o_a")
    sandbox.fail_next(SEND, 45047)
    run = round_at(services, at_local_hour(20))
    assert run.ledger_errors == 1 and run.failed == 1 and run.sent == 0
    assert ledger.capacity(user.id) == 0  # believe WeChat until the next action


def test_an_item_pushed_recently_is_not_pushed_again(services, sandbox, articles):
    user = follower(sandbox, "o_a", read=articles[:1])
    round_at(services, at_local_hour(20))
    first = PushSend.get(PushSend.user == user).article_id
    round_at(services, at_local_hour(20, days=1))
    sent = [row.article_id for row in PushSend.select().where(PushSend.user == user)]
    assert len(sent) == 2 and sent[1] != first


def test_preview_writes_nothing_and_run_now_returns_the_run(services, sandbox, articles):
    follower(sandbox, "o_a")
    follower(sandbox, "o_b")
    planned = push_round.preview(services, 1)
    assert len(planned) == 1 and planned[0].reason and PushSend.select().count() == 0
    run = push_round.run_now(services)
    assert run.finished_at is not None and run.sent == 2
