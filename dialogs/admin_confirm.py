"""Every admin write is asked first and done on 「确认」; 「撤销」 undoes the admin's last undoable write.

A command step calls `ask(turn, action, args, summary)`: the pending write waits in the dialog data and
the state is CONFIRM. 「确认」 runs the action registered under that name (`@action("price")`), inside
the message's transaction, where the action also writes its audit entry. Actions that can be undone
register an undoer for their audit action (`@undoer("price")`), which gets the audit entry.
"""

from __future__ import annotations

import logging
from typing import Any, Callable

from dialogs import admin_strings as s
from dialogs.framework import END, STAY, Result, Text, Turn
from store import audit

log = logging.getLogger(__name__)

CONFIRM = "admin:confirm"

Action = Callable[[Turn, dict[str, Any]], Result]
Undoer = Callable[[Turn, Any], str]  # returns the line that says what was restored

ACTIONS: dict[str, Action] = {}
UNDOERS: dict[str, Undoer] = {}


def action(name: str) -> Callable[[Action], Action]:
    def register(func: Action) -> Action:
        ACTIONS[name] = func
        return func

    return register


def undoer(name: str) -> Callable[[Undoer], Undoer]:
    def register(func: Undoer) -> Undoer:
        UNDOERS[name] = func
        return func

    return register


def ask(turn: Turn, name: str, args: dict[str, Any], summary: str) -> Result:
    turn.data.update(do=name, args=args)
    return Text(f"{summary}\n{s.CONFIRM_HINT}"), CONFIRM


def confirmed(turn: Turn) -> Result:
    """「确认」: the pending write, once (the state ends with it)."""
    name = turn.data.get("do")
    if not turn.is_admin or name not in ACTIONS:
        return Text(s.NOTHING_PENDING), END
    reply, _ = ACTIONS[name](turn, turn.data.get("args") or {})
    log.info("admin write", extra={"admin": turn.openid, "action": name})
    return reply, END


def other_text(turn: Turn) -> Result:
    """Anything but 「确认」 or 「取消」 while a write waits: say so, keep waiting."""
    return Text(s.CONFIRM_OR_CANCEL), STAY


def undo(turn: Turn) -> Result:
    """「撤销」: show what would be undone and ask."""
    entry = audit.last_undoable(turn.openid)
    if entry is None:
        return Text(s.NOTHING_TO_UNDO), STAY
    summary = s.UNDO_ASK.format(when=f"{entry.created_at:%m-%d %H:%M}", what=describe(entry))
    return ask(turn, "undo", {"entry": entry.id}, summary)


@action("undo")
def run_undo(turn: Turn, args: dict[str, Any]) -> Result:
    entry = audit.get(args["entry"])
    if entry is None or entry.admin != turn.openid or not audit.mark_undone(entry):
        return Text(s.NOTHING_TO_UNDO), END
    restored = UNDOERS[entry.action](turn, entry)
    audit.record(turn.openid, "undo", entry.target, audit.loads(entry.after), audit.loads(entry.before))
    return Text(s.UNDONE.format(what=restored)), END


def describe(entry: Any) -> str:
    label = s.AUDIT_LABELS.get(entry.action, entry.action)
    return f"{label}（{entry.target}）"
