"""Fuzz targets: the whole app (bot.create_app on SQLite + memory state) behind a harness that signs,
and for safe mode encrypts, whatever bytes the fuzzer makes, so that every input reaches past the
signature check into parsing, decryption, the shape checks and, when well-formed, the pipeline.

A finding is any answer of 500 or more, any exception out of the app, or a message the pipeline had to
apologise for (a handler failed). Declared rejections are the 4xx answers with their short reasons.

    target = WebhookTarget(folder); target(b"\\x00<xml>...</xml>")   # first byte: the mode (MODES)
    target = NotifyTarget(folder); target(b"\\x00{...}")             # first byte: the event type
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
import uuid
from collections import Counter
from pathlib import Path
from urllib.parse import urlencode

from wechatpy.crypto import PrpCrypto

from bench.harness import call_wsgi
from settings import Settings, generate_aes_key
from handlers.shape import RULES
from tests import paywire, samples

TOKEN = "fuzz-token"
MCHID = "1900000109"
APIV3_KEY = "0123456789abcdef0123456789abcdef"
EVENT_TYPES = ("TRANSACTION.SUCCESS", "REFUND.SUCCESS", "REFUND.ABNORMAL")
XML = {"Content-Type": "text/xml"}
MODES = ("raw", "raw safe", "structured", "structured safe")


class Finding(AssertionError):
    """An input the app answered with a 5xx or an apology: what the fuzzer reports as a crash."""


def base_settings(folder: Path) -> Settings:
    """SQLite in `folder`, memory state, no appsecret (no customer-service API, so no worker threads)."""
    return Settings().replace(
        wechat={"token": TOKEN, "appid": f"wx{uuid.uuid4().hex[:16]}", "appsecret": "",
                "encoding_aes_key": generate_aes_key()},
        site={"secret_key": "fuzz-secret-key", "base_url": "http://127.0.0.1:9"},
        store={"database_url": f"sqlite:///{folder / 'fuzz.db'}", "redis_url": ""},
    )


class _Target:
    def __init__(self, settings: Settings) -> None:
        from bot import create_app

        self.app = create_app(settings)
        self.outcomes: Counter = Counter()  # status (and 4xx reason) -> executions

    def _check(self, status: int, body: bytes, errors_before: float) -> None:
        if status >= 500:
            raise Finding(f"answered {status}: {body[:200]!r}")
        if self.app.services.metrics.errors._value.get() > errors_before:
            raise Finding("a handler failed (the pipeline apologised)")
        self.outcomes[f"{status} {body[:60].decode(errors='replace')}" if status >= 400 else str(status)] += 1

    def _errors(self) -> float:
        return self.app.services.metrics.errors._value.get()


class WebhookTarget(_Target):
    """POST /wechat, signed; `data[0]` picks the mode: the message is `data[1:]` as it is (raw) or an
    official sample edited as `data[1:]` says (structured: most inputs are well-formed XML then), in
    plaintext or encrypted as in safe mode."""

    def __init__(self, folder: Path) -> None:
        settings = base_settings(folder)
        super().__init__(settings)
        wechat = settings.wechat
        self.appid = wechat.appid
        self.prp = PrpCrypto(base64.b64decode(wechat.encoding_aes_key + "="))
        self.nonces = iter(range(10**12))

    def __call__(self, data: bytes) -> None:
        mode = MODES[data[0] % len(MODES)] if data else MODES[0]
        safe, message = mode.endswith("safe"), data[1:]
        if mode.startswith("structured"):
            message = structured(message)
        timestamp, nonce = str(int(time.time())), f"n{next(self.nonces)}"
        query = {"timestamp": timestamp, "nonce": nonce, "signature": _sign(TOKEN, timestamp, nonce)}
        body = message
        if safe:
            ciphertext = self.prp.encrypt(message, self.appid).decode()
            query.update(encrypt_type="aes", msg_signature=_sign(TOKEN, timestamp, nonce, ciphertext))
            body = f"<xml><ToUserName>gh_test</ToUserName><Encrypt>{ciphertext}</Encrypt></xml>".encode()
        before = self._errors()
        status, reply = call_wsgi(self.app, "/wechat", body, XML, urlencode(query))
        self._check(status, reply, before)

    @staticmethod
    def seeds() -> list[bytes]:
        """Every official sample, in plaintext and in safe mode, and a few odd variations of each."""
        corpus = []
        for n, name in enumerate(samples.SAMPLES):
            xml = samples.to_xml(samples.sample(name, f"o_seed_{n}", 1_700_000_000 + n, 10**6 + n)).encode()
            corpus += [b"\x00" + xml, b"\x01" + xml]
        corpus += [b"\x00" + xml.encode() for _, _, xml in list(samples.odd_messages())[::25]]
        return corpus + [bytes([2 + n % 2]) + bytes(range(n, n + 40)) for n in range(0, 200, 10)]


NAMES = sorted(RULES) + ["Encrypt", "SendPicsInfo", "ScanCodeInfo", "PicList", "item", "Count", "PicMd5Sum",
                         "MsgDataId", "source", "content", "type", "key", "time"]


def structured(data: bytes) -> bytes:
    """An official sample with up to 5 edits (replace, add, drop, nest an element) read from `data`."""
    import atheris

    fdp = atheris.FuzzedDataProvider(data)
    pick = lambda options: options[fdp.ConsumeIntInRange(0, len(options) - 1)]  # noqa: E731
    created = 1_700_000_000 + fdp.ConsumeIntInRange(0, 50)  # few senders and times: duplicates happen too
    fields = samples.sample(pick(samples.SAMPLES), pick(["o_a", "o_b", "o_c"]), created, fdp.ConsumeIntInRange(1, 10**6))
    for _ in range(fdp.ConsumeIntInRange(0, 5)):
        op, name = fdp.ConsumeIntInRange(0, 3), pick(NAMES)
        value = pick([lambda: fdp.ConsumeUnicodeNoSurrogates(fdp.ConsumeIntInRange(0, 80)).replace("]]>", ""),
                      lambda: None, lambda: str(fdp.ConsumeInt(8)), lambda: [(pick(NAMES), str(fdp.ConsumeInt(2)))],
                      lambda: "x" * fdp.ConsumeIntInRange(0, 10000)])()
        if op == 0:
            fields = [(k, value if k == name else v) for k, v in fields]
        elif op == 1:
            fields.append((name, value))
        elif op == 2:
            fields = [(k, v) for k, v in fields if k != name]
        else:
            fields.insert(fdp.ConsumeIntInRange(0, len(fields)), (name, [(pick(NAMES), value)]))
    return samples.to_xml(fields).encode()


class NotifyTarget(_Target):
    """POST /pay/notify whose decrypted resource is `data[1:]`, signed and encrypted from the spec
    (tests/paywire.py); `data[0]` picks the event type. One open order exists for the seeds to settle."""

    def __init__(self, folder: Path) -> None:
        from sandbox.pay import Platform, merchant_keys

        merchant = merchant_keys(folder / "merchant", MCHID)
        (folder / "platform").mkdir(exist_ok=True)
        platform = Platform(folder / "platform")
        settings = base_settings(folder).replace(pay={
            "mchid": MCHID, "apiv3_key": APIV3_KEY, "cert_serial_no": merchant.serial_no,
            "private_key_path": merchant.private_key_path, "public_key_path": platform.keys.public_key_path,
            "public_key_id": platform.public_key_id, "gateway_url": "http://127.0.0.1:9"})
        super().__init__(settings)
        self.key, self.serial = platform.key, platform.public_key_id
        self.order = _open_order(self.app)
        self.appid = settings.wechat.appid

    def __call__(self, data: bytes) -> None:
        event_type = EVENT_TYPES[data[0] % len(EVENT_TYPES)] if data else EVENT_TYPES[0]
        headers, body = paywire.notification(data[1:], event_type, APIV3_KEY, self.key, self.serial)
        before = self._errors()
        status, reply = call_wsgi(self.app, "/pay/notify", body, headers)
        self._check(status, reply, before)

    def seeds(self) -> list[bytes]:
        out_trade_no, amount, openid = self.order
        paid = paywire.transaction(out_trade_no, amount, openid, MCHID, self.appid)
        refund = paywire.refund(out_trade_no, amount, MCHID)
        odd = [dict(paid, amount={"total": "990"}), dict(paid, payer=[]), dict(paid, trade_state="CLOSED"),
               dict(refund, out_refund_no=1)]
        return ([b"\x00" + json.dumps(paid).encode(), b"\x01" + json.dumps(refund).encode()]
                + [b"\x00" + json.dumps(r).encode() for r in odd])


def _open_order(app) -> tuple[str, int, str]:
    from store import orders, queries
    from store.models import Article, utcnow

    with app.services.database.connection_context():
        article = Article.create(slug="fuzz", title="付费文章", summary="摘要", body="试读。\n\n<!-- 试读至此 -->\n\n正文。",
                                 price=990)
        order = orders.create(queries.touch_user("o_buyer"), article, None, 990, article.title, 1800, utcnow())
        return order.out_trade_no, order.amount, "o_buyer"


def _sign(*parts: str) -> str:
    """WeChat's signature, written out here (not imported from the code under test)."""
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()
