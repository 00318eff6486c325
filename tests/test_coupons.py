"""Coupons: made by an admin in the chat, typed by followers in the purchase confirmation, consumed only
when the order is paid (the notification's amount check uses the discounted price), returned on close;
refused with the reason past their limit, after expiry, after 停用 or on the wrong item."""

from __future__ import annotations

import datetime as dt
import threading

import requests

from payments.fulfil import settle_closed
from store.admin_models import Coupon, OrderCoupon
from store.models import Order, utcnow
from tests import paywire
from tests.conftest import APIV3_KEY, MCHID, chat_user
from tests.shop import buy, demo_catalog, in_db, orders_of, pay, settings, scheduler, state_of  # noqa: F401


def coupon(app, code: str) -> Coupon:
    return in_db(app, lambda: Coupon.get(Coupon.code == code))


def new_coupon(admin, terms: str) -> str:
    ask = admin.says(f"优惠码 新建 {terms}")
    assert "将新建优惠码" in ask, ask
    return admin.says("确认")


def test_a_coupon_lowers_the_price_and_is_consumed_when_paid(app, admin, user, sandbox, scheduler, demo_catalog):
    assert "已新建优惠码：HALF，减 50%，适用：全部内容，限 2 次" in new_coupon(admin, "half 50% 次数 2")
    user.says("梯度下降")
    user.says("1")
    user.received()
    assert "「优惠码 XXX」" in user.says("购买")
    applied = user.says("优惠码 half")
    assert "原价 9.9元，优惠后 4.95元" in applied
    card = user.sends("确认")
    assert "4.95元" in card.articles[0]["title"]
    (order,) = orders_of(app)
    assert order.amount == 495
    assert coupon(app, "HALF").reserved == 1 and coupon(app, "HALF").used == 0  # not consumed before payment
    pay(app, sandbox, scheduler, order)
    assert state_of(app, order) == "paid"
    assert user.received()[0]["content"].startswith("✅ 支付成功")
    used = coupon(app, "HALF")
    assert (used.used, used.reserved) == (1, 0)
    assert "已用 1/2" in admin.says("优惠码 列表")


def test_the_notification_must_carry_the_discounted_amount(app, live, admin, user, sandbox, settings, demo_catalog):
    new_coupon(admin, "MINUS3 3元")
    buy(user, coupon="MINUS3")
    (order,) = orders_of(app)
    assert order.amount == 690
    keys = sandbox.payments.keys
    key, serial = paywire.load_private_key(keys.public_key_private_path), keys.public_key_id

    def notify(amount: int) -> int:
        resource = paywire.transaction(order.out_trade_no, amount, "o_user", MCHID, settings.wechat.appid)
        headers, body = paywire.notification(resource, "TRANSACTION.SUCCESS", APIV3_KEY, key, serial)
        return requests.post(f"{live.url}/pay/notify", data=body, headers=headers, timeout=15).status_code

    assert notify(990) == 400  # the list price: not what this order costs
    assert state_of(app, order) == "created"
    assert notify(690) == 204
    assert state_of(app, order) == "paid" and coupon(app, "MINUS3").used == 1


def test_refused_with_the_reason(app, live, settings, sandbox, admin, user, demo_catalog):
    from tests.shop import article

    new_coupon(admin, "ONCE 10% 次数 1")
    new_coupon(admin, "OLD 10% 到期 2020-01-01")
    new_coupon(admin, "STOPME 10%")
    admin.says("优惠码 停用 STOPME")
    assert "已停用" in admin.says("确认")
    new_coupon(admin, f"PYONLY 10% {article(app, 'python-tips').id}")
    new_coupon(admin, "SERIESONLY 10% ml-basics")
    in_db(app, lambda: Coupon.update(used=1).where(Coupon.code == "ONCE").execute())  # its one use was paid

    user.says("梯度下降")
    user.says("1")
    user.says("购买")
    assert "已被用完" in user.says("优惠码 ONCE")
    assert "已过期" in user.says("优惠码 old")
    assert "已停用" in user.says("优惠码 STOPME")
    assert "不适用于这项内容" in user.says("优惠码 PYONLY")
    assert "不适用于这项内容" in user.says("优惠码 SERIESONLY")  # for the series, not this article
    assert "没有优惠码「NOPE」" in user.says("优惠码 NOPE")
    user.sends("确认")
    (order,) = orders_of(app)
    assert order.amount == 990  # no refused code changed the price
    user.says("购买专栏")
    assert "优惠后" in user.says("优惠码 SERIESONLY")


def test_a_closed_order_returns_its_use(app, live, settings, sandbox, admin, user, demo_catalog):
    new_coupon(admin, "SOLO 20% 次数 1")
    buy(user, coupon="SOLO")
    (order,) = orders_of(app)
    assert coupon(app, "SOLO").reserved == 1
    other = chat_user(live, app, settings, sandbox, "o_other")
    other.says("梯度下降")
    other.says("1")
    other.says("购买")
    assert "已被用完" in other.says("优惠码 SOLO")  # held by the open order
    assert in_db(app, settle_closed, app.services.database, order, utcnow() + dt.timedelta(hours=1))
    assert (coupon(app, "SOLO").reserved, coupon(app, "SOLO").used) == (0, 0)
    assert "优惠后 7.92元" in other.says("优惠码 SOLO")
    assert other.sends("确认").articles[0]["title"].startswith("支付 7.92元")
    assert in_db(app, lambda: OrderCoupon.get(OrderCoupon.order == order.id).state) == "returned"


def test_two_followers_racing_for_the_last_use_exactly_one_gets_it(app, live, settings, sandbox, admin,
                                                                   demo_catalog):
    new_coupon(admin, "LAST 30% 次数 1")
    racers = [chat_user(live, app, settings, sandbox, openid) for openid in ("o_racer_a", "o_racer_b")]
    for racer in racers:
        racer.says("梯度下降")
        racer.says("1")
        racer.says("购买")
        assert "优惠后" in racer.says("优惠码 LAST")
    start, replies = threading.Barrier(2), {}

    def confirm(racer):
        start.wait()
        replies[racer.openid] = racer.sends("确认")

    threads = [threading.Thread(target=confirm, args=(r,)) for r in racers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    cards = [r for r in replies.values() if r.msg_type == "news"]
    refused = [r for r in replies.values() if r.msg_type == "text"]
    assert len(cards) == 1 and len(refused) == 1 and "已被用完" in refused[0].content
    discounted = in_db(app, lambda: list(Order.select().where(Order.amount == 693)))
    assert len(discounted) == 1 and in_db(app, lambda: OrderCoupon.select().count()) == 1
    assert coupon(app, "LAST").reserved == 1
