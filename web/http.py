"""The one shape every route answers in; bot.py turns it into Bottle's response."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any


@dataclass
class HttpResponse:
    status: int
    body: str = ""
    content_type: str = "text/plain; charset=utf-8"
    headers: list[tuple[str, str]] = field(default_factory=list)

    @classmethod
    def html(cls, status: int, body: str) -> HttpResponse:
        return cls(status, body, "text/html; charset=utf-8")

    @classmethod
    def json(cls, status: int, value: Any) -> HttpResponse:
        return cls(status, json.dumps(value, ensure_ascii=False), "application/json")
