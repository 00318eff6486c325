"""Hostile article bodies and titles on the reader, share and pay pages: in headless Chromium nothing
active survives (no dialog, no injected element, handler or script URL) while the article still reads
(headings, lists, code, tables, an https image)."""

from __future__ import annotations

import re
import struct
import zlib

import pytest

from catalog.importer import run_import
from catalog.reader_html import article_html
from tests.h5 import as_follower, base_settings, browser, buy, settings, wechat_page  # noqa: F401 (fixtures)

PICTURE = "https://127.0.0.1:9/pic.png"  # https: allowed; served by the browser's route, never fetched
TITLE = '防注入测试<script>window.__pwned="title"</script><img src=x onerror="window.__pwned=1">'

HOSTILE = """<script>window.__pwned = "script"; alert("script")</script>
<img src="x" onerror="window.__pwned='onerror'; alert('onerror')">
<a id="jslink" href="javascript:window.__pwned='href'">点我</a> <a href=" JaVaScRiPt:alert(1)">再点</a>
[markdown 链接](javascript:alert('md')) ![数据图](data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+PC9zdmc+)
<iframe src="javascript:parent.__pwned='iframe'"></iframe>
<iframe srcdoc="<script>parent.__pwned='srcdoc'</script>"></iframe>
<svg><script>window.__pwned='svg'</script><circle r="5"/></svg>
<svg onload="window.__pwned='svgonload'"><a xlink:href="javascript:alert(1)"><text>x</text></a></svg>
<object data="data:text/html,<script>alert(1)</script>"></object><embed src="javascript:alert(1)">
<form action="javascript:alert(1)"><button formaction="javascript:alert(2)">提交</button></form>
<details open ontoggle="window.__pwned='toggle'">x</details>
<math><mtext><table><mglyph><style><img src=x onerror="window.__pwned='mxss'"></style></mglyph></table></mtext></math>
<style>body { display: none }</style><link rel="stylesheet" href="https://127.0.0.1:9/evil.css">
<base href="https://127.0.0.1:9/"><meta http-equiv="refresh" content="0;url=javascript:alert(1)">
<p onclick="alert(1)" style="position:fixed;inset:0">段落</p>
"""

READABLE = f"""## 小标题

- 列表一
- 列表二

| 项目 | 数量 |
|:--|--:|
| 苹果 | 3 |

```python
print("你好")
```

![示意图]({PICTURE}) [站内链接](http://127.0.0.1:9/page)
"""

BODY = f"{READABLE}\n{HOSTILE}\n<!-- 试读至此 -->\n\n## 付费部分\n\n{HOSTILE}\n付费正文最后一段。\n"

DOM_REPORT = """(content) => {
  const all = [...document.querySelectorAll("*")];
  const urlAttributes = ["href", "src", "action", "formaction", "srcdoc", "data", "xlink:href"];
  const ours = (e) => e.nonce || (e.getAttribute("src") || "").endsWith("/sandbox/jsbridge.js");
  return {
    pwned: window.__pwned || null,
    active: [...document.querySelectorAll("script")].filter((e) => !ours(e)).map((e) => e.outerHTML).concat(
        [...document.querySelectorAll("iframe, frame, object, embed, svg, math, base, link, meta[http-equiv]")]
          .map((e) => e.tagName),
        [...document.querySelectorAll("style")].filter((e) => !e.nonce).map((e) => e.tagName),
        [...document.querySelector(content).querySelectorAll("*")].filter(
          (e) => ["FORM", "BUTTON", "DETAILS", "INPUT"].includes(e.tagName)).map((e) => e.tagName)),
    handlers: all.flatMap((e) => [...e.attributes].filter((a) => a.name.startsWith("on"))
        .map((a) => e.tagName + " " + a.name)),
    urls: all.flatMap((e) => urlAttributes.map((n) => e.getAttribute(n)))
        .filter((v) => v !== null && !/^https?:/i.test(v)),
    styled: all.filter((e) => e.hasAttribute("style")).map((e) => e.tagName),
  };
}"""
CLEAN = {"pwned": None, "active": [], "handlers": [], "urls": [], "styled": []}


def png(width: int, height: int) -> bytes:
    """A plain PNG picture (the one the article shows)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\0" + bytes((7, 193, 96)) * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


@pytest.fixture
def hostile_catalog(app, tmp_path):
    folder = tmp_path / "hostile"
    folder.mkdir()
    front = f"---\ntitle: '{TITLE}'\nslug: hostile\nprice: 1.5\nsummary: 安全测试\ntags: [安全]\n---\n\n"
    (folder / "hostile.md").write_text(front + BODY, encoding="utf-8")
    with app.services.database.connection_context():
        assert run_import(folder, progress=False).ok


def hostile_page(browser):
    """A WeChat page that records dialogs and serves PICTURE itself."""
    page = wechat_page(browser)
    page.dialogs = []
    page.on("dialog", lambda dialog: (page.dialogs.append(dialog.message), dialog.dismiss()))
    page.context.route(PICTURE, lambda route: route.fulfill(status=200, content_type="image/png", body=png(160, 90)))
    return page


def assert_inert(page, content="#body"):
    """Nothing active anywhere; `content` (the part that shows the article) holds no controls either."""
    assert page.evaluate(DOM_REPORT, content) == CLEAN
    assert page.dialogs == [] and page.evaluate("window.cspViolations") == []  # the sanitizer did it alone


def assert_readable(page):
    assert page.inner_text("#body h2") == "小标题"
    assert page.eval_on_selector_all("#body li", "items => items.map(i => i.textContent)") == ["列表一", "列表二"]
    assert 'print("你好")' in page.inner_text("#body pre code")
    assert page.inner_text("#body td") == "苹果"
    page.wait_for_function(f'document.querySelector(\'#body img[src="{PICTURE}"]\').naturalWidth === 160')
    assert page.get_attribute("#body a[href^='http']", "rel") == "noopener noreferrer"


def test_hostile_html_is_inert_on_the_pay_and_reader_pages(app, user, sandbox, browser, hostile_catalog,
                                                           tmp_path):
    pay_url = buy(user, "防注入测试")
    page = hostile_page(browser)
    page.goto(as_follower(sandbox, "o_user", pay_url))
    assert page.inner_text("#item") == TITLE  # shown as text
    assert_inert(page, "#item")
    page.click("#pay")
    page.wait_for_selector("#paid", state="visible", timeout=20_000)
    reader = user.received()[-1]["articles"][0]["url"]

    page.goto(reader)
    assert page.inner_text("#title") == TITLE and "付费正文最后一段" in page.inner_text("#body")
    assert_inert(page)
    assert_readable(page)
    page.screenshot(path=str(tmp_path / "reader.png"), full_page=True)


def test_hostile_html_is_inert_on_the_preview_of_a_shared_link(app, user, sandbox, browser, hostile_catalog):
    user.says("防注入测试")
    user.says("1")
    link = re.search(r"http://\S+", user.says("分享")).group(0)
    page = hostile_page(browser)
    page.goto(as_follower(sandbox, "o_friend", link))
    assert "付费部分" not in page.inner_text("#body")
    assert_inert(page)
    assert_readable(page)


def test_the_allow_list_keeps_what_reads_and_drops_what_runs():
    html = article_html(BODY, "http://127.0.0.1:8000")
    for kept in ("<h2>小标题</h2>", "<li>列表一</li>", '<td align="left">苹果</td>', '<code class="language-python">',
                 f'<img alt="示意图" src="{PICTURE}">',
                 '<a href="http://127.0.0.1:9/page" rel="noopener noreferrer">站内链接</a>'):
        assert kept in html
    for dropped in ("<script", "onerror", "onload", "ontoggle", "onclick", "javascript:", "data:", "<iframe",
                    "<svg", "<math", "<object", "<embed", "<form", "<style", "<link", "<base", "<meta",
                    "srcdoc", "style=", "window.__pwned"):
        assert dropped not in html.lower(), dropped


def test_images_come_from_https_or_the_site_itself():
    site = "http://127.0.0.1:8000"
    markdown = (f"![a](https://cdn.example/a.png) ![b]({site}/media/b.png) ![c](http://elsewhere.example/c.png) "
                f"![d](http://127.0.0.1:8000.evil.example/d.png) ![e](/relative.png)")
    sources = re.findall(r'src="([^"]*)"', article_html(markdown, site))
    assert sources == ["https://cdn.example/a.png", f"{site}/media/b.png"]
