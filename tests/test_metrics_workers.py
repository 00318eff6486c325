"""Metrics under gunicorn with two workers (the Procfile's settings file): whichever worker answers
`/metrics`, it counts every worker's messages."""

from __future__ import annotations

import re
import uuid

import requests

from bench.harness import settings_env
from bench.http_load import Gunicorn
from tests import wire


def test_metrics_are_summed_over_workers(tmp_path, base_settings):
    metrics_dir = tmp_path / "metrics"
    env = {**settings_env(base_settings), "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir)}
    messages = 40
    with Gunicorn("bot:wsgi()", env, tmp_path / "gunicorn.log") as server:
        url = f"http://127.0.0.1:{server.port}"
        for n in range(messages):  # a new connection each: both workers take some
            xml = wire.text_xml(f"o_w{n % 4}", "帮助", uuid.uuid4().int % 10**15)
            assert wire.post(url, base_settings.wechat.token, xml).status_code == 200
        counts = set()
        for _ in range(6):
            text = requests.get(f"{url}/metrics", timeout=10).text
            found = re.search(r'^bot_messages_total\{type="text"\} (\S+)$', text, re.M)
            counts.add(float(found.group(1)) if found else None)
    assert counts == {float(messages)}
    assert len(list(metrics_dir.glob("counter_*.db"))) >= 2  # two workers wrote their own files
