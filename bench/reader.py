"""What the H5 security baseline costs per page, against the same work without it, in one process.

- Reader body: `catalog.reader_html.article_html` (Markdown, then nh3's allow-list) against the Markdown
  rendering alone (what the reader did before), over the 30 demo articles' full text and a hostile body;
  and nh3's cleaning alone on the rendered HTML.
- Headers: a trivial WSGI app wrapped in `web.security.SecureHeaders` (nonce, CSP and the other headers)
  against the same app bare: the added time per response.

    .venv/bin/python bench/reader.py [--rounds 40]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Callable

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import markdown  # noqa: E402
import nh3  # noqa: E402
from tqdm import tqdm  # noqa: E402

from bench.harness import start_report  # noqa: E402
from catalog.reader_html import ATTRIBUTES, TAGS, article_html  # noqa: E402
from catalog.sources import markdown_folder  # noqa: E402
from catalog.text import full_text  # noqa: E402
from settings import ROOT, SiteSettings  # noqa: E402
from web.security import Policy, SecureHeaders  # noqa: E402

HOSTILE = "\n".join(['<script>alert(1)</script><img src=x onerror=alert(1)><a href="javascript:x">a</a>',
                     "<svg><script>alert(1)</script></svg><iframe srcdoc='<script>1</script>'></iframe>"] * 20)


def best_of(rounds: int, runs: dict[str, Callable[[], None]], label: str) -> dict[str, float]:
    """The fastest of `rounds` runs of each case, in seconds; the cases take turns within a round, so that
    other work on the machine falls on both alike."""
    best = dict.fromkeys(runs, float("inf"))
    for _ in tqdm(range(rounds), desc=label, file=sys.stderr, leave=False):
        for name, run in runs.items():
            started = time.perf_counter()
            run()
            best[name] = min(best[name], time.perf_counter() - started)
    return best


def plain(body: str) -> str:
    """The rendering alone, configured as article_html configures it."""
    return markdown.markdown(body, extensions=["fenced_code", "tables"], output_format="html",
                             extension_configs={"tables": {"use_align_attribute": True}})


def render_case(rounds: int, bodies: list[str], name: str) -> None:
    rendered = [plain(b) for b in bodies]
    best = best_of(rounds, {"base": lambda: [plain(b) for b in bodies],
                            "ours": lambda: [article_html(b, "https://example.org") for b in bodies],
                            "clean": lambda: [nh3.clean(html, tags=TAGS, attributes=ATTRIBUTES) for html in rendered]},
                   name)
    base, ours, clean = best["base"], best["ours"], best["clean"]
    per = 1e6 / len(bodies)
    print(f"| {name} ({len(bodies)} bodies) | {base * per:.0f} µs | {ours * per:.0f} µs | {ours / base:.2f}x "
          f"| {clean * per:.0f} µs |")


def header_case(rounds: int, calls: int) -> None:
    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]

    wrapped = SecureHeaders(app, Policy.for_site(SiteSettings(base_url="https://example.org")))
    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": "/"}

    def serve(wsgi) -> Callable[[], None]:
        return lambda: [wsgi(environ, lambda status, headers, exc_info=None: None) for _ in range(calls)]

    best = best_of(rounds, {"bare": serve(app), "secured": serve(wrapped)}, "headers")
    bare, secured = best["bare"], best["secured"]
    print(f"\nheaders layer: {(secured - bare) / calls * 1e6:.1f} µs added per response "
          f"(bare trivial app {bare / calls * 1e6:.1f} µs, wrapped {secured / calls * 1e6:.1f} µs; {calls} calls)")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=40, help="runs of each case; the fastest counts")
    args = parser.parse_args(argv)
    started = start_report("bench/reader.py", argv)
    demo = [full_text(row.fields["body"]) for row in markdown_folder(ROOT / "content" / "demo")]
    print("\n| bodies | Markdown alone | Markdown + nh3 (ours) | ratio | nh3 alone |\n|---|---|---|---|---|")
    render_case(args.rounds, demo, "demo articles")
    render_case(args.rounds, [HOSTILE] * 30, "hostile HTML")
    header_case(args.rounds, 20_000)
    print(f"\n{time.monotonic() - started:.0f} s")


if __name__ == "__main__":
    main()
