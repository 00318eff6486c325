"""End to end in the sandbox, through the live webhook: followers who messaged get a push with a reason;
followers whose last action was a menu click two minutes ago get none, and WeChat (the sandbox) answers no
45015 or 45047 in the round; the chat page's message feed shows the push as a customer-service message."""

from __future__ import annotations

import datetime as dt

import requests

from dialogs.home import MENU_FIND
from jobs import push_round
from store.models import utcnow
from tests.conftest import chat_user
from tests.push_helpers import NO_QUIET, add_catalog

SEND = "/cgi-bin/message/custom/send"


def test_writers_get_a_push_with_its_reason_and_recent_clickers_none(app, live, settings, sandbox):
    app.services.settings = app.services.settings.replace(push=NO_QUIET)
    with app.services.database.connection_context():
        add_catalog()
    writers = [chat_user(live, app, settings, sandbox, f"o_writer{n}") for n in range(3)]
    clickers = [chat_user(live, app, settings, sandbox, f"o_clicker{n}") for n in range(3)]
    for person in writers + clickers:
        person.subscribes()
    for person in writers:
        person.says("机器学习")  # a message: five customer-service messages within 48 hours
        person.says("1")
    for person in clickers:
        sandbox.clock.advance(61)  # the subscribe's one-minute grant is long gone ...
        person.clicks(MENU_FIND)  # ... and the last action is a menu click: three within a minute
    for person in writers + clickers:
        person.received()
    sandbox.clock.advance(120)  # two minutes later for WeChat, and for the bot's round
    before = sandbox.answered(SEND, 45015), sandbox.answered(SEND, 45047)
    later = utcnow() + dt.timedelta(seconds=61 * len(clickers) + 120)
    with app.services.database.connection_context():
        run = push_round.run_round(app.services, clock=lambda: later, progress=False)
    assert run.sent == 3 and run.ledger_errors == 0
    for person in writers:
        (card,) = [m for m in person.received() if m["msgtype"] == "news"]
        reason, stop = card["articles"][0]["description"].split("\n")
        assert reason and stop == "回复 退订推送 可关闭"
        feed = requests.get(f"{sandbox.url}/chat/messages", params={"openid": person.openid}, timeout=5).json()
        assert feed["messages"][-1]["via"] == "customer_service"  # what the chat page marks
    assert all(person.received() == [] for person in clickers)
    assert (sandbox.answered(SEND, 45015), sandbox.answered(SEND, 45047)) == before == (0, 0)
