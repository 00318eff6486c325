"""Dialogs declared as data, in the manner of python-telegram-bot's ConversationHandler.

A `Dialog` has entry points, states (stable strings "<dialog>:<step>") mapped to routes, and
fallbacks. A route pairs a matcher with a step; a step takes the `Turn` and returns
`(reply, next)`, where next is a state the dialog declared, STAY or END. The `Router` tries, in order:
global routes ("取消", "帮助", menu keys), the active dialog's state routes and fallbacks, every
dialog's entry points, and finally the default step.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any, Callable, Union

log = logging.getLogger(__name__)


class _Marker:
    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


STAY = _Marker("STAY")  # keep the current state (idle stays idle)
END = _Marker("END")  # leave the dialog: state and data are deleted


@dataclass(frozen=True)
class Text:
    content: str


@dataclass(frozen=True)
class News:
    """A 1-article card (WeChat allows one article in a reply to a user message)."""

    title: str
    description: str
    url: str
    picurl: str = ""


Reply = Union[Text, News, None, list]  # None: nothing to say ("success"); a list: the first is the
# passive reply, the rest go out as customer-service messages right after
Next = Union[str, _Marker]
Result = tuple[Reply, Next]


@dataclass
class Turn:
    """What a step sees of one incoming message."""

    openid: str
    kind: str  # "text", "click", "subscribe", ...
    text: str = ""  # the text message, stripped
    key: str = ""  # the menu key of a click
    state: str | None = None
    data: dict[str, Any] = field(default_factory=dict)
    is_admin: bool = False
    user: Any = None  # store.models.User
    message: Any = None  # the WeRoBot message, for what the fields above leave out
    app: Any = None  # dialogs.context.AppContext: settings and link making, shared by every turn
    record: bool = True  # a step that just deleted the user's behaviour sets False: nothing is recorded
    carried: dict[str, Any] = field(default_factory=dict)  # on entering a dialog: the data it left behind
    tasks: list[tuple[str, dict]] = field(default_factory=list)  # work to run right after this message


Matcher = Callable[[Turn], bool]
Step = Callable[[Turn], Result]


@dataclass(frozen=True)
class Route:
    matches: Matcher
    step: Step


@dataclass(frozen=True)
class Dialog:
    name: str
    entry_points: list[Route]
    states: dict[str, list[Route]] = field(default_factory=dict)
    fallbacks: list[Route] = field(default_factory=list)

    def __post_init__(self) -> None:
        for state in self.states:
            if not state.startswith(f"{self.name}:"):
                raise ValueError(f"state {state!r} of dialog {self.name!r} must start with '{self.name}:'")


class UndeclaredState(RuntimeError):
    """A step returned a state its dialog did not declare: a bug."""


def fold(text: str) -> str:
    """Compare commands the way people type them: full/half width, case and spaces do not matter."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text)).lower()


def words(*commands: str) -> Matcher:
    wanted = {fold(c) for c in commands}
    return lambda turn: turn.kind == "text" and fold(turn.text) in wanted


def prefix(*commands: str) -> Matcher:
    """`评论 写得好` matches prefix("评论"); the rest of the text is the argument."""
    folded = tuple(fold(c) for c in commands)
    return lambda turn: turn.kind == "text" and fold(turn.text).startswith(folded)


def clicked(*keys: str) -> Matcher:
    return lambda turn: turn.kind == "click" and turn.key in keys


def any_text(turn: Turn) -> bool:
    return turn.kind == "text" and bool(turn.text)


def number(turn: Turn) -> bool:
    return turn.kind == "text" and fold(turn.text).isdigit()


class Router:
    def __init__(self, dialogs: list[Dialog], global_routes: list[Route], default: Step,
                 strict: bool = False) -> None:
        self.dialogs = dialogs
        self.global_routes = global_routes
        self.default = default
        self.strict = strict
        self._owner = {state: d for d in dialogs for state in d.states}

    def dispatch(self, turn: Turn) -> tuple[Reply, str | None]:
        """Run the first matching step; return its reply and the state to store (None = idle)."""
        active = self._owner.get(turn.state or "")
        if turn.state and active is None:
            log.warning("dropping unknown stored state", extra={"state": turn.state})
            turn.state, turn.data = None, {}
        for owner, route, entering in self._candidates(active, turn.state):
            if route.matches(turn):
                if entering:  # a new dialog starts afresh (STAY means idle), seeing what was left behind
                    turn.state, turn.data, turn.carried = None, {}, turn.data
                reply, next_ = route.step(turn)
                return reply, self._resolve(owner, next_, turn)
        reply, next_ = self.default(turn)
        return reply, self._resolve(None, next_, turn)

    def _candidates(self, active: Dialog | None, state: str | None):
        """(owner, route, entering): entering a dialog starts it with fresh data."""
        yield from ((None, route, False) for route in self.global_routes)
        if active is not None:
            yield from ((active, route, False) for route in active.states[state])
            yield from ((active, route, False) for route in active.fallbacks)
        for dialog in self.dialogs:
            yield from ((dialog, route, True) for route in dialog.entry_points)

    def _resolve(self, owner: Dialog | None, next_: Next, turn: Turn) -> str | None:
        if next_ is STAY:
            return turn.state
        if next_ is END:
            return None
        if owner is not None and next_ in owner.states:
            return next_
        problem = f"{getattr(owner, 'name', 'a global route')} returned undeclared state {next_!r}"
        if self.strict:
            raise UndeclaredState(problem)
        log.error(problem)
        return None
