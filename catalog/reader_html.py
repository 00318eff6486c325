"""An article's Markdown as the HTML the reader page shows: rendered, then cleaned by an allow-list.

Bodies come from imports and from creators' messages, so they are untrusted: Python-Markdown passes raw
HTML through, and nh3 (ammonia, the maintained successor of bleach) then keeps only what reads, never what
runs. Kept: headings, paragraphs, lists, emphasis, quotes, code, tables, links with an absolute http(s) URL
(nh3 adds rel="noopener noreferrer"), and images from https: or from the site itself (`site.base_url`).
Everything else loses its tag; scripts, styles and their kind lose their content too. The chat's text rules
stay in catalog/text.py.
"""

from __future__ import annotations

import re
from functools import partial
from urllib.parse import urlsplit

import markdown
import nh3

TAGS = {"h1", "h2", "h3", "h4", "h5", "h6", "p", "br", "hr", "strong", "em", "b", "i", "del", "s", "sub", "sup",
        "blockquote", "ul", "ol", "li", "code", "pre", "table", "thead", "tbody", "tr", "th", "td", "a", "img"}
ATTRIBUTES = {"a": {"href", "title"}, "img": {"src", "alt", "title"}, "ol": {"start"}, "th": {"align"},
              "td": {"align"}, "code": {"class"}}
DROPPED_WITH_CONTENT = {"script", "style", "template", "noscript", "iframe", "object", "embed", "svg", "math",
                        "textarea", "select", "title", "xmp", "noembed", "noframes"}
_CODE_CLASS = re.compile(r"language-[\w+#.-]{1,32}")
_ALIGN = {"left", "right", "center"}


def article_html(body: str, site_url: str) -> str:
    """Safe HTML for `body` (Markdown); images may come from https: or from under `site_url`."""
    rendered = markdown.markdown(body, extensions=["fenced_code", "tables"], output_format="html",
                                 extension_configs={"tables": {"use_align_attribute": True}})
    return nh3.clean(rendered, tags=TAGS, clean_content_tags=DROPPED_WITH_CONTENT, attributes=ATTRIBUTES,
                     url_schemes={"http", "https"}, strip_comments=True,
                     attribute_filter=partial(_keep, site_url.rstrip("/") + "/"))


def _keep(site_prefix: str, tag: str, attribute: str, value: str) -> str | None:
    """The attribute's value if it may stay, None to drop it (nh3 has already refused other URL schemes)."""
    if tag == "a" and attribute == "href":
        return value if urlsplit(value).scheme in ("http", "https") else None
    if tag == "img" and attribute == "src":
        return value if urlsplit(value).scheme == "https" or value.startswith(site_prefix) else None
    if attribute == "class":
        return value if _CODE_CLASS.fullmatch(value) else None
    if attribute == "align":
        return value if value in _ALIGN else None
    if attribute == "start":
        return value if value.isdigit() and len(value) <= 6 else None
    return value
