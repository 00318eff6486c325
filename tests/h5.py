"""What the H5 page tests share: a paying bot on SQLite, Chromium dressed as WeChat, a follower who buys.

Import the fixtures into a test module (`from tests.h5 import settings, ...`). The pages' CSP is on: the
sandbox's bridge arrives as an allowed external script (`site.dev_jsbridge_url`), and `wechat_page` records
every CSP violation so that a test sees what the policy blocked.
"""

from __future__ import annotations

from urllib.parse import quote

import pytest

from sandbox.pay import ThreadScheduler
from tests.browser import chromium, wechat_browser
from tests.conftest import make_settings, with_pay


@pytest.fixture(params=["sqlite"])
def base_settings(request, tmp_path):
    return make_settings(request.param, tmp_path, request)


@pytest.fixture
def settings(settings, sandbox, merchant, tmp_path):
    # WeChat Pay's retry schedule, 60 times faster: notifications arrive by themselves, over real HTTP
    paying = with_pay(settings, sandbox, merchant, tmp_path / "platform", scheduler=ThreadScheduler(60))
    return paying.replace(site={"dev_jsbridge_url": f"{sandbox.url}/sandbox/jsbridge.js"})


@pytest.fixture
def browser():
    with chromium() as running:
        yield running


RECORD_VIOLATIONS = """window.cspViolations = [];
document.addEventListener("securitypolicyviolation",
  (e) => window.cspViolations.push(e.violatedDirective + " " + e.blockedURI));"""


def wechat_page(browser):
    """A page in WeChat's browser that records what the CSP blocks (init scripts are exempt from it)."""
    context = wechat_browser(browser)
    context.add_init_script(RECORD_VIOLATIONS)
    return context.new_page()


def as_follower(sandbox, openid, url):
    """Open `url` as WeChat user `openid` (the sandbox's OAuth answers for the browser's user)."""
    return f"{sandbox.url}/sandbox/login?openid={openid}&next={quote(url, safe='')}"


def buy(user, query="梯度下降"):
    """Chat to the pay card; its URL."""
    user.says(query)
    user.says("1")
    user.received()
    user.says("购买")
    card = user.sends("确认")
    return card.articles[0]["url"]
