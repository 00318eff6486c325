"""Why an item is on a list, in the follower's words. Each reason names the cause that scored highest among
the causes that are true of the item (recommender.rank._explain)."""

from __future__ import annotations

CONTENT, CO_READ, POPULAR, FRESH, SIMILAR_READERS, ELSEWHERE, FIRST = range(7)


def reason(cause: int, title: str = "") -> str:
    """SIMILAR_READERS: a collaborative link no follower shares outright (ALS inferred it from tastes).
    ELSEWHERE: nothing the follower read is close to it (MMR reached past their subjects); FIRST: the
    follower has read nothing yet, and nobody has read it or it is not new."""
    if cause == CONTENT:
        return f"因为你读过《{title}》"
    if cause == CO_READ:
        return f"读过《{title}》的人也在读"
    if cause == SIMILAR_READERS:
        return "和你口味相近的人也在读"
    if cause == POPULAR:
        return "最近很多人在读"
    if cause == FRESH:
        return "新上架"
    if cause == ELSEWHERE:
        return "换换口味"
    return "还没读过什么？可以从这篇开始"
