"""Titles by their pinyin: full syllables (「jiqixuexi」, 「ji qi xue xi」, 「机器xuexi」) and initials (「jqxx」).

Candidates come from syllable bigrams (full pinyin) or initial bi- and trigrams; the rerank is
rapidfuzz's `partial_ratio` of the query's letters against the title's, blended with the cosine as
for titles (`search.index`). Initials are ambiguous, so an initials match must be exact.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from rapidfuzz import fuzz, process

from search import pinyin
from search.postings import Postings, top

CANDIDATES = 100
COSINE_WEIGHT = 0.4
SHORTEST_INITIALS = 3  # two letters spell too many titles to mean one


class PinyinIndex:
    """Immutable once built: safe to share between threads."""

    __slots__ = ("_syllables", "_letters", "_initials", "_initials_postings")

    def __init__(self, syllables: Postings, letters: tuple[str, ...], initials: tuple[str, ...],
                 initials_postings: Postings) -> None:
        self._syllables, self._letters = syllables, letters
        self._initials, self._initials_postings = initials, initials_postings

    @classmethod
    def build(cls, titles: Sequence[str]) -> PinyinIndex:
        """`titles` in matching form (`search.normalize`), in catalogue order."""
        pinyin.prepare()
        tokens = [pinyin.tokens(title) for title in titles]
        syllables = Postings.build([" ".join(t) for t in tokens], analyzer="word", token_pattern=r"\S+",
                                   ngram_range=(2, 2))
        initials = tuple(pinyin.initials(t) for t in tokens)
        initials_postings = Postings.build(initials, analyzer="char", ngram_range=(2, 3))
        return cls(syllables, tuple("".join(t) for t in tokens), initials, initials_postings)

    def matches(self, query_terms: list[str]) -> dict[int, float]:
        """Catalogue position -> score in [0, 1] of the query read as pinyin (empty if it is not)."""
        found: dict[int, float] = {}
        syllables = pinyin.query_syllables(query_terms)
        if syllables:
            found = _blend(self._syllables.cosine(" ".join(syllables)), "".join(syllables), self._letters)
        letters = "".join(query_terms)
        if len(letters) >= SHORTEST_INITIALS and letters.isascii() and letters.isalpha():
            exact = _blend(self._initials_postings.cosine(letters), letters, self._initials, exact=True)
            for position, score in exact.items():
                found[position] = max(score, found.get(position, 0.0))
        return found


def _blend(cosine: np.ndarray | None, query: str, texts: tuple[str, ...], exact: bool = False) -> dict[int, float]:
    if cosine is None:
        return {}
    candidates = top(cosine, CANDIDATES)
    fuzzy = process.cdist([query], [texts[i] for i in candidates], scorer=fuzz.partial_ratio, dtype=np.float32)[0]
    scores = np.minimum(COSINE_WEIGHT * cosine[candidates] + (1 - COSINE_WEIGHT) * fuzzy / 100, 1.0)
    if exact:
        scores = np.where(fuzzy == 100, scores, 0.0)
    return {int(i): float(s) for i, s in zip(candidates, scores) if s > 0}
