"""What works from anywhere: help, cancel, the menu keys, and the hint for what nothing understood."""

from __future__ import annotations

from dialogs import strings
from dialogs.framework import END, STAY, Result, Route, Text, Turn, clicked, words

MENU_FIND, MENU_MINE, MENU_HELP = "MENU_FIND", "MENU_MINE", "MENU_HELP"


def show_help(turn: Turn) -> Result:
    text = strings.HELP + (strings.HELP_ADMIN if turn.is_admin else "")
    return Text(text), STAY


def cancel(turn: Turn) -> Result:
    return Text(strings.CANCELLED if turn.state else strings.NOTHING_TO_CANCEL), END


def find(turn: Turn) -> Result:
    return Text(strings.FIND), STAY


def mine(turn: Turn) -> Result:
    since = turn.user.first_seen.strftime("%Y-%m-%d")
    push = strings.PUSH_OFF if turn.user.push_opt_out else strings.PUSH_ON
    return Text(strings.MINE.format(since=since, push=push)), STAY


def hint(turn: Turn) -> Result:
    """The last resort: nothing else matched."""
    return Text(strings.HINT if turn.kind == "text" else strings.NON_TEXT), STAY


GLOBAL_ROUTES = [
    Route(words("取消", "cancel", "退出"), cancel),
    Route(words("帮助", "help", "?", "菜单"), show_help),
    Route(clicked(MENU_HELP), show_help),
    Route(clicked(MENU_FIND), find),
    Route(clicked(MENU_MINE), mine),
]
