"""The security headers of every answer the app gives, set in one place: a WSGI layer around the app.

`install(app, site)` (called once by bot.py `create_app`) wraps the Bottle app's WSGI callable, so every
answer gets the headers: pages, JSON, redirects, /healthz, /metrics, Bottle's own 404/405/500 pages and the
routes added later (an `/admin/` dashboard, a mounted sub-app) with no work of their own. A Bottle
`after_request` hook would not do: Bottle replaces the response headers when it renders an error page.

- Content-Security-Policy: `default-src 'self'`; scripts only from `'self'` or carrying this response's
  nonce (templates write `nonce="{{nonce}}"`, see `nonce()`); inline `<style>` the same way; images from
  the site or https:; `object-src 'none'`, `base-uri 'none'`, `form-action 'self'`; `frame-ancestors` from
  `site.frame_ancestors` (default `'none'`; the demo names the sandbox chat page's origin). With
  `site.dev_jsbridge_url` set (development only) that one script URL may load and its origin be fetched.
- X-Content-Type-Options: nosniff; Referrer-Policy: no-referrer (signed tokens in our URLs never leave in
  a Referer); X-Frame-Options: DENY while framing is refused (for browsers without frame-ancestors).
- Cache-Control: no-store unless the route chose its own (pages show paid text and orders).
- Strict-Transport-Security when `site.base_url` is https.
"""

from __future__ import annotations

import contextvars
import re
import secrets
from dataclasses import dataclass
from typing import Any, Callable, Iterable
from urllib.parse import urlsplit

from settings import SettingsError, SiteSettings

_nonce: contextvars.ContextVar[str] = contextvars.ContextVar("csp_nonce", default="")

_SOURCE = r"(?:'self'|https?://[A-Za-z0-9.\-]+(?::\d{1,5})?)"
FRAME_ANCESTORS = re.compile(rf"'none'|{_SOURCE}(?: {_SOURCE})*")
BRIDGE_URL = re.compile(r"https?://[A-Za-z0-9.\-]+(?::\d{1,5})?/[^\s;,'\"]*")  # one CSP source, nothing more
HSTS = "max-age=31536000"
OWNED = {"content-security-policy", "x-content-type-options", "referrer-policy", "x-frame-options",
         "strict-transport-security"}


def nonce() -> str:
    """This response's CSP nonce (empty outside a request)."""
    return _nonce.get()


@dataclass(frozen=True)
class Policy:
    frame_ancestors: str = "'none'"
    bridge_url: str = ""
    https: bool = False

    @classmethod
    def for_site(cls, site: SiteSettings) -> Policy:
        if not FRAME_ANCESTORS.fullmatch(site.frame_ancestors):
            raise SettingsError("site.frame_ancestors must be 'none', 'self' or origins separated by spaces")
        bridge = site.dev_jsbridge_url
        if bridge and not BRIDGE_URL.fullmatch(bridge):
            raise SettingsError("site.dev_jsbridge_url must be an http(s) URL (no spaces, ';', ',' or quotes)")
        return cls(site.frame_ancestors, bridge, site.base_url.startswith("https://"))

    def csp(self, script_nonce: str) -> str:
        bridge_origin = "{0.scheme}://{0.netloc}".format(urlsplit(self.bridge_url)) if self.bridge_url else ""
        directives = [
            "default-src 'self'",
            _join("script-src 'self'", f"'nonce-{script_nonce}'", self.bridge_url),
            f"style-src 'self' 'nonce-{script_nonce}'",
            "img-src 'self' https:",
            _join("connect-src 'self'", bridge_origin),
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            f"frame-ancestors {self.frame_ancestors}",
        ]
        return "; ".join(directives)

    def headers(self, given: Iterable[tuple[str, str]], script_nonce: str) -> list[tuple[str, str]]:
        """`given` without any header this policy owns, plus the policy's."""
        kept = [(name, value) for name, value in given if name.lower() not in OWNED]
        added = [("Content-Security-Policy", self.csp(script_nonce)), ("X-Content-Type-Options", "nosniff"),
                 ("Referrer-Policy", "no-referrer")]
        if self.frame_ancestors == "'none'":
            added.append(("X-Frame-Options", "DENY"))
        if self.https:
            added.append(("Strict-Transport-Security", HSTS))
        if not any(name.lower() == "cache-control" for name, _ in kept):
            added.append(("Cache-Control", "no-store"))
        return kept + added


def _join(*parts: str) -> str:
    return " ".join(part for part in parts if part)


class SecureHeaders:
    """WSGI middleware: a fresh nonce for the request, the policy's headers on its answer."""

    def __init__(self, wsgi: Callable, policy: Policy) -> None:
        self.wsgi, self.policy = wsgi, policy

    def __call__(self, environ: dict, start_response: Callable) -> Any:
        script_nonce = secrets.token_urlsafe(18)
        token = _nonce.set(script_nonce)

        def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            return start_response(status, self.policy.headers(headers, script_nonce), exc_info)

        try:
            return self.wsgi(environ, start)
        finally:
            _nonce.reset(token)


def install(app: Any, site: SiteSettings) -> None:
    """Wrap the Bottle app's WSGI entry (`Bottle.__call__` calls `self.wsgi`)."""
    app.wsgi = SecureHeaders(app.wsgi, Policy.for_site(site))
