"""Every H5 route's input is checked: a query parameter of the wrong type or length is a 400 page that
carries the request id, a malformed token a 404, and no query, path or cookie gets a 5xx (Hypothesis)."""

from __future__ import annotations

from urllib.parse import quote

import pytest
import requests
from hypothesis import HealthCheck, given, settings as hypothesis_settings, strategies as st

from catalog.importer import run_import
from settings import ROOT
from tests.browser import WECHAT_UA
from tests.h5 import base_settings, buy, settings  # noqa: F401 (fixtures)
from web.inputs import QUERY_MAX

UA = {"User-Agent": WECHAT_UA}
BAD_QUERIES = {
    "code too long": "code=" + "a" * 129,
    "code not ascii": "code=%E4%BD%A0%E5%A5%BD",
    "code empty": "code=",
    "code twice": "code=abc&code=def",
    "state with symbols": "code=abc&state=%3Cscript%3E",
    "state too long": "code=abc&state=" + "s" * 129,
    "query too long": "from=" + "x" * QUERY_MAX,
}


@pytest.fixture
def routes(app, user):
    """One URL per H5 route, each with a valid signed token."""
    with app.services.database.connection_context():
        assert run_import(ROOT / "content" / "demo", progress=False).ok
    pay = buy(user)
    links = app.services.content_pages.links
    return {"pay": pay, "status": f"{pay}/status", "read": links.reader(1, "o_user"), "share": links.share(1, "o_user")}


def test_a_bad_query_is_a_400_page_with_the_request_id(routes):
    for route, url in routes.items():
        for case, query in BAD_QUERIES.items():
            response = requests.get(f"{url}?{query}", headers=UA, allow_redirects=False, timeout=10)
            if route == "status" and case != "query too long":  # the poll reads no parameter
                assert response.status_code == 403, case  # (and this client has no visitor cookie)
                continue
            assert response.status_code == 400, (route, case)
            assert "请求无效" in response.text and response.headers["X-Request-Id"] in response.text


def test_parameters_wechat_adds_are_ignored(routes):
    response = requests.get(f"{routes['share']}?from=singlemessage&isappinstalled=0", headers=UA,
                            allow_redirects=False, timeout=10)
    assert response.status_code == 302  # on to OAuth, as without them


@pytest.mark.parametrize("token", ["<script>", "a" * 601, "你好", "a%00b"])
def test_a_malformed_token_is_a_404(live, token):
    for prefix in ("/pay/", "/read/", "/s/"):
        response = requests.get(f"{live.url}{prefix}{quote(token)}", headers=UA, timeout=10)
        assert response.status_code == 404 and "页面不存在" in response.text


def test_a_request_id_of_the_wrong_shape_is_replaced(live):
    given_id = "<b>" + "x" * 70
    response = requests.get(f"{live.url}/healthz", headers={"X-Request-Id": given_id}, timeout=10)
    assert response.headers["X-Request-Id"] != given_id and len(response.headers["X-Request-Id"]) == 12
    kept = requests.get(f"{live.url}/healthz", headers={"X-Request-Id": "edge-123.abc"}, timeout=10)
    assert kept.headers["X-Request-Id"] == "edge-123.abc"


printable = st.text(st.characters(min_codepoint=1, max_codepoint=0x2FFF), max_size=40)
pairs = st.lists(st.tuples(st.sampled_from(["code", "state", "from", "x"]) | printable, printable), max_size=4)


@hypothesis_settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(route=st.sampled_from(["pay", "status", "read", "share", "bogus"]), query=pairs, cookie=printable,
       tail=printable)
def test_no_input_gets_a_5xx(routes, route, query, cookie, tail):
    url = routes.get(route) or f"{routes['read']}{quote(tail)}"
    encoded = "&".join(f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in query)
    response = requests.get(f"{url}?{encoded}", allow_redirects=False, timeout=10,
                            headers={**UA, "Cookie": f"kb_visitor={quote(cookie)}; kb_oauth={quote(cookie)}"})
    assert response.status_code < 500, (url, encoded, cookie, response.text[:200])
