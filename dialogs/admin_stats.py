"""统计 [今天|7天|30天]: the numbers as text now, the chart as an image right after (the `stats_chart` task
renders it on the server and uploads it through the gateway: dialogs never touch the network)."""

from __future__ import annotations

from catalog.text import fen_to_yuan_text
from dialogs import admin_args as a, admin_strings as s
from dialogs.admin_routes import admin_route, command
from dialogs.framework import STAY, Result, Text, Turn
from store import queries, stats

CHART_TASK = "stats_chart"
DEFAULT_WINDOW = "7天"


def show_stats(turn: Turn) -> Result:
    args = a.arguments(turn.text)
    label = args[0] if args else DEFAULT_WINDOW
    if label not in stats.WINDOWS:
        raise a.BadArgument(f"{s.BAD_WINDOW.format(value=label)}\n{s.USAGE_STATS}")
    numbers = stats.compute(stats.window(stats.WINDOWS[label]))
    turn.tasks.append((CHART_TASK, {"days": stats.WINDOWS[label]}))
    return Text(stats_text(numbers)), STAY


def rate(part: int, whole: int) -> str:
    return f"{part / whole:.0%}" if whole else "—"


def stats_text(numbers: stats.Stats) -> str:
    counts = queries.user_counts()
    funnel = numbers.funnel
    steps = [f"{funnel[0][0]} {funnel[0][1]}"] + [
        f"{name} {count}（{rate(count, funnel[i][1])}）" for i, (name, count) in enumerate(funnel[1:])]
    top = [f"{n}. {title}：{fen_to_yuan_text(fen) if fen else '0元'}（{orders} 单）"
           for n, (title, fen, orders) in enumerate(numbers.top, start=1)] or [s.NONE]
    return s.STATS_TEXT.format(
        label=numbers.window.label, revenue=_yuan(numbers.revenue), orders=numbers.paid_orders,
        payers=numbers.paying_followers, refunds=numbers.refunds, refunded=_yuan(numbers.refunded),
        net=_yuan(numbers.revenue - numbers.refunded), grants=numbers.grants, new=numbers.new_followers,
        subscribed=counts["subscribed"], funnel=" → ".join(steps), top="\n".join(top))


def _yuan(fen: int) -> str:
    return fen_to_yuan_text(fen) if fen > 0 else ("0元" if fen == 0 else f"-{fen_to_yuan_text(-fen)}")


ROUTES = [admin_route(command("统计", "/stats"), show_stats)]
