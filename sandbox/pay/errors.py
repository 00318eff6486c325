"""WeChat Pay's error answers, and the checks of a request body that raise them."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any


class PayApiError(Exception):
    """An error answer of the v3 API: HTTP status plus WeChat Pay's JSON {code, message}."""

    def __init__(self, status: int, code: str, message: str, detail: dict[str, Any] | None = None) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.detail = detail

    def payload(self) -> dict[str, Any]:
        data: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.detail:
            data["detail"] = self.detail
        return data


class PaymentRejected(Exception):
    """The payer cannot pay this order (unknown, paid, closed, expired, someone else's)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def param_error(message: str) -> PayApiError:
    return PayApiError(400, "PARAM_ERROR", message)


def missing(source: str, name: str) -> PayApiError:
    # WeChat Pay's wording for a missing field
    return param_error(f"输入源“{source}”映射到值字段“{name}”必填性规则校验失败，此字段为必填项")


def sign_error(message: str, issue: str) -> PayApiError:
    return PayApiError(401, "SIGN_ERROR", message, {"detail": {"issue": issue}, "location": "authorization"})


def json_body(body: bytes) -> dict[str, Any]:
    try:
        data = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise param_error("请求体格式错误，应为JSON") from None
    if not isinstance(data, dict):
        raise param_error("请求体格式错误，应为JSON对象")
    return data


def required_str(data: dict[str, Any], key: str, name: str, max_length: int) -> str:
    value = data.get(key)
    if value is None or value == "":
        raise missing(f"/body/{key}", name)
    if not isinstance(value, str):
        raise param_error(f"{key}应为字符串")
    if len(value) > max_length:
        raise param_error(f"{key}长度不能超过{max_length}")
    return value


def parse_time(value: Any, key: str) -> float:
    try:
        moment = dt.datetime.fromisoformat(str(value))
    except ValueError:
        raise param_error(f"{key}应为rfc3339格式，如2018-06-08T10:34:56+08:00") from None
    if moment.tzinfo is None:
        raise param_error(f"{key}应带时区，如2018-06-08T10:34:56+08:00")
    return moment.timestamp()
