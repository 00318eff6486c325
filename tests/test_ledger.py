"""The send ledger over both backends: WeChat's grants as it counts them, charged at most once per slot."""

from __future__ import annotations

import datetime as dt
import threading

import pytest

from store import ledger, queries
from store.models import utcnow
from store.push_models import SendGrant


@pytest.fixture
def database(app):
    with app.services.database.connection_context():
        yield app.services.database


def test_grants_follow_wechats_rules(database):
    user = queries.touch_user("o_a")
    now = utcnow()
    ledger.record_action(user, "view_event", now)
    assert ledger.capacity(user.id, now) == 0  # a VIEW click grants nothing
    ledger.record_action(user, "click_event", now)
    assert ledger.capacity(user.id, now) == 3
    assert ledger.capacity(user.id, now + dt.timedelta(seconds=61)) == 0  # one minute only
    ledger.record_action(user, "text", now)
    ledger.record_action(user, "text", now)  # a new message refreshes to five; it never adds up
    assert ledger.capacity(user.id, now) == 8  # the click's three and the message's five live side by side
    assert ledger.capacity(user.id, now + dt.timedelta(hours=47)) == 5


def test_the_soonest_closing_grant_is_spent_first_and_refunds_return_it(database):
    user = queries.touch_user("o_a")
    now = utcnow()
    ledger.record_action(user, "text", now)
    ledger.record_action(user, "subscribe_event", now)
    assert ledger.charge(user.id, now)
    used = {g.kind: g.used for g in SendGrant.select()}
    assert used == {"message": 0, "subscribe": 1}
    ledger.refund(user.id, now)
    assert ledger.capacity(user.id, now) == 8
    ledger.exhaust(user.id)
    assert not ledger.charge(user.id, now)
    ledger.record_action(user, "unsubscribe_event", now)
    assert SendGrant.select().count() == 0


def test_concurrent_charges_never_spend_more_than_the_grant(database):
    user = queries.touch_user("o_a")
    ledger.record_action(user, "text")
    won = []

    def charge():
        with database.connection_context():
            for _ in range(3):
                won.append(ledger.charge(user.id))

    threads = [threading.Thread(target=charge) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert won.count(True) == 5 and len(won) == 12
