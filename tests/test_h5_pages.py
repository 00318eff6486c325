"""The H5 pages in headless Chromium: pay through the sandbox's WeixinJSBridge, see success only when the
server says PAID, get the article in the chat; the reader shows the full text to its buyer alone.

The pages' CSP is on: the sandbox's bridge arrives as an allowed external script (`site.dev_jsbridge_url`),
and a page records every CSP violation so that a test sees what the policy blocked."""

from __future__ import annotations

import pytest

from catalog.importer import run_import
from settings import ROOT
from tests.browser import wechat_browser
from tests.h5 import as_follower, base_settings, browser, buy, settings, wechat_page  # noqa: F401 (fixtures)


@pytest.fixture
def demo_catalog(app):
    with app.services.database.connection_context():
        assert run_import(ROOT / "content" / "demo", progress=False).ok


RECORD_STATES = """() => {
  window.shownStates = [];
  new MutationObserver(() => {
    const on = document.querySelector(".state.on");
    if (on && window.shownStates[window.shownStates.length - 1] !== on.id) window.shownStates.push(on.id);
  }).observe(document.querySelector("main"), {attributes: true, subtree: true});
}"""


def test_pay_in_the_browser_and_read_in_the_chat(app, user, sandbox, browser, demo_catalog, tmp_path):
    pay_url = buy(user)
    page = wechat_page(browser)
    context = page.context
    page.goto(as_follower(sandbox, "o_user", pay_url))
    assert page.query_selector(f'script[src="{sandbox.url}/sandbox/jsbridge.js"]') is not None
    assert page.inner_text("#item") == "梯度下降：模型是怎样一步步学会的"
    assert page.inner_text("#price") == "9.9元"
    page.click("#pay")
    page.wait_for_selector("#paid", state="visible", timeout=20_000)
    page.screenshot(path=str(tmp_path / "paid.png"))
    assert page.evaluate("window.cspViolations") == []
    messages = user.received()
    texts = [m["content"] for m in messages if m["msgtype"] == "text"]
    assert texts[0].startswith("✅ 支付成功") and "全文完" in texts[-1]
    reader = messages[-1]["articles"][0]["url"]

    page.goto(reader)
    assert "全文" in page.inner_text(".meta") and "试读结束" not in page.content()
    context.close()

    other = wechat_browser(browser).new_page()
    other.goto(as_follower(sandbox, "o_other", reader))
    assert "试读" in other.inner_text(".meta") and "试读结束" in other.inner_text("#notice")


def test_the_page_shows_success_only_when_the_server_says_paid(app, user, sandbox, browser, demo_catalog):
    sandbox.payments.notifier.configure(drop=True)  # no notification will come
    pay_url = buy(user)
    page = wechat_page(browser)
    page.goto(as_follower(sandbox, "o_user", pay_url))
    page.evaluate(RECORD_STATES)
    page.click("#pay")
    # the bridge said ok; the page's poll makes the server query WeChat Pay, which settles it
    page.wait_for_selector("#paid", state="visible", timeout=20_000)
    assert page.evaluate("window.shownStates") == ["confirming", "paid"]
    assert user.received()[0]["content"].startswith("✅ 支付成功")


def test_someone_elses_order_and_a_normal_browser_are_turned_away(app, user, sandbox, browser, demo_catalog,
                                                                  monkeypatch):
    pay_url = buy(user)
    stranger = wechat_page(browser)
    response = stranger.goto(as_follower(sandbox, "o_stranger", pay_url))
    assert response.status == 403 and "这不是您的订单" in stranger.inner_text("#headline")
    monkeypatch.setattr(app.services.pay_pages, "dev_bridge", "")  # as in production
    outside = browser.new_page()  # no MicroMessenger in the user agent
    outside.goto(pay_url)
    assert "请在微信中打开" in outside.inner_text("#headline")
    assert outside.query_selector("script[src]") is None  # no external scripts on our pages


def test_a_shared_link_credits_the_sharer_once_per_opener(app, user, sandbox, browser, demo_catalog):
    import re

    from store import queries

    user.says("梯度下降")
    user.says("1")
    link = re.search(r"http://\S+", user.says("分享")).group(0)
    for opener in ["o_friend", "o_friend", "o_user", "o_another"]:  # twice, the sharer, someone else
        page = wechat_browser(browser).new_page()
        page.goto(as_follower(sandbox, opener, link))
        assert "梯度下降" in page.inner_text("#title")
        page.context.close()
    with app.services.database.connection_context():
        credits = [e.payload for e in queries.events_of("o_user") if e.kind == "share_open"]
    assert sorted(credits) == ['{"opener": "o_another"}', '{"opener": "o_friend"}']


def test_unknown_pages_and_broken_links_get_a_readable_page(live):
    import requests

    missing = requests.get(f"{live.url}/nowhere", timeout=10)
    assert missing.status_code == 404 and "页面不存在" in missing.text
    expired = requests.get(f"{live.url}/read/not-a-token", timeout=10)
    assert expired.status_code == 403 and "链接无效或已过期" in expired.text


def test_a_page_that_breaks_answers_with_a_request_id(app, live, monkeypatch, caplog):
    import requests

    def broken(*args):
        raise RuntimeError("page broke")

    monkeypatch.setattr(app.services.content_pages, "reader", broken)
    response = requests.get(f"{live.url}/read/anything", timeout=10)
    assert response.status_code == 500
    assert response.headers["X-Request-Id"] in response.text and "出了点问题" in response.text
    assert any(r.getMessage() == "page failed" for r in caplog.records)
