"""Headless Chromium (Debian's) driven by Playwright, dressed up as WeChat's in-app browser.

WeChat's browser announces itself with "MicroMessenger" in its user agent and injects the
WeixinJSBridge. The sandbox's stand-in talks to the sandbox with fetch(), which the pages' CSP allows only
when the bridge is loaded through `site.dev_jsbridge_url` (tests/h5.py does that); an init script passed as
`bridge_script` runs, but its fetches are blocked unless that setting is on.
"""

from __future__ import annotations

import contextlib
import shutil
from typing import Iterator

from playwright.sync_api import Browser, BrowserContext, sync_playwright

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
WECHAT_UA = ("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
             "Chrome/120.0 Mobile Safari/537.36 MicroMessenger/8.0.50.2701(0x28003255) NetType/WIFI Language/zh_CN")
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]


@contextlib.contextmanager
def chromium() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        try:
            yield browser
        finally:
            browser.close()


def wechat_browser(browser: Browser, bridge_script: str | None = None) -> BrowserContext:
    context = browser.new_context(user_agent=WECHAT_UA, locale="zh-CN", viewport={"width": 390, "height": 844})
    if bridge_script:
        context.add_init_script(bridge_script)
    return context
