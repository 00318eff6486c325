"""Forgetting what is no longer needed."""

from __future__ import annotations

import datetime as dt
import logging

from settings import Settings
from store import queries

log = logging.getLogger(__name__)


def prune_processed_messages(settings: Settings) -> int:
    """Processed-message records outlive WeChat's retries by far; after `seen_ttl` they go."""
    removed = queries.prune_messages(dt.timedelta(seconds=settings.store.seen_ttl))
    log.info("pruned processed messages", extra={"removed": removed})
    return removed
