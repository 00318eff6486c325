"""The asked-other-ways part of bench/search.py: pieces of real titles asked as questions, in pinyin,
as initials and mixed, and the Latin words of titles (「iPhone」, 「NBA」) asked inside Chinese questions;
a way scores when the top result's title holds what was asked for."""

from __future__ import annotations

import random
import re
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from pypinyin import Style, lazy_pinyin
from tqdm import tqdm

from search import SearchIndex, normalize

# How followers ask in chat; the tests and the code contain none of these (see BENCHMARKS.md).
QUESTIONS = (
    "有没有讲{}的", "想了解一下{}", "{}是怎么回事", "请问{}的文章有吗", "能推荐点{}相关的吗", "我想找{}方面的内容",
    "{}有什么好文章？", "给我来点{}的", "求推荐：{}", "最近{}怎么样了", "帮我搜一下{}", "{}的资料有吗？谢谢",
)


@dataclass(frozen=True)
class AskedReport:
    """Share of pieces whose top result contains them, asked bare and asked other ways."""

    pieces: int
    shares: dict[str, float]  # way of asking -> share
    latency_ms: dict[str, tuple[float, float]]  # way of asking -> (p50, p95)


def _han_piece(title: str, rng: random.Random) -> str | None:
    """3-4 consecutive Chinese characters of `title` (the issue's "piece of a title"), or None."""
    runs = [run for run in re.findall(r"[\u4e00-\u9fff]+", title) if len(run) >= 3]
    if not runs:
        return None
    run = rng.choice(runs)
    size = min(len(run), rng.randint(3, 4))
    start = rng.randrange(len(run) - size + 1)
    return run[start : start + size]


def asked_ways(piece: str, rng: random.Random) -> dict[str, str]:
    syllables = lazy_pinyin(piece, style=Style.NORMAL)  # with pypinyin's phrase readings, as people type
    return {
        "bare piece": piece,
        "question": rng.choice(QUESTIONS).format(piece),
        "pinyin": "".join(syllables),
        "pinyin, spaced": " ".join(syllables),
        "initials": "".join(s[0] for s in syllables),
        "mixed": piece[:2] + "".join(syllables[2:]),
    }


def run_asked(index: SearchIndex, titles: Sequence[str], count: int, rng: random.Random) -> AskedReport:
    """`count` pieces of random titles, each asked every way; a way scores when the top result's
    title contains the piece (any title holding it will do: the piece is what was asked for)."""
    norm_titles = [normalize(title) for title in titles]
    pieces = []
    while len(pieces) < count:
        piece = _han_piece(titles[rng.randrange(len(titles))], rng)
        if piece:
            pieces.append((piece, asked_ways(piece, rng)))
    hits: dict[str, list[bool]] = {}
    latencies: dict[str, list[float]] = {}
    for piece, ways in tqdm(pieces, desc="asked ways @ 20,000", file=sys.stderr, leave=False):
        wanted = normalize(piece)
        for way, text in ways.items():
            start = time.perf_counter()
            found = index.search(text, limit=1)
            latencies.setdefault(way, []).append(time.perf_counter() - start)
            hits.setdefault(way, []).append(bool(found) and wanted in norm_titles[found[0].id])
    return AskedReport(
        pieces=count,
        shares={way: float(np.mean(values)) for way, values in hits.items()},
        latency_ms={way: tuple(float(x) for x in np.percentile(values, [50, 95]) * 1000)
                    for way, values in latencies.items()},
    )


def print_asked(report: AskedReport) -> None:
    bare = report.shares["bare piece"]
    print(f"\nAsked other ways (20,000 titles, {report.pieces} pieces of 3-4 characters): share whose top result "
          "contains the piece\n")
    print("| asked as | share | vs bare piece | p50 ms | p95 ms |")
    print("|---|---:|---:|---:|---:|")
    for way, share in report.shares.items():
        p50, p95 = report.latency_ms[way]
        print(f"| {way} | {share:.3f} | {share - bare:+.3f} ({share / bare:.2f}x) | {p50:.2f} | {p95:.2f} |")


_LATIN = re.compile(r"(?<![A-Za-z0-9])[A-Za-z][A-Za-z0-9]+(?![A-Za-z0-9])")  # 2+ characters, a letter first


def _latin_word(title: str, rng: random.Random) -> str:
    return rng.choice(_LATIN.findall(title))


def run_latin(index: SearchIndex, titles: Sequence[str], count: int, rng: random.Random) -> dict[str, float]:
    """`count` Latin words of random titles, asked bare and inside a question; a way scores when the top
    result's title holds the word whole."""
    norm_titles = [normalize(title) for title in titles]
    holding = [title for title in titles if _LATIN.search(title)]
    hits: dict[str, list[bool]] = {"bare word": [], "question": []}
    for _ in tqdm(range(count), desc="latin words @ 20,000", file=sys.stderr, leave=False):
        word = _latin_word(rng.choice(holding), rng)
        whole = re.compile(f"(?<![a-z0-9]){re.escape(normalize(word))}(?![a-z0-9])")
        for way, text in (("bare word", word), ("question", rng.choice(QUESTIONS).format(word))):
            found = index.search(text, limit=1)
            hits[way].append(bool(found) and bool(whole.search(norm_titles[found[0].id])))
    return {way: float(np.mean(values)) for way, values in hits.items()}


def print_latin(shares: dict[str, float], count: int) -> None:
    print(f"\nLatin words of titles asked inside Chinese questions (20,000 titles, {count} words): share whose "
          "top result holds the word\n")
    print("| asked as | share | vs bare word |\n|---|---:|---:|")
    for way, share in shares.items():
        print(f"| {way} | {share:.3f} | {share - shares['bare word']:+.3f} |")
