"""gateways/pay.py (over wechatpayv3) against the sandbox's WeChat Pay, in both verification modes.

Notifications given to `parse_notification` are built here with the `cryptography` package from the
spec (AES-256-GCM with the APIv3 key; SHA256withRSA over "timestamp\\nnonce\\nbody\\n" with the platform's
key), not by the sandbox; one test also parses a notification the sandbox really delivered.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import secrets
import sys
import threading
import time
import uuid
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Iterator

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gateways.pay import PayGateway  # noqa: E402
from gateways.pay_results import (  # noqa: E402
    BadNotification, OrderAlreadyPaid, OrderNotFound, PayError, PayUnavailable, Trade,
)
from sandbox import SandboxServer  # noqa: E402
from sandbox.pay import ManualScheduler, MerchantKeys, PlatformKeys, merchant_keys  # noqa: E402
from settings import PaySettings  # noqa: E402
from tests.conftest import free_port  # noqa: E402

APPID = "wxpaygateway000001"
MCHID = "1900000002"
APIV3 = "apiv3-key-of-32-bytes-0123456789"
USER = "oGatewayUser0000000000000001"
NOTIFY = "http://127.0.0.1:9/pay/notify"
MODES = ["public_key", "certificate"]


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> MerchantKeys:
    return merchant_keys(tmp_path_factory.mktemp("merchant"), MCHID)


@dataclass
class Env:
    server: SandboxServer
    scheduler: ManualScheduler
    platform: PlatformKeys
    keys: MerchantKeys
    mode: str

    def settings(self, **changes: Any) -> PaySettings:
        public = self.mode == "public_key"
        values = dict(mchid=MCHID, apiv3_key=APIV3, cert_serial_no=self.keys.serial_no,
                      private_key_path=self.keys.private_key_path,
                      public_key_path=self.platform.public_key_path if public else "",
                      public_key_id=self.platform.public_key_id if public else "", gateway_url=self.server.url)
        values.update(changes)
        return PaySettings(**values)

    def gateway(self, timeout: float = 5.0, **changes: Any) -> PayGateway:
        return PayGateway(self.settings(**changes), APPID, NOTIFY, timeout=timeout)

    @property
    def payments(self) -> Any:
        assert self.server.payments is not None
        return self.server.payments


def start(keys: MerchantKeys, mode: str, notify_url: str = NOTIFY) -> Env:
    server = SandboxServer(APPID, "secret", "token").start()
    scheduler = ManualScheduler()
    platform = server.enable_pay(MCHID, APIV3, keys.public_key_pem(), notify_url, merchant_serial_no=keys.serial_no,
                                 scheduler=scheduler, mode=mode, refund_delay=30)
    return Env(server, scheduler, platform, keys, mode)


@pytest.fixture(params=MODES)
def env(request: pytest.FixtureRequest, keys: MerchantKeys) -> Iterator[Env]:
    e = start(keys, request.param)
    yield e
    e.server.stop()


@pytest.fixture
def gateway(env: Env) -> PayGateway:
    return env.gateway()


def expiry(minutes: int = 30) -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc) + dt.timedelta(minutes=minutes)


# ---------------------------------------------------------------- API calls


def test_create_query_pay_close_refund(env: Env, gateway: PayGateway) -> None:
    time_expire = expiry()
    prepay_id = gateway.create_jsapi("ORDER000001", "付费文章：Python 装饰器", 990, USER, time_expire)
    assert prepay_id.startswith("wx")
    assert gateway.create_jsapi("ORDER000001", "付费文章：Python 装饰器", 990, USER, time_expire) == prepay_id
    with pytest.raises(PayError) as conflict:
        gateway.create_jsapi("ORDER000001", "付费文章：Python 装饰器", 1990, USER, time_expire)
    assert conflict.value.code == "INVALID_REQUEST" and conflict.value.status == 400

    unpaid = gateway.query("ORDER000001")
    assert (unpaid.trade_state, unpaid.transaction_id, unpaid.amount_total) == ("NOTPAY", None, 990)
    order = env.payments.orders["ORDER000001"]
    assert dt.datetime.fromisoformat(order.request["time_expire"]) == time_expire.replace(microsecond=0)

    env.server.pay("ORDER000001", USER)
    trade = gateway.query("ORDER000001")
    assert isinstance(trade, Trade)
    assert (trade.trade_state, trade.amount_total, trade.currency, trade.payer_openid, trade.mchid, trade.appid) == (
        "SUCCESS", 990, "CNY", USER, MCHID, APPID)
    assert trade.transaction_id and trade.transaction_id.startswith("4200")
    assert trade.success_time is not None and trade.success_time.utcoffset() == dt.timedelta(hours=8)

    with pytest.raises(OrderAlreadyPaid) as already:
        gateway.close("ORDER000001")
    assert already.value.code == "ORDERPAID"

    gateway.create_jsapi("ORDER000002", "付费文章", 500, USER, expiry())
    assert gateway.close("ORDER000002") is None  # 204, signature verified
    assert gateway.query("ORDER000002").trade_state == "CLOSED"

    with pytest.raises(OrderNotFound):
        gateway.query("NOSUCHORDER")

    refund = gateway.refund("ORDER000001", "REFUND0001", 990, 990, "用户申请退款")
    assert (refund.status, refund.out_refund_no, refund.amount_refund, refund.amount_total) == (
        "PROCESSING", "REFUND0001", 990, 990)
    assert refund.refund_id
    assert gateway.refund("ORDER000001", "REFUND0001", 990, 990, "用户申请退款").refund_id == refund.refund_id
    assert env.payments.refunds["REFUND0001"].notify_url == NOTIFY
    env.scheduler.advance(30)
    done = gateway.query_refund("REFUND0001")
    assert done.status == "SUCCESS" and done.success_time is not None
    assert gateway.query("ORDER000001").trade_state == "REFUND"
    with pytest.raises(PayError) as too_much:
        gateway.refund("ORDER000001", "REFUND0002", 1, 990, "再退")
    assert too_much.value.code == "INVALID_REQUEST"
    with pytest.raises(OrderNotFound):
        gateway.query_refund("NOSUCHREFUND")


def test_jsapi_params_are_signed_with_the_merchant_key(env: Env, gateway: PayGateway) -> None:
    prepay_id = gateway.create_jsapi("ORDER000001", "付费文章", 990, USER, expiry())
    params = gateway.jsapi_params(prepay_id)
    assert set(params) == {"appId", "timeStamp", "nonceStr", "package", "signType", "paySign"}
    assert (params["appId"], params["package"], params["signType"]) == (APPID, f"prepay_id={prepay_id}", "RSA")
    assert params["timeStamp"].isdigit() and abs(int(params["timeStamp"]) - time.time()) < 60
    assert 1 <= len(params["nonceStr"]) <= 32
    public = serialization.load_pem_public_key(env.keys.public_key_pem().encode())
    message = f"{APPID}\n{params['timeStamp']}\n{params['nonceStr']}\n{params['package']}\n".encode()
    public.verify(base64.b64decode(params["paySign"]), message, padding.PKCS1v15(), hashes.SHA256())  # raises if bad
    # and WeChat's cashier (the sandbox's bridge endpoint) accepts them
    assert env.payments.confirm_bridge(params)["err_msg"] == "get_brand_wcpay_request:ok"
    assert gateway.query("ORDER000001").trade_state == "SUCCESS"


def test_arguments_are_checked_before_any_call(env: Env, gateway: PayGateway) -> None:
    for bad in [dict(out_trade_no="12345"), dict(out_trade_no="ORDER 0001"), dict(amount_fen=0),
                dict(amount_fen=9.9), dict(amount_fen=True), dict(payer_openid="")]:
        args = {**dict(out_trade_no="ORDER000001", description="文章", amount_fen=990, payer_openid=USER,
                       time_expire=expiry()), **bad}
        with pytest.raises(ValueError):
            gateway.create_jsapi(**args)
    with pytest.raises(ValueError):
        gateway.refund("ORDER000001", "REFUND|01", 1, 990, "")
    with pytest.raises(ValueError):
        gateway.refund("ORDER000001", "REFUND01", 991, 990, "")
    assert env.server.calls("/v3/pay/transactions/jsapi") == 0
    assert env.server.calls("/v3/refund/domestic/refunds") == 0


def test_certificates_are_downloaded_only_in_certificate_mode(env: Env, gateway: PayGateway) -> None:
    gateway.create_jsapi("ORDER000001", "文章", 990, USER, expiry())
    gateway.query("ORDER000001")
    gateway.query("ORDER000001")
    assert env.server.calls("/v3/certificates") == (1 if env.mode == "certificate" else 0)


def test_construction_makes_no_call(env: Env) -> None:
    env.gateway()
    assert env.server.calls("/v3/certificates") == 0


def test_public_key_mode_also_accepts_the_platform_certificate(keys: MerchantKeys) -> None:
    """During WeChat Pay's switch-over some answers are still signed with the platform certificate:
    a public-key gateway fetches the certificates for an unknown hex serial."""
    e = start(keys, "certificate")
    try:
        platform = e.platform
        gateway = PayGateway(e.settings(public_key_path=platform.public_key_path,
                                        public_key_id=platform.public_key_id), APPID, NOTIFY)
        gateway.create_jsapi("ORDER000001", "文章", 990, USER, expiry())
        assert e.server.calls("/v3/certificates") == 1
    finally:
        e.server.stop()


def test_answers_that_do_not_verify_are_unavailable(env: Env, gateway: PayGateway) -> None:
    gateway.create_jsapi("ORDER000001", "文章", 990, USER, expiry())
    env.payments.corrupt_signatures()
    with pytest.raises(PayUnavailable):
        gateway.query("ORDER000001")
    env.payments.corrupt_signatures()
    with pytest.raises(PayUnavailable):
        gateway.close("ORDER000001")  # a 204 is verified too
    assert env.payments.orders["ORDER000001"].state == "CLOSED"  # it took effect: the outcome was unknown
    assert gateway.query("ORDER000001").trade_state == "CLOSED"


def test_a_gateway_with_the_wrong_public_key_trusts_nothing(keys: MerchantKeys, tmp_path: Path) -> None:
    e = start(keys, "public_key")
    try:
        other = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key()
        wrong = tmp_path / "wrong_pub.pem"
        wrong.write_bytes(other.public_bytes(serialization.Encoding.PEM,
                                             serialization.PublicFormat.SubjectPublicKeyInfo))
        gateway = e.gateway(public_key_path=str(wrong))
        with pytest.raises(PayUnavailable):
            gateway.create_jsapi("ORDER000001", "文章", 990, USER, expiry())
    finally:
        e.server.stop()


def test_network_failure_timeout_and_5xx_are_unavailable(env: Env, gateway: PayGateway) -> None:
    dead = env.gateway(gateway_url=f"http://127.0.0.1:{free_port()}")
    for call in (lambda g: g.create_jsapi("ORDER000001", "文章", 990, USER, expiry()),
                 lambda g: g.query("ORDER000001"), lambda g: g.close("ORDER000001"),
                 lambda g: g.refund("ORDER000001", "REFUND0001", 1, 990, ""), lambda g: g.query_refund("REFUND0001")):
        with pytest.raises(PayUnavailable):
            call(dead)

    gateway.create_jsapi("ORDER000001", "文章", 990, USER, expiry())
    path = "/v3/pay/transactions/out-trade-no/ORDER000001"
    env.server.delay(path, 1.0)
    with pytest.raises(PayUnavailable, match="timed out"):
        env.gateway(timeout=0.2).query("ORDER000001")
    env.server.delay(path, 0)

    for status, code in [(500, "SYSTEM_ERROR"), (503, "SERVICE_UNAVAILABLE"), (429, "FREQUENCY_LIMITED")]:
        env.payments.fail_next(path, status, code, "busy")
        with pytest.raises(PayUnavailable):
            gateway.query("ORDER000001")
    env.payments.fail_next(path, 403, "NO_AUTH", "商户无权限")
    with pytest.raises(PayError) as refused:
        gateway.query("ORDER000001")
    assert (refused.value.code, refused.value.message, refused.value.status) == ("NO_AUTH", "商户无权限", 403)
    assert gateway.query("ORDER000001").trade_state == "NOTPAY"


def test_a_bad_merchant_serial_is_a_sign_error(env: Env) -> None:
    gateway = env.gateway(cert_serial_no="0123456789ABCDEF")
    with pytest.raises(PayError) as refused:
        gateway.query("ORDER000001")
    assert (refused.value.code, refused.value.status) == ("SIGN_ERROR", 401)


def test_bad_configuration_is_refused(env: Env, tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        env.gateway(apiv3_key="short")
    with pytest.raises(ValueError):
        env.gateway(public_key_path=env.platform.public_key_path, public_key_id="")  # a key without its id
    with pytest.raises(ValueError):
        env.gateway(private_key_path=str(tmp_path / "missing.pem"))
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("not a key")
    with pytest.raises(ValueError):
        env.gateway(private_key_path=str(garbage))


# ---------------------------------------------------------------- notifications, built from the spec


def platform_signer(env: Env) -> tuple[str, rsa.RSAPrivateKey]:
    if env.mode == "public_key":
        return env.platform.public_key_id, _load_private(env.platform.public_key_private_path)
    return env.platform.certificate_serial, _load_private(env.platform.certificate_private_path)


def _load_private(path: str) -> rsa.RSAPrivateKey:
    key = serialization.load_pem_private_key(Path(path).read_bytes(), None)
    assert isinstance(key, rsa.RSAPrivateKey)
    return key


def transaction(out_trade_no: str = "ORDER000001") -> dict[str, Any]:
    return {"appid": APPID, "mchid": MCHID, "out_trade_no": out_trade_no,
            "transaction_id": "4200000000000000000000000001", "trade_type": "JSAPI", "trade_state": "SUCCESS",
            "trade_state_desc": "支付成功", "bank_type": "OTHERS",
            "success_time": "2024-05-20T13:29:35+08:00", "payer": {"openid": USER},
            "amount": {"total": 990, "payer_total": 990, "currency": "CNY", "payer_currency": "CNY"}}


def notification(serial: str, key: rsa.RSAPrivateKey, resource: dict[str, Any] | None = None, *,
                 apiv3: str = APIV3, timestamp: int | None = None, signature: str | None = None,
                 tamper: bool = False, event_type: str = "TRANSACTION.SUCCESS",
                 original_type: str = "transaction") -> tuple[dict[str, str], bytes]:
    nonce = secrets.token_hex(6)
    sealed = bytearray(AESGCM(apiv3.encode()).encrypt(nonce.encode(), json.dumps(resource or transaction()).encode(),
                                                      original_type.encode()))
    if tamper:
        sealed[0] ^= 1
    body = json.dumps({
        "id": str(uuid.uuid4()), "create_time": "2024-05-20T13:29:35+08:00", "resource_type": "encrypt-resource",
        "event_type": event_type, "summary": "支付成功",
        "resource": {"original_type": original_type, "algorithm": "AEAD_AES_256_GCM",
                     "ciphertext": base64.b64encode(bytes(sealed)).decode(), "associated_data": original_type,
                     "nonce": nonce},
    }, ensure_ascii=False).encode()
    ts, header_nonce = str(timestamp if timestamp is not None else int(time.time())), uuid.uuid4().hex
    message = f"{ts}\n{header_nonce}\n".encode() + body + b"\n"
    if signature is None:
        signature = base64.b64encode(key.sign(message, padding.PKCS1v15(), hashes.SHA256())).decode()
    headers = {"Wechatpay-Serial": serial, "Wechatpay-Signature": signature, "Wechatpay-Timestamp": ts,
               "Wechatpay-Nonce": header_nonce, "Wechatpay-Signature-Type": "WECHATPAY2-SHA256-RSA2048",
               "Content-Type": "application/json"}
    return headers, body


def test_a_valid_notification(env: Env, gateway: PayGateway) -> None:
    headers, body = notification(*platform_signer(env))
    parsed = gateway.parse_notification(headers, body)
    assert parsed.event_type == "TRANSACTION.SUCCESS" and parsed.resource == transaction()
    assert parsed.id and parsed.create_time == dt.datetime.fromisoformat("2024-05-20T13:29:35+08:00")
    trade = Trade.from_resource(parsed.resource)
    assert (trade.trade_state, trade.amount_total, trade.payer_openid) == ("SUCCESS", 990, USER)

    refund = {"mchid": MCHID, "out_trade_no": "ORDER000001", "transaction_id": "4200000000000000000000000001",
              "out_refund_no": "REFUND0001", "refund_id": "50000000000000000000000001", "refund_status": "SUCCESS",
              "amount": {"total": 990, "refund": 990, "payer_total": 990, "payer_refund": 990}}
    headers, body = notification(*platform_signer(env), refund, event_type="REFUND.SUCCESS", original_type="refund")
    assert gateway.parse_notification(headers, body).resource["refund_status"] == "SUCCESS"


def test_header_names_in_any_form(env: Env, gateway: PayGateway) -> None:
    headers, body = notification(*platform_signer(env))
    lower = {k.lower(): v for k, v in headers.items()}
    environ = {"HTTP_" + k.upper().replace("-", "_"): v for k, v in headers.items()}
    assert gateway.parse_notification(lower, body).event_type == "TRANSACTION.SUCCESS"
    assert gateway.parse_notification(environ, body).event_type == "TRANSACTION.SUCCESS"


@pytest.mark.parametrize("case, reason", [
    ("probe", "probe"), ("bad signature", "bad signature"), ("other body", "bad signature"),
    ("merchant key", "bad signature"), ("unknown id", "unknown Wechatpay-Serial"),
    ("unknown hex serial", "unknown Wechatpay-Serial"), ("stale", "window"), ("future", "window"),
    ("tampered ciphertext", "decrypt"), ("other apiv3 key", "decrypt"), ("no serial", "no Wechatpay-Serial"),
    ("no timestamp", "no Wechatpay-Timestamp"), ("no signature", "no Wechatpay-Signature"),
    ("other algorithm", "Signature-Type"),
])
def test_bad_notifications_are_rejected(env: Env, gateway: PayGateway, keys: MerchantKeys, case: str,
                                        reason: str) -> None:
    serial, key = platform_signer(env)
    now = int(time.time())
    kw: dict[str, Any] = {
        "probe": {"signature": "WECHATPAY/SIGNTEST/" + base64.b64encode(b"probe").decode()},
        "bad signature": {"signature": base64.b64encode(secrets.token_bytes(256)).decode()},
        "merchant key": {"key": _load_private(keys.private_key_path)},
        "unknown id": {"serial": "PUB_KEY_ID_0000000000000000000000000000000000"},
        "unknown hex serial": {"serial": "5157F09EFDC096DE15EBE81A47057A7232F1B8E1"},
        "stale": {"timestamp": now - 301},
        "future": {"timestamp": now + 310},  # clear of the second that passes before the check
        "tampered ciphertext": {"tamper": True},
        "other apiv3 key": {"apiv3": "another-apiv3-key-0123456789abcd"},
    }.get(case, {})
    headers, body = notification(kw.pop("serial", serial), kw.pop("key", key), **kw)
    if case == "other body":
        body = body.replace(b"TRANSACTION.SUCCESS", b"TRANSACTION.SUCCEZZ")
    for name, missing in (("no serial", "Wechatpay-Serial"), ("no timestamp", "Wechatpay-Timestamp"),
                          ("no signature", "Wechatpay-Signature")):
        if case == name:
            del headers[missing]
    if case == "other algorithm":
        headers["Wechatpay-Signature-Type"] = "WECHATPAY2-SM2-WITH-SM3"
    with pytest.raises(BadNotification, match=reason):
        gateway.parse_notification(headers, body)


def test_the_timestamp_window_is_300_seconds(env: Env, gateway: PayGateway) -> None:
    headers, body = notification(*platform_signer(env), timestamp=1_700_000_000)
    assert gateway.parse_notification(headers, body, now=lambda: 1_700_000_300).event_type == "TRANSACTION.SUCCESS"
    assert gateway.parse_notification(headers, body, now=lambda: 1_699_999_700).event_type == "TRANSACTION.SUCCESS"
    with pytest.raises(BadNotification):
        gateway.parse_notification(headers, body, now=lambda: 1_700_000_301)


def test_certificate_lookup_without_network_is_unavailable(keys: MerchantKeys) -> None:
    e = start(keys, "certificate")
    gateway = e.gateway()
    headers, body = notification(*platform_signer(e))
    e.server.stop()
    with pytest.raises(PayUnavailable):
        gateway.parse_notification(headers, body)


class Inbox:
    """A notify URL that keeps what it receives and answers 204."""

    def __init__(self) -> None:
        self.received: list[tuple[dict[str, str], bytes]] = []
        inbox = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                inbox.received.append(({k: v for k, v in self.headers.items()}, body))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/pay/notify"
        threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.mark.parametrize("mode", MODES)
def test_notifications_the_sandbox_delivers_parse(keys: MerchantKeys, mode: str) -> None:
    inbox = Inbox()
    e = start(keys, mode, notify_url=inbox.url)
    try:
        e.payments.notifier.configure(probes=1)
        gateway = PayGateway(e.settings(), APPID, inbox.url)
        gateway.create_jsapi("ORDER000001", "文章", 990, USER, expiry())
        e.server.pay("ORDER000001", USER)
        gateway.refund("ORDER000001", "REFUND0001", 990, 990, "退款")
        e.scheduler.drain()
        (probe_headers, probe_body), *genuine = inbox.received
        with pytest.raises(BadNotification, match="probe"):
            gateway.parse_notification(probe_headers, probe_body)
        parsed = [gateway.parse_notification(headers, body) for headers, body in genuine
                  if not headers["Wechatpay-Signature"].startswith("WECHATPAY/SIGNTEST/")]
        assert [n.event_type for n in parsed] == ["TRANSACTION.SUCCESS", "REFUND.SUCCESS"]
        trade = Trade.from_resource(parsed[0].resource)
        assert (trade.out_trade_no, trade.trade_state, trade.amount_total, trade.payer_openid) == (
            "ORDER000001", "SUCCESS", 990, USER)
        assert parsed[1].resource["out_refund_no"] == "REFUND0001"
    finally:
        e.server.stop()
        inbox.stop()
