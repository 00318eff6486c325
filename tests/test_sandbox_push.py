"""The sandbox's user tags and broadcasts: WeChat's limits, quotas per account type, MASSSENDJOBFINISH."""

from __future__ import annotations

from typing import Iterator

import pytest
import requests

from sandbox import SandboxServer
from settings import generate_aes_key
from tests.test_sandbox import APPID, SECRET, SEND, TOKEN, EchoBot, post, serve_wsgi, text, token_of

USER = "oSandboxUser000000000000001"
MASS = "/cgi-bin/message/mass/sendall"


@pytest.fixture
def server() -> Iterator[SandboxServer]:
    sandbox = SandboxServer(APPID, SECRET, TOKEN).start()
    yield sandbox
    sandbox.stop()


def errcode(answer: dict) -> int:
    """0 for a success answer, which carries no errcode when it has data (tags/create, getidlist)."""
    return answer.get("errcode", 0)


def create(server: SandboxServer, token: str, name: str) -> dict:
    return post(server, "/cgi-bin/tags/create", token, {"tag": {"name": name}})


def tagging(server: SandboxServer, token: str, tag_id: int, openids: list[str], untag: bool = False) -> dict:
    path = "/cgi-bin/tags/members/batch" + ("untagging" if untag else "tagging")
    return post(server, path, token, {"tagid": tag_id, "openid_list": openids})


def broadcast(server: SandboxServer, token: str, tag_id: int, content: str = "本周推荐") -> dict:
    return post(server, MASS, token, {"filter": {"is_to_all": False, "tag_id": tag_id}, "msgtype": "text",
                                      "text": {"content": content}})


def followers(server: SandboxServer, n: int) -> list[str]:
    openids = [f"oFollower{i:05d}" for i in range(n)]
    for openid in openids:
        server.touch(openid, "subscribe")
    return openids


def test_tags_are_created_listed_renamed_and_limited(server: SandboxServer) -> None:
    token = token_of(server)
    tag = create(server, token, "机器学习")["tag"]
    assert errcode(create(server, token, "机器学习")) == 45157  # names are unique
    assert errcode(create(server, token, "长" * 11)) == 45158  # 33 bytes > 30
    assert errcode(post(server, "/cgi-bin/tags/update", token, {"tag": {"id": tag["id"], "name": "深度学习"}})) == 0
    listed = requests.get(f"{server.url}/cgi-bin/tags/get", params={"access_token": token}, timeout=5).json()
    assert listed["tags"] == [{"id": tag["id"], "name": "深度学习", "count": 0}]
    assert errcode(post(server, "/cgi-bin/tags/update", token, {"tag": {"id": 2, "name": "星标"}})) == 45058
    for i in range(99):
        assert errcode(create(server, token, f"标签{i}")) == 0
    assert errcode(create(server, token, "第一百零一个")) == 45056
    names = {t["name"] for t in server.tags.listing()}
    assert "深度学习" in names and len(names) == 100


def test_batch_tagging_takes_50_known_followers_and_20_tags_each(server: SandboxServer) -> None:
    token = token_of(server)
    openids = followers(server, 51)
    tag_id = create(server, token, "组一")["tag"]["id"]
    assert errcode(tagging(server, token, tag_id, openids)) == 40032
    assert errcode(tagging(server, token, tag_id, openids[:50])) == 0
    assert errcode(tagging(server, token, tag_id, ["oNeverFollowed"])) == 40003
    assert errcode(tagging(server, token, 999, openids[:1])) == 45159
    assert post(server, "/cgi-bin/tags/getidlist", token, {"openid": openids[0]})["tagid_list"] == [tag_id]
    page = post(server, "/cgi-bin/user/tag/get", token, {"tagid": tag_id, "next_openid": ""})
    assert page["count"] == 50 and set(page["data"]["openid"]) == set(openids[:50])
    assert errcode(tagging(server, token, tag_id, openids[:10], untag=True)) == 0
    assert len(server.tags.members(tag_id)) == 40
    more = [create(server, token, f"另{i}")["tag"]["id"] for i in range(20)]
    for extra in more[:19]:
        assert errcode(tagging(server, token, extra, openids[20:21])) == 0
    assert errcode(tagging(server, token, more[19], openids[20:21])) == 45059  # its 21st tag


def test_a_subscription_account_broadcasts_once_a_day(server: SandboxServer) -> None:
    token = token_of(server)
    openids = followers(server, 3)
    tag_id = create(server, token, "组一")["tag"]["id"]
    tagging(server, token, tag_id, openids)
    server.touch(openids[2], "unsubscribe")
    answer = broadcast(server, token, tag_id)
    assert errcode(answer) == 0 and answer["msg_id"]
    got = [m for m in server.sent() if m["via"] == "broadcast"]
    assert sorted(m["openid"] for m in got) == openids[:2]  # an unsubscribed member gets nothing
    assert errcode(broadcast(server, token, tag_id)) == 45028
    server.clock.advance(24 * 3600)
    assert errcode(broadcast(server, token_of(server), tag_id)) == 0  # the next day (and a fresh token)


def test_a_service_account_follower_receives_four_a_month(server: SandboxServer) -> None:
    server.mass.account_type = "service"
    token = token_of(server)
    openids = followers(server, 2)
    tag_id = create(server, token, "组一")["tag"]["id"]
    tagging(server, token, tag_id, openids[:1])
    for _ in range(3):
        assert errcode(broadcast(server, token, tag_id)) == 0
    tagging(server, token, tag_id, openids[1:])
    assert errcode(broadcast(server, token, tag_id)) == 0  # the fourth for the first follower
    assert errcode(broadcast(server, token, tag_id)) == 0
    assert server.mass.received(openids[0]) == 4 and server.mass.received(openids[1]) == 2
    last = server.mass.jobs[-1]
    assert (last.total, last.filtered, last.sent) == (2, 1, 1)  # the first follower is filtered out


def test_customer_service_sends_are_marked_as_such(server: SandboxServer) -> None:
    token = token_of(server)
    server.touch(USER)
    assert errcode(post(server, SEND, token, text(USER, "你好"))) == 0
    assert [m["via"] for m in server.sent(USER)] == ["customer_service"]


def test_the_finished_job_is_posted_to_the_webhook() -> None:
    aes_key = generate_aes_key()
    bot = EchoBot(aes_key)
    with serve_wsgi(bot) as url:
        server = SandboxServer(APPID, SECRET, TOKEN, aes_key, webhook_url=url).start()
        try:
            token = token_of(server)
            openids = followers(server, 2)
            tag_id = create(server, token, "组一")["tag"]["id"]
            tagging(server, token, tag_id, openids)
            msg_id = broadcast(server, token, tag_id)["msg_id"]
            assert server.mass.wait_reported(10)
        finally:
            server.stop()
    (event,) = [r["fields"] for r in bot.received if r["fields"].get("Event") == "MASSSENDJOBFINISH"]
    assert event["MsgID"] == str(msg_id) and event["Status"] == "send success"
    assert (event["TotalCount"], event["FilterCount"], event["SentCount"], event["ErrorCount"]) == ("2", "2", "2", "0")


def test_the_finished_job_is_posted_again_until_the_webhook_answers_200() -> None:
    """As WeChat redelivers a message or event that got no 200: the same event, at most three times."""
    aes_key = generate_aes_key()
    bot = EchoBot(aes_key)
    calls = []

    def failing_first(environ, start_response):
        calls.append(1)
        if len(calls) == 1:
            start_response("500 Internal Server Error", [("Content-Type", "text/plain")])
            return [b"busy"]
        return bot(environ, start_response)

    with serve_wsgi(failing_first) as url:
        server = SandboxServer(APPID, SECRET, TOKEN, aes_key, webhook_url=url).start()
        try:
            token = token_of(server)
            tag_id = create(server, token, "组一")["tag"]["id"]
            tagging(server, token, tag_id, followers(server, 1))
            broadcast(server, token, tag_id)
            assert server.mass.wait_reported(10)
        finally:
            server.stop()
    assert len(calls) == 2 and [r["fields"]["Event"] for r in bot.received] == ["MASSSENDJOBFINISH"]
