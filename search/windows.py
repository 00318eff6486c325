"""The piece of a question copied from the catalogue, found as a window of its characters.

A follower's question is everyday language around a piece of what they seek, and that piece is
often cut anywhere (「生高考」, 「售均价」), so a word segmenter cuts it apart. Here the query is read as
everyday language with one window of consecutive characters copied from some document, and the
window whose copying explains the query best is its piece:

    gain(window) = everyday_surprisal(window) - catalogue IDF of the exact window

is the log-likelihood ratio of "copied from a document" (a document holds it: probability df / N)
over "said in everyday Chinese" (jieba's unigram model, `search.core.everyday_surprisal`). Asking
words are likely in everyday language, and windows straddling them and the piece are held by no
document, so neither can win, whatever the wording. A window no document holds cannot be copied.
A word in Latin letters and digits (「sql」, 「python3」) is one window as a whole, held by a document that
holds it as a whole word: followers type product and language names inside Chinese questions
(「有没有讲SQL的」), and there the Chinese around them is the asking. A Latin word that spells pinyin
(「man」, 「de」, 「nba」 = n ba) is left to the pinyin reading: in 「新浪man」 it stands for characters. Nor is
a Latin word the piece when the Chinese around it holds a window that gains (a piece of some document):
the query is then a mistyped fragment (「魂》G3手机天天」 for 「…3G手机天天…」), which the whole query finds.

The rest of the query must then read as everyday asking (`_reads_as_asking`): fluent, which random
characters around a chance word (nonsense) are not, with no word rarer than the piece, and not
held together with it (as the rest of a mistyped fragment is, by the title it comes from).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from search.core import everyday_cut, everyday_surprisal, rarest_gram
from search.pinyin import split_syllables
from search.postings import Postings

# A window is 3-8 characters: two characters are one bigram, which a large catalogue holds by chance
# so often that mistyped fragments turned into a word (「心欲动」 -> 「欲动」) were answered through it.
SHORTEST_WINDOW, LONGEST_WINDOW = 3, 8
_HAN_RUN = re.compile(f"[\u4e00-\u9fff]{{{SHORTEST_WINDOW},}}")
# A Latin word of 2 or more letters and digits, a letter among them (a number is seldom what is sought),
# in matching form.
_LATIN_WORD = re.compile("(?=[0-9]*[a-z])[a-z0-9]{2,}")
# Chosen on a scratch set of question templates (neither the benchmark's nor the tests'): asking
# words average 4-6 nats a character, chance runs of characters 9-12 (BENCHMARKS.md).
FLUENT_REST = 7.5
# A window that gains this share of the catalogue's largest IDF, log(N + 1), or more, counts fully;
# less, in proportion (chosen on the same scratch set: at 1.0 common pieces such as 「进中国」 lose).
GAIN_SCALE = 0.5


@dataclass(frozen=True)
class Window:
    text: str
    gain: float  # nats: how much better "copied from a document" explains it than everyday language
    factor: float  # what a document found through it has its score multiplied by, in (0, 1]


def best_window(query_terms: Sequence[str], postings: Postings, texts: Sequence[str]) -> Window | None:
    """The window of the query (its Chinese characters, or a Latin word) with the highest gain (see the
    module's docstring), if it is a proper part of the query, gains something, and leaves everyday asking.
    `texts[position]` is a document's text in matching form."""
    whole = "".join(query_terms)
    scored = [(_gain(text, held, postings), text) for text, held in _candidates(query_terms, postings, texts)
              if text != whole]
    if not scored:
        return None
    gain, text = max(scored, key=lambda pair: pair[0])  # the first of equals
    if gain <= 0:
        return None
    if text.isascii() and any(other > 0 for other, piece in scored if not piece.isascii()):
        return None  # the Chinese around it is a piece of some document: a mistyped fragment, not asking
    if not _reads_as_asking(whole.replace(text, "", 1), text, postings, texts):
        return None
    return Window(text, gain, min(1.0, gain / (GAIN_SCALE * math.log(postings.documents + 1))))


def _candidates(query_terms: Sequence[str], postings: Postings, texts: Sequence[str]) -> Iterator[tuple[str, int]]:
    """Every window some document holds, with how many hold it: the Chinese runs' windows of
    SHORTEST_WINDOW to LONGEST_WINDOW characters, and each Latin word whole."""
    for term in query_terms:
        for run in (match.group() for match in _HAN_RUN.finditer(term)):
            for start in range(len(run) - SHORTEST_WINDOW + 1):
                for end in range(start + SHORTEST_WINDOW, min(len(run), start + LONGEST_WINDOW) + 1):
                    if not (held := _held_by(run[start:end], postings, texts)):
                        break  # no longer window from this start is held either
                    yield run[start:end], held
        for word in dict.fromkeys(match.group() for match in _LATIN_WORD.finditer(term)):
            if split_syllables(word) is None and (held := _held_as_word(word, postings, texts)):
                yield word, held


def _reads_as_asking(rest: str, window: str, postings: Postings, texts: Sequence[str]) -> bool:
    """Whether what is left around the window reads as everyday asking: fluent (at most
    `FLUENT_REST` nats a character), with no word more surprising than the window itself (a rarer
    word left out is content the catalogue lacks), and its most surprising word held by no document
    that holds the window (else the query is a longer, mistyped piece, which the whole query finds)."""
    cut = everyday_cut(rest) if rest else []
    if not cut:
        return True
    word, cost = max(cut, key=lambda pair: pair[1])
    fluent = sum(c for _, c in cut) / len(rest) <= FLUENT_REST and cost <= everyday_surprisal(window)
    return fluent and (len(word) < 2 or not any(word in texts[position] and window in texts[position]
                                                for position in postings.holders(rarest_gram(window, postings)).tolist()))


def _held_by(text: str, postings: Postings, texts: Sequence[str]) -> int:
    """How many documents hold `text` exactly: an n-gram's document frequency up to the longest
    n-gram, beyond that a count over the holders of its rarest n-gram."""
    rarest = rarest_gram(text, postings)
    if rarest == text:
        return postings.document_frequency(rarest)
    return sum(text in texts[position] for position in postings.holders(rarest).tolist())


def _held_as_word(word: str, postings: Postings, texts: Sequence[str]) -> int:
    """How many documents hold the Latin `word` whole (not inside a longer Latin word: 「ml」 in 「html」)."""
    whole = re.compile(f"(?<![a-z0-9]){re.escape(word)}(?![a-z0-9])")
    return sum(bool(whole.search(texts[position])) for position in postings.holders(rarest_gram(word, postings)).tolist())


def _gain(text: str, held: int, postings: Postings) -> float:
    return everyday_surprisal(text) - math.log((postings.documents + 1) / (held + 1))
