"""Prometheus metrics of one app instance (its own registry, so tests and benches can make several).

Under gunicorn with several workers, PROMETHEUS_MULTIPROC_DIR is set (ops/gunicorn.py does it): each
worker writes its values to files there and `render` sums every worker's, so any worker's `/metrics`
answers for the whole server.
"""

from __future__ import annotations

import os

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest, multiprocess
from prometheus_client.exposition import CONTENT_TYPE_LATEST


class Metrics:
    content_type = CONTENT_TYPE_LATEST

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.messages = Counter("bot_messages_total", "Messages handled, by type",
                                ["type"], registry=self.registry)
        self.duplicates = Counter("bot_duplicates_total", "Repeated deliveries answered without re-running",
                                  registry=self.registry)
        self.rejections = Counter("bot_rejections_total", "Requests refused at the edge, by reason",
                                  ["reason"], registry=self.registry)
        self.errors = Counter("bot_errors_total", "Handler errors answered with an apology",
                              registry=self.registry)
        self.degraded = Counter("bot_state_degraded_total", "Messages handled without the state store",
                                registry=self.registry)
        self.latency = Histogram("bot_message_seconds", "Time to answer a message",
                                 buckets=(.002, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5),
                                 registry=self.registry)
        self.outbox_depth = Gauge("bot_outbox_depth", "Outbox rows not yet sent, read at the last scrape",
                                  multiprocess_mode="mostrecent", registry=self.registry)

    def render(self) -> bytes:
        if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            return generate_latest(self.registry)
        merged = CollectorRegistry()
        multiprocess.MultiProcessCollector(merged)
        return generate_latest(merged)
