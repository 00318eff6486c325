"""The charts: revenue per day, the funnel, top articles, as PNG: one image for the chat, one per chart for
the dashboard (images from the page's own origin, so its CSP needs no exception and no font is fetched).
matplotlib's object API only: no pyplot state, so threads of the web process can draw at the same time."""

from __future__ import annotations

import datetime as dt
import io

from matplotlib import rc_context
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from charts.fonts import cjk_family

GREEN, GREY = "#07c160", "#9aa5b1"
DayRevenue = list[tuple[dt.date, int]]  # (local date, fen)
Funnel = list[tuple[str, int]]  # (stage, count)
Top = list[tuple[str, int, int]]  # (title, fen, orders)


def _style() -> dict:
    return {"font.family": [cjk_family()], "font.size": 10, "axes.spines.top": False,
            "axes.spines.right": False}


def _revenue(axes, per_day: DayRevenue) -> None:
    labels = [f"{day:%m-%d}" for day, _ in per_day]
    values = [fen / 100 for _, fen in per_day]
    axes.bar(range(len(values)), values, color=GREEN)
    step = max(1, len(labels) // 8)
    axes.set_xticks(range(0, len(labels), step), labels[::step])
    axes.set_ylabel("元")
    axes.set_title("每日收入")


def _funnel(axes, funnel: Funnel) -> None:
    names = [name for name, _ in funnel][::-1]
    counts = [count for _, count in funnel][::-1]
    axes.barh(names, counts, color=[GREEN if n == "支付" else GREY for n in names])
    for y, count in enumerate(counts):
        axes.annotate(str(count), (count, y), xytext=(4, 0), textcoords="offset points", va="center")
    axes.xaxis.get_major_locator().set_params(integer=True)
    axes.set_title("转化漏斗")


def _top(axes, top: Top) -> None:
    titles = [title if len(title) <= 14 else title[:13] + "…" for title, _, _ in top][::-1]
    axes.barh(titles or ["暂无"], [fen / 100 for _, fen, _ in top][::-1] or [0], color=GREEN)
    axes.set_xlabel("元")
    axes.set_title("收入前五")


def stats_png(title: str, per_day: DayRevenue, funnel: Funnel, top: Top) -> bytes:
    """The chart sent after 统计: revenue per day, the funnel and the top five, one image."""
    with rc_context(_style()):
        figure = Figure(figsize=(8, 9), dpi=100, layout="constrained")
        revenue, lower = figure.subfigures(2, 1, height_ratios=[1, 1.1])
        _revenue(revenue.subplots(), per_day)
        funnel_axes, top_axes = lower.subplots(1, 2)
        _funnel(funnel_axes, funnel)
        _top(top_axes, top)
        figure.suptitle(title, fontsize=14)
        return _encode(figure, "png")


def revenue_png(per_day: DayRevenue) -> bytes:
    return _single(_revenue, per_day, (7, 3))


def funnel_png(funnel: Funnel) -> bytes:
    return _single(_funnel, funnel, (5, 3))


def top_png(top: Top) -> bytes:
    return _single(_top, top, (5, 3))


def _single(draw, values, size: tuple[float, float]) -> bytes:
    with rc_context(_style()):
        figure = Figure(figsize=size, dpi=100, layout="constrained")
        draw(figure.subplots(), values)
        return _encode(figure, "png")


def _encode(figure: Figure, kind: str) -> bytes:
    FigureCanvasAgg(figure)
    buffer = io.BytesIO()
    figure.savefig(buffer, format=kind)
    return buffer.getvalue()
