"""Signed links to the H5 pages: one place for how a link is made and checked."""

from __future__ import annotations

from dataclasses import dataclass

from itsdangerous import BadSignature, URLSafeTimedSerializer

READ_MAX_AGE = 7 * 24 * 3600  # a reader link is bound to its openid and expires
PAY_MAX_AGE = 24 * 3600  # longer than any order's timeout: the order itself says when it is too late
ADMIN_MAX_AGE = 30 * 60  # the dashboard link of 后台


class BadLink(ValueError):
    """A link that was tampered with, expired, or made for another purpose."""


@dataclass(frozen=True)
class Links:
    base_url: str
    secret_key: str

    def _serializer(self, purpose: str) -> URLSafeTimedSerializer:
        return URLSafeTimedSerializer(self.secret_key, salt=purpose)

    def reader(self, article_id: int, openid: str) -> str:
        token = self._serializer("read").dumps({"a": article_id, "o": openid})
        return f"{self.base_url}/read/{token}"

    def share(self, article_id: int, sharer: str) -> str:
        token = self._serializer("share").dumps({"a": article_id, "s": sharer})
        return f"{self.base_url}/s/{token}"

    def pay(self, out_trade_no: str) -> str:
        token = self._serializer("pay").dumps({"o": out_trade_no})
        return f"{self.base_url}/pay/{token}"

    def open_pay(self, token: str) -> str:
        return str(self._load("pay", token, PAY_MAX_AGE)["o"])

    def open_reader(self, token: str) -> tuple[int, str]:
        data = self._load("read", token, READ_MAX_AGE)
        return int(data["a"]), str(data["o"])

    def open_share(self, token: str) -> tuple[int, str]:
        data = self._load("share", token, None)
        return int(data["a"]), str(data["s"])

    def admin(self, openid: str) -> str:
        """The dashboard, for this admin only (the page checks the visitor through OAuth)."""
        return f"{self.base_url}/admin/{self._serializer('admin').dumps({'o': openid})}"

    def open_admin(self, token: str) -> str:
        return str(self._load("admin", token, ADMIN_MAX_AGE)["o"])

    def _load(self, purpose: str, token: str, max_age: int | None) -> dict:
        try:
            return self._serializer(purpose).loads(token, max_age=max_age)
        except (BadSignature, KeyError, TypeError, ValueError) as exc:
            raise BadLink(purpose) from exc
