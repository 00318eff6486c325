"""The request and answer types shared by the API routes (sandbox/api.py) and the chat routes."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Callable

from sandbox.account import ApiError


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    body: bytes

    def json(self) -> Any:
        """The JSON body; 44002 when empty, 47001 when not JSON (as WeChat answers)."""
        if not self.body.strip():
            raise ApiError(44002)
        try:
            return json.loads(self.body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            raise ApiError(47001) from None


@dataclass
class Answer:
    status: int
    body: bytes
    content_type: str = "application/json; encoding=utf-8"  # WeChat's own header


def json_answer(data: Any, status: int = 200) -> Answer:
    return Answer(status, json.dumps(data, ensure_ascii=False).encode("utf-8"))


Route = Callable[[Request], Answer]
