"""The chat page's API on the running demo: who may chat as a creator, time travel over the sandbox's
clock, messages marked by how they were sent, and the 48 h window closing and reopening."""

from __future__ import annotations

import time

import requests

from sandbox.demo import DEMO_CREATOR
from sandbox.phone import pay_link

FOLLOWER = "o_chat_page_follower"


def chat(stack, openid: str = FOLLOWER, **payload) -> dict:
    response = requests.post(stack.sandbox.url + "/chat/send", json={"openid": openid, **payload}, timeout=15)
    assert response.status_code == 200, response.text
    return response.json()


def messages(stack, after: int = 0, openid: str = FOLLOWER) -> list[dict]:
    outbox = stack.app.services.outbox
    assert outbox is None or outbox.wait_idle(15)
    answer = requests.get(stack.sandbox.url + "/chat/messages", params={"openid": openid, "after": after}, timeout=5)
    return answer.json()["messages"]


def travel(stack, seconds) -> requests.Response:
    return requests.post(stack.sandbox.url + "/chat/clock", json={"seconds": seconds}, timeout=5)


def test_the_demo_offers_its_creator_and_the_creator_gets_stats(stack):
    assert requests.get(stack.sandbox.url + "/chat/config", timeout=5).json() == {"creators": [DEMO_CREATOR]}
    chat(stack, DEMO_CREATOR, event="subscribe")
    assert "当前关注 1 人" in chat(stack, DEMO_CREATOR, text="统计")["reply"]["content"]  # 统计 of issue 9
    assert "当前关注" not in (chat(stack, text="统计")["reply"]["content"] or "")


def test_time_travel_moves_the_sandbox_clock_forward_only(stack):
    before = requests.get(stack.sandbox.url + "/chat/clock", timeout=5).json()
    assert before["offset"] == 0
    moved = travel(stack, 3600)
    assert moved.status_code == 200 and moved.json()["offset"] == 3600
    assert moved.json()["now"] - before["now"] >= 3600
    for bad in (-60, 0, "1h", True, None, 10**12):
        answer = travel(stack, bad)
        assert answer.status_code == 400 and "seconds" in answer.json()["error"], bad
    broken = requests.post(stack.sandbox.url + "/chat/clock", data=b"{", timeout=5)
    assert broken.status_code == 400
    assert requests.get(stack.sandbox.url + "/chat/clock", timeout=5).json()["offset"] == 3600


def test_messages_after_the_reply_are_marked_as_customer_service(stack):
    chat(stack, event="subscribe")
    chat(stack, text="机器学习入门")
    assert chat(stack, text="1")["reply"]["msg_type"] == "text"
    sent = messages(stack)
    assert sent and {m["via"] for m in sent} == {"customer_service"}


def test_the_48h_window_closes_and_the_next_message_brings_what_waited(stack):
    chat(stack, event="subscribe")
    chat(stack, text="梯度下降")
    chat(stack, text="1")
    chat(stack, text="购买")
    card = chat(stack, text="确认")["reply"]["articles"][0]
    assert "/pay/" in card["url"]
    seen = max([0] + [m["id"] for m in messages(stack)])

    assert travel(stack, 48 * 3600 + 60).status_code == 200  # the follower's window has closed
    assert "已在沙盒的微信支付中付款" in pay_link(stack.sandbox, card["url"], FOLLOWER)
    paid_and_tried(stack)
    assert messages(stack, seen) == []  # WeChat refused the unlock (45015): it waits

    chat(stack, text="已购")  # a new message opens the window again
    unlocked = " ".join(m["content"] or "" for m in messages(stack, seen))
    assert "支付成功，已为您解锁全文" in unlocked


def paid_and_tried(stack, timeout: float = 20) -> None:
    """Wait until the payment notification was accepted and the unlock delivery attempted."""
    deadline = time.monotonic() + timeout
    notifier = stack.sandbox.payments.notifier
    while not any(d.accepted for d in notifier.deliveries()):
        assert time.monotonic() < deadline, "the bot never accepted the payment notification"
        time.sleep(0.1)
    assert stack.app.services.outbox.wait_idle(15)
