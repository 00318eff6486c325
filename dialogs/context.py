"""What the app lends every dialog step, built once per app."""

from __future__ import annotations

from dataclasses import dataclass

from settings import Settings
from web.links import Links


@dataclass(frozen=True)
class AppContext:
    settings: Settings
    links: Links

    @classmethod
    def from_settings(cls, settings: Settings) -> AppContext:
        return cls(settings, Links(settings.site.base_url.rstrip("/"), settings.site.secret_key))
