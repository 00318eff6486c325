"""The H5 pages in headless Chromium: pay through the sandbox's WeixinJSBridge, see success only when the
server says PAID, get the article in the chat; the reader shows the full text to its buyer alone."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from catalog.importer import run_import
from sandbox.pay import ThreadScheduler, jsbridge_script
from settings import ROOT
from tests.browser import chromium, wechat_browser
from tests.conftest import with_pay


@pytest.fixture(params=["sqlite"])
def base_settings(request, tmp_path):
    from tests.conftest import make_settings

    return make_settings(request.param, tmp_path, request)


@pytest.fixture
def settings(settings, sandbox, merchant, tmp_path):
    # WeChat Pay's retry schedule, 60 times faster: notifications arrive by themselves, over real HTTP
    return with_pay(settings, sandbox, merchant, tmp_path / "platform", scheduler=ThreadScheduler(60))


@pytest.fixture
def demo_catalog(app):
    with app.services.database.connection_context():
        assert run_import(ROOT / "content" / "demo", progress=False).ok


@pytest.fixture
def browser():
    with chromium() as running:
        yield running


RECORD_STATES = """() => {
  window.shownStates = [];
  new MutationObserver(() => {
    const on = document.querySelector(".state.on");
    if (on && window.shownStates[window.shownStates.length - 1] !== on.id) window.shownStates.push(on.id);
  }).observe(document.querySelector("main"), {attributes: true, subtree: true});
}"""


def as_follower(sandbox, openid, url):
    """Open `url` as WeChat user `openid` (the sandbox's OAuth answers for the browser's user)."""
    return f"{sandbox.url}/sandbox/login?openid={openid}&next={quote(url, safe='')}"


def buy(user, query="梯度下降"):
    user.says(query)
    user.says("1")
    user.received()
    user.says("购买")
    card = user.sends("确认")
    return card.articles[0]["url"]


def test_pay_in_the_browser_and_read_in_the_chat(app, user, sandbox, browser, demo_catalog, tmp_path):
    pay_url = buy(user)
    context = wechat_browser(browser, jsbridge_script(sandbox.url))
    page = context.new_page()
    page.goto(as_follower(sandbox, "o_user", pay_url))
    assert page.inner_text("#item") == "梯度下降：模型是怎样一步步学会的"
    assert page.inner_text("#price") == "9.9元"
    page.click("#pay")
    page.wait_for_selector("#paid", state="visible", timeout=20_000)
    page.screenshot(path=str(tmp_path / "paid.png"))
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
    page = wechat_browser(browser, jsbridge_script(sandbox.url)).new_page()
    page.goto(as_follower(sandbox, "o_user", pay_url))
    page.evaluate(RECORD_STATES)
    page.click("#pay")
    # the bridge said ok; the page's poll makes the server query WeChat Pay, which settles it
    page.wait_for_selector("#paid", state="visible", timeout=20_000)
    assert page.evaluate("window.shownStates") == ["confirming", "paid"]
    assert user.received()[0]["content"].startswith("✅ 支付成功")


def test_someone_elses_order_and_a_normal_browser_are_turned_away(app, user, sandbox, browser, demo_catalog):
    pay_url = buy(user)
    stranger = wechat_browser(browser, jsbridge_script(sandbox.url)).new_page()
    response = stranger.goto(as_follower(sandbox, "o_stranger", pay_url))
    assert response.status == 403 and "这不是您的订单" in stranger.inner_text("#headline")
    outside = browser.new_page()  # no MicroMessenger in the user agent
    outside.goto(pay_url)
    assert "请在微信中打开" in outside.inner_text("#headline")
    assert outside.query_selector("script[src]") is None  # no external scripts on our pages
