"""「反馈」: leave a message for the creators. Graph: feedback.mmd."""

from __future__ import annotations

from dialogs import strings
from dialogs.framework import END, STAY, Dialog, Result, Route, Text, Turn, any_text, words
from store import queries

AWAITING_TEXT = "feedback:awaiting_text"


def ask(turn: Turn) -> Result:
    return Text(strings.FEEDBACK_ASK), AWAITING_TEXT


def take(turn: Turn) -> Result:
    queries.leave_feedback(turn.user, turn.text[:2000])
    queries.record_event(turn.user, queries.FEEDBACK)
    return Text(strings.FEEDBACK_THANKS), END


def not_text(turn: Turn) -> Result:
    return Text(strings.FEEDBACK_EMPTY), STAY


DIALOG = Dialog(
    name="feedback",
    entry_points=[Route(words("反馈", "意见", "留言"), ask)],
    states={AWAITING_TEXT: [Route(any_text, take)]},
    fallbacks=[Route(lambda turn: True, not_text)],
)
