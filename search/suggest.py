"""What to offer when a query found nothing: the catalogue's names (tags, series) closest to it."""

from __future__ import annotations

from collections.abc import Sequence

from rapidfuzz import fuzz, process

from search import pinyin
from search.normalize import normalize

MIN_CLOSENESS = 50  # below this a name is no closer than any other: the given order decides


def closest_names(query: str, names: Sequence[str], limit: int = 3) -> list[str]:
    """Up to `limit` of `names`, closest to `query` first (by characters, else by pinyin), then the
    rest in the order given (callers pass the biggest first), so there is always something to offer."""
    wanted = normalize(query)
    forms = [normalize(name) for name in names]
    by_chars = process.cdist([wanted], forms, scorer=fuzz.partial_ratio)[0]
    spoken = "".join(pinyin.tokens(wanted))
    by_sound = process.cdist([spoken], ["".join(pinyin.tokens(f)) for f in forms], scorer=fuzz.ratio)[0]
    closeness = [max(chars, sound * 0.9) for chars, sound in zip(by_chars, by_sound)]
    closeness = [score if score >= MIN_CLOSENESS else 0 for score in closeness]
    order = sorted(range(len(names)), key=lambda i: (-closeness[i], i))
    return [names[i] for i in order[:limit]]
