"""Commands that set the account up: the catalog import, the custom menu, the schema."""

from __future__ import annotations

import argparse
import json
from typing import Any

from bot import build_services
from cli.common import settings_of
from settings import SettingsError
from store.db import bind, open_database
from store.migrations import migrate


def migrate_command(args: argparse.Namespace) -> None:
    settings = settings_of(args)
    database = bind(open_database(settings.store.database_url))
    applied = migrate(database)
    print(f"applied migrations: {applied or 'none (up to date)'}")


def import_command(args: argparse.Namespace) -> int:
    from catalog.importer import run_import

    settings = settings_of(args)
    database = bind(open_database(settings.store.database_url))
    migrate(database)
    summary = run_import(args.path, strict=args.strict, progress=not args.quiet)
    print(summary.format())
    return 0 if summary.ok else 1


def menu_command(args: argparse.Namespace) -> int:
    """Show the configured custom menu, or create it in WeChat through the gateway."""
    settings = settings_of(args)
    menu = {"button": settings.menu.buttons}
    if args.action == "show":
        print(json.dumps(menu, ensure_ascii=False, indent=2))
        return 0
    services = build_services(settings)
    if services.gateway is None:
        raise SettingsError("wechat.appsecret is required to create the menu (set BOT_WECHAT_APPSECRET)")
    with services.database.connection_context():
        services.gateway.create_menu(menu)
    print(f"menu created: {', '.join(button['name'] for button in settings.menu.buttons)}")
    return 0


def register(commands: Any) -> None:
    load = commands.add_parser("import", help="load articles from JSONL, CSV or a folder of Markdown files")
    load.add_argument("path", help="a .jsonl or .csv file, or a folder of .md files (+ series.yaml)")
    load.add_argument("--strict", action="store_true", help="stop at the first bad row and load nothing")
    load.add_argument("--quiet", action="store_true", help="no progress bar")
    load.set_defaults(func=import_command)

    menu = commands.add_parser("menu", help="show the custom menu from config.toml, or push it to WeChat")
    menu.add_argument("action", choices=["show", "push"], help="show: print it; push: create it in WeChat")
    menu.set_defaults(func=menu_command)

    mig = commands.add_parser("migrate", help="apply database migrations and exit")
    mig.set_defaults(func=migrate_command)
