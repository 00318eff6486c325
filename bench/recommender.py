"""Benchmark the recommender on THUCNews titles, with baselines computed in the same run.

- class protocol: simulated followers each read 5 titles of one class; precision@10 = share of the 10
  recommendations in the follower's class (opened titles count as misses if returned). Baseline: TF-IDF over
  character 1-2 grams, mean of the 5 vectors, cosine.
- co-reading protocol: taste groups that cut across classes (each group reads from its own titles, drawn
  from every class); precision@10 = share of recommendations from the follower's group, unopened.
  Candidates: content alone, co-reading alone, implicit's ALS (r = u.v, and as item neighbours), the hybrids.
- class protocol among noise: the class followers among 4x as many readers of random titles.
- sparse co-reading protocol: 20 followers per group, 5 reads in the group and 5 anywhere.
- reasons: on the class protocol, how often 「因为你读过《X》」 names an X of the item's own class, with each
  item's reason floor (recommender.content.reason_floors) and without it, in the same run.
- batch: N followers x the catalog grown to M items, ~20 synthetic interactions each: wall time and peak
  memory of everyone's top 10 through recommender.rank.batch, against a per-follower loop in the same run.

    .venv/bin/python bench/recommender.py [--part class,noise,coread,sparse,reasons,batch] [--followers 1000] [--seed 7]
        [--batch-followers 100000] [--batch-items 20000] [--analyzers char,jieba]
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import random
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # implicit's ALS asks for it

import numpy as np  # noqa: E402
from scipy import sparse  # noqa: E402
from sklearn.feature_extraction.text import TfidfVectorizer  # noqa: E402
from sklearn.preprocessing import normalize  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.harness import note, start_report  # noqa: E402
from recommender.collab import WEIGHTS, als_neighbours  # noqa: E402
from recommender.evaluate import variants  # noqa: E402
from recommender.fit import CO_NEIGHBOURS, fit_model  # noqa: E402
from recommender.model import FittedModel  # noqa: E402
from recommender.rank import batch  # noqa: E402
from recommender.types import Item  # noqa: E402

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "thucnews"
K = 10
PARTS = ("class", "noise", "coread", "sparse", "reasons", "batch")


def load_titles(data: Path) -> tuple[list[str], np.ndarray]:
    titles, labels = [], []
    for name in ("dev.txt", "test.txt"):
        for line in (data / name).read_text(encoding="utf-8").splitlines():
            title, label = line.rsplit("\t", 1)
            titles.append(title)
            labels.append(int(label))
    return titles, np.array(labels)


# ---------------------------------------------------------------- simulated followers


def class_readers(labels: np.ndarray, followers: int, reads: int, rng: random.Random) -> tuple[list, list]:
    """Each follower picks a class and reads `reads` of its titles: (read item lists, class per follower)."""
    by_class = {c: np.flatnonzero(labels == c).tolist() for c in np.unique(labels)}
    history, truth = [], []
    for n in range(followers):
        cls = sorted(by_class)[n % len(by_class)]
        history.append(rng.sample(by_class[cls], reads))
        truth.append(set(by_class[cls]))
    return history, truth


def taste_groups(labels: np.ndarray, groups: int, per_class: int, followers_per_group: int, reads: int,
                 noise: int, rng: random.Random) -> tuple[list, list]:
    """Groups own disjoint title sets with `per_class` titles of every class; followers read `reads` within
    theirs and `noise` titles anywhere."""
    pools = {c: rng.sample(np.flatnonzero(labels == c).tolist(), groups * per_class) for c in np.unique(labels)}
    sets = [[t for c in pools for t in pools[c][g * per_class:(g + 1) * per_class]] for g in range(groups)]
    history, truth = [], []
    for g in range(groups):
        for _ in range(followers_per_group):
            own = rng.sample(sets[g], reads)
            history.append(own + [t for t in rng.sample(range(len(labels)), noise) if t not in own])
            truth.append(set(sets[g]))
    return history, truth


def weights_of(history: Sequence[Sequence[int]], items: int) -> sparse.csr_matrix:
    rows = np.repeat(np.arange(len(history)), [len(h) for h in history])
    cols = np.concatenate([np.asarray(h) for h in history])
    return sparse.csr_matrix((np.ones(len(cols), dtype=np.float32), (rows, cols)), shape=(len(history), items))


# ---------------------------------------------------------------- rankers: follower rows -> top-k item lists


def ours(model: FittedModel, w: sparse.csr_matrix) -> list[list[int]]:
    eligible = np.ones(len(model), dtype=bool)
    return [[model.index[r.article_id] for r in recs] for recs in batch(model, w, w > 0, eligible, K)]


def plain_baseline(titles: Sequence[str], w: sparse.csr_matrix) -> list[list[int]]:
    """TF-IDF over character 1-2 grams, the mean of the read titles' vectors, cosine; opened ones removed."""
    vectors = TfidfVectorizer(analyzer="char", ngram_range=(1, 2)).fit_transform(titles)
    profiles = normalize(w @ vectors)
    out = []
    for start in range(0, w.shape[0], 256):
        scores = (profiles[start:start + 256] @ vectors.T).toarray()
        scores[w[start:start + 256].nonzero()] = -np.inf
        out.extend(np.argsort(-scores, axis=1, kind="stable")[:, :K].tolist())
    return out


def als_ranker(w: sparse.csr_matrix, seed: int) -> list[list[int]]:
    from implicit.als import AlternatingLeastSquares

    model = AlternatingLeastSquares(factors=64, regularization=0.05, iterations=15, alpha=10.0, random_state=seed)
    model.fit(w, show_progress=False)
    ids, _ = model.recommend(np.arange(w.shape[0]), w, N=K, filter_already_liked_items=True)
    return ids.tolist()


def precision(lists: Sequence[Sequence[int]], truth: Sequence[set], history: Sequence[Sequence[int]]) -> float:
    """Share of K slots holding an unopened item of the follower's class or group (short lists: misses)."""
    hits = sum(len([i for i in got if i in want and i not in set(read)])
               for got, want, read in zip(lists, truth, history))
    return hits / (K * len(lists))


def coverage(lists: Sequence[Sequence[int]], items: int) -> float:
    return len({i for got in lists for i in got}) / items


# ---------------------------------------------------------------- the parts


def protocol(name: str, titles: list[str], history: list, truth: list, analyzer: str, seed: int,
             full: bool) -> list[tuple[str, float, float]]:
    """Every method on one simulated audience; only the first len(truth) followers are scored (the rest,
    if any, are background readers). `full`: also the collaborative candidates the product did not pick."""
    items = [Item(n, title) for n, title in enumerate(titles)]
    w = weights_of(history, len(items))
    started = time.monotonic()
    model = fit_model(items, w, analyzer=analyzer, progress=True)
    note(f"  [{name}] fitted {analyzer} in {time.monotonic() - started:.1f} s")
    parts = variants(model)
    rankers = {
        "baseline: char 1-2 gram TF-IDF, mean vector, cosine": lambda: plain_baseline(titles, w),
        f"content ({analyzer})": lambda: ours(parts["content"], w),
        "collaborative: co-reading": lambda: ours(parts["collaborative"], w),
        f"**hybrid** ({analyzer} + co-reading, the product)": lambda: ours(model, w),
        "popularity": lambda: ours(parts["popularity"], w),
    }
    if full:
        als = dataclasses.replace(model, co=als_neighbours(w, CO_NEIGHBOURS),
                                  meta=dict(model.meta, co_weight=WEIGHTS["als"]))
        rankers.update({
            "candidate: implicit ALS, r = u.v (implicit's recommend)": lambda: als_ranker(w, seed),
            "candidate: ALS item neighbours alone": lambda: ours(variants(als)["collaborative"], w),
            "candidate: hybrid with ALS item neighbours": lambda: ours(als, w),
        })
    rows = []
    for label, run in rankers.items():
        started = time.monotonic()
        lists = run()[:len(truth)]
        rows.append((label, precision(lists, truth, history), coverage(lists, len(items))))
        note(f"  [{name}] {label}: {rows[-1][1]:.3f} ({time.monotonic() - started:.1f} s)")
    return rows


def print_table(title: str, rows: list[tuple[str, float, float]]) -> None:
    print(f"\n#### {title}\n\n| method | precision@{K} | catalog coverage |\n|---|--:|--:|")
    for label, value, cover in rows:
        print(f"| {label} | {value:.3f} | {cover:.1%} |")


def reasons_part(titles: list[str], labels: np.ndarray, followers: int, seed: int) -> None:
    """The class protocol's hybrid lists, their content reasons judged by class, floor on and off."""
    history, truth = class_readers(labels, followers, 5, random.Random(seed))
    w = weights_of(history, len(titles))
    model = fit_model([Item(n, title) for n, title in enumerate(titles)], w, progress=True)
    first = {title: n for n, title in reversed(list(enumerate(titles)))}
    print(f"\n#### Reasons on the class protocol: {followers} followers, top {K} each\n")
    print("| reason floor | items with 「因为你读过《X》」 | X in the item's class | in-class items named so "
          "| other reasons |\n|---|--:|--:|--:|---|")
    for label, floors in (("on (the product)", model.content_floor),
                          ("off (any similarity)", np.zeros_like(model.content_floor))):
        lists = batch(dataclasses.replace(model, content_floor=floors), w, w > 0, np.ones(len(titles), bool), K)
        named = right = in_class = in_class_named = 0
        others: dict[str, int] = {}
        for recs, want in zip(lists, truth):
            for rec in recs:
                source = rec.reason.removeprefix("因为你读过《").removesuffix("》")
                content = source != rec.reason
                in_class += rec.article_id in want
                if content:
                    named += 1
                    right += labels[first[source]] == labels[rec.article_id]
                    in_class_named += rec.article_id in want
                else:
                    others[rec.reason] = others.get(rec.reason, 0) + 1
        total = K * followers
        rest = ", ".join(f"{why} {count / total:.1%}" for why, count in sorted(others.items(), key=lambda x: -x[1]))
        print(f"| {label} | {named / total:.1%} | {right / max(named, 1):.1%} | "
              f"{in_class_named / max(in_class, 1):.1%} | {rest} |")


def noisy_class_readers(labels: np.ndarray, followers: int, background: int, rng: random.Random) -> tuple[list, list]:
    """Class followers as in the class protocol, among `background` readers of 5 random titles each."""
    history, truth = class_readers(labels, followers, 5, rng)
    return history + [rng.sample(range(len(labels)), 5) for _ in range(background)], truth


def peak_rss_during(run) -> tuple[float, float, object]:
    """Wall seconds, peak resident MB sampled every 50 ms, and the result of `run()`."""
    peak, done = [0.0], threading.Event()

    def sample() -> None:
        while not done.is_set():
            for line in Path("/proc/self/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    peak[0] = max(peak[0], int(line.split()[1]) / 1024)
            done.wait(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    started = time.monotonic()
    result = run()
    seconds = time.monotonic() - started
    done.set()
    sampler.join()
    return seconds, peak[0], result


def batch_part(titles: list[str], followers: int, items_n: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    grown = [titles[n % len(titles)] + ("" if n < len(titles) else f" 之{n // len(titles)}") for n in range(items_n)]
    items = [Item(n, t) for n, t in enumerate(grown)]
    # ~20 interactions each, skewed towards popular items, in 500 loose taste groups so co-reading has support
    group = rng.integers(0, 500, followers)
    base = rng.zipf(1.3, size=(followers, 20)) % items_n
    cols = np.where(rng.random((followers, 20)) < 0.5, (base + group[:, None] * 37) % items_n, base)
    w = sparse.csr_matrix((np.ones(cols.size, dtype=np.float32), (np.repeat(np.arange(followers), 20), cols.ravel())),
                          shape=(followers, items_n))
    w.data[:] = 1.0
    started = time.monotonic()
    model = fit_model(items, w, progress=True)
    fit_seconds = time.monotonic() - started
    eligible = np.ones(items_n, dtype=bool)
    excluded = w > 0
    base_rss = _rss()
    seconds, peak, counted = peak_rss_during(
        lambda: sum(len(recs) for recs in batch(model, w, excluded, eligible, K, progress=True)))
    loop_n = 200
    loop_seconds = _per_follower_loop(model, w[:loop_n], excluded[:loop_n])
    per_loop = loop_seconds / loop_n * followers
    print(f"\n### batch: {followers:,} followers x {items_n:,} items, {w.nnz:,} interactions\n")
    print("| what | figure |\n|---|--:|")
    print(f"| fit (content + co-reading neighbours, embedding) | {fit_seconds:.1f} s |")
    print(f"| batch top {K} for every follower (recommender.rank.batch) | {seconds:.1f} s |")
    print(f"| recommendations returned | {counted:,} |")
    print(f"| resident memory before scoring / peak while scoring | {base_rss:.0f} MB / {peak:.0f} MB |")
    print(f"| baseline: per-follower loop over the whole catalog, {loop_n} followers | {loop_seconds:.2f} s "
          f"(-> {per_loop:.0f} s for all) |")
    print(f"| batch speed-up over the loop | {per_loop / seconds:.1f}x |")


def _rss() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _per_follower_loop(model: FittedModel, w: sparse.csr_matrix, excluded: sparse.csr_matrix) -> float:
    """The thing the batch replaces: one follower at a time, the whole catalog scored and sorted."""
    started = time.monotonic()
    for u in range(w.shape[0]):
        row = w[u]
        scores = (row @ model.content).toarray().ravel() + (row @ model.co).toarray().ravel()
        scores[excluded[u].indices] = -np.inf
        np.argsort(-scores)[:K]
    return time.monotonic() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--part", default=",".join(PARTS))
    parser.add_argument("--followers", type=int, default=1000, help="class protocol followers")
    parser.add_argument("--groups", type=int, default=20, help="co-reading protocol taste groups")
    parser.add_argument("--group-followers", type=int, default=200)
    parser.add_argument("--group-reads", type=int, default=10, help="titles each reads from the group's 50")
    parser.add_argument("--batch-followers", type=int, default=100_000)
    parser.add_argument("--batch-items", type=int, default=20_000)
    parser.add_argument("--analyzers", default="char", help="char,jieba")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--data", type=Path, default=DATA)
    args = parser.parse_args(argv)
    parts = args.part.split(",")
    start_report("bench/recommender.py", argv)
    titles, labels = load_titles(args.data)
    print(f"data: {len(titles):,} THUCNews titles, {len(set(labels.tolist()))} classes")
    for analyzer in args.analyzers.split(","):
        full = analyzer == "char"
        if "class" in parts:
            history, truth = class_readers(labels, args.followers, 5, random.Random(args.seed))
            print_table(f"class protocol: {args.followers} followers x 5 titles of one class ({analyzer})",
                        protocol("class", titles, history, truth, analyzer, args.seed, full))
        if "noise" in parts and full:
            history, truth = noisy_class_readers(labels, args.followers, 4 * args.followers, random.Random(args.seed))
            print_table(f"class protocol among noise: the same followers + {4 * args.followers} readers of 5 "
                        f"random titles each", protocol("noise", titles, history, truth, analyzer, args.seed, full))
        for part, (followers, reads, noise) in (("coread", (args.group_followers, args.group_reads, 0)),
                                                 ("sparse", (20, 5, 5))):
            if part in parts and full:
                history, truth = taste_groups(labels, args.groups if part == "coread" else 50, 5, followers, reads,
                                              noise, random.Random(args.seed))
                groups = args.groups if part == "coread" else 50
                print_table(f"co-reading protocol{' (sparse)' if part == 'sparse' else ''}: {groups} groups x "
                            f"{followers} followers, {reads} reads each from the group's 50 titles (5 of every "
                            f"class) + {noise} anywhere", protocol(part, titles, history, truth, analyzer,
                                                                   args.seed, full))
    if "reasons" in parts:
        reasons_part(titles, labels, args.followers, args.seed)
    if "batch" in parts:
        batch_part(titles, args.batch_followers, args.batch_items, args.seed)
    return 0


if __name__ == "__main__":
    sys.exit(main())
