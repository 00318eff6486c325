"""Synonyms and abbreviations: a query is also tried with each known word replaced by its equals.

Groups come from the creators' list (`content/<catalog>/synonyms.txt`, loaded by `import`, stored by
`store/synonyms.py`); every word of a group stands for every other (「ml」 = 「机器学习」). Words are
compared in matching form (`search.normalize`). A Latin word only counts where it stands alone in
the query (「ml」 is not inside 「html」); a Chinese word counts anywhere in it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from search.normalize import normalize

MAX_VARIANTS = 6  # a query with many known words is tried in at most this many other forms


Table = list[tuple[re.Pattern, tuple[str, ...]]]


def group_table(groups: Iterable[Iterable[str]]) -> Table:
    """(pattern of a word, the other words of its group), in matching form; a word in two groups
    stands for the words of both."""
    table: dict[str, list[str]] = {}
    for group in groups:
        words = list(dict.fromkeys(w for w in (normalize(word) for word in group) if w))
        for word in words:
            table.setdefault(word, []).extend(other for other in words if other != word)
    return [(_pattern(word), tuple(dict.fromkeys(others))) for word, others in table.items() if others]


def variants(query: str, table: Table) -> list[str]:
    """Other forms of `query` (in matching form), one known word replaced at a time."""
    found: list[str] = []
    for pattern, others in table:
        if pattern.search(query):
            found += [pattern.sub(lambda _, other=other: other, query) for other in others]
            if len(found) >= MAX_VARIANTS:
                break
    return list(dict.fromkeys(found))[:MAX_VARIANTS]


def _pattern(word: str) -> re.Pattern:
    if word.isascii():
        return re.compile(rf"(?<![a-z0-9]){re.escape(word)}(?![a-z0-9])")
    return re.compile(re.escape(word))
