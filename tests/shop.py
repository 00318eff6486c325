"""What the creators' tests share: a shop with the demo catalog and WeChat Pay on the sandbox, and ways
to look into the store from a test."""

from __future__ import annotations

import pytest

from catalog.importer import run_import
from sandbox.pay import ManualScheduler
from settings import ROOT
from store.models import Article, Order
from tests.conftest import with_pay

PASSPHRASE = "open sesame 42"


@pytest.fixture
def scheduler():
    return ManualScheduler()


@pytest.fixture
def settings(settings, sandbox, merchant, tmp_path, scheduler):
    paying = with_pay(settings, sandbox, merchant, tmp_path / "platform", scheduler=scheduler)
    return paying.replace(admin={"passphrase": PASSPHRASE})


@pytest.fixture
def demo_catalog(app):
    with app.services.database.connection_context():
        assert run_import(ROOT / "content" / "demo", progress=False).ok


def in_db(app, func, *args):
    with app.services.database.connection_context():
        return func(*args)


def article(app, slug: str) -> Article:
    return in_db(app, lambda: Article.get(Article.slug == slug))


def orders_of(app) -> list[Order]:
    return in_db(app, lambda: list(Order.select().order_by(Order.id)))


def buy(user, query: str = "梯度下降", coupon: str | None = None) -> str:
    """The follower opens the first hit and confirms the purchase; the pay card's title."""
    user.says(query)
    user.says("1")
    user.received()
    user.says("购买")
    if coupon:
        user.says(f"优惠码 {coupon}")
    return user.sends("确认").articles[0]["title"]


def pay(app, sandbox, scheduler, order: Order) -> None:
    """The buyer pays at WeChat Pay (the sandbox) and its notification reaches the bot."""
    buyer = in_db(app, lambda: Order.get_by_id(order.id).user.openid)
    prepay = app.services.pay.create_jsapi(order.out_trade_no, order.description, order.amount, buyer,
                                           order.expires_at)
    in_db(app, lambda: Order.update(prepay_id=prepay).where(Order.id == order.id).execute())
    sandbox.pay(order.out_trade_no, buyer)
    scheduler.drain()


def state_of(app, order: Order) -> str:
    return in_db(app, lambda: Order.get_by_id(order.id).state)
