"""The creators' synonym list: groups of words that mean the same to search (「ML」 = 「机器学习」).

Each word belongs to at most one group; a group is named by its first word (`head`). The import
command loads `synonyms.txt` beside the catalog data (`catalog/synonyms.py`); admin commands can
call `add_synonym` / `remove_synonym`. The search index is rebuilt when `synonyms_version` changes.
"""

from __future__ import annotations

from peewee import CharField, DateTimeField, fn

from store.models import BaseModel, utcnow

MAX_WORD = 64


class Synonym(BaseModel):
    word = CharField(max_length=MAX_WORD, unique=True)
    head = CharField(max_length=MAX_WORD, index=True)  # the group's name: its first word
    updated_at = DateTimeField(default=utcnow)


CREATED, MOVED, UNCHANGED = "created", "updated", "unchanged"


def add_synonym(word: str, same_as: str) -> str:
    """Put `word` in the group of `same_as` (which starts a group if it has none). Returns CREATED
    (a new word), MOVED (it was in another group) or UNCHANGED. Raises ValueError for a bad word."""
    word, same_as = _clean(word), _clean(same_as)
    if word == same_as:
        raise ValueError(f"「{word}」 cannot be its own synonym")
    head_row = Synonym.get_or_none(Synonym.word == same_as)
    if head_row is None:
        head_row = Synonym.create(word=same_as, head=same_as)
    return _put(word, head_row.head)


def remove_synonym(word: str) -> bool:
    """Take `word` out of its group; True if it was in one. The rest of the group stays."""
    return bool(Synonym.delete().where(Synonym.word == _clean(word)).execute())


def synonym_groups() -> list[list[str]]:
    """Every group, its words in the order they joined."""
    groups: dict[str, list[str]] = {}
    for word, head in Synonym.select(Synonym.word, Synonym.head).order_by(Synonym.id).tuples():
        groups.setdefault(head, []).append(word)
    return [words for words in groups.values() if len(words) > 1]


def synonyms_version() -> tuple:
    """Changes whenever a word is added, moved or removed."""
    return Synonym.select(fn.COUNT(Synonym.id), fn.MAX(Synonym.updated_at)).tuples().get()


def _put(word: str, head: str) -> str:
    row = Synonym.get_or_none(Synonym.word == word)
    if row is None:
        Synonym.create(word=word, head=head)
        return CREATED
    if row.head == head:
        return UNCHANGED
    Synonym.update(head=head, updated_at=utcnow()).where(Synonym.id == row.id).execute()
    return MOVED


def _clean(word: str) -> str:
    word = " ".join(word.split())
    if not word or len(word) > MAX_WORD:
        raise ValueError(f"a synonym must be 1 to {MAX_WORD} characters")
    return word
