"""The router's order and the state rules, on hand-made dialogs."""

from __future__ import annotations

import pytest

from dialogs.framework import (
    END, STAY, Dialog, Route, Router, Text, Turn, UndeclaredState, any_text, clicked, words,
)


def turn(text="", state=None, data=None, kind="text", key=""):
    return Turn(openid="o1", kind=kind, text=text, key=key, state=state, data=data or {})


def reply_of(result):
    return result[0].content


ORDER = Dialog(
    name="order",
    entry_points=[Route(words("下单"), lambda t: (Text("几份？"), "order:count"))],
    states={"order:count": [Route(lambda t: t.text.isdigit(), lambda t: (Text(f"好的 {t.text} 份"), END))]},
    fallbacks=[Route(any_text, lambda t: (Text("请回复数字"), STAY))],
)
GLOBALS = [Route(words("取消"), lambda t: (Text("已取消"), END))]


def router(*dialogs, strict=True):
    return Router(list(dialogs) or [ORDER], GLOBALS, default=lambda t: (Text("?"), STAY), strict=strict)


def test_entry_point_enters_a_declared_state():
    assert router().dispatch(turn("下单")) == (Text("几份？"), "order:count")


def test_state_route_then_end():
    assert router().dispatch(turn("3", state="order:count")) == (Text("好的 3 份"), None)


def test_fallback_keeps_the_state():
    assert router().dispatch(turn("很多", state="order:count")) == (Text("请回复数字"), "order:count")


def test_global_routes_win_over_the_active_dialog():
    assert router().dispatch(turn("取消", state="order:count")) == (Text("已取消"), None)


def test_commands_forgive_width_case_and_spaces():
    assert router().dispatch(turn(" 下 单 ")) == (Text("几份？"), "order:count")


def test_unknown_stored_state_is_dropped_not_crashed_on():
    assert router().dispatch(turn("你好", state="gone:step")) == (Text("?"), None)


def test_entering_a_dialog_starts_with_fresh_data():
    seen = {}

    def enter(t):
        seen.update(t.data)
        return Text("ok"), "order:count"

    other = Dialog("other", entry_points=[Route(words("另一个"), enter)], states={})
    r = Router([ORDER, other], GLOBALS, default=lambda t: (Text("?"), STAY), strict=True)
    r.dispatch(turn("另一个", state="order:count", data={"left": "over"}))
    assert seen == {}


BROKEN = Dialog("broken", entry_points=[Route(words("坏"), lambda t: (Text("x"), "broken:nowhere"))])


def test_undeclared_state_raises_when_strict():
    with pytest.raises(UndeclaredState, match="broken:nowhere"):
        router(BROKEN).dispatch(turn("坏"))


def test_undeclared_state_is_cleared_in_production(caplog):
    assert router(BROKEN, strict=False).dispatch(turn("坏")) == (Text("x"), None)
    assert "undeclared state" in caplog.text


def test_states_must_carry_their_dialog_name():
    with pytest.raises(ValueError, match="must start with 'a:'"):
        Dialog("a", entry_points=[], states={"b:step": []})


def test_menu_clicks_route_by_key():
    r = Router([], [Route(clicked("MENU_X"), lambda t: (Text("x"), STAY))], default=lambda t: (None, STAY))
    assert r.dispatch(turn(kind="click", key="MENU_X")) == (Text("x"), None)
    assert r.dispatch(turn(kind="click", key="MENU_Y")) == (None, None)
