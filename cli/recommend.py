"""Recommendation commands: lists for followers, fitting the model now, and the offline evaluation."""

from __future__ import annotations

import argparse
import json
from typing import Any

from cli.common import settings_of
from store import recommend
from store.db import bind, open_database
from store.migrations import migrate


def _open(args: argparse.Namespace) -> Any:
    settings = settings_of(args)
    database = bind(open_database(settings.store.database_url))
    migrate(database)
    recommend.configure(settings.recommend)
    return database


def recommend_command(args: argparse.Namespace) -> int:
    """One list per openid; an unknown openid gets the cold-start list."""
    if args.k < 1:
        raise SystemExit("recommend: -k must be at least 1")
    with _open(args).connection_context():
        lists = recommend.recommendations()
        for openid in args.openids:
            items = lists.for_user(openid, k=args.k)
            if args.json:
                print(json.dumps({"openid": openid, "items": [
                    {"article_id": i.article_id, "title": i.title, "score": i.score, "reason": i.reason}
                    for i in items]}, ensure_ascii=False), flush=True)
            else:
                print(f"{openid}:")
                print("\n".join(f"  {n}. {i.title} ({i.score:.3f}) {i.reason}" for n, i in enumerate(items, 1))
                      or "  (nothing to recommend)")
    return 0


def fit_command(args: argparse.Namespace) -> int:
    with _open(args).connection_context():
        print(recommend.fit(progress=not args.quiet).format())
    return 0


def eval_command(args: argparse.Namespace) -> int:
    with _open(args).connection_context():
        scores = recommend.evaluate(args.k, progress=not args.quiet)
    print(f"leave-last-out, top {args.k}\n")
    print(f"| method | followers | hit rate@{args.k} | NDCG@{args.k} | catalog coverage |\n|---|--:|--:|--:|--:|")
    print("\n".join(score.row() for score in scores))
    return 0


def register(commands: Any) -> None:
    rec = commands.add_parser("recommend", help="print recommendations for followers")
    rec.add_argument("openids", nargs="+", metavar="OPENID", help="followers to recommend for (an unknown one gets the cold-start list)")
    rec.add_argument("-k", type=int, default=3, help="items per follower (default 3)")
    rec.add_argument("--json", action="store_true", help="one JSON object per line, one line per openid")
    rec.set_defaults(func=recommend_command)

    fit = commands.add_parser("recommend-fit", help="fit the recommender on the catalog and behaviour, and save it")
    fit.add_argument("--quiet", action="store_true", help="no progress bar")
    fit.set_defaults(func=fit_command)

    ev = commands.add_parser("recommend-eval", help="leave-last-out hit rate, NDCG and coverage per method")
    ev.add_argument("--k", type=int, default=10, help="list length (default 10)")
    ev.add_argument("--quiet", action="store_true", help="no progress bar")
    ev.set_defaults(func=eval_command)
