"""Coverage-guided fuzzing (atheris, libFuzzer) of the webhook and the pay notification parser.

    .venv/bin/python fuzz/run.py webhook --runs 100000     # POST /wechat: parse, verify, decrypt, shape, pipeline
    .venv/bin/python fuzz/run.py notify --runs 20000       # POST /pay/notify: verify, decrypt, resource, settle

Seeds are the official samples (fuzz/targets.py); a libFuzzer dictionary of WeChat's element names and
values helps the mutator build XML. The code under test (handlers, payments, gateways, WeRoBot, xmltodict,
wechatpayv3) is instrumented for coverage. Exit status 0 and "Done N runs" from libFuzzer: no finding;
a finding prints its input and traceback and exits non-zero (libFuzzer writes it as crash-* in --artifacts).
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import atheris  # noqa: E402

INSTRUMENTED = ["handlers", "payments", "gateways", "werobot", "xmltodict", "wechatpayv3", "web", "dialogs"]
WORDS = ["<xml>", "</xml>", "<![CDATA[", "]]>", "text", "event", "image", "voice", "location", "subscribe",
         "unsubscribe", "SCAN", "CLICK", "VIEW", "LOCATION", "qrscene_", "MENU_HELP", "帮助", "1", "0", "-1",
         "ToUserName", "FromUserName", "CreateTime", "MsgType", "MsgId", "MsgID", "Event", "EventKey", "Content",
         "Recognition", "MediaId", "Location_X", "Latitude", "Encrypt", "source", "content", "\"amount\"",
         "\"total\"", "\"payer\"", "\"openid\"", "\"out_trade_no\"", "\"trade_state\"", "SUCCESS", "null", "[]",
         "{}", "true"]


def dictionary(folder: Path) -> Path:
    """libFuzzer's -dict file: one quoted token a line, non-ASCII as \\xNN escapes."""
    def quoted(word: str) -> str:
        return '"' + "".join(chr(b) if 32 <= b < 127 and chr(b) not in '"\\' else f"\\x{b:02x}"
                             for b in word.encode()) + '"'

    path = folder / "wechat.dict"
    path.write_text("".join(quoted(w) + "\n" + quoted(f"<{w}>") + "\n" for w in WORDS))
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("target", choices=["webhook", "notify"])
    parser.add_argument("--runs", type=int, default=100_000, help="executions (libFuzzer -runs)")
    parser.add_argument("--max-len", type=int, default=4096, help="longest input in bytes")
    parser.add_argument("--artifacts", default=".", help="folder for crash-* inputs")
    parser.add_argument("--seed", type=int, default=0, help="libFuzzer -seed (0: random)")
    args = parser.parse_args()
    logging.disable(logging.CRITICAL)  # rejections log a warning each; findings are raised, not logged
    folder = Path(tempfile.mkdtemp(prefix=f"fuzz-{args.target}-"))
    with atheris.instrument_imports(include=INSTRUMENTED):
        from fuzz.targets import NotifyTarget, WebhookTarget
        target = WebhookTarget(folder) if args.target == "webhook" else NotifyTarget(folder)
    corpus = folder / "corpus"
    corpus.mkdir()
    for n, seed in enumerate(target.seeds()):
        (corpus / f"seed-{n:03d}").write_bytes(seed)
    started = time.monotonic()

    def one(data: bytes) -> None:
        target(data)
        if sum(target.outcomes.values()) == args.runs:  # libFuzzer exits without running atexit hooks
            report(target, started)

    atheris.Setup([sys.argv[0], f"-runs={args.runs}", f"-max_len={args.max_len}", f"-seed={args.seed}",
                   f"-dict={dictionary(folder)}", f"-artifact_prefix={args.artifacts.rstrip('/')}/",
                   "-print_final_stats=1", str(corpus)], one)
    atheris.Fuzz()


def report(target, started: float) -> None:
    """What the app answered, by status and reason (printed at exit, after libFuzzer's own figures)."""
    total = sum(target.outcomes.values())
    seconds = time.monotonic() - started
    print(f"\nharness: {total} executions answered in {seconds:.0f} s ({total / seconds:.0f}/s); by answer:",
          file=sys.stderr)
    for outcome, count in target.outcomes.most_common(25):
        print(f"  {count:8d}  {outcome}", file=sys.stderr)


if __name__ == "__main__":
    main()
