"""The value types the recommender takes and returns."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Recommendation:
    article_id: int
    title: str
    score: float  # the blended relevance, comparable within one list (the order is the diversified one)
    reason: str  # Chinese, names its cause: 「因为你读过《X》」, 「读过《X》的人也在读」, 「最近很多人在读」


@dataclass(frozen=True)
class Item:
    """One published article as the content model sees it."""

    id: int
    title: str
    summary: str = ""
    tags: tuple[str, ...] = ()
    body: str = ""


@dataclass(frozen=True)
class Weights:
    """How much each behaviour counts in a profile (`[recommend]` in config.toml); a negative one pushes away."""

    by_kind: Mapping[str, float]
    half_life_days: float = 30.0

    def of(self, kind: str) -> float:
        return float(self.by_kind.get(kind, 0.0))


KINDS = ("view", "like", "comment", "share", "purchase", "dislike")


@dataclass(frozen=True)
class FitSummary:
    items: int
    users: int
    events: int
    features: int
    seconds: float
    version: int = 0  # the saved model's id

    def format(self) -> str:
        return (f"fitted model {self.version}: {self.items} items, {self.features} features, "
                f"{self.users} followers, {self.events} events in {self.seconds:.1f} s")
