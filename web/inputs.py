"""What the H5 routes accept from the request, checked before any page code reads it.

A value of the wrong shape raises `BadInput`; bot.py's request scope turns it into a 400 page that names
the field and the request id (never a 500). Parameters a page does not read are ignored (WeChat appends
its own, e.g. `from=singlemessage&isappinstalled=0`), within a cap on the query's length.
"""

from __future__ import annotations

import re
from typing import Any

from ops.logs import request_id
from web.http import HttpResponse
from web.render import message

QUERY_MAX = 2048  # characters of a whole query string
TOKEN = r"[A-Za-z0-9_.\-]{1,600}"  # an itsdangerous URL-safe signed token: any other path is a 404
REQUEST_ID = re.compile(r"[A-Za-z0-9._\-]{1,64}")


class BadInput(ValueError):
    def __init__(self, name: str, reason: str) -> None:
        super().__init__(f"{name}: {reason}")
        self.name, self.reason = name, reason


# what WeChat's OAuth appends on the way back (code: its own; state: ours, a-zA-Z0-9 up to 128)
PAGE_QUERY = {"code": re.compile(r"[A-Za-z0-9_\-]{1,128}"), "state": re.compile(r"[A-Za-z0-9]{1,128}")}


def read(params: Any, spec: dict[str, re.Pattern], raw: str = "") -> dict[str, str]:
    """The parameters of `spec` found in `params` (a Bottle MultiDict: query or form), each given once and
    matching its pattern whole (the pattern bounds type and length); `raw` is the query string."""
    if len(raw) > QUERY_MAX:
        raise BadInput("query", "too long")
    found = {}
    for name, pattern in spec.items():
        values = params.getall(name)
        if len(values) > 1:
            raise BadInput(name, "given more than once")
        if values and not (isinstance(values[0], str) and pattern.fullmatch(values[0])):
            raise BadInput(name, "malformed")
        if values:
            found[name] = values[0]
    return found


def token_filter(config: str) -> tuple[str, None, None]:
    """Bottle route filter `<token:token>`: a signed token's shape (its signature: web/links.py)."""
    return TOKEN, None, None


def bad_request(error: BadInput) -> HttpResponse:
    return message(400, "请求无效", f"参数 {error.name} 不正确，请回到公众号对话中重新打开链接。（编号 {request_id.get()}）")
