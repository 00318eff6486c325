"""退款 by command, end to end against the sandbox's WeChat Pay: asked once even when 确认 comes twice, the
follower loses access and is told, 统计 counts it; a refused refund frees the order and tells the admin."""

from __future__ import annotations

from store.models import Order, Purchase
from tests.shop import buy, demo_catalog, in_db, orders_of, pay, settings, scheduler, state_of  # noqa: F401

REFUNDS = "/v3/refund/domestic/refunds"


def paid_order(app, user, sandbox, scheduler) -> Order:
    buy(user)
    (order,) = orders_of(app)
    pay(app, sandbox, scheduler, order)
    assert state_of(app, order) == "paid"
    user.received()
    return order


def test_refund_by_command_end_to_end(app, admin, user, sandbox, scheduler, demo_catalog):
    order = paid_order(app, user, sandbox, scheduler)
    ask = admin.says(f"退款 {order.out_trade_no} 内容重复")
    assert order.out_trade_no in ask and "9.9元" in ask and "o_user" in ask and "内容重复" in ask
    assert "已向微信支付申请退款" in admin.says("确认")
    assert "已向微信支付申请退款" not in admin.says("确认")  # sent twice: the second is ordinary text
    admin.received()
    assert "已在处理中" in admin.says(f"退款 {order.out_trade_no}")  # a second request is refused at once
    assert sandbox.calls(REFUNDS) == 1
    refund_no = in_db(app, lambda: Order.get_by_id(order.id).refund_no)
    assert sandbox.payments.refunds[refund_no].status == "PROCESSING"
    assert state_of(app, order) == "paid"  # not before WeChat Pay says SUCCESS

    assert sandbox.payments.settle_refunds() == 1
    scheduler.drain()  # REFUND.SUCCESS reaches /pay/notify
    assert state_of(app, order) == "refunded"
    assert in_db(app, lambda: Purchase.select().count()) == 0
    told = [m["content"] for m in user.received() if m["msgtype"] == "text"]
    assert any("已退款 9.9元" in t and "阅读权限已收回" in t for t in told)
    assert "（9.9元）" in user.says("梯度下降")  # no longer owned
    stats = admin.says("统计 今天")
    assert "收入 9.9元（1 单" in stats and "退款 1 笔 9.9元，净收入 0元" in stats
    assert sandbox.calls(REFUNDS) == 1


def test_a_refund_query_settles_when_no_notification_comes(app, admin, user, sandbox, scheduler, demo_catalog):
    order = paid_order(app, user, sandbox, scheduler)
    sandbox.payments.notifier.configure(drop=True)
    admin.says(f"退款 {order.out_trade_no}")
    admin.says("确认")
    admin.received()
    sandbox.payments.settle_refunds()
    scheduler.drain()
    assert state_of(app, order) == "paid"  # the notification was lost
    assert in_db(app, app.services.refunds.check_pending) == 1  # what the clock runs every minute
    assert state_of(app, order) == "refunded"
    assert any("已退款" in (m["content"] or "") for m in user.received())


def test_a_refused_refund_frees_the_order_and_tells_the_admin(app, admin, user, sandbox, scheduler, demo_catalog):
    order = paid_order(app, user, sandbox, scheduler)
    sandbox.payments.fail_next("/v3/refund/domestic/refunds", status=400, code="NOT_ENOUGH", message="基本账户余额不足")
    admin.says(f"退款 {order.out_trade_no}")
    admin.says("确认")
    told = [m["content"] for m in admin.received() if m["msgtype"] == "text"]
    assert any("退款未成功" in t and "余额不足" in t for t in told)
    assert in_db(app, lambda: Order.get_by_id(order.id).refund_no) is None and state_of(app, order) == "paid"
    assert "将退款" in admin.says(f"退款 {order.out_trade_no}")  # may be tried again


def test_only_paid_sales_can_be_refunded(app, admin, user, demo_catalog):
    buy(user)
    (order,) = orders_of(app)
    assert "不能退款（待支付" in admin.says(f"退款 {order.out_trade_no}")
