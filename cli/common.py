"""What every command shares."""

from __future__ import annotations

import argparse

from settings import Settings, load_settings


def settings_of(args: argparse.Namespace) -> Settings:
    return load_settings(args.config)
