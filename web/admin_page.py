"""`/admin/<token>`: the creators' dashboard, opened from the signed link 后台 sends (30 minutes, one admin).

The visitor is identified through OAuth (web/visitor.py) and must be the admin the link was made for,
and still an admin. Charts are PNG drawn on the server (`/admin/<token>/chart/<name>.png`, same checks):
the page loads no script and no font. `/admin/<token>/orders.csv` downloads every order.
"""

from __future__ import annotations

import csv
import io
from typing import Mapping

from catalog.text import fen_to_yuan_text
from charts.render import funnel_png, revenue_png, top_png
from dialogs.admin_push import describe_run
from store import admins, pushes, stats
from web.http import HttpResponse
from web.links import BadLink, Links
from web.render import message, render
from web.visitor import Visitor, Visitors

WINDOW_DAYS = 30
RECENT = 20
STATES = {"created": "待支付", "paid": "已支付", "closed": "已关闭", "refunded": "已退款"}
CHARTS = ("revenue", "funnel", "top")
CSV_COLUMNS = ["out_trade_no", "openid", "item", "amount_yuan", "kind", "state", "created_at", "paid_at",
               "refunded_at"]


class AdminPages:
    def __init__(self, links: Links, visitors: Visitors, configured_admins: list[str]) -> None:
        self.links, self.visitors, self.configured = links, visitors, configured_admins

    def dashboard(self, token: str, url: str, query: Mapping[str, str], cookies: Mapping[str, str]) -> HttpResponse:
        admin = self._admin(token, url, query, cookies)
        if isinstance(admin, HttpResponse):
            return admin
        numbers = stats.compute(stats.window(WINDOW_DAYS))
        body = render(
            "admin", label=numbers.window.label, revenue=fen_to_yuan_text(numbers.revenue) if numbers.revenue else "0元",
            orders=numbers.paid_orders, payers=numbers.paying_followers, refunds=numbers.refunds,
            grants=numbers.grants, new=numbers.new_followers,
            charts=f"/admin/{token}/chart/", top=numbers.top, fen=_yuan,
            recent=[_row(o) for o in stats.recent_orders(RECENT)],
            refunded=[_row(o) for o in stats.recent_orders(RECENT, refunds_only=True)],
            rounds=[(f"{r.started_at:%m-%d %H:%M}", describe_run(r)) for r in pushes.last_runs(RECENT)], csv_url=f"/admin/{token}/orders.csv")
        return self.visitors.remember(HttpResponse.html(200, body), admin)

    def chart(self, token: str, name: str, url: str, query: Mapping[str, str],
              cookies: Mapping[str, str]) -> HttpResponse:
        admin = self._admin(token, url, query, cookies)
        if isinstance(admin, HttpResponse):
            return admin
        if name not in CHARTS:
            return message(404, "图表不存在", "请回到看板重新打开。")
        numbers = stats.compute(stats.window(WINDOW_DAYS))
        drawn = {"revenue": lambda: revenue_png(numbers.per_day), "funnel": lambda: funnel_png(numbers.funnel),
                 "top": lambda: top_png(numbers.top)}[name]()
        return HttpResponse(200, drawn, "image/png")

    def orders_csv(self, token: str, url: str, query: Mapping[str, str], cookies: Mapping[str, str]) -> HttpResponse:
        admin = self._admin(token, url, query, cookies)
        if isinstance(admin, HttpResponse):
            return admin
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(CSV_COLUMNS)
        for order in stats.all_orders():
            writer.writerow([_cell(v) for v in (
                order.out_trade_no, order.user.openid, order.description, f"{order.amount / 100:.2f}",
                "grant" if order.amount == 0 else "sale", order.state, order.created_at, order.paid_at or "",
                order.refunded_at or "")])
        return HttpResponse(200, "\ufeff" + out.getvalue(), "text/csv; charset=utf-8")

    def _admin(self, token: str, url: str, query: Mapping[str, str],
               cookies: Mapping[str, str]) -> Visitor | HttpResponse:
        """The admin looking at the page, or the page that turns the visitor away (or the OAuth redirect)."""
        try:
            owner = self.links.open_admin(token)
        except BadLink:
            return message(403, "链接无效或已过期", "请在公众号对话中回复「后台」获取新链接。")
        visitor = self.visitors.identify(url, query, cookies)
        if isinstance(visitor, HttpResponse):
            return visitor
        if visitor.openid != owner or not admins.is_admin(visitor.openid, self.configured):
            return message(403, "仅限管理员本人打开", "这个链接是发给管理员本人的。")
        return visitor


def _yuan(fen: int) -> str:
    return fen_to_yuan_text(fen) if fen else "0元"


def _row(order) -> dict:
    return {"no": order.out_trade_no, "buyer": order.user.openid, "item": order.description,
            "amount": _yuan(order.amount), "state": STATES.get(order.state, order.state),
            "when": f"{order.refunded_at or order.paid_at or order.created_at:%m-%d %H:%M}"}


def _cell(value) -> str:
    """No formula injection when the CSV is opened in a spreadsheet."""
    text = str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text
