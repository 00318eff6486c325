"""The H5 pages' templates (web/templates/*.tpl): every page gets this response's CSP nonce."""

from __future__ import annotations

from pathlib import Path

import bottle

from web.http import HttpResponse
from web.security import nonce

TEMPLATES = Path(__file__).parent / "templates"


def render(name: str, **values) -> str:
    return bottle.template(name, template_lookup=[str(TEMPLATES)], nonce=nonce(), **values)


def message(status: int, headline: str, detail: str) -> HttpResponse:
    return HttpResponse.html(status, render("message", headline=headline, detail=detail))
