"""In-memory catalogue search: TF-IDF candidate retrieval, rapidfuzz rerank, and the ways followers ask.

How a query is answered (see BENCHMARKS.md, "Search", for the measurements behind the numbers):

1. The query is normalised with the same rule as the catalogue (`search.normalize`: width, case,
   punctuation, traditional characters); the words the user separated are kept apart as terms.
2. Retrieval (`search.postings`): the query's character n-grams, weighted with the catalogue's IDF,
   pick the best `CANDIDATES` documents from a posting matrix over title, summary and tags.
3. Rerank: each candidate gets `COSINE_WEIGHT * cosine + (1 - COSINE_WEIGHT) * fuzzy`, where `fuzzy`
   is rapidfuzz's `partial_ratio` of the query (or of each of its terms) against the normalised title
   (or, slightly discounted, against summary + tags). The cosine forgives word order; `partial_ratio`
   scores a short query that is a near-exact fragment of a long title high.
4. The query is also tried with synonyms in place of the words the creators listed (`search.synonyms`).
5. When no candidate scores `CONFIDENT`, the documents holding the most of the query's informative
   words are scored on the part they hold (`search.core`: words weighted by catalogue IDF and
   everyday rarity), scaled by how few documents hold that part and by its share of the query's
   weight; the window of its characters that a document holds and everyday language explains worst
   (`search.windows`) is tried as a bare query, scaled by how much that explains; and the query is
   read as pinyin (`search.pinyin_index`).
6. Documents scoring below `MIN_SCORE` are dropped, so nonsense gets "no result", not random titles.
7. Article bodies (`search.body`) are searched last: a document found only there ranks below every
   title match, with a score below `MIN_SCORE`, and its hit quotes the body around the match.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from rapidfuzz import fuzz, process

from search.body import Bodies
from search.core import Core, held_cores, prepare as load_segmenter
from search.normalize import normalize, terms
from search.pinyin_index import PinyinIndex
from search.postings import Postings, top
from search.synonyms import Table, group_table, variants
from search.windows import best_window

# 'char_wb' keeps n-grams inside space-separated fields, so the title, summary and tags (joined
# with spaces after normalisation) never produce n-grams that straddle two fields.
ANALYZER = "char_wb"
# (2, 3) answers ~40% faster at 200k titles with equal MRR, but unigrams keep one-character queries working.
NGRAM_RANGE = (1, 3)
# The title is indexed this many times, so its n-grams outweigh the summary's and the tags'.
TITLE_REPEAT = 2
# Size of the candidate pool that is reranked; paging cannot go past it.
CANDIDATES = 100
# Blend weight and threshold were chosen together on the benchmark's typo'd queries and random
# strings: at 0.4 / 0.45 no found target was cut and ~97% of random strings got no result.
COSINE_WEIGHT = 0.4
MIN_SCORE = 0.45
# A match in the summary or tags counts a little less than the same match in the title.
BODY_DISCOUNT = 0.9
# Below this best score the query may be a question around what is sought: its core and its
# pinyin reading are tried as well. At 0.6 (not 0.8) exact fragments of long titles, which score
# 0.6-0.8, skip it: the same questions are found, and fragment ranking and latency at 200k titles
# stay as they were (BENCHMARKS.md).
CONFIDENT = 0.6
# A core's scores are multiplied by (its specificity) ** this. Exponents chosen on question templates
# of a scratch set, neither the benchmark's nor the tests': a lower one finds more questions but
# lets partial matches outrank typo'd fragments' titles (BENCHMARKS.md).
CORE_SPECIFICITY_POWER = 1.0
# How many documents holding most of a question's word weight are scored on their core.
CORE_POOL = 200
# A core's score is also multiplied by (its share of the query's word weight) ** this: of two
# documents holding parts of the query, the one holding more of its weight ranks first.
CORE_SHARE_POWER = 0.25
# A pinyin match counts a little less than the same match typed in characters.
PINYIN_DISCOUNT = 0.95


@dataclass(frozen=True)
class Doc:
    """One catalogue entry as the index sees it; `body` is the article's plain text."""

    id: int
    title: str
    summary: str = ""
    tags: tuple[str, ...] = ()
    body: str = ""


@dataclass(frozen=True)
class Hit:
    """One search result: the document id, its relevance in [0, 1], and, when only the article's
    body matched, a quote of the body around the match."""

    id: int
    score: float
    snippet: str = ""


@dataclass(frozen=True)
class _Ranked:
    position: int
    score: float
    quote_for: str = ""  # a body match: the query text to quote the body around


class SearchIndex:
    """An immutable search index; build it with `SearchIndex.build`.

    Nothing is mutated after construction (the arrays are read-only, the tuples and tables are
    only read), so any number of threads may call `search` at once, and a rebuilt index can
    replace an old one by a plain assignment.
    """

    __slots__ = ("_ids", "_titles", "_details", "_texts", "_postings", "_pinyin", "_bodies", "_synonyms")

    def __init__(self, ids: np.ndarray, titles: Sequence[str], details: Sequence[str], postings: Postings,
                 pinyin: PinyinIndex, bodies: Bodies, synonyms: Table) -> None:
        self._ids = ids
        self._titles = titles
        self._details = details
        self._texts = tuple(f"{title} {detail}" for title, detail in zip(titles, details))
        self._postings = postings
        self._pinyin = pinyin
        self._bodies = bodies
        self._synonyms = synonyms
        ids.flags.writeable = False

    @classmethod
    def build(cls, docs: Iterable[Doc], synonyms: Iterable[Iterable[str]] = ()) -> SearchIndex:
        """Index `docs` (ids must be unique); each group of `synonyms` lists words that mean the same."""
        docs = list(docs)
        ids = np.fromiter((doc.id for doc in docs), dtype=np.int64, count=len(docs))
        if len(np.unique(ids)) != len(ids):
            raise ValueError("document ids must be unique")
        titles = tuple(normalize(doc.title) for doc in docs)
        details = tuple(_details(doc) for doc in docs)
        texts = [" ".join([title] * TITLE_REPEAT + [detail]) for title, detail in zip(titles, details)]
        postings = Postings.build(texts, analyzer=ANALYZER, ngram_range=NGRAM_RANGE)
        load_segmenter()
        return cls(ids, titles, details, postings, PinyinIndex.build(titles),
                   Bodies.build([doc.body for doc in docs]), group_table(synonyms))

    def __len__(self) -> int:
        return len(self._ids)

    def search(self, query: str, limit: int = 5, offset: int = 0) -> list[Hit]:
        """Return hits `offset`..`offset + limit - 1` of the ranking for `query`, best first.

        The ranking does not depend on `limit` or `offset`, so consecutive pages are disjoint and
        in order. Only the best `CANDIDATES` documents of each way of reading the query are ranked.
        """
        if limit <= 0 or offset < 0:
            return []
        query_terms = terms(query)
        if not query_terms:
            return []
        return [self._hit(ranked) for ranked in self._rank(query_terms)[offset : offset + limit]]

    def _hit(self, ranked: _Ranked) -> Hit:
        quote = self._bodies.quote(ranked.position, ranked.quote_for) if ranked.quote_for else ""
        return Hit(id=int(self._ids[ranked.position]), score=ranked.score, snippet=quote)

    def _rank(self, query_terms: list[str]) -> list[_Ranked]:
        """Title matches above `MIN_SCORE`, best first, then body-only matches, best first."""
        text = "".join(query_terms)
        scores: dict[int, float] = {}
        body_queries = []
        for variant in [query_terms] + [[v] for v in variants(text, self._synonyms)]:
            body_queries.append("".join(variant))
            found, cosine = self._title_scores(variant)
            _merge(scores, found)
            if max(found.values(), default=0.0) < CONFIDENT:
                cores = self._core_scores("".join(variant), cosine, found)
                _merge(scores, {i: s for i, (s, _) in cores.items()})
                if cores:
                    body_queries.append(max(cores.values())[1])  # the best-scored document's core
        if max(scores.values(), default=0.0) < CONFIDENT and (window := best_window(query_terms, self._postings,
                                                                                       self._texts)):
            found, _ = self._title_scores([window.text])
            _merge(scores, {i: s * window.factor for i, s in found.items()})
            body_queries.append(window.text)
        if max(scores.values(), default=0.0) < CONFIDENT:
            _merge(scores, {i: s * PINYIN_DISCOUNT for i, s in self._pinyin.matches(query_terms).items()})
        titles = sorted((_Ranked(i, s) for i, s in scores.items() if s >= MIN_SCORE), key=_order)
        return titles + self._body_matches(body_queries, {r.position for r in titles})

    def _title_scores(self, query_terms: list[str]) -> tuple[dict[int, float], np.ndarray | None]:
        """Catalogue position -> score of every candidate of the query (no threshold), and the
        query's cosine with every document (None when it shares no n-gram with any)."""
        cosine = self._postings.cosine("".join(query_terms))
        if cosine is None:
            return {}, None
        candidates = top(cosine, CANDIDATES)
        fuzzy = np.maximum(
            _fuzzy(query_terms, [self._titles[i] for i in candidates]),
            BODY_DISCOUNT * _fuzzy(query_terms, [self._details[i] for i in candidates]),
        )
        # The float32 postings can put an exact match a hair above 1.
        scores = np.minimum(COSINE_WEIGHT * cosine[candidates] + (1.0 - COSINE_WEIGHT) * fuzzy, 1.0)
        return dict(zip(candidates.tolist(), scores.tolist())), cosine

    def _core_scores(self, query: str, cosine: np.ndarray | None,
                     found: dict[int, float]) -> dict[int, tuple[float, str]]:
        """Position -> (score, core) of the documents holding most of the query's words, and of the
        query's candidates (`found`), each scored as if its core (`search.core`) had been the query,
        times `_core_factor`."""
        if cosine is None:
            return {}
        cores = held_cores(query, self._postings, self._texts.__getitem__, CORE_POOL, also=found)
        by_core: dict[str, list[int]] = {}
        for position, core in cores.items():
            if _core_factor(core) >= MIN_SCORE:  # others cannot reach the threshold
                by_core.setdefault(core.text, []).append(position)
        weights = self._postings.gram_weights(query) if by_core else {}
        scores = {}
        for text, positions in by_core.items():
            # The document shares n-grams with the query only inside its core, so its cosine with the
            # core alone is its cosine with the query over the norm of the core's part of the query.
            grams = self._postings.grams(text)
            core_norm = math.sqrt(sum(weights.get(gram, 0.0) ** 2 for gram in grams)) or 1.0
            fuzzy = self._core_fuzzy(cores[positions[0]].words if text == query else (text,), positions)
            for position, match in zip(positions, fuzzy.tolist()):
                blend = COSINE_WEIGHT * min(cosine[position] / core_norm, 1.0) + (1.0 - COSINE_WEIGHT) * match
                scores[position] = (float(min(blend, 1.0)) * _core_factor(cores[position]), text)
        return scores

    def _core_fuzzy(self, words: tuple[str, ...], positions: list[int]) -> np.ndarray:
        """How well the documents match the held words: as one string, or, for a document holding
        every word of the query, word by word in any order."""
        titles, details = [self._titles[i] for i in positions], [self._details[i] for i in positions]
        fuzzy = np.maximum(_fuzzy(["".join(words)], titles), BODY_DISCOUNT * _fuzzy(["".join(words)], details))
        if len(words) > 1:
            by_word = np.maximum(_fuzzy(list(words), titles), BODY_DISCOUNT * _fuzzy(list(words), details))
            fuzzy = np.maximum(fuzzy, by_word)
        return fuzzy

    def _body_matches(self, queries: list[str], taken: set[int]) -> list[_Ranked]:
        """Documents whose body holds one of `queries`, not among `taken`, scored below `MIN_SCORE`."""
        best: dict[int, _Ranked] = {}
        for query in dict.fromkeys(queries):
            for position, match in self._bodies.matches(query).items():
                score = MIN_SCORE * match
                if position not in taken and score > getattr(best.get(position), "score", 0.0):
                    best[position] = _Ranked(position, score, quote_for=query)
        return sorted(best.values(), key=_order)


def _core_factor(core: Core) -> float:
    """What a core's score is multiplied by, and so the most it can score."""
    return core.specificity**CORE_SPECIFICITY_POWER * core.share**CORE_SHARE_POWER


def _order(ranked: _Ranked) -> tuple[float, int]:
    """Best score first; equal scores keep catalogue order so the ranking is deterministic."""
    return -ranked.score, ranked.position


def _merge(scores: dict[int, float], found: dict[int, float]) -> None:
    for position, score in found.items():
        if score > scores.get(position, 0.0):
            scores[position] = score


def _details(doc: Doc) -> str:
    """The summary and tags in matching form, one space-separated field each."""
    fields = (normalize(field) for field in (doc.summary, *doc.tags))
    return " ".join(field for field in fields if field)


def _fuzzy(query_terms: list[str], texts: list[str]) -> np.ndarray:
    """How well the query matches each text, in [0, 1]: rapidfuzz's partial_ratio of the whole
    query, or, if the user separated words, the length-weighted mean of each term's partial_ratio
    when that is higher -- so "入门 机器学习" matches "机器学习入门" as well as the reverse order.
    """
    whole = process.cdist(["".join(query_terms)], texts, scorer=fuzz.partial_ratio, dtype=np.float32)[0]
    if len(query_terms) > 1:
        per_term = process.cdist(query_terms, texts, scorer=fuzz.partial_ratio, dtype=np.float32)
        lengths = np.array([len(term) for term in query_terms], dtype=np.float32)
        whole = np.maximum(whole, lengths @ per_term / lengths.sum())
    return whole / 100.0
