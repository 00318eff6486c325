"""Benchmark `search.SearchIndex` against brute-force rapidfuzz over real Chinese news titles.

Catalogue: the 20,000 THUCNews titles in ../shared/data/thucnews, then 200,000 titles synthesised
from them. Queries are made from catalogue titles the way followers mistype them (a fragment, a
fragment with a typo, a dropped or swapped character, halves reordered, filler words, full-width
forms and stray spaces); the title a query was made from is its target. Reports per-query latency
p50/p95 and MRR@5 for our index and for `process.extract(..., scorer=fuzz.WRatio | fuzz.partial_ratio,
limit=5)` over the same normalised titles, measured in the same run, and how many random strings our
index answers with no result.

    .venv/bin/python bench/search.py [--queries 500] [--seed 7] [--data DIR] [--asked-only]
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import string
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from rapidfuzz import fuzz, process
from tqdm import tqdm

# Run as a script, this file's folder comes first on sys.path and its own name would shadow the
# `search` package: put the project root in front.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.search_asked import print_asked, print_latin, run_asked, run_latin  # noqa: E402
from search import Doc, SearchIndex, normalize  # noqa: E402

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared/data/thucnews"
LIMIT = 5
FILLERS = ("关于{}", "{}的文章", "有没有{}", "我想看{}", "{}相关内容", "求一篇{}")
SUFFIXES = ("", "", "(组图)", "（图）", " 最新消息", "：专家解读", "[视频]", " 全文", "（第{}期）", " {}年回顾")

# A ranker maps a query to the catalogue positions of its top results, best first.
Ranker = Callable[[str], list[int]]


@dataclass(frozen=True)
class Query:
    text: str
    target: int  # catalogue position of the title the query was made from
    kind: str


@dataclass(frozen=True)
class Result:
    catalog: int
    method: str
    queries: int
    p50_ms: float
    p95_ms: float
    mrr: float
    mrr_by_kind: dict[str, float]
    no_result: float  # share of queries answered with nothing


def load_catalog(data_dir: Path) -> list[tuple[str, str]]:
    """(title, class name) for every line of dev.txt and test.txt."""
    classes = (data_dir / "class.txt").read_text(encoding="utf-8").split()
    catalog = []
    for name in ("dev.txt", "test.txt"):
        for line in (data_dir / name).read_text(encoding="utf-8").splitlines():
            title, label = line.rsplit("\t", 1)
            catalog.append((title, classes[int(label)]))
    return catalog


def synthesize(catalog: Sequence[tuple[str, str]], total: int, rng: random.Random) -> list[tuple[str, str]]:
    """The real titles plus new ones, each the first half of one title, the second half of another
    and a suffix, until there are `total` (deterministic for a given `rng` state)."""
    grown = list(catalog)
    while len(grown) < total:
        (head, tag), (tail, _) = rng.sample(catalog, 2)
        suffix = rng.choice(SUFFIXES).format(rng.randint(1, 2012))
        grown.append((head[: len(head) // 2] + tail[len(tail) // 2 :] + suffix, tag))
    return grown


def make_queries(titles: Sequence[str], count: int, rng: random.Random) -> list[Query]:
    """`count` queries, kinds in turn, each from a random title."""
    kinds = list(MUTATIONS)
    queries = []
    for i in range(count):
        target = rng.randrange(len(titles))
        kind = kinds[i % len(kinds)]
        queries.append(Query(MUTATIONS[kind](titles[target], rng), target, kind))
    return queries


def _fragment(title: str, rng: random.Random, shortest: int = 4) -> str:
    size = min(len(title), rng.randint(shortest, 10))
    start = rng.randrange(len(title) - size + 1)
    return title[start : start + size]


def _fragment_typo(title: str, rng: random.Random) -> str:
    """A fragment of 5-10 characters with one character dropped or two adjacent ones swapped."""
    return rng.choice((_drop_char, _swap_adjacent))(_fragment(title, rng, shortest=5), rng)


def _non_space_position(title: str, rng: random.Random, end: int) -> int:
    return rng.choice([i for i in range(end) if not title[i].isspace()])


def _drop_char(title: str, rng: random.Random) -> str:
    i = _non_space_position(title, rng, len(title))
    return title[:i] + title[i + 1 :]


def _swap_adjacent(title: str, rng: random.Random) -> str:
    i = _non_space_position(title, rng, len(title) - 1)
    return title[:i] + title[i + 1] + title[i] + title[i + 2 :]


def _reorder(title: str, rng: random.Random) -> str:
    """Swap the two halves, split at a random space (kept between them) if there is one, else in
    the middle (joined without a space)."""
    spaces = [i for i, ch in enumerate(title) if ch == " "]
    if spaces:
        cut = rng.choice(spaces)
        return title[cut + 1 :] + " " + title[:cut]
    middle = len(title) // 2
    return title[middle:] + title[:middle]


def _add_filler(title: str, rng: random.Random) -> str:
    return rng.choice(FILLERS).format(title)


def _wide_and_spaced(title: str, rng: random.Random) -> str:
    """ASCII to full-width forms, plus a space (ASCII or ideographic) at two random places."""
    wide = "".join(chr(ord(ch) + 0xFEE0) if "!" <= ch <= "~" else ch for ch in title)
    for _ in range(2):
        i = rng.randrange(1, len(wide))
        wide = wide[:i] + rng.choice((" ", "\u3000")) + wide[i:]
    return wide


MUTATIONS: dict[str, Callable[[str, random.Random], str]] = {
    "fragment": _fragment,
    "fragment+typo": _fragment_typo,
    "drop": _drop_char,
    "swap": _swap_adjacent,
    "reorder": _reorder,
    "filler": _add_filler,
    "width": _wide_and_spaced,
}


def measure(
    catalog_size: int, method: str, rank: Ranker, queries: Sequence[Query], norm_titles: Sequence[str]
) -> Result:
    """Time `rank` on each query and score MRR@5; any title equal to the target (after
    normalisation) counts as the target, since the catalogue has a few duplicate titles."""
    latencies, reciprocal, empty = [], [], 0
    by_kind: dict[str, list[float]] = {}
    for query in tqdm(queries, desc=f"{method} @ {catalog_size:,}", file=sys.stderr, leave=False):
        start = time.perf_counter()
        found = rank(query.text)
        latencies.append(time.perf_counter() - start)
        empty += not found
        target = norm_titles[query.target]
        position = next((r for r, i in enumerate(found[:LIMIT], 1) if norm_titles[i] == target), None)
        reciprocal.append(1.0 / position if position else 0.0)
        by_kind.setdefault(query.kind, []).append(reciprocal[-1])
    p50, p95 = np.percentile(latencies, [50, 95]) * 1000
    return Result(
        catalog=catalog_size,
        method=method,
        queries=len(queries),
        p50_ms=float(p50),
        p95_ms=float(p95),
        mrr=float(np.mean(reciprocal)),
        mrr_by_kind={kind: float(np.mean(values)) for kind, values in by_kind.items()},
        no_result=empty / len(queries),
    )


def nonsense_queries(titles: Sequence[str], count: int, rng: random.Random) -> list[str]:
    """Strings that should find nothing: 3-8 random characters drawn from the catalogue's 1,500
    most frequent ones (half), from all its characters (a quarter), or 4-10 random Latin letters."""
    characters = Counter("".join(titles))
    frequent = [ch for ch, _ in characters.most_common(1500)]
    # (alphabet, shortest, longest), taken in turn
    pools = ((frequent, 3, 8), (frequent, 3, 8), (sorted(characters), 3, 8), (string.ascii_lowercase, 4, 10))
    queries = []
    for i in range(count):
        alphabet, shortest, longest = pools[i % len(pools)]
        queries.append("".join(rng.choice(alphabet) for _ in range(rng.randint(shortest, longest))))
    return queries


def brute_force(norm_titles: Sequence[str], scorer: Callable[..., float]) -> Ranker:
    def rank(query: str) -> list[int]:
        return [i for _, _, i in process.extract(normalize(query), norm_titles, scorer=scorer, limit=LIMIT)]

    return rank


def ours(index: SearchIndex) -> Ranker:
    # Doc ids are catalogue positions, so hit ids index the title list directly.
    return lambda query: [hit.id for hit in index.search(query, limit=LIMIT)]


def build_index(catalog: Sequence[tuple[str, str]]) -> tuple[SearchIndex, float]:
    print(f"building the index over {len(catalog):,} titles ...", file=sys.stderr, flush=True)
    start = time.perf_counter()
    index = SearchIndex.build(Doc(id=i, title=title, tags=(tag,)) for i, (title, tag) in enumerate(catalog))
    seconds = time.perf_counter() - start
    print(f"  built in {seconds:.1f} s", file=sys.stderr, flush=True)
    return index, seconds


@dataclass(frozen=True)
class SizeReport:
    catalog: int
    build_seconds: float
    results: list[Result]
    nonsense_no_result: float


def run_size(
    catalog: Sequence[tuple[str, str]], query_count: int, brute_queries: int, rng: random.Random
) -> SizeReport:
    """Our index on all queries, brute force on the first `brute_queries` of them (and ours again
    on that subset when it is smaller, so that MRRs and latencies are compared on the same queries)."""
    raw_titles = [title for title, _ in catalog]
    titles = [normalize(title) for title in raw_titles]
    queries = make_queries(raw_titles, query_count, rng)
    nonsense = nonsense_queries(titles, 200, rng)
    index, build_seconds = build_index(catalog)
    size, subset = len(catalog), queries[:brute_queries]
    results = [measure(size, "ours", ours(index), queries, titles)]
    if len(subset) < len(queries):
        results.append(measure(size, "ours (subset)", ours(index), subset, titles))
    for name, scorer in (("WRatio", fuzz.WRatio), ("partial_ratio", fuzz.partial_ratio)):
        results.append(measure(size, f"brute {name}", brute_force(titles, scorer), subset, titles))
    nonsense_no_result = sum(not index.search(query) for query in nonsense) / len(nonsense)
    return SizeReport(size, build_seconds, results, nonsense_no_result)


def print_report(reports: Sequence[SizeReport], args: argparse.Namespace, load_at_start: float) -> None:
    print(
        f"date {time.strftime('%Y-%m-%d')}, python {platform.python_version()}, nproc {len(os.sched_getaffinity(0))}, "
        f"seed {args.seed}, 1-min load average at start {load_at_start:.2f} / at end {os.getloadavg()[0]:.2f}"
    )
    print("\n| titles | method | queries | p50 ms | p95 ms | MRR@5 | no result |")
    print("|---:|---|---:|---:|---:|---:|---:|")
    for report in reports:
        for r in report.results:
            print(
                f"| {r.catalog:,} | {r.method} | {r.queries} | {r.p50_ms:.2f} | {r.p95_ms:.2f} | {r.mrr:.3f} "
                f"| {r.no_result:.1%} |"
            )
    kinds = list(MUTATIONS)
    print("\nMRR@5 by query kind\n")
    print("| titles | method | " + " | ".join(kinds) + " |")
    print("|---:|---|" + "---:|" * len(kinds))
    for report in reports:
        for r in report.results:
            cells = " | ".join(f"{r.mrr_by_kind.get(kind, float('nan')):.3f}" for kind in kinds)
            print(f"| {r.catalog:,} | {r.method} | {cells} |")
    print()
    for report in reports:
        by_method = {r.method: r for r in report.results}
        mine = by_method.get("ours (subset)", by_method["ours"])
        ratios = ", ".join(
            f"{r.method} p50 x{r.p50_ms / mine.p50_ms:.0f} p95 x{r.p95_ms / mine.p95_ms:.0f}"
            for r in report.results
            if r.method.startswith("brute")
        )
        print(
            f"- {report.catalog:,} titles: build {report.build_seconds:.1f} s; brute force / ours latency "
            f"(same queries): {ratios}; nonsense queries answered with no result: {report.nonsense_no_result:.1%}"
        )


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--queries", type=int, default=500, help="queries per catalogue size (default 500)")
    parser.add_argument("--seed", type=int, default=7, help="seed for queries and synthetic titles (default 7)")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help=f"THUCNews folder (default {DEFAULT_DATA})")
    parser.add_argument("--large", type=int, default=200_000, help="size of the synthetic catalogue (default 200000)")
    parser.add_argument("--asked", type=int, default=500, help="pieces asked in other ways at 20k (default 500)")
    parser.add_argument("--asked-only", action="store_true", help="only the asked-other-ways set (20k)")
    parser.add_argument(
        "--brute-queries-large",
        type=int,
        default=100,
        help="queries given to brute force on the large catalogue, where it is slow (default 100)",
    )
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    # Other processes on the machine inflate the tail latencies: the report shows the load.
    load_at_start = os.getloadavg()[0]
    rng = random.Random(args.seed)
    real = load_catalog(args.data)
    if args.asked_only:
        index, _ = build_index(real)
        print_asked_parts(index, [title for title, _ in real], args)
        return
    large = synthesize(real, args.large, rng)
    reports = [
        run_size(real, args.queries, args.queries, rng),
        run_size(large, args.queries, args.brute_queries_large, rng),
    ]
    print_report(reports, args, load_at_start)
    # Its own generator, so the figures above stay those of the runs before this set existed.
    index, _ = build_index(real)
    print_asked_parts(index, [title for title, _ in real], args)


def print_asked_parts(index: SearchIndex, titles: list[str], args: argparse.Namespace) -> None:
    """Each part its own generator, so adding one leaves the figures of the others as they were."""
    print_asked(run_asked(index, titles, args.asked, random.Random(args.seed)))
    print_latin(run_latin(index, titles, args.asked, random.Random(args.seed + 1)), args.asked)


if __name__ == "__main__":
    main()
