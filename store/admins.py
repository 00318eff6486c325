"""Who is an admin: [admin] openids, plus those added with #auth (stored, revocable); #auth lockouts."""

from __future__ import annotations

import datetime as dt

from store.admin_models import Admin, AuthFailure
from store.models import utcnow


def is_admin(openid: str, configured: list[str]) -> bool:
    """The one rule: listed in [admin] openids, or added with #auth and not revoked."""
    return openid in configured or granted(openid)


class AdminFlag:
    """`turn.is_admin`, asked of the database only when a step wants to know: most messages (searches,
    clicks, purchases) never do, so they pay no query for it."""

    def __init__(self, openid: str, configured: list[str]) -> None:
        self.openid, self.configured = openid, configured
        self._known: bool | None = None

    def __bool__(self) -> bool:
        if self._known is None:
            self._known = is_admin(self.openid, self.configured)
        return self._known


def granted(openid: str) -> bool:
    """Added at run time and not revoked."""
    return Admin.select().where((Admin.openid == openid) & Admin.revoked_at.is_null()).exists()


def grant(openid: str) -> None:
    (Admin.insert(openid=openid, added_at=utcnow())
     .on_conflict(conflict_target=[Admin.openid], update={Admin.revoked_at: None, Admin.revoked_by: None,
                                                          Admin.added_at: utcnow()})
     .execute())


def revoke(openid: str, by: str) -> bool:
    return bool(Admin.update(revoked_at=utcnow(), revoked_by=by)
                .where((Admin.openid == openid) & Admin.revoked_at.is_null()).execute())


def listed() -> list[str]:
    return [row.openid for row in Admin.select().where(Admin.revoked_at.is_null()).order_by(Admin.id)]


def locked_out(openid: str, tries: int, window: int) -> bool:
    return recent_failures(openid, window) >= tries


def recent_failures(openid: str, window: int) -> int:
    since = utcnow() - dt.timedelta(seconds=window)
    return AuthFailure.select().where((AuthFailure.openid == openid) & (AuthFailure.failed_at > since)).count()


def record_failure(openid: str) -> None:
    AuthFailure.create(openid=openid)


def clear_failures(openid: str) -> None:
    AuthFailure.delete().where(AuthFailure.openid == openid).execute()
