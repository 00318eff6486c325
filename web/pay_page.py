"""`/pay/<token>`: the H5 pay page opened from the chat's pay card, and its status poll.

The visitor must be the buyer (OAuth snsapi_base); the page calls WeixinJSBridge's
getBrandWCPayRequest with a paySign from the gateway, then shows success only when the server says
PAID (a notification or an order query settled it), never on the bridge's "ok" alone.
"""

from __future__ import annotations

import json
import threading
import time
from typing import Any, Mapping

from catalog.text import fen_to_yuan_text
from gateways.pay_results import PayError, PayUnavailable
from store import orders
from store.models import Order, utcnow
from web.links import BadLink, Links
from web.render import message as _message, render
from web.http import HttpResponse
from web.visitor import Visitors, in_wechat

POLL_QUERY_GAP = 2.0  # seconds between order queries one page's polling may cause


class PayPages:
    def __init__(self, links: Links, visitors: Visitors, pay: Any, reconciler: Any, dev_bridge: str = "") -> None:
        self.links, self.visitors, self.pay, self.reconciler = links, visitors, pay, reconciler
        self.dev_bridge = dev_bridge  # settings.site.dev_jsbridge_url
        self._last_query: dict[str, float] = {}
        self._guard = threading.Lock()

    def page(self, token: str, url: str, query: Mapping[str, str], cookies: Mapping[str, str],
             user_agent: str) -> HttpResponse:
        order = self._order(token)
        if isinstance(order, HttpResponse):
            return order
        if not in_wechat(user_agent) and not self.dev_bridge:
            return _message(200, "请在微信中打开", "复制链接，在微信中打开即可支付；或回到公众号对话点击支付卡片。")
        visitor = self.visitors.identify(url, query, cookies)
        if isinstance(visitor, HttpResponse):
            return visitor
        if visitor.openid != order.user.openid:
            return _message(403, "这不是您的订单", "请回到您自己的公众号对话中重新购买。")
        return self.visitors.remember(self._for_state(order, token), visitor)

    def status(self, token: str, cookies: Mapping[str, str]) -> HttpResponse:
        order = self._order(token)
        if isinstance(order, HttpResponse):
            return order
        visitor = self.visitors.known(cookies)
        if visitor is None or visitor.openid != order.user.openid:
            return HttpResponse.json(403, {"error": "not your order"})
        if order.state == Order.CREATED and order.prepay_id and self._may_query(order.out_trade_no):
            try:
                self.reconciler.reconcile_order(order)
            except (PayError, PayUnavailable):
                pass  # the page polls again; the clock's query job does not depend on it
            order = orders.find(order.out_trade_no)
        return HttpResponse.json(200, {"state": order.state})

    def _for_state(self, order: Order, token: str) -> HttpResponse:
        if order.state == Order.PAID:
            return _message(200, "✅ 已支付", "内容已发送到公众号对话中，返回对话即可阅读。")
        if order.state != Order.CREATED or order.expires_at <= utcnow():
            return _message(410, "订单已关闭", "请回到公众号对话重新购买。")
        try:
            prepay_id = order.prepay_id or self._prepay(order)
            params = self.pay.jsapi_params(prepay_id)
        except (PayError, PayUnavailable):
            return _message(503, "支付服务暂时不可用", "请稍后刷新本页重试。")
        status_url = f"{self.links.base_url}/pay/{token}/status"
        body = render("pay", item=order.description, price=fen_to_yuan_text(order.amount),
                      params_json=_script_json(params), status_json=_script_json(status_url),
                      bridge_url=self.dev_bridge)
        return HttpResponse.html(200, body)

    def _prepay(self, order: Order) -> str:
        """Created when the buyer first opens the page (idempotent at WeChat Pay for the same order)."""
        prepay_id = self.pay.create_jsapi(order.out_trade_no, order.description, order.amount,
                                          order.user.openid, order.expires_at)
        orders.set_prepay(order, prepay_id)
        return prepay_id

    def _order(self, token: str) -> Order | HttpResponse:
        try:
            order = orders.find(self.links.open_pay(token))
        except BadLink:
            return _message(403, "链接无效", "请回到公众号对话重新打开支付卡片。")
        return order if order is not None else _message(404, "订单不存在", "请回到公众号对话重新购买。")

    def _may_query(self, out_trade_no: str) -> bool:
        now = time.monotonic()
        with self._guard:
            if now - self._last_query.get(out_trade_no, 0.0) < POLL_QUERY_GAP:
                return False
            # only recent entries can refuse a query: drop the rest so the map stays small
            self._last_query = {k: t for k, t in self._last_query.items() if now - t < POLL_QUERY_GAP}
            self._last_query[out_trade_no] = now
            return True


def _script_json(value: Any) -> str:
    """JSON safe inside a <script> element."""
    return json.dumps(value, ensure_ascii=False).replace("</", "<\\/")
