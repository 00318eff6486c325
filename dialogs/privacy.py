"""「我的数据」 and 「删除我的数据」 (with a confirmation). Graph: privacy.mmd."""

from __future__ import annotations

from dialogs import strings
from dialogs.framework import END, STAY, Dialog, Result, Route, Text, Turn, words
from store import queries

CONFIRM = "privacy:confirm_delete"


def show(turn: Turn) -> Result:
    held = queries.data_held(turn.user)
    events = "，".join(f"{kind} {n}" for kind, n in sorted(held["events"].items())) or "无"
    user = turn.user
    return Text(strings.MY_DATA.format(
        openid=user.openid, first_seen=f"{user.first_seen:%Y-%m-%d}", last_seen=f"{user.last_interaction:%Y-%m-%d}",
        subscribed=strings.SUBSCRIBED_YES if user.subscribed else strings.SUBSCRIBED_NO,
        push=strings.PUSH_OFF if user.push_opt_out else strings.PUSH_ON,
        events=events, comments=held["comments"], feedback=held["feedback"])), STAY


def ask(turn: Turn) -> Result:
    return Text(strings.DELETE_CONFIRM), CONFIRM


def delete(turn: Turn) -> Result:
    queries.delete_behaviour(turn.user)
    turn.record = False
    return Text(strings.DELETED), END


def keep(turn: Turn) -> Result:
    return Text(strings.DELETE_KEPT), END


DIALOG = Dialog(
    name="privacy",
    entry_points=[Route(words("我的数据", "查看我的数据"), show), Route(words("删除我的数据"), ask)],
    states={CONFIRM: [Route(words("确认删除"), delete)]},
    fallbacks=[Route(lambda turn: True, keep)],
)
