"""`GET /healthz`: the database must answer; the state store may be degraded (the bot still works).

The report names each dependency's condition and lists the ones not ok under `degraded`, e.g.
`{"database": "ok", "state": "degraded: ConnectionError", "degraded": ["state"], "status": "degraded"}`.
"""

from __future__ import annotations

import json
from typing import Any

from store import queries
from store.degrading import Degrading
from store.state import MemoryStateStore


def health(state: Degrading) -> tuple[int, str]:
    report: dict[str, Any] = {}
    try:
        queries.ping()
        report["database"] = "ok"
    except Exception as exc:  # the report names what failed
        report["database"] = f"down: {exc.__class__.__name__}"
    if isinstance(state.inner, MemoryStateStore):
        report["state"] = "memory"
    else:
        try:
            state.ping()
            report["state"] = "ok"
        except Exception as exc:
            report["state"] = f"degraded: {exc.__class__.__name__}"
    database_ok = report["database"] == "ok"
    report["degraded"] = [name for name in ("database", "state") if report[name].startswith(("down", "degraded"))]
    report["status"] = "ok" if database_ok and not report["state"].startswith("degraded") else (
        "degraded" if database_ok else "down")
    return (200 if database_ok else 503), json.dumps(report)
