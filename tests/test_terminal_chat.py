"""`python bot.py chat` driven through a pseudo-terminal, as someone on SSH types it: search, pick, buy,
see the pay link, pay, read; switch to the creator and back; quit."""

from __future__ import annotations

import codecs
import os
import pty
import re
import select
import subprocess
import sys
import time

import pytest

from cli.chat import render, seconds_of
from tests.conftest import ROOT

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


class Terminal:
    """A child process on a pseudo-terminal: `type` a line, `expect` a pattern in what it printed."""

    def __init__(self, argv: list[str], env: dict[str, str]) -> None:
        self.master, slave = pty.openpty()
        self.process = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, cwd=ROOT, env=env,
                                        close_fds=True)
        os.close(slave)
        self.text = ""
        self._decoder = codecs.getincrementaldecoder("utf-8")("replace")  # a read may end inside a character

    def expect(self, pattern: str, timeout: float = 60) -> re.Match:
        """Wait for `pattern` after what earlier calls consumed; the output before it is consumed too."""
        deadline = time.monotonic() + timeout
        while True:
            match = re.search(pattern, self.text)
            if match:
                self.text = self.text[match.end():]
                return match
            left = deadline - time.monotonic()
            if left <= 0 or self.process.poll() is not None and not self._ready(0):
                raise AssertionError(f"no {pattern!r} in the terminal; it shows:\n{self.text[-3000:]}")
            if self._ready(min(left, 0.5)):
                self._read()

    def type(self, line: str) -> None:
        os.write(self.master, (line + "\n").encode())

    def _ready(self, timeout: float) -> bool:
        return bool(select.select([self.master], [], [], timeout)[0])

    def _read(self) -> None:
        try:
            chunk = os.read(self.master, 65536)
        except OSError:  # the child closed the terminal
            chunk = b""
        self.text += ANSI.sub("", self._decoder.decode(chunk).replace("\r\n", "\n"))

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(10)
        os.close(self.master)


@pytest.fixture
def terminal(tmp_path):
    env = {key: value for key, value in os.environ.items() if not key.startswith("BOT_")}
    env.update(BOT_STORE_DATABASE_URL=f"sqlite:///{tmp_path / 'bot.db'}", BOT_STORE_REDIS_URL="",
               PYTHONUNBUFFERED="1", TERM="xterm")
    term = Terminal([sys.executable, "bot.py", "chat"], env)
    yield term
    term.close()


def test_search_pick_buy_and_pay_in_a_terminal(terminal):
    terminal.expect(r"聊天网页：http://127\.0\.0\.1:\d+/")
    terminal.expect("欢迎关注")  # the follower followed: the welcome is the passive reply
    terminal.expect("> ")

    terminal.type("梯度下降")
    terminal.expect(r"找到这些内容")
    terminal.expect(r"1\. .*梯度下降")
    terminal.type("1")
    terminal.expect("试读")
    terminal.type("购买")
    terminal.expect("确认购买")
    terminal.type("确认")
    card = terminal.expect(r"\[支付卡片\] 支付 9\.9元：《梯度下降[^\n]*\n(?:.*\n)*?\s+支付链接：(http://127\.0\.0\.1:\d+/pay/\S+)")
    assert "/pay/" in card[1]

    terminal.type("/pay")
    terminal.expect("已在沙盒的微信支付中付款 9.90 元")
    terminal.expect(r"\[客服消息\] ✅ 支付成功，已为您解锁全文")  # the unlock arrives after the payment
    terminal.expect(r"\[客服消息\] \[图文\] 梯度下降")
    terminal.expect(r"链接：http://127\.0\.0\.1:\d+/read/")

    terminal.type("/admin")
    terminal.expect("以创作者身份聊天：o_demo_creator")
    terminal.type("统计")
    terminal.expect(r"当前关注 2 人")
    terminal.type("/follower")
    terminal.expect("以粉丝身份聊天：o_terminal_")
    terminal.type("统计")
    assert "当前关注" not in terminal.expect(r"号 › ([^\n]*)")[1]  # a follower gets no stats

    terminal.type("/quit")
    assert terminal.process.wait(30) == 0


def test_the_terminal_explains_what_it_cannot_do(terminal):
    terminal.expect("> ")
    terminal.type("/pay")
    terminal.expect("还没有支付卡片")
    terminal.type("/time soon")
    terminal.expect(r"用法：/time 48h")
    terminal.type("/nope")
    terminal.expect(r"未知指令：/nope")
    terminal.type("/time 48h")
    terminal.expect("沙盒时钟快进了 48h")
    terminal.type("帮助")  # a new message after the jump: the window opens again, the reply still comes
    terminal.expect("可以这样用")
    os.write(terminal.master, b"\x04")  # Ctrl-D quits too
    assert terminal.process.wait(30) == 0


def test_cards_and_durations_render_for_the_terminal():
    pay = render("news", None, [{"title": "支付 1元：《A》", "description": "点击支付", "url": "http://h/pay/t"}])
    assert pay[0] == "号 › [支付卡片] 支付 1元：《A》" and "     支付链接：http://h/pay/t" in pay
    read = render("news", None, [{"title": "A", "description": "", "url": "http://h/read/t"}], "broadcast")
    assert read == ["号 › [群发] [图文] A", "     链接：http://h/read/t"]
    assert render("text", "一\n二", [], "customer_service") == ["号 › [客服消息] 一", "     二"]
    assert [seconds_of(text) for text in ("48h", "30m", "2d", "90", "1.5h", "soon", "-1h")] == \
        [172800, 1800, 172800, 90, 5400, None, None]
