"""How an admin command is matched and run, shared by every admin module.

`command("改价", "/price")` matches when the first word of a text is one of the names and the sender
is an admin. For anyone else it declines, after a log line, so the text goes on to search or the hint
exactly like any other text. `admin_route` turns a `BadArgument` into its one-line reply.
"""

from __future__ import annotations

import logging

from dialogs.admin_args import BadArgument
from dialogs.framework import STAY, Matcher, Result, Route, Step, Text, Turn, fold

log = logging.getLogger("dialogs.admin")


def command(*names: str) -> Matcher:
    wanted = {fold(name) for name in names}

    def matches(turn: Turn) -> bool:
        if turn.kind != "text" or not turn.text or fold(turn.text.split()[0]) not in wanted:
            return False
        if not turn.is_admin:
            log.warning("admin command from a non-admin, treated as text",
                        extra={"openid": turn.openid, "command": turn.text.split()[0]})
            return False
        return True

    return matches


def admin_route(matches: Matcher, step: Step) -> Route:
    def run(turn: Turn) -> Result:
        try:
            return step(turn)
        except BadArgument as problem:
            return Text(str(problem)), STAY

    run.__name__ = step.__name__
    return Route(matches, run)
