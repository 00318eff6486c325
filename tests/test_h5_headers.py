"""The security headers on every answer: each registered route (so routes added later are checked with no
new test), the 302/400/403/404/405/410/500 pages, JSON answers; the CSP nonce per response; HSTS and the
Secure cookie under https; `site.frame_ancestors` in Chromium."""

from __future__ import annotations

import contextlib
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from catalog.importer import run_import
from settings import ROOT, SettingsError
from store import orders
from store.models import Order, utcnow
from tests.browser import WECHAT_UA
from tests.conftest import LiveServer, free_port
from tests.h5 import base_settings, browser, buy, settings  # noqa: F401 (fixtures)

UA = {"User-Agent": WECHAT_UA}


@pytest.fixture
def demo_catalog(app):
    with app.services.database.connection_context():
        assert run_import(ROOT / "content" / "demo", progress=False).ok


def assert_baseline(response, frame_ancestors="'none'"):
    headers = response.headers
    directives = dict(d.strip().split(" ", 1) for d in headers["Content-Security-Policy"].split(";"))
    assert directives["default-src"] == "'self'" and directives["object-src"] == "'none'"
    assert directives["base-uri"] == "'none'" and directives["frame-ancestors"] == frame_ancestors
    assert "'unsafe-inline'" not in directives["script-src"] and "*" not in directives["script-src"]
    assert re.fullmatch(r"'self' 'nonce-[\w-]{24}'( \S+)?", directives["script-src"])
    assert headers["X-Content-Type-Options"] == "nosniff" and headers["Referrer-Policy"] == "no-referrer"
    assert headers["Cache-Control"] == "no-store"
    assert "Strict-Transport-Security" not in headers  # site.base_url is http here
    assert headers.get("X-Frame-Options") == ("DENY" if frame_ancestors == "'none'" else None)
    return directives


def example_url(rule: str) -> str:
    return re.sub(r"<[^>]+>", "x", rule)


def test_every_route_answers_with_the_headers(app, live):
    seen = set()
    for route in app.routes:
        response = requests.request(route.method, live.url + example_url(route.rule), headers=UA, data=b"",
                                    allow_redirects=False, timeout=10)
        assert response.status_code < 500 or route.rule == "/pay/notify", (route.rule, response.status_code)
        assert_baseline(response)
        seen.add(route.rule)
    assert {"/wechat", "/pay/notify", "/pay/<token:token>", "/read/<token:token>", "/healthz"} <= seen


def test_error_pages_and_json_answers_have_them(app, live, monkeypatch):
    cases = {"/nowhere": 404, "/read/not-a-token": 403, "/pay/not-a-token/status": 403,
             "/read/x?code=%E4%BD%A0": 400}
    for path, status in cases.items():
        response = requests.get(live.url + path, headers=UA, timeout=10)
        assert response.status_code == status, path
        assert_baseline(response)
    assert_baseline(requests.post(f"{live.url}/healthz", timeout=10))  # Bottle's own 405 page

    def broken(*args):
        raise RuntimeError("page broke")

    monkeypatch.setattr(app.services.content_pages, "reader", broken)
    failed = requests.get(f"{live.url}/read/anything", timeout=10)
    assert failed.status_code == 500 and failed.headers["X-Request-Id"] in failed.text
    assert_baseline(failed)


def signed_in(sandbox, openid: str, url: str) -> requests.Response:
    """GET `url` in WeChat's browser as `openid`, through the sandbox's OAuth (redirects followed)."""
    session = requests.Session()
    session.headers.update(UA)
    return session.get(f"{sandbox.url}/sandbox/login", params={"openid": openid, "next": url}, timeout=10)


def test_the_pay_page_its_nonce_and_a_closed_order(app, user, sandbox, demo_catalog):
    pay_url = buy(user)
    first, second = signed_in(sandbox, "o_user", pay_url), signed_in(sandbox, "o_user", pay_url)
    nonces = []
    for page in (first, second):
        assert page.status_code == 200 and "确认支付" in page.text
        directives = assert_baseline(page)
        nonce = re.search(r"'nonce-([\w-]+)'", directives["script-src"]).group(1)
        assert f'<script nonce="{nonce}">' in page.text and f'<style nonce="{nonce}">' in page.text
        assert directives["script-src"].endswith(f" {sandbox.url}/sandbox/jsbridge.js")  # the dev bridge
        assert directives["connect-src"] == f"'self' {sandbox.url}"
        nonces.append(nonce)
    assert nonces[0] != nonces[1]

    with app.services.database.connection_context():
        order = Order.get()
        assert orders.mark_closed(order, utcnow())
    closed = signed_in(sandbox, "o_user", pay_url)
    assert closed.status_code == 410 and "订单已关闭" in closed.text
    assert_baseline(closed)


def test_under_https_hsts_and_secure_cookies(settings):
    from bot import create_app

    port = free_port()
    app = create_app(settings.replace(site={"base_url": f"https://127.0.0.1:{port}"}))  # TLS ends at a proxy
    server = LiveServer(app)
    try:
        with app.services.database.connection_context():
            assert run_import(ROOT / "content" / "demo", progress=False).ok
            share = app.services.content_pages.links.share(1, "o_sharer")
        health = requests.get(f"http://127.0.0.1:{port}/healthz", timeout=10)
        assert health.headers["Strict-Transport-Security"] == "max-age=31536000"
        start = requests.get(share.replace("https://", "http://"), headers=UA, allow_redirects=False, timeout=10)
        assert start.status_code == 302 and "redirect_uri=https%3A%2F%2F127.0.0.1" in start.headers["Location"]
        cookie = start.headers["Set-Cookie"]
        assert cookie.startswith("kb_oauth=") and all(f in cookie for f in ("; Secure", "; HttpOnly", "SameSite=Lax"))
    finally:
        server.stop()


def test_settings_cannot_widen_the_policy(settings):
    from bot import create_app

    with pytest.raises(SettingsError, match="site.frame_ancestors"):
        create_app(settings.replace(site={"frame_ancestors": "* ; script-src *"}))
    with pytest.raises(SettingsError, match="site.dev_jsbridge_url"):
        create_app(settings.replace(site={"dev_jsbridge_url": "http://127.0.0.1:1/a.js; script-src *"}))


@contextlib.contextmanager
def framing_page(port: int, framed: str):
    """A page on loopback (as the sandbox's chat page is) whose iframe opens `framed`."""
    body = f'<!doctype html><iframe id="phone" src="{framed}"></iframe>'.encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("allowed", [False, True])
def test_only_the_named_origin_may_frame_the_pages(settings, browser, allowed):
    from bot import create_app

    framer_port = free_port()
    framer = f"http://127.0.0.1:{framer_port}"
    app = create_app(settings.replace(site={"frame_ancestors": framer if allowed else "'none'"}))
    server = LiveServer(app)
    framed = f"{server.url}/nowhere"  # any page: here the 404 one
    try:
        assert_baseline(requests.get(framed, timeout=10), framer if allowed else "'none'")
        with framing_page(framer_port, framed) as url:
            page = browser.new_page()
            page.goto(url)
            frame = page.wait_for_selector("#phone").content_frame()
            frame.wait_for_load_state()
            shown = frame.evaluate("() => document.body ? document.body.innerText : ''")
        assert ("页面不存在" in shown) == allowed
    finally:
        server.stop()
