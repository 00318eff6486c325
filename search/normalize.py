"""The one text-normalisation rule shared by the index and the query path."""

from __future__ import annotations

import unicodedata

import opencc

# Traditional characters fold to simplified ones (OpenCC's "t2s" table), so "機器學習" finds "机器学习".
_TO_SIMPLIFIED = opencc.OpenCC("t2s")

# Unicode general categories kept: letters (L*), numbers (N*) and combining marks (M*).
# Everything else -- punctuation (P*), symbols (S*), separators/whitespace (Z*), controls (C*) --
# is noise for matching: Chinese is written without spaces, so "机器 学习" must equal "机器学习",
# and "《三体》" must equal "三体".
_KEPT_CATEGORIES = frozenset("LNM")


def terms(text: str) -> list[str]:
    """Split `text` into matching-form terms at every run of non-kept characters.

    NFKC folds full-width forms to half-width ("ＡＢＣ１２３" -> "abc123") and compatibility
    characters to their plain form; `casefold` comes after it so folded Latin letters are
    lower-cased too. Traditional characters become simplified.
    """
    folded = _TO_SIMPLIFIED.convert(unicodedata.normalize("NFKC", text).casefold())
    kept = (ch if unicodedata.category(ch)[0] in _KEPT_CATEGORIES else " " for ch in folded)
    return "".join(kept).split()


def simplified(text: str) -> str:
    """`text` with traditional characters made simplified, nothing else changed (for quoting)."""
    return _TO_SIMPLIFIED.convert(text)


def normalize(text: str) -> str:
    """Return `text` in matching form: NFKC, lower-case, only letters, digits and marks."""
    return "".join(terms(text))

