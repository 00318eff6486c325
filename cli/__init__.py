"""The command line: `python bot.py COMMAND`. Each module here registers its own commands.

To add a command, write a module with `register(commands)` (an argparse sub-parsers object; each parser
sets `func`, which takes the parsed arguments and returns an exit code or None) and list it in MODULES.
"""

from __future__ import annotations

import argparse
import sys

from cli import catalog, chat, push, recommend, run, worker
from ops.logs import setup_logging
from settings import SettingsError

MODULES = [run, catalog, chat, push, recommend, worker]
VERSION = "0.1.0"  # the product's version: `python bot.py --version`


class Parser(argparse.ArgumentParser):
    """Command-line errors in one line that names the bad argument (sub-commands use this class too)."""

    def error(self, message: str):  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="bot.py", description="Paid-knowledge bot for a WeChat Official Account.")
    parser.add_argument("--config", help="config file (default: $BOT_CONFIG or ./config.toml)")
    parser.add_argument("--version", action="version", version=f"%(prog)s {VERSION}", help="print the version and exit")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in MODULES:
        module.register(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    setup_logging()
    try:
        return args.func(args) or 0
    except SettingsError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 0
