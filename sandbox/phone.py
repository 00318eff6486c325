"""What a follower's phone does besides sending messages, for the terminal chat (`python bot.py chat`):
open a link in WeChat's browser as this user, and pay at WeChat Pay's cashier, with no browser at hand."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import requests

from sandbox.pay import PaymentRejected

if TYPE_CHECKING:
    from sandbox.api import SandboxServer

WECHAT_UA = "Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 Mobile Safari/537.36 MicroMessenger/8.0.50"
PREPAY = re.compile(r"prepay_id=(wx[0-9A-Za-z]+)")


def open_link(server: SandboxServer, url: str, openid: str) -> requests.Response:
    """GET the page through the sandbox's login and OAuth, as WeChat's browser opens a card's link."""
    session = requests.Session()
    session.headers["User-Agent"] = WECHAT_UA
    return session.get(f"{server.url}/sandbox/login", params={"openid": openid, "next": url}, timeout=15)


def pay_link(server: SandboxServer, url: str, openid: str) -> str:
    """Open a pay card's page (the bot creates the JSAPI prepay then) and pay that order at the cashier;
    return what happened, in the chat's words."""
    page = open_link(server, url, openid)
    found = PREPAY.search(page.text)
    merchant = server.payments
    if merchant is None:
        return "沙盒没有开启微信支付。"
    order = next((o for o in merchant.orders.values() if found and o.prepay_id == found[1]), None)
    if order is None:
        return f"支付页没有可支付的订单（HTTP {page.status_code}）。"
    try:
        server.pay(order.out_trade_no, openid)
    except PaymentRejected as rejected:
        return f"微信支付拒绝了这笔支付：{rejected.reason}"
    return f"已在沙盒的微信支付中付款 {order.total / 100:.2f} 元，等待 bot 确认……"
