"""The audit trail of admin writes, and the last one an admin may still undo."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from store.admin_models import Audit
from store.models import utcnow

UNDOABLE = ("publish", "price", "unlist", "list", "coupon_new", "coupon_stop")
UNDO_WINDOW = dt.timedelta(hours=24)


def record(admin: str, action: str, target: str, before: dict[str, Any], after: dict[str, Any]) -> Audit:
    return Audit.create(admin=admin, action=action, target=target, before=_dumps(before), after=_dumps(after))


def last_undoable(admin: str) -> Audit | None:
    """The admin's newest write, if it is of an undoable kind, not undone, and under 24 hours old."""
    newest = (Audit.select().where((Audit.admin == admin) & Audit.action.in_(UNDOABLE) & Audit.undone_at.is_null())
              .order_by(Audit.id.desc()).first())
    if newest is None or newest.created_at < utcnow() - UNDO_WINDOW:
        return None
    return newest


def get(entry_id: int) -> Audit | None:
    return Audit.get_or_none(Audit.id == entry_id)


def mark_undone(entry: Audit) -> bool:
    """True for the one caller that marked it (an undo runs once)."""
    return bool(Audit.update(undone_at=utcnow()).where((Audit.id == entry.id) & Audit.undone_at.is_null()).execute())


def loads(text: str) -> dict[str, Any]:
    return json.loads(text or "{}")


def _dumps(value: dict[str, Any]) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
