"""Shop commands: 改价, 下架, 上架, 退款, 赠送, 用户, 后台. Every write is asked first (admin_confirm.py)."""

from __future__ import annotations

from catalog.text import fen_to_yuan_text
from dialogs import admin_args as a, admin_strings as s
from dialogs.admin_confirm import action, ask, undoer
from dialogs.admin_routes import admin_route, command
from dialogs.framework import END, STAY, Result, Text, Turn
from dialogs.reading import article_messages, outbox_payload
from store import audit, catalog, orders, outbox, queries, shop
from store.models import Article, Series, utcnow

DELIVER_TASK = "deliver"  # send another follower's queued messages now (the pipeline kicks only the sender)
SHOWN = 10  # purchases listed by 用户 (a reply stays within WeChat's 2048 bytes)
REFUND_TASK = "refund"  # ask WeChat Pay for the refund right after the message (payments/refunds.py)


def _item_target(article: Article | None, series: Series | None) -> str:
    return f"article:{article.id}" if article is not None else f"series:{series.slug}"


def _item(target: str) -> Article | Series | None:
    kind, _, ref = target.partition(":")
    return catalog.article(int(ref)) if kind == "article" else Series.get_or_none(Series.slug == ref)


# ---------------------------------------------------------------- 改价


def reprice(turn: Turn) -> Result:
    args = a.arguments(turn.text)
    a.need(args, 2, s.USAGE_PRICE)
    article, series = a.article_or_series(args[0], s.USAGE_PRICE)
    price = a.price(args[1], s.USAGE_PRICE)
    item = article or series
    if price == item.price:
        return Text(s.SAME_PRICE.format(price=fen_to_yuan_text(price))), STAY
    summary = s.PRICE_ASK.format(title=item.title, old=fen_to_yuan_text(item.price), new=fen_to_yuan_text(price))
    return ask(turn, "price", {"target": _item_target(article, series), "price": price}, summary)


@action("price")
def do_reprice(turn: Turn, args: dict) -> Result:
    item = _item(args["target"])
    if item is None:
        return Text(s.GONE_MEANWHILE), END
    before = item.price
    shop.set_price(item, args["price"])
    audit.record(turn.openid, "price", args["target"], {"price": before}, {"price": args["price"]})
    return Text(s.PRICE_DONE.format(title=item.title, price=fen_to_yuan_text(args["price"]))), END


@undoer("price")
def undo_price(turn: Turn, entry) -> str:
    item, price = _item(entry.target), audit.loads(entry.before)["price"]
    if item is not None:
        shop.set_price(item, price)
    return s.PRICE_RESTORED.format(price=fen_to_yuan_text(price))


# ---------------------------------------------------------------- 下架 / 上架


def _status_change(status: str, usage: str, name: str):
    def step(turn: Turn) -> Result:
        args = a.arguments(turn.text)
        a.need(args, 1, usage)
        article = a.article(args[0], usage)
        if article.status == status:
            return Text(s.STATUS_ALREADY.format(title=article.title, status=s.STATUS_NAMES[status])), STAY
        summary = s.STATUS_ASK.format(title=article.title, status=s.STATUS_NAMES[status])
        return ask(turn, name, {"article": article.id, "status": status}, summary)

    step.__name__ = name
    return step


def _set_status(name: str):
    def run(turn: Turn, args: dict) -> Result:
        article = catalog.article(args["article"])
        if article is None:
            return Text(s.GONE_MEANWHILE), END
        shop.set_status(article.id, args["status"])
        audit.record(turn.openid, name, f"article:{article.id}", {"status": article.status},
                     {"status": args["status"]})
        return Text(s.STATUS_DONE.format(title=article.title, status=s.STATUS_NAMES[args["status"]])), END

    return run


def _restore_status(turn: Turn, entry) -> str:
    status = audit.loads(entry.before)["status"]
    shop.set_status(int(entry.target.partition(":")[2]), status)
    return s.STATUS_RESTORED.format(status=s.STATUS_NAMES[status])


for _name in ("unlist", "list"):
    action(_name)(_set_status(_name))
    undoer(_name)(_restore_status)


# ---------------------------------------------------------------- 退款


def refund(turn: Turn) -> Result:
    args = a.arguments(turn.text)
    a.need(args, 1, s.USAGE_REFUND)
    order = shop.order_by_number(args[0])
    if order is None:
        raise a.BadArgument(f"{s.NO_ORDER.format(ref=args[0])}\n{s.USAGE_REFUND}")
    if order.state != order.PAID or not order.amount:
        return Text(s.NOT_REFUNDABLE.format(order=order.out_trade_no, state=s.ORDER_STATES.get(order.state, ""))), STAY
    if order.refund_no:
        return Text(s.REFUND_UNDERWAY.format(order=order.out_trade_no)), STAY
    reason = " ".join(args[1:])[:80]
    summary = s.REFUND_ASK.format(order=order.out_trade_no, title=order.description, buyer=order.user.openid,
                                  price=fen_to_yuan_text(order.amount), paid=f"{order.paid_at:%Y-%m-%d %H:%M}",
                                  reason=reason or s.NO_REASON)
    return ask(turn, "refund", {"order": order.out_trade_no, "reason": reason}, summary)


@action("refund")
def do_refund(turn: Turn, args: dict) -> Result:
    order = shop.order_by_number(args["order"])
    refund_no = shop.request_refund(order) if order is not None else None
    if refund_no is None:
        return Text(s.REFUND_UNDERWAY.format(order=args["order"])), END
    audit.record(turn.openid, "refund", f"order:{order.out_trade_no}", {"state": order.state},
                 {"refund_no": refund_no, "reason": args["reason"]})
    turn.tasks.append((REFUND_TASK, {"order": order.out_trade_no, "refund_no": refund_no, "reason": args["reason"]}))
    return Text(s.REFUND_REQUESTED.format(order=order.out_trade_no)), END


# ---------------------------------------------------------------- 赠送


def gift(turn: Turn) -> Result:
    args = a.arguments(turn.text)
    a.need(args, 2, s.USAGE_GIFT)
    follower = a.follower(args[0], s.USAGE_GIFT)
    article, series = a.article_or_series(args[1], s.USAGE_GIFT)
    owned = orders.owns_article(follower, article) if article else orders.owns_series(follower, series)
    if owned:
        return Text(s.GIFT_OWNED.format(openid=follower.openid)), STAY
    item = article or series
    target = _item_target(article, series)
    return ask(turn, "gift", {"openid": follower.openid, "target": target},
               s.GIFT_ASK.format(openid=follower.openid, title=item.title))


@action("gift")
def do_gift(turn: Turn, args: dict) -> Result:
    follower, item = queries.find_user(args["openid"]), _item(args["target"])
    article, series = (item, None) if isinstance(item, Article) else (None, item)
    order = shop.grant(follower, article, series, utcnow()) if follower and item else None
    if order is None:
        return Text(s.GIFT_OWNED.format(openid=args["openid"])), END
    audit.record(turn.openid, "gift", args["target"], {}, {"openid": follower.openid, "order": order.out_trade_no})
    outbox.enqueue(follower, [outbox_payload(reply) for reply in _gift_messages(turn, follower, article, series)])
    turn.tasks.append((DELIVER_TASK, {"user": follower.id}))
    return Text(s.GIFT_DONE.format(openid=follower.openid, title=item.title)), END


def _gift_messages(turn: Turn, follower, article, series) -> list:
    if article is not None:
        return article_messages(article, follower.openid, turn.app.links, whole=True, head=s.GIFT_HEAD)
    titles = "\n".join(f"· {a_.title}" for a_ in catalog.series_articles(series))
    return [Text(s.GIFT_SERIES.format(title=series.title, lines=titles))]


# ---------------------------------------------------------------- 用户, 后台


def profile(turn: Turn) -> Result:
    args = a.arguments(turn.text)
    a.need(args, 1, s.USAGE_USER)
    user = a.follower(args[0], s.USAGE_USER)
    held = queries.data_held(user)
    counts = "，".join(f"{s.EVENT_NAMES.get(k, k)} {n}" for k, n in sorted(held["events"].items())) or s.NONE
    owned = orders.purchases_of(user)
    bought = [p.order.description for p in owned[:SHOWN]] + ([s.AND_MORE.format(n=len(owned))] if len(owned) > SHOWN else [])
    return Text(s.USER_PROFILE.format(
        openid=user.openid, since=f"{user.subscribed_at or user.first_seen:%Y-%m-%d}",
        subscribed=s.SUBSCRIBED if user.subscribed else s.NOT_SUBSCRIBED, events=counts,
        purchases="；".join(bought) or s.NONE, push=s.PUSH_OFF if user.push_opt_out else s.PUSH_ON)), STAY


def dashboard(turn: Turn) -> Result:
    return Text(s.DASHBOARD.format(url=turn.app.links.admin(turn.openid))), STAY


ROUTES = [
    admin_route(command("改价", "/price"), reprice),
    admin_route(command("下架", "/unlist"), _status_change(Article.UNLISTED, s.USAGE_UNLIST, "unlist")),
    admin_route(command("上架", "/list"), _status_change(Article.PUBLISHED, s.USAGE_LIST, "list")),
    admin_route(command("退款", "/refund"), refund),
    admin_route(command("赠送", "/gift"), gift),
    admin_route(command("用户", "/user"), profile),
    admin_route(command("后台", "/dashboard"), dashboard),
]
