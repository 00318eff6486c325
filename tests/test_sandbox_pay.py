"""The sandbox plays WeChat Pay (API v3), web authorization (snsapi_base) and the JS bridge.

The merchant side here is an independent peer written from the spec with the `cryptography` package:
it signs requests (WECHATPAY2-SHA256-RSA2048 over "METHOD\\nURL\\ntimestamp\\nnonce\\nbody\\n"), verifies
answers and notifications (SHA256withRSA over "timestamp\\nnonce\\nbody\\n", key chosen by
Wechatpay-Serial) and decrypts resources (AEAD_AES_256_GCM with the APIv3 key). Neither wechatpayv3 nor
the sandbox's own crypto helpers are used. Everything runs over real HTTP on 127.0.0.1; notification
time is a ManualScheduler (one test runs real threads with time compressed).
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable, Iterator
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.x509.oid import NameOID

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sandbox import SandboxServer  # noqa: E402
from sandbox.pay import ManualScheduler, PaymentRejected, merchant_keys  # noqa: E402
from tests.conftest import free_port  # noqa: E402

APPID = "wxpaysandbox000001"
SECRET = "oauth-secret"
TOKEN = "sandbox-token"
MCHID = "1900000001"
APIV3 = "0123456789abcdefghijABCDEFGHIJ01"
USER = "oPayUser00000000000000000001"
SCHEDULE = [0, 15, 30, 60, 240, 840, 2040, 3840, 5640, 7440, 11040, 21840, 32640, 43440, 65040, 86640]


# ---------------------------------------------------------------- the merchant's keys, from cryptography


@dataclass
class MerchantKey:
    key: rsa.RSAPrivateKey
    serial: str

    def public_pem(self) -> str:
        return self.key.public_key().public_bytes(serialization.Encoding.PEM,
                                                  serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def make_merchant_key() -> MerchantKey:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, MCHID)])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=365)).sign(key, hashes.SHA256()))
    return MerchantKey(key, f"{cert.serial_number:X}")


@pytest.fixture(scope="module")
def merchant() -> MerchantKey:
    return make_merchant_key()


@pytest.fixture(scope="module")
def stranger() -> MerchantKey:
    return make_merchant_key()


def sign(key: rsa.RSAPrivateKey, message: bytes) -> str:
    return base64.b64encode(key.sign(message, padding.PKCS1v15(), hashes.SHA256())).decode()


def verifies(public_key: Any, message: bytes, signature: str) -> bool:
    try:
        public_key.verify(base64.b64decode(signature), message, padding.PKCS1v15(), hashes.SHA256())
    except (InvalidSignature, ValueError):
        return False
    return True


def decrypt(resource: dict[str, str], key: str = APIV3) -> bytes:
    return AESGCM(key.encode()).decrypt(resource["nonce"].encode(), base64.b64decode(resource["ciphertext"]),
                                        resource["associated_data"].encode())


# ---------------------------------------------------------------- the bot's notify URL


class Receiver:
    """A notify URL: records every POST; answers the next scripted status (default 204), or, when
    `verify` is set, 401 for notifications whose signature does not verify (an honest merchant)."""

    def __init__(self) -> None:
        self.received: list[tuple[dict[str, str], bytes]] = []
        self.statuses: deque[int] = deque()
        self.default = 204
        self.verify: Callable[[dict[str, str], bytes], bool] | None = None
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                headers = {k: v for k, v in self.headers.items()}
                receiver.received.append((headers, body))
                if receiver.verify is not None:
                    status = 204 if receiver.verify(headers, body) else 401
                else:
                    status = receiver.statuses.popleft() if receiver.statuses else receiver.default
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/pay/notify"
        threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def events(self) -> list[str]:
        return [json.loads(body)["event_type"] for _, body in self.received]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    bot = Receiver()
    yield bot
    bot.stop()


# ---------------------------------------------------------------- the peer


class Peer:
    """The merchant's API client, from the spec."""

    def __init__(self, url: str, merchant: MerchantKey, platform_keys: dict[str, Any]) -> None:
        self.url = url
        self.merchant = merchant
        self.platform_keys = platform_keys  # Wechatpay-Serial -> public key

    def call(self, method: str, path: str, body: Any = None, *, raw: bytes | None = None,
             key: rsa.RSAPrivateKey | None = None, serial: str | None = None, mchid: str = MCHID,
             timestamp: int | None = None, signed_body: bytes | None = None, scheme: str = "WECHATPAY2-SHA256-RSA2048",
             authorization: str | None = None) -> requests.Response:
        data = raw if raw is not None else (b"" if body is None else json.dumps(body).encode())
        ts, nonce = str(timestamp if timestamp is not None else int(time.time())), uuid.uuid4().hex.upper()
        message = f"{method}\n{path}\n{ts}\n{nonce}\n".encode() + (data if signed_body is None else signed_body) + b"\n"
        signature = sign(key or self.merchant.key, message)
        auth = (f'{scheme} mchid="{mchid}",nonce_str="{nonce}",signature="{signature}",'
                f'timestamp="{ts}",serial_no="{serial or self.merchant.serial}"')
        headers = {"Accept": "application/json", "Content-Type": "application/json",
                   "Authorization": auth if authorization is None else authorization}
        return requests.request(method, self.url + path, data=data, headers=headers, timeout=10)

    def verify(self, response: requests.Response) -> bool:
        headers = response.headers
        key = self.platform_keys.get(headers.get("Wechatpay-Serial", ""))
        if key is None:
            return False
        message = f"{headers['Wechatpay-Timestamp']}\n{headers['Wechatpay-Nonce']}\n".encode()
        return verifies(key, message + response.content + b"\n", headers["Wechatpay-Signature"])

    def verify_notification(self, headers: dict[str, str], body: bytes) -> bool:
        key = self.platform_keys.get(headers.get("Wechatpay-Serial", ""))
        if key is None:
            return False
        message = f"{headers['Wechatpay-Timestamp']}\n{headers['Wechatpay-Nonce']}\n".encode() + body + b"\n"
        return verifies(key, message, headers.get("Wechatpay-Signature", ""))

    def ok(self, method: str, path: str, body: Any = None, status: int = 200) -> Any:
        response = self.call(method, path, body)
        assert response.status_code == status, response.text
        assert self.verify(response), "the answer's signature does not verify"
        return response.json() if response.content else None

    def error(self, method: str, path: str, body: Any = None, **kw: Any) -> tuple[int, dict[str, Any]]:
        response = self.call(method, path, body, **kw)
        assert 400 <= response.status_code < 500, response.text
        data = response.json()
        assert set(data) >= {"code", "message"}
        return response.status_code, data

    def order(self, out_trade_no: str = "ORDER000001", total: int = 990, openid: str = USER,
              notify_url: str = "http://127.0.0.1:9/pay/notify", **changes: Any) -> dict[str, Any]:
        body = {"appid": APPID, "mchid": MCHID, "description": "付费文章：Python 装饰器", "out_trade_no": out_trade_no,
                "time_expire": (dt.datetime.now(dt.timezone(dt.timedelta(hours=8))) + dt.timedelta(minutes=30))
                .isoformat(timespec="seconds"),
                "notify_url": notify_url, "amount": {"total": total, "currency": "CNY"}, "payer": {"openid": openid}}
        body.update(changes)
        return body

    def place(self, out_trade_no: str = "ORDER000001", **kw: Any) -> str:
        return self.ok("POST", "/v3/pay/transactions/jsapi", self.order(out_trade_no, **kw))["prepay_id"]

    def query(self, out_trade_no: str) -> dict[str, Any]:
        return self.ok("GET", f"/v3/pay/transactions/out-trade-no/{out_trade_no}?mchid={MCHID}")

    def pay_params(self, prepay_id: str, key: rsa.RSAPrivateKey | None = None) -> dict[str, str]:
        params = {"appId": APPID, "timeStamp": str(int(time.time())), "nonceStr": uuid.uuid4().hex,
                  "package": f"prepay_id={prepay_id}", "signType": "RSA"}
        message = "".join(params[k] + "\n" for k in ("appId", "timeStamp", "nonceStr", "package")).encode()
        params["paySign"] = sign(key or self.merchant.key, message)
        return params


@dataclass
class World:
    server: SandboxServer
    scheduler: ManualScheduler
    peer: Peer
    receiver: Receiver
    public_key_id: str


def start(merchant: MerchantKey, receiver: Receiver, mode: str = "public_key", **options: Any) -> World:
    server = SandboxServer(APPID, SECRET, TOKEN).start()
    scheduler = options.pop("scheduler", None) or ManualScheduler()
    platform = server.enable_pay(MCHID, APIV3, merchant.public_pem(), receiver.url, merchant_serial_no=merchant.serial,
                                 scheduler=scheduler, mode=mode, **options)
    public_key = serialization.load_pem_public_key(Path(platform.public_key_path).read_bytes())
    peer = Peer(server.url, merchant, {platform.public_key_id: public_key})
    return World(server, scheduler, peer, receiver, platform.public_key_id)


@pytest.fixture
def world(merchant: MerchantKey, receiver: Receiver) -> Iterator[World]:
    w = start(merchant, receiver, refund_delay=30)
    yield w
    w.server.stop()


def paid(world: World, out_trade_no: str = "ORDER000001", **kw: Any) -> dict[str, Any]:
    world.peer.place(out_trade_no, notify_url=world.receiver.url, **kw)
    return world.server.pay(out_trade_no, USER)


# ---------------------------------------------------------------- orders


def test_jsapi_order_is_signed_and_idempotent(world: World) -> None:
    peer = world.peer
    first = peer.call("POST", "/v3/pay/transactions/jsapi", peer.order())
    assert first.status_code == 200 and peer.verify(first)
    assert first.headers["Wechatpay-Serial"] == world.public_key_id
    assert first.headers["Wechatpay-Signature-Type"] == "WECHATPAY2-SHA256-RSA2048"
    prepay_id = first.json()["prepay_id"]
    assert prepay_id.startswith("wx")
    assert peer.place() == prepay_id  # the same out_trade_no with the same body: the same order

    status, error = peer.error("POST", "/v3/pay/transactions/jsapi", peer.order(total=1990))
    assert (status, error["code"]) == (400, "INVALID_REQUEST") and "订单号重复" in error["message"]


@pytest.mark.parametrize("change, code", [
    ({"appid": "wxsomeoneelse00001"}, "APPID_MCHID_NOT_MATCH"),
    ({"mchid": "1900009999"}, "PARAM_ERROR"),
    ({"amount": {"total": 0, "currency": "CNY"}}, "PARAM_ERROR"),
    ({"amount": {"total": "990", "currency": "CNY"}}, "PARAM_ERROR"),
    ({"amount": {"total": 990, "currency": "USD"}}, "PARAM_ERROR"),
    ({"out_trade_no": "12345"}, "PARAM_ERROR"),
    ({"out_trade_no": "1" * 33}, "PARAM_ERROR"),
    ({"out_trade_no": "ORDER 0001"}, "PARAM_ERROR"),
    ({"payer": {}}, "PARAM_ERROR"),
    ({"description": ""}, "PARAM_ERROR"),
    ({"notify_url": "http://127.0.0.1:9/notify?x=1"}, "PARAM_ERROR"),
    ({"time_expire": "tomorrow"}, "PARAM_ERROR"),
])
def test_jsapi_order_fields_are_validated(world: World, change: dict[str, Any], code: str) -> None:
    status, error = world.peer.error("POST", "/v3/pay/transactions/jsapi", world.peer.order(**change))
    assert (status, error["code"]) == (400, code)
    assert world.server.payments is not None and not world.server.payments.orders


def test_a_body_that_is_not_json_is_a_param_error(world: World) -> None:
    status, error = world.peer.error("POST", "/v3/pay/transactions/jsapi", raw=b"appid=wx")
    assert (status, error["code"]) == (400, "PARAM_ERROR")


def test_query_before_and_after_payment(world: World) -> None:
    peer = world.peer
    peer.place()
    before = peer.query("ORDER000001")
    assert before["trade_state"] == "NOTPAY" and "transaction_id" not in before
    assert before["amount"]["total"] == 990 and before["mchid"] == MCHID and before["appid"] == APPID

    world.server.pay("ORDER000001", USER)
    after = peer.query("ORDER000001")
    assert after["trade_state"] == "SUCCESS" and after["trade_state_desc"] == "支付成功"
    assert after["transaction_id"].startswith("4200") and len(after["transaction_id"]) == 28
    assert after["payer"] == {"openid": USER} and after["trade_type"] == "JSAPI"
    assert after["amount"]["total"] == after["amount"]["payer_total"] == 990 and after["amount"]["currency"] == "CNY"
    assert dt.datetime.fromisoformat(after["success_time"]).utcoffset() == dt.timedelta(hours=8)
    by_id = peer.ok("GET", f"/v3/pay/transactions/id/{after['transaction_id']}?mchid={MCHID}")
    assert by_id["out_trade_no"] == "ORDER000001"


def test_query_errors(world: World) -> None:
    status, error = world.peer.error("GET", f"/v3/pay/transactions/out-trade-no/NOSUCHORDER?mchid={MCHID}")
    assert (status, error["code"]) == (404, "ORDER_NOT_EXIST")
    status, error = world.peer.error("GET", "/v3/pay/transactions/out-trade-no/NOSUCHORDER")
    assert (status, error["code"]) == (400, "PARAM_ERROR")
    response = world.peer.call("GET", f"/v3/pay/transactions/out-trade-no/NOSUCHORDER?mchid={MCHID}")
    assert world.peer.verify(response)  # error answers are signed too


def test_the_payer_must_be_the_orders_payer(world: World) -> None:
    world.peer.place()
    with pytest.raises(PaymentRejected):
        world.server.pay("ORDER000001", "oSomebodyElse")
    with pytest.raises(PaymentRejected):
        world.server.pay("NOSUCHORDER", USER)
    world.server.pay("ORDER000001", USER)
    with pytest.raises(PaymentRejected):
        world.server.pay("ORDER000001", USER)  # paid already


def test_close_answers_a_signed_204_and_refuses_paid_orders(world: World) -> None:
    peer = world.peer
    peer.place("ORDER000001")
    response = peer.call("POST", "/v3/pay/transactions/out-trade-no/ORDER000001/close", {"mchid": MCHID})
    assert response.status_code == 204 and response.content == b""
    headers = response.headers
    message = f"{headers['Wechatpay-Timestamp']}\n{headers['Wechatpay-Nonce']}\n\n".encode()  # empty body
    assert verifies(peer.platform_keys[headers["Wechatpay-Serial"]], message, headers["Wechatpay-Signature"])
    assert peer.query("ORDER000001")["trade_state"] == "CLOSED"
    assert peer.ok("POST", "/v3/pay/transactions/out-trade-no/ORDER000001/close", {"mchid": MCHID}, 204) is None
    with pytest.raises(PaymentRejected):
        world.server.pay("ORDER000001", USER)

    paid(world, "ORDER000002")
    status, error = peer.error("POST", "/v3/pay/transactions/out-trade-no/ORDER000002/close", {"mchid": MCHID})
    assert (status, error["code"]) == (400, "ORDERPAID")
    status, error = peer.error("POST", "/v3/pay/transactions/out-trade-no/NOSUCHORDER/close", {"mchid": MCHID})
    assert (status, error["code"]) == (404, "ORDER_NOT_EXIST")


def test_refund_lifecycle(world: World) -> None:
    peer = world.peer
    paid(world)
    body = {"out_trade_no": "ORDER000001", "out_refund_no": "REFUND0001", "reason": "用户申请",
            "notify_url": world.receiver.url, "amount": {"refund": 500, "total": 990, "currency": "CNY"}}
    refund = peer.ok("POST", "/v3/refund/domestic/refunds", body)
    assert refund["status"] == "PROCESSING" and refund["amount"]["refund"] == 500
    assert peer.ok("POST", "/v3/refund/domestic/refunds", body)["refund_id"] == refund["refund_id"]  # once
    assert peer.ok("GET", "/v3/refund/domestic/refunds/REFUND0001")["status"] == "PROCESSING"
    assert peer.query("ORDER000001")["trade_state"] == "REFUND"

    world.scheduler.advance(30)
    done = peer.ok("GET", "/v3/refund/domestic/refunds/REFUND0001")
    assert done["status"] == "SUCCESS" and "success_time" in done
    headers, raw = world.receiver.received[-1]
    assert peer.verify_notification(headers, raw)
    notification = json.loads(raw)
    assert notification["event_type"] == "REFUND.SUCCESS"
    assert notification["resource"]["associated_data"] == notification["resource"]["original_type"] == "refund"
    resource = json.loads(decrypt(notification["resource"]))
    assert resource["refund_status"] == "SUCCESS" and resource["out_refund_no"] == "REFUND0001"
    assert resource["amount"] == {"total": 990, "refund": 500, "payer_total": 990, "payer_refund": 500}

    too_much = {**body, "out_refund_no": "REFUND0002", "amount": {"refund": 491, "total": 990, "currency": "CNY"}}
    assert peer.error("POST", "/v3/refund/domestic/refunds", too_much)[1]["code"] == "INVALID_REQUEST"
    changed = {**body, "amount": {"refund": 400, "total": 990, "currency": "CNY"}}
    assert peer.error("POST", "/v3/refund/domestic/refunds", changed)[1]["code"] == "INVALID_REQUEST"
    peer.place("ORDER000009")
    unpaid = {**body, "out_trade_no": "ORDER000009", "out_refund_no": "REFUND0009"}
    assert peer.error("POST", "/v3/refund/domestic/refunds", unpaid)[1]["code"] == "INVALID_REQUEST"
    unknown = {**body, "out_trade_no": "NOSUCHORDER", "out_refund_no": "REFUND0010"}
    assert peer.error("POST", "/v3/refund/domestic/refunds", unknown) == (
        404, {"code": "RESOURCE_NOT_EXISTS", "message": "订单不存在"})
    assert peer.error("GET", "/v3/refund/domestic/refunds/NOSUCHREFUND")[0] == 404


def test_injected_failures_are_signed_answers(world: World) -> None:
    assert world.server.payments is not None
    world.server.payments.fail_next("/v3/pay/transactions/jsapi", 500, "SYSTEM_ERROR", "系统错误")
    response = world.peer.call("POST", "/v3/pay/transactions/jsapi", world.peer.order())
    assert response.status_code == 500 and response.json()["code"] == "SYSTEM_ERROR" and world.peer.verify(response)
    assert world.peer.place()  # only once
    world.server.payments.corrupt_signatures()
    assert not world.peer.verify(world.peer.call("GET", f"/v3/pay/transactions/out-trade-no/ORDER000001?mchid={MCHID}"))


# ---------------------------------------------------------------- request signatures


@pytest.mark.parametrize("tamper", ["other key", "other body", "serial", "stale", "future", "mchid", "scheme",
                                    "no authorization", "garbage"])
def test_bad_merchant_signatures_get_401(world: World, stranger: MerchantKey, tamper: str) -> None:
    peer, body = world.peer, world.peer.order()
    kw: dict[str, Any] = {
        "other key": {"key": stranger.key},
        "other body": {"signed_body": json.dumps({**body, "amount": {"total": 1, "currency": "CNY"}}).encode()},
        "serial": {"serial": stranger.serial},
        "stale": {"timestamp": int(time.time()) - 301},
        "future": {"timestamp": int(time.time()) + 310},  # clear of the second that passes before the check
        "mchid": {"mchid": "1900009999"},
        "scheme": {"scheme": "WECHATPAY2-SHA256-RSA4096"},
        "no authorization": {"authorization": ""},
        "garbage": {"authorization": "WECHATPAY2-SHA256-RSA2048 nonsense"},
    }[tamper]
    status, error = peer.error("POST", "/v3/pay/transactions/jsapi", body, **kw)
    assert (status, error["code"]) == (401, "SIGN_ERROR")
    assert world.server.payments is not None and not world.server.payments.orders


def test_a_signed_get_covers_the_query_string(world: World) -> None:
    world.peer.place()
    good = f"/v3/pay/transactions/out-trade-no/ORDER000001?mchid={MCHID}"
    response = world.peer.call("GET", good)
    assert response.status_code == 200
    auth = response.request.headers["Authorization"]
    moved = requests.get(world.server.url + good + "&x=1", headers={"Authorization": auth}, timeout=10)
    assert moved.status_code == 401


# ---------------------------------------------------------------- certificate mode


def test_certificate_mode_signs_with_the_downloaded_platform_certificate(merchant: MerchantKey,
                                                                          receiver: Receiver) -> None:
    w = start(merchant, receiver, mode="certificate")
    try:
        response = w.peer.call("GET", "/v3/certificates")
        assert response.status_code == 200
        (item,) = response.json()["data"]
        encrypted = item["encrypt_certificate"]
        assert encrypted["algorithm"] == "AEAD_AES_256_GCM" and encrypted["associated_data"] == "certificate"
        certificate = x509.load_pem_x509_certificate(decrypt(encrypted))
        assert int(item["serial_no"], 16) == certificate.serial_number
        dt.datetime.fromisoformat(item["effective_time"]), dt.datetime.fromisoformat(item["expire_time"])
        w.peer.platform_keys = {item["serial_no"]: certificate.public_key()}
        assert response.headers["Wechatpay-Serial"] == item["serial_no"] and w.peer.verify(response)
        w.peer.place(notify_url=receiver.url)
        paid_order = w.server.pay("ORDER000001", USER)
        assert paid_order["trade_state"] == "SUCCESS"
        w.scheduler.advance()
        headers, body = receiver.received[-1]
        assert headers["Wechatpay-Serial"] == item["serial_no"] and w.peer.verify_notification(headers, body)
    finally:
        w.server.stop()


# ---------------------------------------------------------------- notifications


def test_payment_notification(world: World) -> None:
    transaction = paid(world)
    assert world.receiver.received == []  # nothing before the scheduler runs
    world.scheduler.advance()
    (headers, body), = world.receiver.received
    assert world.peer.verify_notification(headers, body)
    assert headers["Wechatpay-Serial"] == world.public_key_id and headers["Content-Type"] == "application/json"
    assert abs(int(headers["Wechatpay-Timestamp"]) - time.time()) < 300
    notification = json.loads(body)
    assert notification["event_type"] == "TRANSACTION.SUCCESS" and notification["summary"] == "支付成功"
    assert notification["resource_type"] == "encrypt-resource"
    assert dt.datetime.fromisoformat(notification["create_time"]).utcoffset() == dt.timedelta(hours=8)
    resource = notification["resource"]
    assert resource["algorithm"] == "AEAD_AES_256_GCM"
    assert resource["associated_data"] == resource["original_type"] == "transaction"
    assert json.loads(decrypt(resource)) == transaction
    assert transaction["trade_state"] == "SUCCESS" and transaction["amount"]["total"] == 990
    with pytest.raises(Exception):
        decrypt(resource, "X" * 32)  # only the APIv3 key opens it
    assert world.server.payments is not None
    (delivery,) = world.server.payments.notifier.deliveries("ORDER000001")
    assert (delivery.kind, delivery.attempt, delivery.status, delivery.accepted) == ("notify", 1, 204, True)
    assert world.scheduler.pending() == []


def test_retry_schedule_until_given_up(world: World) -> None:
    world.receiver.default = 500
    paid(world)
    world.scheduler.drain()
    assert world.server.payments is not None
    deliveries = world.server.payments.notifier.deliveries("ORDER000001")
    assert [d.at for d in deliveries] == SCHEDULE  # 15s/15s/30s/3m/10m/20m/30m/30m/30m/60m/3h/3h/3h/6h/6h
    assert [d.attempt for d in deliveries] == list(range(1, 17))
    assert [d.status for d in deliveries] == [500] * 16
    assert len(world.receiver.received) == 16
    bodies = {body for _, body in world.receiver.received}
    nonces = {headers["Wechatpay-Nonce"] for headers, _ in world.receiver.received}
    assert len(bodies) == 1 and len(nonces) == 16  # the same notification, signed afresh each time
    assert all(world.peer.verify_notification(h, b) for h, b in world.receiver.received)
    (notice,) = world.server.payments.notifier.notices("ORDER000001")
    assert notice.state == "given_up"


def test_retries_stop_at_200(world: World) -> None:
    world.receiver.statuses.extend([500, 503, 200])
    paid(world)
    world.scheduler.drain()
    assert world.server.payments is not None
    deliveries = world.server.payments.notifier.deliveries("ORDER000001")
    assert [(d.at, d.status) for d in deliveries] == [(0, 500), (15, 503), (30, 200)]
    assert world.server.payments.notifier.notices()[0].state == "delivered"


def test_an_unreachable_bot_counts_as_a_failure(merchant: MerchantKey, receiver: Receiver) -> None:
    w = start(merchant, receiver)
    try:
        dead = f"http://127.0.0.1:{free_port()}/pay/notify"
        w.peer.place(notify_url=dead)
        w.server.pay("ORDER000001", USER)
        w.scheduler.advance(15)
        assert w.server.payments is not None
        deliveries = w.server.payments.notifier.deliveries()
        assert [(d.at, d.status) for d in deliveries] == [(0, None), (15, None)]
        assert "ConnectionError" in deliveries[0].answer
        assert w.scheduler.pending() == [30]
    finally:
        w.server.stop()


def test_time_compressed_real_threads(merchant: MerchantKey, receiver: Receiver) -> None:
    from sandbox.pay import ThreadScheduler

    receiver.statuses.extend([500, 500])  # then 204
    w = start(merchant, receiver, scheduler=ThreadScheduler(factor=1000))  # 15 s of WeChat Pay = 15 ms
    try:
        w.peer.place(notify_url=receiver.url)
        w.server.pay("ORDER000001", USER)
        assert w.server.payments is not None
        notifier = w.server.payments.notifier
        wait_until(lambda: notifier.notices()[0].state == "delivered")
        assert [d.status for d in notifier.deliveries()] == [500, 500, 204]
        ats = [d.at for d in notifier.deliveries()]
        assert ats == sorted(ats)
    finally:
        w.server.stop()


def wait_until(condition: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.01)


def test_drop(world: World) -> None:
    assert world.server.payments is not None
    world.server.payments.notifier.configure(drop=True)
    paid(world)
    world.scheduler.drain()
    assert world.receiver.received == [] and world.server.payments.notifier.deliveries() == []
    assert world.server.payments.notifier.notices()[0].state == "dropped"
    assert world.peer.query("ORDER000001")["trade_state"] == "SUCCESS"  # the bot must query to find out


def test_duplicate(world: World) -> None:
    assert world.server.payments is not None
    world.server.payments.notifier.configure(duplicate=3)
    paid(world)
    world.scheduler.drain()
    assert len(world.receiver.received) == 3
    assert len({json.loads(body)["id"] for _, body in world.receiver.received}) == 1
    kinds = [d.kind for d in world.server.payments.notifier.deliveries()]
    assert kinds == ["notify", "duplicate", "duplicate"]
    world.server.payments.notifier.configure()  # reset
    paid(world, "ORDER000002")
    world.scheduler.drain()
    assert len(world.receiver.received) == 4


def test_delay(world: World) -> None:
    assert world.server.payments is not None
    world.server.payments.notifier.configure(delay=600)
    paid(world)
    world.scheduler.advance(599)
    assert world.receiver.received == []
    world.scheduler.advance(1)
    assert len(world.receiver.received) == 1
    assert world.server.payments.notifier.deliveries()[0].at == 600


def test_reorder_sends_the_refund_notification_first(world: World) -> None:
    assert world.server.payments is not None
    world.server.payments.notifier.configure(reorder=True)
    paid(world)
    world.scheduler.advance(60)
    assert world.receiver.received == []  # held back
    world.peer.ok("POST", "/v3/refund/domestic/refunds", {
        "out_trade_no": "ORDER000001", "out_refund_no": "REFUND0001", "notify_url": world.receiver.url,
        "amount": {"refund": 990, "total": 990, "currency": "CNY"}})
    world.scheduler.advance(30)
    assert world.receiver.events() == ["REFUND.SUCCESS", "TRANSACTION.SUCCESS"]

    paid(world, "ORDER000002")  # without a refund, release() lets it go
    world.scheduler.advance()
    assert world.server.payments.notifier.release("ORDER000002") == 1
    world.scheduler.advance()
    assert world.receiver.events()[-1] == "TRANSACTION.SUCCESS"


def test_signtest_probes_come_before_the_notification(world: World) -> None:
    assert world.server.payments is not None
    world.server.payments.notifier.configure(probes=2)
    world.receiver.verify = world.peer.verify_notification  # an honest merchant: 401 unless it verifies
    paid(world)
    world.scheduler.drain()
    signatures = [headers["Wechatpay-Signature"] for headers, _ in world.receiver.received]
    assert [s.startswith("WECHATPAY/SIGNTEST/") for s in signatures] == [True, True, False]
    deliveries = world.server.payments.notifier.deliveries()
    assert [(d.kind, d.status) for d in deliveries] == [("probe", 401), ("probe", 401), ("notify", 204)]
    assert world.server.payments.notifier.notices()[0].state == "delivered"


# ---------------------------------------------------------------- web authorization (snsapi_base)


def authorize(server: SandboxServer, openid: str | None = USER, cookies: dict[str, str] | None = None,
              **params: str) -> requests.Response:
    query = {"appid": APPID, "redirect_uri": "http://127.0.0.1:8000/pay/page?article=7", "response_type": "code",
             "scope": "snsapi_base", "state": "STATE123", **params}
    if openid:
        query["sandbox_openid"] = openid
    return requests.get(server.url + "/connect/oauth2/authorize", params=query, cookies=cookies,
                        allow_redirects=False, timeout=10)


def exchange(server: SandboxServer, code: str, **params: str) -> dict[str, Any]:
    query = {"appid": APPID, "secret": SECRET, "code": code, "grant_type": "authorization_code", **params}
    response = requests.get(server.url + "/sns/oauth2/access_token", params=query, timeout=10)
    assert response.status_code == 200  # errors are errcode answers, like the rest of WeChat's API
    return response.json()


def code_of(response: requests.Response) -> str:
    assert response.status_code == 302, response.text
    location = urlsplit(response.headers["Location"])
    query = parse_qs(location.query)
    assert (location.scheme, location.netloc, location.path) == ("http", "127.0.0.1:8000", "/pay/page")
    assert query["article"] == ["7"] and query["state"] == ["STATE123"]
    return query["code"][0]


def test_oauth_code_flow_and_single_use(world: World) -> None:
    server = world.server
    login = requests.get(server.url + "/sandbox/login", params={"openid": USER, "next": "/next"},
                         allow_redirects=False, timeout=10)
    assert login.status_code == 302 and login.headers["Location"] == "/next"
    cookie = login.cookies.get("sandbox_openid")
    assert cookie == USER
    code = code_of(authorize(server, openid=None, cookies={"sandbox_openid": cookie}))
    token = exchange(server, code)
    assert token["openid"] == USER and token["scope"] == "snsapi_base" and token["expires_in"] == 7200
    assert token["access_token"] and token["refresh_token"]
    assert exchange(server, code)["errcode"] == 40163  # code been used

    other = code_of(authorize(server, openid="oAnotherUser"))  # the query parameter, for tests
    assert exchange(server, other)["openid"] == "oAnotherUser"


def test_oauth_code_expiry_and_errors(world: World) -> None:
    server = world.server
    code = code_of(authorize(server))
    assert exchange(server, code, secret="wrong")["errcode"] == 40125
    assert exchange(server, code, appid="wxwrong")["errcode"] == 40013
    assert exchange(server, code, grant_type="client_credential")["errcode"] == 40002
    assert exchange(server, "")["errcode"] == 41008
    assert exchange(server, "nosuchcode")["errcode"] == 40029
    server.clock.advance(301)  # unused for more than 5 minutes
    answer = exchange(server, code)
    assert answer["errcode"] == 40029 and answer["errmsg"].startswith("invalid code")

    fresh = code_of(authorize(server))
    server.clock.advance(299)
    assert exchange(server, fresh)["openid"] == USER


@pytest.mark.parametrize("params", [{"appid": "wxwrong"}, {"scope": "snsapi_login"}, {"response_type": "token"},
                                    {"redirect_uri": "javascript:alert(1)"}, {"state": "has space"}])
def test_oauth_authorize_refuses_bad_requests(world: World, params: dict[str, str]) -> None:
    response = authorize(world.server, **params)
    assert response.status_code == 400 and "Location" not in response.headers


def test_oauth_without_a_current_user_asks_who_it_is(world: World) -> None:
    response = authorize(world.server, openid=None)
    assert response.status_code == 200 and "/sandbox/login" in response.text and "Location" not in response.headers


# ---------------------------------------------------------------- the JS bridge


def confirm(server: SandboxServer, params: dict[str, str], **extra: Any) -> dict[str, Any]:
    response = requests.post(server.url + "/sandbox/pay/confirm", json={"params": params, **extra},
                             headers={"Origin": "http://127.0.0.1:8000"}, timeout=10)
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == "http://127.0.0.1:8000"
    assert response.headers["Access-Control-Allow-Credentials"] == "true"
    return response.json()


def test_bridge_pays_with_a_valid_pay_sign(world: World) -> None:
    prepay_id = world.peer.place(notify_url=world.receiver.url)
    params = world.peer.pay_params(prepay_id)
    assert confirm(world.server, params, action="cancel") == {"err_msg": "get_brand_wcpay_request:cancel"}
    assert world.peer.query("ORDER000001")["trade_state"] == "NOTPAY"
    assert confirm(world.server, params)["err_msg"] == "get_brand_wcpay_request:ok"
    assert world.peer.query("ORDER000001")["trade_state"] == "SUCCESS"
    world.scheduler.advance()
    assert world.receiver.events() == ["TRANSACTION.SUCCESS"]
    again = confirm(world.server, params)
    assert again["err_msg"] == "get_brand_wcpay_request:fail" and again["err_desc"] == "该订单已支付"


@pytest.mark.parametrize("spoil, reason", [
    ("sign", "支付验证签名失败"), ("prepay", "prepay_id无效"), ("appid", "appId与商户号不匹配"),
    ("openid", "支付用户与下单用户不一致"), ("missing", "缺少参数paySign"),
])
def test_bridge_refuses_bad_requests(world: World, stranger: MerchantKey, spoil: str, reason: str) -> None:
    prepay_id = world.peer.place()
    params = world.peer.pay_params(prepay_id, key=stranger.key if spoil == "sign" else None)
    extra: dict[str, Any] = {}
    if spoil == "prepay":
        params = world.peer.pay_params("wx0000000000000000000000000000000000")
    elif spoil == "appid":
        params = {**params, "appId": "wxother"}
    elif spoil == "openid":
        extra = {"openid": "oSomebodyElse"}
    elif spoil == "missing":
        del params["paySign"]
    result = confirm(world.server, params, **extra)
    assert result == {"err_msg": "get_brand_wcpay_request:fail", "err_desc": reason}
    assert world.peer.query("ORDER000001")["trade_state"] == "NOTPAY"


def test_bridge_script_and_preflight(world: World) -> None:
    script = requests.get(world.server.url + "/sandbox/jsbridge.js", timeout=10)
    assert script.status_code == 200 and script.headers["Content-Type"].startswith("application/javascript")
    assert f'"{world.server.url}"' in script.text and "WeixinJSBridgeReady" in script.text
    preflight = requests.options(world.server.url + "/sandbox/pay/confirm", timeout=10, headers={
        "Origin": "http://127.0.0.1:8000", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type"})
    assert preflight.status_code == 204
    assert preflight.headers["Access-Control-Allow-Origin"] == "http://127.0.0.1:8000"
    assert "content-type" in preflight.headers["Access-Control-Allow-Headers"].lower()


PAGE = """<!doctype html><html><head><meta charset="utf-8">
<script>window.__WX_SANDBOX__ = {openid: "%(openid)s"};</script>
<script src="%(sandbox)s/sandbox/jsbridge.js"></script>
</head><body><div id="result">waiting</div><script>
function onBridgeReady() {
  WeixinJSBridge.invoke("getBrandWCPayRequest", %(params)s, function (res) {
    document.getElementById("result").textContent = "result:" + res.err_msg;
  });
}
if (typeof WeixinJSBridge == "undefined") document.addEventListener("WeixinJSBridgeReady", onBridgeReady, false);
else onBridgeReady();
</script></body></html>"""


def test_bridge_in_headless_chromium_from_another_origin(world: World) -> None:
    """A page on another loopback port gets the bridge before its own scripts (the first script tags
    stand in for the browser's injection), waits for WeixinJSBridgeReady and pays."""
    prepay_id = world.peer.place(notify_url=world.receiver.url)
    page = PAGE % {"openid": USER, "sandbox": world.server.url, "params": json.dumps(world.peer.pay_params(prepay_id))}

    class Page(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            data = page.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Page)
    threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    try:
        with tempfile.TemporaryDirectory() as profile:
            dom = subprocess.run(
                ["chromium", "--headless", "--no-sandbox", "--disable-gpu", f"--user-data-dir={profile}",
                 "--virtual-time-budget=20000", "--dump-dom", f"http://127.0.0.1:{httpd.server_address[1]}/"],
                capture_output=True, text=True, timeout=120).stdout
    finally:
        httpd.shutdown()
        httpd.server_close()
    assert "result:get_brand_wcpay_request:ok" in dom
    assert world.peer.query("ORDER000001")["trade_state"] == "SUCCESS"
    assert world.server.payments is not None and world.server.payments.bridge_calls[-1]["openid"] == USER


# ---------------------------------------------------------------- helpers of the module


def test_merchant_keys_helper(tmp_path: Path) -> None:
    keys = merchant_keys(tmp_path / "keys", MCHID)
    private = serialization.load_pem_private_key(Path(keys.private_key_path).read_bytes(), None)
    certificate = x509.load_pem_x509_certificate(Path(keys.certificate_path).read_bytes())
    public = serialization.load_pem_public_key(keys.public_key_pem().encode())
    assert int(keys.serial_no, 16) == certificate.serial_number
    assert certificate.public_key().public_numbers() == public.public_numbers() == private.public_key().public_numbers()
