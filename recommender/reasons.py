"""Why an item is on a list, in the follower's words. Each reason names the cause that scored highest."""

from __future__ import annotations

CONTENT, CO_READ, POPULAR, FRESH = range(4)


def reason(cause: int, title: str = "") -> str:
    if cause == CONTENT:
        return f"因为你读过《{title}》"
    if cause == CO_READ:
        return f"读过《{title}》的人也在读"
    if cause == POPULAR:
        return "最近很多人在读"
    return "新上架"
