"""How WeChat Pay writes things: compact JSON, times in +08:00, numeric ids."""

from __future__ import annotations

import datetime as dt
import json
import secrets
from typing import Any

JSON_TYPE = "application/json; charset=utf-8"
CST = dt.timezone(dt.timedelta(hours=8))  # WeChat Pay writes every time in +08:00


def rfc3339(timestamp: float) -> str:
    """WeChat Pay's time format: 2018-06-08T10:34:56+08:00."""
    return dt.datetime.fromtimestamp(timestamp, CST).isoformat(timespec="seconds")


def dumps(payload: Any) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def numbers(prefix: str, length: int) -> str:
    return prefix + "".join(secrets.choice("0123456789") for _ in range(length - len(prefix)))
