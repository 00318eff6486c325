"""The dashboard in headless Chromium with a seeded shop: it renders with server-drawn charts (checked on a
screenshot), loads nothing from elsewhere, downloads the orders as CSV; a follower's visit and an
expired or forged link are refused."""

from __future__ import annotations

import datetime as dt
import io
import re
from unittest import mock

import pytest
from PIL import Image

from catalog.text import fen_to_yuan_text
from store import orders, queries, shop
from store.models import Article, Series, utcnow
from tests.browser import chromium, wechat_browser
from tests.shop import demo_catalog, in_db, settings, scheduler  # noqa: F401
from tests.test_h5_pages import as_follower


@pytest.fixture(params=["sqlite"])
def base_settings(request, tmp_path):
    from tests.conftest import make_settings

    return make_settings(request.param, tmp_path, request)


@pytest.fixture
def browser():
    with chromium() as running:
        yield running


def seed(app) -> int:
    """Sales on several days, a refund, a grant, an open order; the fen sold."""
    def run():
        now = utcnow()
        slugs = ["gradient-descent", "sql-join-basics", "python-tips", "index-fund", "gradient-descent"]
        sold = 4990
        for n, slug in enumerate(slugs):
            article = Article.get(Article.slug == slug)
            buyer = queries.touch_user(f"o_buyer{n}")
            when = now - dt.timedelta(days=3 * n)
            order = orders.create(buyer, article, None, article.price or 500, article.title, 1800, when)
            orders.mark_paid(order, f"tx{n}", when)
            sold += order.amount
        refunded = orders.create(queries.touch_user("o_buyer9"), None, Series.get(Series.slug == "ml-basics"),
                                 4990, "机器学习从零到一", 1800, now)
        orders.mark_paid(refunded, "tx9", now)
        orders.mark_refunded(refunded, "RF9", now)
        shop.grant(queries.touch_user("o_friend"), Article.get(Article.slug == "sql-index"), None, now)
        orders.create(queries.touch_user("o_buyer1"), Article.get(Article.slug == "sql-index"), None, 990, "x", 1800,
                      now)
        return sold

    return in_db(app, run)


def dashboard_link(admin) -> str:
    return re.search(r"http://\S+", admin.says("后台")).group(0)


def test_the_dashboard_renders_charts_and_the_csv(app, admin, sandbox, browser, demo_catalog, tmp_path, live):
    sold = seed(app)
    link = dashboard_link(admin)
    context = wechat_browser(browser)
    page = context.new_page()
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto(as_follower(sandbox, "o_admin", link))
    assert page.inner_text("#headline") == "数据看板 · 近30天"
    assert page.inner_text("#revenue") == fen_to_yuan_text(sold)  # the refunded sale was paid in the window too
    assert page.locator("#orders tr").count() == 9  # the header and 8 orders
    assert "机器学习从零到一" in page.inner_text("#refunds") and "暂无推送记录" in page.inner_text("#rounds")
    assert page.query_selector("script") is None and "@font-face" not in page.content()
    ours = (live.url, sandbox.url)
    assert all(url.startswith(ours) for url in requested), requested
    page.screenshot(path=str(tmp_path / "dashboard.png"), full_page=True)
    chart = Image.open(io.BytesIO(page.locator("#revenue-chart").screenshot())).convert("RGB")
    green = sum(1 for pixel in chart.get_flattened_data() if pixel[1] > 150 and pixel[0] < 60 and pixel[2] < 140)
    assert green > 500  # the revenue bars are drawn, not a blank box
    csv = context.request.get(live.url + page.locator("#csv").get_attribute("href")).text()
    lines = csv.lstrip("\ufeff").splitlines()
    assert lines[0].startswith("out_trade_no,openid,item,amount_yuan,kind")
    assert len(lines) == 9 and any(",0.00,grant," in line for line in lines)
    context.close()


def test_a_follower_an_expired_and_a_forged_link_are_refused(app, admin, user, sandbox, browser, demo_catalog):
    link = dashboard_link(admin)
    follower = wechat_browser(browser).new_page()
    response = follower.goto(as_follower(sandbox, "o_user", link))  # someone the admin forwarded it to
    assert response.status == 403 and "仅限管理员本人" in follower.inner_text("#headline")
    links = app.services.pipeline.context.links
    with mock.patch("time.time", return_value=dt.datetime.now().timestamp() - 31 * 60):
        expired = links.admin("o_admin")
    forged = link[:-3] + ("abc" if not link.endswith("abc") else "xyz")
    other_purpose = links.reader(1, "o_admin").replace("/read/", "/admin/")
    for url in (expired, forged, other_purpose):
        page = wechat_browser(browser).new_page()
        response = page.goto(as_follower(sandbox, "o_admin", url))
        assert response.status == 403 and "链接无效或已过期" in page.inner_text("#headline"), url
        page.context.close()


def test_a_removed_admin_is_refused(app, admin, live, settings, sandbox, browser, demo_catalog):
    from tests.conftest import chat_user
    from tests.shop import PASSPHRASE

    creator = chat_user(live, app, settings, sandbox, "o_creator")
    creator.says(f"#auth {PASSPHRASE}")
    link = dashboard_link(creator)
    admin.says("管理员 移除 o_creator")
    admin.says("确认")
    page = wechat_browser(browser).new_page()
    response = page.goto(as_follower(sandbox, "o_creator", link))
    assert response.status == 403 and "仅限管理员本人" in page.inner_text("#headline")
