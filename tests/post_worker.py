"""A process that posts one request when told to: several of these make truly concurrent deliveries.

Kept apart from the test modules so a fork server can start it without the test's threads and imports.
"""

from __future__ import annotations

import requests


def deliver(url: str, headers: dict, body: bytes, start, results) -> None:
    start.wait(30)
    try:
        response = requests.post(url, data=body, headers=headers, timeout=30)
        results.put((response.status_code, response.text))
    except requests.RequestException as exc:
        results.put((0, repr(exc)))
