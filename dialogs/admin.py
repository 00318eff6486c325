"""Creator commands. Each is refused, with a clear line, to anyone not in [admin] openids."""

from __future__ import annotations

from dialogs import strings
from dialogs.framework import STAY, Dialog, Result, Route, Step, Text, Turn, words
from store import queries


def admin_only(step: Step) -> Step:
    def guarded(turn: Turn) -> Result:
        if not turn.is_admin:
            return Text(strings.ADMIN_ONLY), STAY
        return step(turn)

    guarded.__name__ = step.__name__
    return guarded


@admin_only
def stats(turn: Turn) -> Result:
    counts = queries.user_counts()
    events = "，".join(f"{kind} {n}" for kind, n in sorted(queries.event_counts().items())) or "暂无"
    return Text(strings.STATS.format(events=events, **counts)), STAY


DIALOG = Dialog(name="admin", entry_points=[Route(words("统计", "stats"), stats)])
