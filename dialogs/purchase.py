"""「购买」 -> confirmation -> order and pay link; 「我付了没解锁」. Graph: purchase.mmd.

The order row is written here; its JSAPI prepay is created by the pay page when the buyer opens it
(dialogs never touch the network), and a payment is settled only by payments/ from a verified
notification or an order query.
"""

from __future__ import annotations

from typing import Any, Callable

from dialogs import strings
from dialogs.framework import END, STAY, Dialog, News, Result, Route, Step, Text, Turn, prefix, words
from dialogs.reading import article_messages
from catalog.text import fen_to_yuan_text
from payments import coupons as coupon_rules
from store import catalog, coupons, orders, outbox
from store.models import utcnow

CONFIRM = "purchase:confirm"
AWAITING_PAYMENT = "purchase:awaiting_payment"


def for_article_in_view(step: Callable[[Turn, Any], Result]) -> Step:
    """Entry steps need buying switched on and the article the follower was reading."""
    def guarded(turn: Turn) -> Result:
        if not turn.app.settings.pay.mchid:
            return Text(strings.PAY_OFF), END
        article_id = turn.carried.get("article")
        article = catalog.article(article_id) if article_id else None
        if article is None:
            return Text(strings.BUY_OPEN_FIRST), END
        return step(turn, article)

    guarded.__name__ = step.__name__
    return guarded


@for_article_in_view
def offer_article(turn: Turn, article) -> Result:
    if not article.price:
        return Text(strings.BUY_FREE), END
    if orders.owns_article(turn.user, article):
        return Text(strings.BUY_OWNED.format(title=article.title)), END
    text = strings.BUY_SUMMARY.format(title=article.title, price=fen_to_yuan_text(article.price),
                                      unlocks=strings.BUY_UNLOCKS_ARTICLE)
    series = article.series
    if series is not None and series.price:
        text += strings.BUY_SERIES_HINT.format(title=series.title, price=fen_to_yuan_text(series.price))
    turn.data.update(article=article.id)
    return Text(text), CONFIRM


@for_article_in_view
def offer_series(turn: Turn, article) -> Result:
    series = article.series
    if series is None or not series.price:
        return Text(strings.BUY_NO_SERIES), END
    if orders.owns_series(turn.user, series):
        return Text(strings.BUY_SERIES_OWNED.format(title=series.title)), END
    count = len(catalog.series_articles(series))
    turn.data.update(series=series.id)
    return Text(strings.BUY_SUMMARY.format(
        title=series.title, price=fen_to_yuan_text(series.price),
        unlocks=strings.BUY_UNLOCKS_SERIES.format(count=count))), CONFIRM


def place_order(turn: Turn) -> Result:
    """One open order per user, item and price: asking again reuses it. A coupon's use is taken here."""
    article = catalog.article(turn.data["article"]) if "article" in turn.data else None
    series = catalog.series(turn.data["series"]) if "series" in turn.data else None
    item = article or series
    now = utcnow()
    coupon = coupons.find(turn.data["coupon"]) if turn.data.get("coupon") else None
    if turn.data.get("coupon") and coupon is None:  # deleted since it was applied
        return Text(strings.COUPON_REFUSED[coupon_rules.UNKNOWN].format(code=turn.data.pop("coupon"))), STAY
    discount = coupon_rules.discount(coupon, item.price) if coupon else 0
    order = orders.open_order(turn.user, article, series, now)
    if order is not None and (order.amount != item.price - discount or _coupon_of(order) != turn.data.get("coupon")):
        order = None
    if order is None and coupon is not None and not coupons.take_use(coupon, now):
        turn.data.pop("coupon")
        reason = coupon_rules.refusal(coupons.find(coupon.code), article and article.id, series and series.id, now)
        return Text(strings.COUPON_REFUSED[reason or coupon_rules.USED_UP].format(code=coupon.code)), STAY
    if order is None:
        order = orders.create(turn.user, article, series, item.price - discount, item.title,
                              turn.app.settings.pay.order_timeout, now)
        if coupon is not None:
            coupons.attach(order, coupon, discount)
    turn.data.update(order=order.out_trade_no)
    price = fen_to_yuan_text(order.amount)
    minutes = max(1, int((order.expires_at - now).total_seconds() // 60))
    card = News(strings.PAY_CARD_TITLE.format(price=price, title=item.title),
                strings.PAY_CARD_DESC.format(minutes=minutes), turn.app.links.pay(order.out_trade_no))
    return card, AWAITING_PAYMENT


def _coupon_of(order) -> str | None:
    held = coupons.of_order(order)
    return held.coupon.code if held else None


def apply_coupon(turn: Turn) -> Result:
    """「优惠码 <code>」 in the confirmation: the price shown changes, or the reason the code is refused."""
    code = turn.text.strip()[len("优惠码"):].strip()
    article_id, series_id = turn.data.get("article"), turn.data.get("series")
    item = catalog.article(article_id) if article_id else catalog.series(series_id)
    coupon = coupons.find(code) if code else None
    reason = coupon_rules.refusal(coupon, article_id, series_id, utcnow())
    if reason:
        turn.data.pop("coupon", None)
        return Text(strings.COUPON_REFUSED[reason].format(code=code)), STAY
    turn.data["coupon"] = coupon.code
    new = item.price - coupon_rules.discount(coupon, item.price)
    return Text(strings.COUPON_APPLIED.format(code=coupon.code, old=fen_to_yuan_text(item.price),
                                              new=fen_to_yuan_text(new))), STAY


def remind(turn: Turn) -> Result:
    return Text(strings.PAY_WAITING), STAY


def check_payment(turn: Turn) -> Result:
    """「我付了没解锁」: the query runs right after this message, outside the handler; the unlock
    arrives as customer-service messages."""
    if not orders.open_orders_of(turn.user):
        return Text(strings.NO_OPEN_ORDERS), STAY
    turn.tasks.append((outbox.CHECK_ORDERS, {}))
    return Text(strings.CHECKING), STAY


def unlock_messages(order, links) -> list[Text | News]:
    """What a paid order sends to the chat: the article in full, or the list of the series."""
    openid = order.user.openid
    if order.article is not None:
        return article_messages(order.article, openid, links, whole=True, head=strings.UNLOCKED_ARTICLE)
    articles = catalog.series_articles(order.series)
    lines = "\n".join(f"· {a.title}" for a in articles)
    text = strings.UNLOCKED_SERIES.format(title=order.series.title, count=len(articles), lines=lines)
    return [Text(text)]


def refund_messages(order) -> list[Text]:
    item = order.article or order.series
    return [Text(strings.REFUNDED.format(order=order.out_trade_no, price=fen_to_yuan_text(order.amount),
                                         title=item.title if item else ""))]


PAID_BUT_LOCKED = words("我付了没解锁", "付了没解锁", "支付了没解锁", "已支付", "我已支付")

DIALOG = Dialog(
    name="purchase",
    entry_points=[Route(words("购买", "购买本文", "买"), offer_article), Route(words("购买专栏"), offer_series),
                  Route(PAID_BUT_LOCKED, check_payment)],
    states={
        CONFIRM: [Route(words("确认", "确认购买", "好"), place_order), Route(prefix("优惠码"), apply_coupon)],
        AWAITING_PAYMENT: [Route(PAID_BUT_LOCKED, check_payment), Route(words("购买", "支付"), remind)],
    },
)
