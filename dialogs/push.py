"""Followers decide about pushes, in chat: 退订推送 / 开启推送, 少推点 / 多推点, 推送时间 N, 为什么推荐, and
不感兴趣 right after a push. Stateless commands (graph: push.mmd); 我的 shows `settings_text`."""

from __future__ import annotations

import datetime as dt

from dialogs import push_strings as strings
from dialogs.framework import STAY, Dialog, Result, Route, Text, Turn, prefix, words
from settings import PushSettings
from store import catalog, pushes
from store.models import utcnow
from store.push_models import PushSend
from store.recommend import dislike

DISLIKE_WINDOW = dt.timedelta(hours=48)  # 「不感兴趣」 refers to a push this recent


def settings_text(turn: Turn) -> str:
    """How pushes stand for this follower, e.g. 「已开启（每天 20 点左右）」."""
    if turn.user.push_opt_out:
        return strings.OFF
    pref, push = pushes.pref_of(turn.user), turn.app.settings.push
    hour = pref.hour if pref.hour is not None else _allowed(push)[0]
    return (strings.ON_WEEKLY if pref.weekly else strings.ON_DAILY).format(hour=hour)


def opt_out(turn: Turn) -> Result:
    pushes.set_opt_out(turn.user, True)
    return Text(strings.OPTED_OUT), STAY


def opt_in(turn: Turn) -> Result:
    pushes.set_opt_out(turn.user, False)
    turn.user.push_opt_out = False
    return Text(strings.OPTED_IN.format(settings=settings_text(turn), example=_allowed(turn.app.settings.push)[-1])), STAY


def weekly(turn: Turn) -> Result:
    pushes.set_pref(turn.user, weekly=True)
    return Text(strings.WEEKLY), STAY


def daily(turn: Turn) -> Result:
    pushes.set_pref(turn.user, weekly=False)
    return Text(strings.DAILY), STAY


def choose_hour(turn: Turn) -> Result:
    """「推送时间 21」: one of the hours the account's schedule runs at, outside quiet hours."""
    allowed = _allowed(turn.app.settings.push)
    wanted = turn.text.strip()[len("推送时间"):].strip(" :：点")
    if not wanted.isdigit() or int(wanted) not in allowed:
        hours = "、".join(f"{h} 点" for h in allowed)
        return Text(strings.HOUR_CHOICES.format(hours=hours, example=allowed[-1])), STAY
    pushes.set_pref(turn.user, hour=int(wanted))
    return Text(strings.HOUR_SET.format(hour=int(wanted))), STAY


def why(turn: Turn) -> Result:
    last = pushes.last_push(turn.user)
    article = _article(last)
    if article is None:
        return Text(strings.NO_PUSH_YET), STAY
    if last.slot == PushSend.BROADCAST or not last.reason:
        return Text(strings.WHY_BROADCAST.format(title=article.title)), STAY
    return Text(strings.WHY.format(title=article.title, reason=last.reason.rstrip("。"))), STAY


def not_interested(turn: Turn) -> Result:
    last = pushes.last_push(turn.user)
    article = _article(last)
    if article is None or last.created_at < utcnow() - DISLIKE_WINDOW:
        return Text(strings.DISLIKE_WHAT), STAY
    dislike(turn.user, article.id)
    return Text(strings.DISLIKED.format(title=article.title)), STAY


def _article(push: PushSend | None):
    if push is None or push.article_id is None:
        return None
    return catalog.articles_by_ids([push.article_id]).get(push.article_id)


def _allowed(push: PushSettings) -> list[int]:
    """The hours a follower may choose: the schedule's, outside quiet hours (all of them if none is)."""
    return [hour for hour in push.hours() if not push.quiet(hour)] or push.hours() or list(range(24))


DIALOG = Dialog(
    name="push",
    entry_points=[
        Route(words("退订推送", "关闭推送", "取消推送"), opt_out),
        Route(words("开启推送", "打开推送", "订阅推送"), opt_in),
        Route(words("少推点", "少推一点", "每周推送"), weekly),
        Route(words("多推点", "多推一点", "每天推送"), daily),
        Route(prefix("推送时间"), choose_hour),
        Route(words("为什么推荐", "为什么推荐这篇", "推荐理由"), why),
        Route(words("不感兴趣"), not_interested),
    ],
)
