"""Pinyin forms of text, for followers who type 「jiqixuexi」, 「ji qi xue xi」, 「jqxx」 or 「机器xuexi」.

A title's pinyin is a list of tokens: one syllable per Chinese character (its most common reading,
from pypinyin's single-character table; see BENCHMARKS.md for what that costs on words whose reading
differs), and each run of Latin letters or digits as one token. The index keeps two forms of it:
the syllables and the initials (first letter of each token).

A query is read as pinyin when its Latin runs split completely into valid syllables; Chinese
characters in it are turned into syllables the same way as titles, so mixed input works too.
"""

from __future__ import annotations

import re
from functools import cache

from pypinyin import Style, lazy_pinyin
from pypinyin.contrib.tone_convert import to_normal
from pypinyin.pinyin_dict import pinyin_dict

_HAN = re.compile(r"[\u3400-\u9fff]")
# A run of Chinese characters, or of Latin letters and digits.
_RUNS = re.compile(r"[\u3400-\u9fff]|[a-z0-9]+")
_LONGEST_SYLLABLE = 6  # "zhuang", "shuang"
# What people type for ü: pypinyin writes "lve", people often "lue".
_ALIASES = {"lue": "lve", "nue": "nve"}


@cache
def _syllables() -> frozenset[str]:
    """Every toneless syllable in pypinyin's table (426 of them), plus the common spellings of ü."""
    table = {to_normal(reading) for readings in pinyin_dict.values() for reading in readings.split(",")}
    return frozenset(table | set(_ALIASES))


def prepare() -> None:
    """Read pypinyin's syllable table now rather than in the first query that needs it."""
    _syllables()


@cache
def _reading(character: str) -> str:
    return lazy_pinyin(character, style=Style.NORMAL)[0]


def tokens(text: str) -> list[str]:
    """`text` (in matching form, see `search.normalize`) as pinyin tokens: a syllable per Chinese
    character, a Latin or digit run as it is."""
    return [_reading(run) if _HAN.match(run) else run for run in _RUNS.findall(text)]


def initials(pinyin: list[str]) -> str:
    return "".join(token[0] for token in pinyin)


def split_syllables(letters: str) -> list[str] | None:
    """The fewest valid syllables that spell `letters` exactly ("jiqixuexi" -> ji qi xue xi), or None."""
    syllables = _syllables()
    best: list[list[str] | None] = [[]] + [None] * len(letters)
    for end in range(1, len(letters) + 1):
        for start in range(max(0, end - _LONGEST_SYLLABLE), end):
            head, piece = best[start], letters[start:end]
            if head is not None and piece in syllables and (best[end] is None or len(head) + 1 < len(best[end])):
                best[end] = head + [_ALIASES.get(piece, piece)]
    return best[-1]


def query_syllables(query_terms: list[str]) -> list[str] | None:
    """The query as syllables when it has Latin letters and every Latin run is pinyin, else None."""
    result: list[str] = []
    has_latin = False
    for run in _RUNS.findall(" ".join(query_terms)):
        if _HAN.match(run) or run.isdigit():
            result.append(_reading(run) if _HAN.match(run) else run)
            continue
        split = split_syllables(run)
        if split is None:
            return None
        result += split
        has_latin = True
    return result if has_latin and len(result) >= 2 else None
