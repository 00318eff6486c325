"""gunicorn's settings file for the Procfile's `web`: Prometheus metrics summed over the workers.

prometheus-client's multiprocess mode: every worker writes its values to files in
PROMETHEUS_MULTIPROC_DIR and `/metrics` (ops/metrics.py) reads them all. The folder must be set before any
worker imports prometheus_client, so it is set here, when gunicorn reads this file in its master; files
of an earlier run are removed (they would be counted again), and an exited worker's files are marked dead.

    gunicorn --config ops/gunicorn.py ... 'bot:wsgi()'   # PROMETHEUS_MULTIPROC_DIR: default a fresh temp folder
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

_OWN_FOLDER = not os.environ.get("PROMETHEUS_MULTIPROC_DIR")  # a temporary one: removed on exit


def _metrics_folder() -> Path:
    folder = Path(os.environ.get("PROMETHEUS_MULTIPROC_DIR") or tempfile.mkdtemp(prefix="bot-metrics-"))
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.glob("*.db"):
        stale.unlink()
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(folder)
    return folder


_FOLDER = _metrics_folder()


def child_exit(server, worker) -> None:
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server) -> None:
    if _OWN_FOLDER:
        shutil.rmtree(_FOLDER, ignore_errors=True)
