"""Why an item is on a list, in the follower's words. Each reason names the cause that scored highest."""

from __future__ import annotations

CONTENT, CO_READ, POPULAR, FRESH, SIMILAR_READERS = range(5)


def reason(cause: int, title: str = "") -> str:
    """SIMILAR_READERS: a collaborative link no follower shares outright (ALS inferred it from tastes)."""
    if cause == CONTENT:
        return f"因为你读过《{title}》"
    if cause == CO_READ:
        return f"读过《{title}》的人也在读"
    if cause == SIMILAR_READERS:
        return "和你口味相近的人也在读"
    if cause == POPULAR:
        return "最近很多人在读"
    return "新上架"
