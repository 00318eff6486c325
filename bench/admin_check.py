"""What knowing admins added with #auth costs each message: the pipeline as it is, against the same app
with the database look-up switched off (the old rule: [admin] openids only), in the same process.

Two kinds of message go straight into the WSGI callable, in alternating blocks of fresh messages for the
two variants, after a warm-up: "帮助" texts and menu clicks as bench/webhook.py makes them (help shows
the creators' section to admins, so it must ask), and ordinary texts (a search: nobody asks, the flag is
lazy). The figure is the ratio of the mean time per message (with / without), per backend and kind.

    .venv/bin/python bench/admin_check.py [--backends sqlite,postgres] [--messages 1000]
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.harness import (  # noqa: E402
    Dist, Progress, add_backend_options, background_busy, captured_logs, close_database, forget_redis_keys, ms,
    note, option_list, prepare_backend, start_report,
)
from bench.webhook import MessageFactory, Msg, bench_settings, post_message  # noqa: E402
from tests import wire  # noqa: E402

VARIANTS = ("with #auth admins", "config only")
KINDS = ("help", "search")
_serial = iter(range(10**9))


def batch(factory: MessageFactory, kind: str, count: int) -> list[Msg]:
    if kind == "help":
        return factory.batch(count)
    made = []
    for _ in range(count):
        n = next(_serial)
        openid = factory.openids[n % len(factory.openids)]
        query = wire.signed_query(factory.token, nonce=f"s{n:x}")
        query["openid"] = openid
        made.append(Msg("text", urlencode(query), wire.text_xml(openid, "机器学习入门", 7_000_000_000 + n).encode()))
    return made


@contextlib.contextmanager
def lookup(enabled: bool):
    """The variant: the stored-admin query as shipped, or never asked (the rule before it existed)."""
    from store import admins

    original = admins.granted
    if not enabled:
        admins.granted = lambda openid: False
    try:
        yield
    finally:
        admins.granted = original


def run(name: str, args: argparse.Namespace, tmpdir: Path) -> dict[str, Dist]:
    from bot import create_app

    backend = prepare_backend(name, args.pg_url, args.redis_url, tmpdir)
    settings = bench_settings(backend)
    note(f"{backend.label} (machine busy before: {background_busy():.0%})")
    samples: dict[tuple[str, str], list[float]] = {(v, k): [] for v in VARIANTS for k in KINDS}
    with captured_logs(tmpdir / f"{name}.log"):
        app = create_app(settings)
        factory = MessageFactory(settings.wechat.token)
        try:
            for variant in VARIANTS:  # warm-up
                with lookup(variant == VARIANTS[0]):
                    for kind in KINDS:
                        for message in batch(factory, kind, 50):
                            post_message(app, message)
            total = 2 * len(KINDS) * args.messages
            progress, done = Progress(name, total), 0
            while done < total:
                for variant in VARIANTS:
                    with lookup(variant == VARIANTS[0]):
                        for kind in KINDS:
                            for message in batch(factory, kind, 50):
                                started = time.perf_counter()
                                status, _ = post_message(app, message)
                                samples[(variant, kind)].append(time.perf_counter() - started)
                                assert status == 200
                            done += 50
                progress.update(done)
        finally:
            close_database(app.services.database)
            if backend.name == "postgres":
                forget_redis_keys(backend.redis_url, settings.wechat.appid)
    return {key: Dist.of(values) for key, values in samples.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument("--messages", type=int, default=1000, help="per variant and kind")
    add_backend_options(parser, "postgresql://postgres@127.0.0.1:5432/bench_admin", "redis://127.0.0.1:6379/14")
    args = parser.parse_args(argv)
    start_report("bench/admin_check.py", argv)
    with tempfile.TemporaryDirectory() as tmp:
        for name in option_list(parser, args.backends, ("sqlite", "postgres"), "backend"):
            result = run(name, args, Path(tmp))
            for kind in KINDS:
                with_lookup, without = (result[(v, kind)] for v in VARIANTS)
                print(f"{name} {kind}: mean {ms(with_lookup.mean)} ms with the look-up, {ms(without.mean)} ms "
                      f"without (p99 {ms(with_lookup.p99)} / {ms(without.p99)}); "
                      f"ratio {with_lookup.mean / without.mean:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
