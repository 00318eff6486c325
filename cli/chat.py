"""`python bot.py chat`: the chat page's conversation in a terminal, for SSH and no browser.

The sandbox and the bot run in this process (as `demo` does); each line typed goes to the webhook the way
WeChat delivers it, the passive reply is printed, then the customer-service messages that follow, also
those that arrive later (an unlock after paying). Pay cards show their link; `/pay` opens it as the
follower's phone would and pays at the sandbox's cashier.
"""

from __future__ import annotations

import argparse
import logging
import re
import secrets
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable, TextIO

from cli.common import settings_of
from ops.logs import JsonFormatter
from settings import ROOT

HELP = """指令：
  /admin      以创作者（demo 的管理员 openid）身份聊天
  /follower   回到粉丝身份
  /pay        打开最近的支付卡片并在沙盒的微信支付中付款
  /time 48h   拨快沙盒（公众号平台）的时钟：s、m、h、d
  /help       显示本说明
  /quit       退出（也可按 Ctrl-D）
其余输入作为消息发给公众号。"""

DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*([smhd]?)")
UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}
TAGS = {"customer_service": "[客服消息] ", "broadcast": "[群发] "}
INDENT = "     "
LOG = ROOT / "data" / "chat.log"


def is_pay_link(url: str) -> bool:
    """The bot's pay page (a pay card), as the chat page tells it from the reader."""
    return "/pay/" in url


def render(msg_type: str, content: str | None, articles: list[dict[str, str]], via: str | None = None) -> list[str]:
    """A message as terminal lines: text as it is, each card with its title, description and link."""
    tag = TAGS.get(via or "", f"[{via}] " if via else "")
    if msg_type == "text":
        first, *rest = (content or "").split("\n")
        return [f"号 › {tag}{first}", *(INDENT + line for line in rest)]
    if msg_type != "news":
        return [f"号 › {tag}[{msg_type} 消息]"]
    lines: list[str] = []
    for article in articles:
        pay = is_pay_link(article.get("url", ""))
        lines.append(f"号 › {tag}[{'支付卡片' if pay else '图文'}] {article.get('title', '')}")
        lines.extend(INDENT + line for line in (article.get("description") or "").split("\n") if line)
        if article.get("url"):
            lines.append(f"{INDENT}{'支付链接' if pay else '链接'}：{article['url']}")
        if pay:
            lines.append(f"{INDENT}（输入 /pay 在沙盒里付款，或在浏览器中打开链接）")
    return lines


def seconds_of(text: str) -> float | None:
    """`48h`, `30m`, `90` (seconds) -> seconds; None when it is not a duration."""
    match = DURATION.fullmatch(text.strip())
    return float(match[1]) * UNITS[match[2]] if match else None


class TerminalChat:
    """One person at the terminal: a follower by default, a creator after /admin."""

    def __init__(self, stack: Any, out: TextIO) -> None:
        self.stack, self.out = stack, out
        self.follower = "o_terminal_" + secrets.token_hex(4)
        self.openid = self.follower
        self.seen: dict[str, int] = {}  # openid -> last customer-service message shown
        self.pay_url: str | None = None
        self.lock = threading.Lock()  # one writer at a time: replies before what follows them

    def say(self, *lines: str) -> None:
        self.out.write("".join(line + "\n" for line in lines))
        self.out.flush()

    def start(self) -> None:
        self.say(f"聊天网页：{self.stack.chat_url}（同一个沙盒）", HELP, "")
        self.follow(self.follower, "粉丝")
        threading.Thread(target=self._poll_forever, name="chat-poll", daemon=True).start()

    def follow(self, openid: str, role: str) -> None:
        self.openid = openid
        self.say(f"—— 以{role}身份聊天：{openid} ——")
        if openid not in self.seen:
            self.seen[openid] = 0
            self.send(lambda sender: sender.subscribe(openid))

    def handle(self, line: str) -> bool:
        """One line typed; False to quit."""
        command, _, rest = line.strip().partition(" ")
        if not command:
            return True
        if command in ("/quit", "/exit"):
            return False
        actions: dict[str, Callable[[], None]] = {
            "/admin": self.as_creator, "/follower": lambda: self.follow(self.follower, "粉丝"),
            "/pay": self.pay, "/time": lambda: self.travel(rest), "/help": lambda: self.say(HELP),
        }
        if command in actions:
            actions[command]()
        elif command.startswith("/"):
            self.say(f"未知指令：{command}（/help 查看指令）")
        else:
            self.send(lambda sender: sender.text(self.openid, line.strip()))
        return True

    def as_creator(self) -> None:
        creators = self.stack.sandbox.creators
        if not creators:
            self.say("沙盒没有配置创作者 openid。")
            return
        self.follow(creators[0], "创作者")

    def send(self, deliver: Callable[[Any], Any]) -> None:
        with self.lock:
            result = deliver(self.stack.sandbox.sender())
            if result.problem:
                self.say(f"（该公众号暂时无法提供服务：{result.problem}）")
            elif result.reply is not None:
                reply = result.reply
                self._remember(reply.articles)
                self.say(*render(reply.msg_type, reply.content, reply.articles))
            outbox = self.stack.app.services.outbox
            if outbox is not None:
                outbox.wait_idle(10)
            self._flush()

    def pay(self) -> None:
        if self.pay_url is None:
            self.say("还没有支付卡片：先打开一篇付费文章，回复「购买」「确认」。")
            return
        from sandbox.phone import pay_link

        self.say(pay_link(self.stack.sandbox, self.pay_url, self.openid))

    def travel(self, text: str) -> None:
        from sandbox.chat import LONGEST_JUMP  # the chat page's rule; `serve` never imports the sandbox

        seconds = seconds_of(text)
        if not seconds or seconds > LONGEST_JUMP:
            self.say("用法：/time 48h（也可以 30m、2d、90）")
            return
        self.stack.sandbox.clock.advance(seconds)
        self.say(f"—— 沙盒时钟快进了 {text.strip()}：客服消息窗口按新时间计算 ——")

    def _remember(self, articles: list[dict[str, str]]) -> None:
        for article in articles:
            if is_pay_link(article.get("url", "")):
                self.pay_url = article["url"]

    def _flush(self) -> bool:
        """Print the customer-service messages not shown yet; True when there were any."""
        openid = self.openid
        messages = self.stack.sandbox.sent(openid, self.seen.get(openid, 0))
        for message in messages:
            self._remember(message["articles"])
            self.say(*render(message["msgtype"], message["content"], message["articles"],
                             message.get("via") or "customer_service"))
            self.seen[openid] = message["id"]
        return bool(messages)

    def _poll_forever(self) -> None:
        while True:
            time.sleep(0.5)
            with self.lock:
                if self._flush():
                    self.out.write("> ")
                    self.out.flush()


def log_to_file(path: Path) -> None:
    """The bot's JSON logs go to a file: on the terminal they would break into the conversation."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(JsonFormatter())
    logging.getLogger().handlers[:] = [handler]


def chat_command(args: argparse.Namespace) -> int:
    from cli.stack import start_stack

    log_to_file(LOG)
    print(f"日志写入 {LOG.relative_to(ROOT)}", flush=True)
    stack = start_stack(settings_of(args), args.host, args.port, args.sandbox_port).serve_in_background()
    session = TerminalChat(stack, sys.stdout)
    try:
        session.start()
        while True:
            try:
                line = input("> ")
            except EOFError:
                break
            if not session.handle(line):
                break
    finally:
        stack.stop()
    return 0


def register(commands: Any) -> None:
    chat = commands.add_parser("chat", help="chat with the bot in this terminal (the sandbox runs in-process)")
    chat.add_argument("--host", default="127.0.0.1", help="address of the bot and the sandbox (default 127.0.0.1)")
    chat.add_argument("--port", type=int, default=0, help="the bot's port (default 0: any free port)")
    chat.add_argument("--sandbox-port", type=int, default=0,
                      help="the sandbox's port, whose chat page shows the same conversations (default 0: any free port)")
    chat.set_defaults(func=chat_command)
