"""Keeping the fitted recommender current: the clock refits when the catalog changed, and at least every
`recommend.refit_minutes` (new behaviour moves popularity and the collaborative signal)."""

from __future__ import annotations

import datetime as dt
import logging

from settings import Settings
from store import catalog, recommend
from store.models import utcnow

log = logging.getLogger(__name__)


def refit_when_due(settings: Settings) -> bool:
    latest = recommend.latest_model_version()
    age = dt.timedelta(minutes=settings.recommend.refit_minutes)
    if latest and latest[1] == str(catalog.catalog_version()) and utcnow() - latest[2] < age:
        return False
    summary = recommend.fit()
    log.info("recommender refitted", extra={"summary": summary.format()})
    return True
