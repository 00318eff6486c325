"""Forgetting what is no longer needed."""

from __future__ import annotations

import datetime as dt
import logging

from settings import Settings
from store import outbox, queries

log = logging.getLogger(__name__)


def prune_processed_messages(settings: Settings) -> int:
    """Processed-message records outlive WeChat's retries by far; after `seen_ttl` they go."""
    removed = queries.prune_messages(dt.timedelta(seconds=settings.store.seen_ttl))
    log.info("pruned processed messages", extra={"removed": removed})
    return removed


def requeue_stuck_outbox() -> int:
    """Rows a crashed process left SENDING for over 5 minutes go out again."""
    requeued = outbox.requeue_stuck(dt.timedelta(minutes=5))
    if requeued:
        log.warning("requeued stuck outbox rows", extra={"rows": requeued})
    return requeued
