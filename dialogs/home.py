"""What works from anywhere: help, cancel, and the hint for what nothing understood.

The menu keys are declared here; 找内容 and 我的 open lists, so the browse dialog owns them.
"""

from __future__ import annotations

from dialogs import strings
from dialogs.framework import END, STAY, Result, Route, Text, Turn, clicked, words

MENU_FIND, MENU_MINE, MENU_HELP = "MENU_FIND", "MENU_MINE", "MENU_HELP"


def show_help(turn: Turn) -> Result:
    text = strings.HELP + (strings.HELP_ADMIN if turn.is_admin else "")
    return Text(text), STAY


def cancel(turn: Turn) -> Result:
    return Text(strings.CANCELLED if turn.state else strings.NOTHING_TO_CANCEL), END


def hint(turn: Turn) -> Result:
    """The last resort: nothing else matched."""
    return Text(strings.HINT if turn.kind == "text" else strings.NON_TEXT), STAY


GLOBAL_ROUTES = [
    Route(words("取消", "cancel", "退出"), cancel),
    Route(words("帮助", "help", "?", "菜单"), show_help),
    Route(clicked(MENU_HELP), show_help),
]
