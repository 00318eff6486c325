"""优惠码 新建 | 列表 | 停用. Followers use a code in the purchase confirmation (dialogs/purchase.py);
the rules of a code are in payments/coupons.py."""

from __future__ import annotations

import re

from catalog.text import fen_to_yuan_text
from dialogs import admin_args as a, admin_strings as s
from dialogs.admin_confirm import action, ask, undoer
from dialogs.admin_routes import admin_route, command
from dialogs.framework import END, STAY, Result, Text, Turn
from store import audit, coupons
from store.admin_models import Coupon

CODE = re.compile(r"[A-Za-z0-9_\-]{3,32}")
PERCENT = re.compile(r"(\d{1,2})[%％]")
USES = re.compile(r"(\d+)次")
EXPIRY_WORDS = ("expiry", "到期", "截止")
USES_WORDS = ("uses", "次数", "限")


def coupon_command(turn: Turn) -> Result:
    args = a.arguments(turn.text)
    a.need(args, 1, s.USAGE_COUPON)
    sub, rest = args[0], args[1:]
    if sub in ("新建", "new"):
        return _new(turn, rest)
    if sub in ("列表", "list"):
        return _list()
    if sub in ("停用", "stop"):
        return _stop(turn, rest)
    raise a.BadArgument(f"{s.UNKNOWN_SUBCOMMAND.format(value=sub)}\n{s.USAGE_COUPON}")


def _new(turn: Turn, args: list[str]) -> Result:
    a.need(args, 2, s.USAGE_COUPON_NEW)
    code, off = args[0], args[1]
    if not CODE.fullmatch(code):
        raise a.BadArgument(f"{s.BAD_CODE.format(value=code)}\n{s.USAGE_COUPON_NEW}")
    if coupons.find(code) is not None:
        return Text(s.CODE_TAKEN.format(code=code.upper())), STAY
    terms = {"code": code.upper(), **_discount(off), **_options(args[2:])}
    return ask(turn, "coupon_new", terms, s.COUPON_NEW_ASK.format(terms=describe_terms(terms)))


def _discount(text: str) -> dict:
    percent = PERCENT.fullmatch(text)
    if percent and 1 <= int(percent[1]) <= 99:
        return {"percent_off": int(percent[1])}
    if text.endswith("元"):
        fen = a.price(text, s.USAGE_COUPON_NEW)
        if fen > 0:
            return {"amount_off": fen}
    raise a.BadArgument(f"{s.BAD_DISCOUNT.format(value=text)}\n{s.USAGE_COUPON_NEW}")


def _options(words: list[str]) -> dict:
    options: dict = {}
    queue = list(words)
    while queue:
        word = queue.pop(0)
        if word in EXPIRY_WORDS or word in USES_WORDS:
            a.need(queue, 1, s.USAGE_COUPON_NEW)
            value = queue.pop(0)
            key = "expires" if word in EXPIRY_WORDS else "uses"
        elif re.fullmatch(r"\d{4}-\d{2}-\d{2}", word):
            key, value = "expires", word
        elif USES.fullmatch(word):
            key, value = "uses", USES.fullmatch(word)[1]
        else:
            article, series = a.article_or_series(word, s.USAGE_COUPON_NEW)
            options.update(article=article.id if article else None, series=series.id if series else None,
                           item=(article or series).title)
            continue
        if key == "expires":
            options["expires"] = a.date(value, s.USAGE_COUPON_NEW).isoformat()
        else:
            options["uses"] = a.count(value, s.USAGE_COUPON_NEW)
    return options


def describe_terms(terms: dict) -> str:
    off = f"减 {terms['percent_off']}%" if terms.get("percent_off") else f"减 {fen_to_yuan_text(terms['amount_off'])}"
    parts = [terms["code"], off, s.COUPON_FOR.format(item=terms.get("item") or s.ALL_ITEMS)]
    if terms.get("expires"):
        parts.append(s.COUPON_UNTIL.format(day=terms["expires"]))
    if terms.get("uses"):
        parts.append(s.COUPON_USES.format(uses=terms["uses"]))
    return "，".join(parts)


@action("coupon_new")
def do_new(turn: Turn, terms: dict) -> Result:
    if coupons.find(terms["code"]) is not None:
        return Text(s.CODE_TAKEN.format(code=terms["code"])), END
    expires = coupons.expiry_of(a.date(terms["expires"], "")) if terms.get("expires") else None
    coupon = coupons.create(terms["code"], terms.get("percent_off"), terms.get("amount_off"), expires,
                            terms.get("uses"), terms.get("article"), terms.get("series"), turn.openid)
    audit.record(turn.openid, "coupon_new", f"coupon:{coupon.code}", {}, terms)
    return Text(s.COUPON_CREATED.format(terms=describe_terms(terms))), END


@undoer("coupon_new")
def undo_new(turn: Turn, entry) -> str:
    coupon = coupons.find(entry.target.partition(":")[2])
    if coupon is not None and coupons.held_by_orders(coupon):
        coupons.set_stopped(coupon, True)  # orders point at it: keep the row, stop the code
        return s.COUPON_UNDONE_STOPPED.format(code=coupon.code)
    if coupon is not None:
        coupons.delete(coupon)
    return s.COUPON_UNDONE_DELETED.format(code=entry.target.partition(":")[2])


def _list() -> Result:
    rows = coupons.listing()
    if not rows:
        return Text(s.NO_COUPONS), STAY
    return Text("\n".join([s.COUPONS_HEAD] + [f"· {_line(c)}" for c in rows])), STAY


def _line(coupon: Coupon) -> str:
    off = f"减 {coupon.percent_off}%" if coupon.percent_off else f"减 {fen_to_yuan_text(coupon.amount_off)}"
    uses = f"{coupon.used}/{coupon.max_uses}" if coupon.max_uses else f"{coupon.used}/不限"
    until = f"，{coupon.expires_on:%Y-%m-%d %H:%M} UTC 止" if coupon.expires_on else ""
    item = coupon.article.title if coupon.article_id else (coupon.series.title if coupon.series_id else s.ALL_ITEMS)
    state = s.COUPON_STOPPED if coupon.stopped else s.COUPON_LIVE
    return f"{coupon.code}：{off}，已用 {uses}（占用 {coupon.reserved}），{item}{until}，{state}"


def _stop(turn: Turn, args: list[str]) -> Result:
    a.need(args, 1, s.USAGE_COUPON_STOP)
    coupon = coupons.find(args[0])
    if coupon is None:
        raise a.BadArgument(f"{s.NO_COUPON.format(code=args[0])}\n{s.USAGE_COUPON_STOP}")
    if coupon.stopped:
        return Text(s.COUPON_ALREADY_STOPPED.format(code=coupon.code)), STAY
    return ask(turn, "coupon_stop", {"code": coupon.code}, s.COUPON_STOP_ASK.format(line=_line(coupon)))


@action("coupon_stop")
def do_stop(turn: Turn, args: dict) -> Result:
    coupon = coupons.find(args["code"])
    if coupon is None or not coupons.set_stopped(coupon, True):
        return Text(s.COUPON_ALREADY_STOPPED.format(code=args["code"])), END
    audit.record(turn.openid, "coupon_stop", f"coupon:{coupon.code}", {"stopped": False}, {"stopped": True})
    return Text(s.COUPON_STOPPED_DONE.format(code=coupon.code)), END


@undoer("coupon_stop")
def undo_stop(turn: Turn, entry) -> str:
    coupon = coupons.find(entry.target.partition(":")[2])
    if coupon is not None:
        coupons.set_stopped(coupon, False)
    return s.COUPON_RESTARTED.format(code=entry.target.partition(":")[2])


ROUTES = [admin_route(command("优惠码", "/coupon"), coupon_command)]
