"""Article bodies: searched too, ranked below every title match, quoted around the match.

Bodies are long, so a loose fuzzy match against one is chance: a body counts only where the query
(or its core) appears in it nearly exactly (`BODY_MIN`). The quote is cut from the body's plain
text around the aligned piece, punctuation and spaces between its characters allowed.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from rapidfuzz import fuzz, process

from search.normalize import normalize, simplified
from search.postings import Postings, top

BODY_CANDIDATES = 20
BODY_MIN = 0.9
QUOTE_BEFORE, QUOTE_AFTER = 12, 24  # characters of context around the match


class Bodies:
    """Immutable once built: safe to share between threads."""

    __slots__ = ("_postings", "_matching", "_plain")

    def __init__(self, postings: Postings, matching: tuple[str, ...], plain: tuple[str, ...]) -> None:
        self._postings, self._matching, self._plain = postings, matching, plain

    @classmethod
    def build(cls, bodies: Sequence[str]) -> Bodies:
        """`bodies`: each document's plain text ("" for none), in catalogue order."""
        matching = tuple(normalize(body) for body in bodies)
        # Bigrams and trigrams: a single character found somewhere in a long body says nothing.
        postings = Postings.build(matching, analyzer="char_wb", ngram_range=(2, 3))
        return cls(postings, matching, tuple(simplified(body) for body in bodies))

    def matches(self, query: str) -> dict[int, float]:
        """Catalogue position -> how well `query` (in matching form) appears in that body, in [0, 1]."""
        cosine = self._postings.cosine(query) if len(query) >= 2 else None
        if cosine is None:
            return {}
        candidates = top(cosine, BODY_CANDIDATES)
        scores = process.cdist([query], [self._matching[i] for i in candidates], scorer=fuzz.partial_ratio)[0]
        return {int(i): float(s) / 100 for i, s in zip(candidates, scores) if s >= BODY_MIN * 100}

    def quote(self, position: int, query: str) -> str:
        """A short piece of the body around where `query` matched it ("" if it cannot be placed)."""
        matching, plain = self._matching[position], self._plain[position]
        aligned = fuzz.partial_ratio_alignment(query, matching)
        piece = matching[aligned.dest_start : aligned.dest_end]
        found = re.search(r"[\W_]*".join(map(re.escape, piece)), plain, flags=re.IGNORECASE) if piece else None
        if found is None:
            return ""
        start, end = max(0, found.start() - QUOTE_BEFORE), found.end() + QUOTE_AFTER
        text = " ".join(plain[start:end].split())
        return ("…" if start else "") + text + ("…" if end < len(plain) else "")
