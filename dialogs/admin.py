"""Creator commands: who is an admin, #auth, and the dialog that holds every one-shot command.
Graph: admin.mmd.

An admin is in [admin] openids or was added with `#auth <passphrase>` (BOT_ADMIN_PASSPHRASE, compared
in constant time; 5 wrong tries lock the openid out for a while). To anyone else an admin command is
ordinary text: its matcher declines (and logs the attempt), so search or the hint answers it as it
answers any text, and nothing tells them admin commands exist.
"""

from __future__ import annotations

import hmac
import logging

from dialogs import admin_coupons, admin_push, admin_shop, admin_stats, admin_strings as s
from dialogs.admin_args import BadArgument, arguments, need, openid as openid_arg
from dialogs.admin_confirm import CONFIRM, ask, action, confirmed, other_text, undo
from dialogs.admin_routes import admin_route, command
from dialogs.framework import END, STAY, Dialog, Matcher, Result, Route, Text, Turn, any_text, fold, words
from dialogs.home import hint
from store import admins, audit

log = logging.getLogger(__name__)

AUTH = "#auth"


def _auth_attempt(turn: Turn) -> bool:
    return turn.kind == "text" and bool(turn.text) and fold(turn.text.split()[0]) == AUTH


def authenticate(turn: Turn) -> Result:
    """`#auth <passphrase>`: never recorded (the text holds a secret); a failure gets the usual hint."""
    turn.record = False
    if turn.is_admin:
        return Text(s.ALREADY_ADMIN), STAY
    settings = turn.app.settings.admin
    parts = turn.text.split(maxsplit=1)
    given = parts[1].strip() if len(parts) == 2 else ""
    if not settings.passphrase or admins.locked_out(turn.openid, settings.auth_tries, settings.auth_lockout):
        log.warning("#auth refused", extra={"openid": turn.openid, "reason": "off or locked out"})
        return hint(turn)
    if not hmac.compare_digest(given.encode(), settings.passphrase.encode()):
        admins.record_failure(turn.openid)
        log.warning("#auth wrong passphrase", extra={"openid": turn.openid})
        return hint(turn)
    admins.grant(turn.openid)
    admins.clear_failures(turn.openid)
    audit.record(turn.openid, "admin_add", f"admin:{turn.openid}", {}, {"admin": True})
    log.info("admin added by #auth", extra={"openid": turn.openid})
    return Text(s.AUTH_OK), STAY


def manage_admins(turn: Turn) -> Result:
    """管理员 列表 | 管理员 移除 <openid>"""
    args = arguments(turn.text)
    configured = turn.app.settings.admin.openids
    if not args or args[0] in ("列表", "list"):
        lines = [f"· {o}（配置）" for o in configured] + [f"· {o}（#auth）" for o in admins.listed()]
        return Text(s.ADMINS_HEAD + "\n" + "\n".join(lines)), STAY
    if args[0] not in ("移除", "remove"):
        raise BadArgument(f"{s.UNKNOWN_SUBCOMMAND.format(value=args[0])}\n{s.USAGE_ADMINS}")
    need(args, 2, s.USAGE_ADMINS)
    target = openid_arg(args[1], s.USAGE_ADMINS)
    if target in configured:
        return Text(s.ADMIN_CONFIGURED.format(openid=target)), STAY
    if target not in admins.listed():
        return Text(s.NOT_AN_ADMIN.format(openid=target)), STAY
    return ask(turn, "admin_remove", {"openid": target}, s.ADMIN_REMOVE_ASK.format(openid=target))


@action("admin_remove")
def remove_admin(turn: Turn, args: dict) -> Result:
    if not admins.revoke(args["openid"], turn.openid):
        return Text(s.NOT_AN_ADMIN.format(openid=args["openid"])), END
    audit.record(turn.openid, "admin_remove", f"admin:{args['openid']}", {"admin": True}, {"admin": False})
    return Text(s.ADMIN_REMOVED.format(openid=args["openid"])), END


ROUTES: list[Route] = [
    Route(_auth_attempt, authenticate),
    admin_route(command("管理员", "/admins"), manage_admins),
    admin_route(command("撤销", "/undo"), undo),
    *admin_shop.ROUTES, *admin_coupons.ROUTES, *admin_stats.ROUTES, *admin_push.ROUTES,
]

CONFIRM_WORDS: Matcher = words("确认", "confirm", "/confirm")

DIALOG = Dialog(
    name="admin",
    entry_points=ROUTES,
    states={CONFIRM: [Route(CONFIRM_WORDS, confirmed), Route(any_text, other_text)]},
)
