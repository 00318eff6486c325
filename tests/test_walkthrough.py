"""The README's walkthrough on the demo's chat page, in headless Chromium: each step checks what a newcomer
sees and leaves its screenshot in docs/img/ (the README shows them), so the pictures stay true.

A new step is a few lines of `Walk` calls, e.g. the push at the end:
    walk.as_creator(); walk.say("推送", "立即运行"); walk.say("确认", "推送已开始"); walk.sees("推送完成")
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import FrameLocator, Page, expect

from tests.browser import chromium
from tests.conftest import ROOT

IMAGES = ROOT / "docs" / "img"
VIEWPORT = {"width": 880, "height": 720}
NEWCOMER = "o_newcomer_demo"  # a fixed follower openid, so the pictures do not change from run to run


class Walk:
    """A person on the chat page. Every wait is for something on the screen, never a fixed sleep."""

    def __init__(self, page: Page) -> None:
        self.page = page

    @property
    def chat(self):
        return self.page.locator(".log.on")

    @property
    def frame(self) -> FrameLocator:
        return self.page.frame_locator("#frame")

    def say(self, text: str, answer: str) -> None:
        """Send `text`; wait until the bot's answer containing `answer` shows in the chat."""
        self.page.fill("#text", text)
        self.page.press("#text", "Enter")
        self.sees(answer)

    def sees(self, text: str) -> None:
        expect(self.chat.locator(".row.bot", has_text=text).last).to_be_visible(timeout=20_000)

    def sees_card(self, text: str) -> None:
        expect(self.chat.locator(".card", has_text=text).last).to_be_visible(timeout=20_000)

    def open_card(self, kind: str) -> None:
        """Click the newest card of this kind ("pay" or "read"): its page opens in the phone frame."""
        cards = self.chat.locator(".card.pay a" if kind == "pay" else ".card:not(.pay) a")
        cards.last.click()
        expect(self.page.locator("#device.open")).to_be_visible()

    def frame_sees(self, text: str) -> None:
        expect(self.frame.locator("body")).to_contain_text(text, timeout=20_000)

    def as_creator(self) -> None:
        self.page.click("#as-creator")
        self.sees("欢迎关注")  # the creator follows on first visit

    def as_follower(self) -> None:
        self.page.click("#as-follower")
        expect(self.page.locator("#as-follower.on")).to_be_visible()

    def top(self, text: str) -> None:
        """Scroll the chat so the message with `text` starts at the top (the picture shows what follows)."""
        self.chat.locator(".row", has_text=text).last.evaluate("node => { node.parentNode.scrollTop = node.offsetTop - 8; }")

    def shot(self, name: str) -> Path:
        path = IMAGES / f"{name}.png"
        self.page.screenshot(path=str(path))
        assert path.stat().st_size > 10_000  # a real picture, not a blank page
        return path


@pytest.fixture
def walk(stack):
    IMAGES.mkdir(parents=True, exist_ok=True)
    with chromium() as browser:
        context = browser.new_context(locale="zh-CN", viewport=VIEWPORT)
        page = context.new_page()
        hosts = set()
        page.on("request", lambda request: hosts.add(urlsplit(request.url).hostname))
        page.add_init_script(f"if (location.pathname === '/') localStorage.setItem('sandbox-openid', '{NEWCOMER}');")
        page.goto(stack.chat_url)
        yield Walk(page)
        context.close()
    assert hosts == {"127.0.0.1"}  # no external scripts, fonts or CDNs: the chat page and H5 pages are local


def test_a_cjk_font_is_installed_so_the_pictures_show_chinese():
    families = subprocess.run(["fc-list", ":lang=zh", "family"], capture_output=True, text=True, check=True).stdout
    assert "Noto Sans CJK" in families, "install Debian's fonts-noto-cjk (./dev test does)"


def test_the_walkthrough_of_the_readme(walk):
    walk.sees("欢迎关注")  # a newcomer's first visit follows the account

    walk.say("机器学习", "找到这些内容")
    walk.shot("1-search")

    walk.say("梯度下降", "找到这些内容")
    walk.say("1", "试读结束")
    walk.sees_card("阅读全文")  # the reader card follows the preview
    walk.open_card("read")
    walk.frame_sees("试读结束")  # the reader page, too, shows only the preview before buying
    walk.shot("2-preview")

    walk.say("购买", "确认购买")
    walk.page.fill("#text", "确认")
    walk.page.press("#text", "Enter")
    expect(walk.chat.locator(".card.pay")).to_contain_text("去支付")  # a pay card, not 「阅读全文」
    walk.open_card("pay")
    walk.frame_sees("确认支付")
    walk.shot("3-pay-page")

    walk.frame.locator("#pay").click()
    walk.sees("支付成功，已为您解锁全文")  # the unlock comes as customer-service messages
    walk.frame_sees("支付成功")
    expect(walk.chat.locator(".tag", has_text="客服消息").last).to_be_visible()
    walk.sees("全文完")
    walk.open_card("read")
    walk.frame_sees("常见误区")  # the reader shows the whole article to its buyer
    walk.top("支付成功，已为您解锁全文")
    walk.shot("4-unlocked")

    walk.as_creator()
    walk.say("统计", "当前关注")
    chart = walk.chat.locator(".row.bot img").last  # the chart follows as an image message
    expect(chart).to_be_visible(timeout=20_000)
    assert chart.evaluate("img => img.complete && img.naturalWidth > 200")  # a real picture, loaded
    walk.top("当前关注")
    walk.shot("5-creator")

    walk.as_follower()
    walk.say("推荐", "为你推荐")  # the follower's own message: WeChat's grant of customer-service messages
    walk.as_creator()
    walk.say("推送", "立即运行")
    walk.say("确认", "推送已开始")
    walk.sees("推送完成")
    walk.as_follower()
    push = walk.chat.locator(".card", has_text="回复 退订推送 可关闭").last  # one item, its reason, the way out
    expect(push).to_be_visible(timeout=20_000)
    walk.top("为你推荐")
    walk.shot("6-push")
