"""OAuth bound to the browser that started it: a code+state URL handed to another browser signs nobody in
(login CSRF), a used code restarts OAuth, a browser without cookies ends on a page, not in a loop; the
visitor cookie's flags and its rotation on sign-in."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from catalog.importer import run_import
from settings import ROOT
from tests.browser import WECHAT_UA, wechat_browser
from tests.h5 import as_follower, base_settings, browser, buy, settings  # noqa: F401 (fixtures)
from web.visitor import MAX_RESTARTS


@pytest.fixture
def pay_url(app, user):
    with app.services.database.connection_context():
        assert run_import(ROOT / "content" / "demo", progress=False).ok
    return buy(user)


def session_of(sandbox, openid: str | None) -> requests.Session:
    """An HTTP client in WeChat's browser; with `openid`, signed in to (sandbox) WeChat as that user."""
    session = requests.Session()
    session.headers["User-Agent"] = WECHAT_UA
    if openid:
        session.get(f"{sandbox.url}/sandbox/login", params={"openid": openid, "next": "/"}, allow_redirects=False,
                    timeout=10)
    return session


def hand_back(session: requests.Session, url: str) -> str:
    """Open `url`, let WeChat authorize: the URL WeChat sends the browser back to (with code and state)."""
    start = session.get(url, allow_redirects=False, timeout=10)
    assert start.status_code == 302 and "kb_oauth" in session.cookies
    back = session.get(start.headers["Location"], allow_redirects=False, timeout=10)
    assert back.status_code == 302 and "code=" in back.headers["Location"]
    return back.headers["Location"]


def state_of(location: str) -> str:
    return parse_qs(urlsplit(location.split("#")[0]).query)["state"][0]


def test_a_code_and_state_url_opened_in_another_browser_signs_nobody_in(app, sandbox, browser, pay_url):
    first = session_of(sandbox, "o_user")
    handed = hand_back(first, pay_url)

    other = wechat_browser(browser).new_page()  # another WeChat user's browser
    response = other.goto(as_follower(sandbox, "o_other", handed))
    assert response.status == 403 and "这不是您的订单" in other.inner_text("#headline")  # signed in as o_other

    stranger = wechat_browser(browser).new_page()  # a browser nobody signed in to WeChat
    stranger.goto(handed)
    assert "沙箱微信：当前用户" in stranger.content()  # OAuth started again: WeChat asks who this is
    assert [c["name"] for c in stranger.context.cookies() if c["name"] == "kb_visitor"] == []

    mine = first.get(handed, allow_redirects=False, timeout=10)  # the code was never spent by the others
    assert mine.status_code == 200 and "确认支付" in mine.text
    assert "kb_visitor" in first.cookies and "kb_oauth" not in first.cookies  # the state is spent


def test_a_used_code_restarts_oauth(app, sandbox, pay_url):
    first = session_of(sandbox, "o_user")
    handed = hand_back(first, pay_url)
    state_cookie = first.cookies["kb_oauth"]
    assert first.get(handed, allow_redirects=False, timeout=10).status_code == 200

    replay = session_of(sandbox, None)  # the URL and the state cookie too: the code is still spent
    replay.cookies.set("kb_oauth", state_cookie)
    again = replay.get(handed, allow_redirects=False, timeout=10)
    assert again.status_code == 302 and "/connect/oauth2/authorize" in again.headers["Location"]
    assert "kb_visitor" not in replay.cookies and state_of(again.headers["Location"]).startswith("1")

    first.cookies.pop("kb_visitor")  # the same browser, signed out: its state was spent with the code
    reload = first.get(handed, allow_redirects=False, timeout=10)
    assert reload.status_code == 302 and "/connect/oauth2/authorize" in reload.headers["Location"]


def test_a_browser_without_cookies_ends_on_a_page(app, sandbox, pay_url):
    url, hops = pay_url, 0
    while True:
        response = requests.get(url, headers={"User-Agent": WECHAT_UA}, params=None, allow_redirects=False,
                                timeout=10, cookies={"sandbox_openid": "o_user"})
        if response.status_code != 302:
            break
        url, hops = response.headers["Location"], hops + 1
    assert response.status_code == 400 and "无法确认您的微信身份" in response.text
    assert hops == 2 * (MAX_RESTARTS + 1)  # to WeChat and back, once per attempt


def test_the_visitor_cookie_is_http_only_lax_and_new_at_each_sign_in(app, sandbox, pay_url):
    values = []
    for _ in range(2):
        session = session_of(sandbox, "o_user")
        page = session.get(hand_back(session, pay_url), allow_redirects=False, timeout=10)
        cookie = next(c for c in page.raw.headers.getlist("Set-Cookie") if c.startswith("kb_visitor="))
        assert "; HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie  # http here
        values.append(session.cookies["kb_visitor"])
        assert session.get(pay_url, allow_redirects=False, timeout=10).status_code == 200  # the cookie suffices
    assert values[0] != values[1]
