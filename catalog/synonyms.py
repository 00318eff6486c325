"""The creators' synonym list beside the catalog data: `synonyms.txt`, loaded by `import`.

One group per line, its words separated by 「=」 (or commas): every word means every other to search.
`#` starts a comment. Example:

    机器学习 = ML = machine learning
    个人理财 = 理财

Like the rest of import, a line adds or moves words and never deletes any (`remove_synonym` in
`store/synonyms.py` does). A line with fewer than two words, or a word over 64 characters, is
reported with its line number and skipped.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from store.synonyms import add_synonym

SYNONYM_FILE = "synonyms.txt"
_SEPARATORS = re.compile(r"[=,，、]")


def synonym_lines(path: Path) -> Iterator[tuple[int, list[str]]]:
    """(line number, words) of each non-empty line of the synonym file beside an import path."""
    file = synonym_file(path)
    if not file.is_file():
        return
    for number, line in enumerate(file.read_text(encoding="utf-8-sig").splitlines(), start=1):
        words = [word.strip() for word in _SEPARATORS.split(line.split("#", 1)[0])]
        if any(words):
            yield number, [word for word in words if word]


def load_group(words: list[str]) -> list[str]:
    """Store one line's group; return what happened to each word after the first (see
    `store.synonyms.add_synonym`). Raises ValueError for a bad line."""
    if len(words) < 2:
        raise ValueError("a synonym line needs at least two words")
    head, *others = words
    return [add_synonym(word, head) for word in others]


def synonym_file(path: Path) -> Path:
    return (path if path.is_dir() else path.parent) / SYNONYM_FILE
