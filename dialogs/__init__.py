"""Conversations. `build_router` assembles them in the order the router tries them."""

from __future__ import annotations

from dialogs import admin, browse, feedback, home, library, privacy, publish, purchase, push, recommend
from dialogs.framework import Dialog, Router

DIALOGS: list[Dialog] = [
    admin.DIALOG, publish.DIALOG, feedback.DIALOG, privacy.DIALOG, purchase.DIALOG, library.DIALOG, push.DIALOG,
    recommend.DIALOG,
    browse.DIALOG,
]  # browse last: it takes any text


def build_router(strict: bool = False) -> Router:
    return Router(DIALOGS, home.GLOBAL_ROUTES, default=home.hint, strict=strict)
