"""WeChat Pay API v3 for one merchant: orders, refunds, signatures and notifications.

The rules live in plain objects, like sandbox/account.py for the Official Account:

- `Platform`: WeChat Pay's own keys: the "WeChat Pay public key" (id `PUB_KEY_ID_...`) and a platform
  certificate (self-signed here) with its own key, for merchants still in certificate mode.
- `Merchant`: one merchant's state (orders, refunds) and every decision the v3 API makes: it checks the
  Authorization signature of each request, answers WeChat Pay's JSON, signs every answer (204 too), and
  plays the payer (`pay`, and the JS bridge's `confirm_bridge`).
- `Notifier`: delivers TRANSACTION.SUCCESS / REFUND.SUCCESS notifications on WeChat Pay's retry schedule
  (15s/15s/30s/3m/10m/20m/30m/30m/30m/60m/3h/3h/3h/6h/6h after the first attempt) until the merchant
  answers 200/204, on a `Scheduler` (real threads with time compressed by a factor, or a manual one
  that tests advance). Switches: drop, duplicate, delay, reorder, SIGNTEST probes. Every attempt and
  the merchant's answer is recorded.

`routes(server)` and `prefix_routes(server)` at the end adapt `Merchant` to the sandbox's HTTP server
(sandbox/api.py): `/v3/...` (signed like WeChat Pay), `/sandbox/jsbridge.js`, `/sandbox/pay/confirm`
(what the JS bridge posts) and `/sandbox/pay/notifications` (the delivery log, for people).

    keys = merchant_keys(folder, mchid)                  # the merchant's API key pair and certificate
    platform = server.enable_pay(mchid, apiv3_key, keys.public_key_pem(), bot_url + "/pay/notify",
                                 merchant_serial_no=keys.serial_no, scheduler=ManualScheduler())
    # the bot: pay.gateway_url = server.url, public_key_path = platform.public_key_path, ...
    server.pay(out_trade_no, openid)                     # the payer pays: SUCCESS + notification
    server.payments.scheduler.advance(15)                # (ManualScheduler) time passes: retries go out
    server.payments.notifier.deliveries(out_trade_no)    # every attempt and the bot's answer

Sources: pay.weixin.qq.com API v3 docs (JSAPI 下单, 查询订单, 关闭订单, 申请退款, 查询单笔退款, 支付通知,
退款结果通知, 签名/验签, 微信支付公钥, 平台证书, JSAPI 调起支付); see sandbox/README.md.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import heapq
import itertools
import json
import logging
import os
import re
import secrets
import shutil
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.cookies import CookieError, SimpleCookie
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Mapping, Protocol
from urllib.parse import parse_qs, unquote

import requests
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.x509.oid import NameOID

from sandbox.clock import Clock
from sandbox.wire import Answer, Request, Route

if TYPE_CHECKING:
    from sandbox.api import SandboxServer

log = logging.getLogger(__name__)

SIGNATURE_TYPE = "WECHATPAY2-SHA256-RSA2048"  # Authorization scheme and Wechatpay-Signature-Type
PROBE_PREFIX = "WECHATPAY/SIGNTEST/"  # signature probes: merchants must reject them
RETRY_DELAYS: tuple[int, ...] = (15, 15, 30, 180, 600, 1200, 1800, 1800, 1800, 3600,
                                 10800, 10800, 10800, 21600, 21600)  # 24h4m in all
REQUEST_WINDOW = 300  # seconds a request's Authorization timestamp may differ from WeChat Pay's clock
PREPAY_TTL = 7200  # a prepay_id is valid for 2 hours
ANSWER_TIMEOUT = 5.0  # seconds WeChat Pay waits for the merchant's answer to a notification
JSON_TYPE = "application/json; charset=utf-8"
CST = dt.timezone(dt.timedelta(hours=8))  # WeChat Pay writes every time in +08:00

OUT_TRADE_NO = re.compile(r"[0-9A-Za-z_\-*]{6,32}")  # 6-32 characters: digits, letters, _-*
OUT_REFUND_NO = re.compile(r"[0-9A-Za-z_\-|*@]{1,64}")
OPENID = re.compile(r"[0-9A-Za-z_\-]{1,128}")

STATE_DESC = {"NOTPAY": "订单未支付", "SUCCESS": "支付成功", "CLOSED": "订单已关闭", "REFUND": "订单发生过退款"}


# ---------------------------------------------------------------- errors


class PayApiError(Exception):
    """An error answer of the v3 API: HTTP status plus WeChat Pay's JSON {code, message}."""

    def __init__(self, status: int, code: str, message: str, detail: dict[str, Any] | None = None) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.detail = detail

    def payload(self) -> dict[str, Any]:
        data: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.detail:
            data["detail"] = self.detail
        return data


class PaymentRejected(Exception):
    """The payer cannot pay this order (unknown, paid, closed, expired, someone else's)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _param_error(message: str) -> PayApiError:
    return PayApiError(400, "PARAM_ERROR", message)


def _missing(source: str, name: str) -> PayApiError:
    # WeChat Pay's wording for a missing field
    return _param_error(f"输入源“{source}”映射到值字段“{name}”必填性规则校验失败，此字段为必填项")


def _sign_error(message: str, issue: str) -> PayApiError:
    return PayApiError(401, "SIGN_ERROR", message, {"detail": {"issue": issue}, "location": "authorization"})


# ---------------------------------------------------------------- crypto helpers


def _new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _private_pem(key: rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _public_pem(key: rsa.RSAPublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def _self_signed(key: rsa.RSAPrivateKey, common_name: str, organization: str, years: int = 5) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization),
                      x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = dt.datetime.now(dt.timezone.utc)
    return (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=365 * years))
            .sign(key, hashes.SHA256()))


def serial_hex(certificate: x509.Certificate) -> str:
    """A certificate serial as WeChat Pay writes it: upper-case hex (40 digits)."""
    return f"{certificate.serial_number:040X}"


def rsa_sign(key: rsa.RSAPrivateKey, message: bytes) -> str:
    """SHA256withRSA (PKCS#1 v1.5), base64: every signature of API v3."""
    return base64.b64encode(key.sign(message, padding.PKCS1v15(), hashes.SHA256())).decode()


def rsa_verify(key: rsa.RSAPublicKey, message: bytes, signature: str) -> bool:
    try:
        key.verify(base64.b64decode(signature, validate=True), message, padding.PKCS1v15(), hashes.SHA256())
    except (InvalidSignature, ValueError, TypeError):
        return False
    return True


def aes_gcm_encrypt(apiv3_key: str, plaintext: bytes, associated_data: str) -> tuple[str, str]:
    """AEAD_AES_256_GCM with the APIv3 key: (nonce, base64 ciphertext+tag); the nonce is 12 characters."""
    nonce = secrets.token_hex(6)
    ciphertext = AESGCM(apiv3_key.encode()).encrypt(nonce.encode(), plaintext, associated_data.encode())
    return nonce, base64.b64encode(ciphertext).decode()


def rfc3339(timestamp: float) -> str:
    """WeChat Pay's time format: 2018-06-08T10:34:56+08:00."""
    return dt.datetime.fromtimestamp(timestamp, CST).isoformat(timespec="seconds")


def _dumps(payload: Any) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


# ---------------------------------------------------------------- key material


@dataclass(frozen=True)
class MerchantKeys:
    """The merchant's API key pair and certificate (what the merchant platform issues as apiclient_*.pem)."""

    private_key_path: str  # apiclient_key.pem: the bot signs requests and paySign with it
    certificate_path: str  # apiclient_cert.pem
    public_key_path: str  # the public half, for the sandbox to verify the merchant's signatures
    serial_no: str  # the certificate's serial: `cert_serial_no` in the bot's settings

    def public_key_pem(self) -> str:
        return Path(self.public_key_path).read_text()


def merchant_keys(folder: str | Path, mchid: str = "1900000001") -> MerchantKeys:
    """Generate a merchant key pair and certificate into `folder` (for tests and the demo)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    key = _new_key()
    certificate = _self_signed(key, f"{mchid}", "sandbox merchant")
    paths = {"key": folder / "apiclient_key.pem", "cert": folder / "apiclient_cert.pem",
             "pub": folder / "apiclient_pub.pem"}
    paths["key"].write_bytes(_private_pem(key))
    os.chmod(paths["key"], 0o600)
    paths["cert"].write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    paths["pub"].write_bytes(_public_pem(key.public_key()))
    return MerchantKeys(str(paths["key"]), str(paths["cert"]), str(paths["pub"]), serial_hex(certificate))


@dataclass(frozen=True)
class PlatformKeys:
    """What the merchant downloads from WeChat Pay, plus WeChat Pay's own secrets (for tests that sign
    notifications themselves, from the spec)."""

    public_key_id: str  # PUB_KEY_ID_...: `pay.public_key_id`
    public_key_path: str  # the WeChat Pay public key: `pay.public_key_path`
    certificate_serial: str  # the platform certificate's serial (Wechatpay-Serial in certificate mode)
    certificate_path: str  # the platform certificate (also served, encrypted, by /v3/certificates)
    public_key_private_path: str  # the private half of the public key (WeChat Pay's secret)
    certificate_private_path: str  # the platform certificate's private key (WeChat Pay's secret)


class Platform:
    """WeChat Pay's keys: the public-key pair (signs in public-key mode) and the platform certificate."""

    def __init__(self, folder: Path) -> None:
        self.public_key_id = "PUB_KEY_ID_" + "".join(secrets.choice("0123456789") for _ in range(34))
        self.key = _new_key()
        self.certificate_key = _new_key()
        self.certificate = _self_signed(self.certificate_key, "Tenpay.com sandbox platform", "Tenpay.com")
        self.certificate_serial = serial_hex(self.certificate)
        self.certificate_pem = self.certificate.public_bytes(serialization.Encoding.PEM)
        files = {
            "pub": folder / "wechatpay_pub_key.pem", "cert": folder / "wechatpay_platform_cert.pem",
            "pub_private": folder / "wechatpay_pub_key.private.pem",
            "cert_private": folder / "wechatpay_platform_cert.private.pem",
        }
        files["pub"].write_bytes(_public_pem(self.key.public_key()))
        files["cert"].write_bytes(self.certificate_pem)
        files["pub_private"].write_bytes(_private_pem(self.key))
        files["cert_private"].write_bytes(_private_pem(self.certificate_key))
        self.keys = PlatformKeys(self.public_key_id, str(files["pub"]), self.certificate_serial, str(files["cert"]),
                                 str(files["pub_private"]), str(files["cert_private"]))

    def signer(self, mode: str) -> tuple[str, rsa.RSAPrivateKey]:
        """(Wechatpay-Serial, key) for answers and notifications in this mode."""
        if mode == "certificate":
            return self.certificate_serial, self.certificate_key
        return self.public_key_id, self.key


# ---------------------------------------------------------------- schedulers


class Scheduler(Protocol):
    """Runs actions later. Delays and `now()` are in WeChat Pay's seconds (compressed or virtual)."""

    def now(self) -> float: ...

    def call_later(self, delay: float, action: Callable[[], None]) -> None: ...

    def close(self) -> None: ...


class ThreadScheduler:
    """Real time divided by `factor` (factor 60: WeChat Pay's 3 minutes pass in 3 seconds). Each due
    action runs in its own daemon thread, so a slow merchant never holds up other deliveries."""

    def __init__(self, factor: float = 1.0) -> None:
        if factor <= 0:
            raise ValueError("time factor must be positive")
        self.factor = factor
        self._start = time.monotonic()
        self._heap: list[tuple[float, int, Callable[[], None]]] = []
        self._seq = itertools.count()
        self._cond = threading.Condition()
        self._running = 0
        self._closed = False
        self._thread = threading.Thread(target=self._loop, name="sandbox-pay-scheduler", daemon=True)
        self._thread.start()

    def now(self) -> float:
        return (time.monotonic() - self._start) * self.factor

    def call_later(self, delay: float, action: Callable[[], None]) -> None:
        with self._cond:
            heapq.heappush(self._heap, (time.monotonic() + max(delay, 0.0) / self.factor, next(self._seq), action))
            self._cond.notify_all()

    def idle(self) -> bool:
        with self._cond:
            return not self._heap and not self._running

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._heap.clear()
            self._cond.notify_all()
        self._thread.join(timeout=5)

    def _loop(self) -> None:
        while True:
            with self._cond:
                while not self._closed and (not self._heap or self._heap[0][0] > time.monotonic()):
                    self._cond.wait(None if not self._heap else max(self._heap[0][0] - time.monotonic(), 0.0))
                if self._closed:
                    return
                _, _, action = heapq.heappop(self._heap)
                self._running += 1
            threading.Thread(target=self._run, args=(action,), name="sandbox-pay-action", daemon=True).start()

    def _run(self, action: Callable[[], None]) -> None:
        try:
            action()
        except Exception:  # a sandbox bug: keep the scheduler alive
            log.exception("sandbox pay action failed")
        finally:
            with self._cond:
                self._running -= 1
                self._cond.notify_all()


class ManualScheduler:
    """Virtual time that moves only when a test calls `advance(seconds)`; due actions then run in the
    caller's thread, in order. Nothing waits: a day of retries passes in one call."""

    def __init__(self) -> None:
        self._now = 0.0
        self._heap: list[tuple[float, int, Callable[[], None]]] = []
        self._seq = itertools.count()
        self._lock = threading.Lock()

    def now(self) -> float:
        with self._lock:
            return self._now

    def call_later(self, delay: float, action: Callable[[], None]) -> None:
        with self._lock:
            heapq.heappush(self._heap, (self._now + max(delay, 0.0), next(self._seq), action))

    def pending(self) -> list[float]:
        """When the waiting actions are due (virtual seconds), soonest first."""
        with self._lock:
            return sorted(due for due, _, _ in self._heap)

    def advance(self, seconds: float = 0.0) -> int:
        """Run everything due within `seconds` from now (including what those actions schedule);
        return how many actions ran."""
        with self._lock:
            target = self._now + seconds
        ran = 0
        while True:
            with self._lock:
                if not self._heap or self._heap[0][0] > target:
                    self._now = max(self._now, target)
                    return ran
                due, _, action = heapq.heappop(self._heap)
                self._now = max(self._now, due)
            action()
            ran += 1

    def drain(self, limit: int = 100_000) -> int:
        """Advance until nothing is waiting (e.g. every retry of a day); return how many actions ran."""
        ran = 0
        while ran < limit:
            pending = self.pending()
            if not pending:
                return ran
            ran += self.advance(max(pending[0] - self.now(), 0.0))
        raise RuntimeError("the scheduler never goes idle")

    def close(self) -> None:
        with self._lock:
            self._heap.clear()


# ---------------------------------------------------------------- notifications


@dataclass
class Delivery:
    """One POST of a notification to the merchant, and the merchant's answer."""

    notification_id: str
    event_type: str
    out_trade_no: str
    out_refund_no: str | None
    kind: str  # "notify" (an attempt of the schedule), "duplicate" (an extra copy) or "probe" (SIGNTEST)
    attempt: int  # 1 for the first attempt of the schedule; 0 for probes and duplicates
    at: float  # scheduler time (WeChat Pay seconds) of the attempt
    url: str
    headers: dict[str, str]
    body: bytes
    status: int | None  # the merchant's HTTP status; None: no answer (refused, timeout)
    answer: str  # the merchant's body (truncated) or the network error

    @property
    def accepted(self) -> bool:
        return self.status in (200, 204)


@dataclass
class Notice:
    """A notification WeChat Pay owes the merchant, with its delivery state."""

    id: str
    event_type: str
    out_trade_no: str
    out_refund_no: str | None
    url: str
    resource: dict[str, Any]  # the plaintext inside the encrypted resource
    body: bytes  # the JSON posted on every attempt (same id, same ciphertext)
    created_at: float  # scheduler time
    duplicate: int = 1
    delay: float = 0.0
    probes: int = 0
    state: str = "pending"  # pending, held (reordered), dropped, delivered, given_up
    attempts: int = 0


@dataclass
class Controls:
    """Switches for the next notifications (each notice keeps the values it was created with)."""

    drop: bool = False  # never deliver
    duplicate: int = 1  # deliver each this many times in all (copies follow the accepted delivery)
    delay: float = 0.0  # WeChat Pay seconds before the first attempt
    reorder: bool = False  # hold TRANSACTION.* back until the order's refund notification has gone out
    probes: int = 0  # SIGNTEST probes (garbage signature) sent before the first attempt


class Notifier:
    """Delivers notifications on WeChat Pay's schedule and records every attempt."""

    def __init__(self, sign: Callable[[bytes], list[tuple[str, str]]], apiv3_key: str, clock: Clock,
                 scheduler: Scheduler, *, answer_timeout: float = ANSWER_TIMEOUT,
                 post: Callable[..., requests.Response] | None = None) -> None:
        self._sign = sign
        self._apiv3_key = apiv3_key
        self._clock = clock
        self.scheduler = scheduler
        self.answer_timeout = answer_timeout
        self._post = post or requests.post
        self.controls = Controls()
        self._lock = threading.Lock()
        self._notices: list[Notice] = []
        self._deliveries: list[Delivery] = []

    def configure(self, **switches: Any) -> Controls:
        """Set switches for the notifications created from now on: drop, duplicate, delay, reorder,
        probes (see `Controls`). `configure()` with no arguments resets them."""
        with self._lock:
            self.controls = dataclasses.replace(Controls() if not switches else self.controls, **switches)
            if self.controls.duplicate < 1 or self.controls.probes < 0 or self.controls.delay < 0:
                raise ValueError("duplicate >= 1, probes >= 0, delay >= 0")
            return self.controls

    # ------------------------------------------------------------ inspection

    def deliveries(self, out_trade_no: str | None = None, event_type: str | None = None,
                   kind: str | None = None) -> list[Delivery]:
        with self._lock:
            return [d for d in self._deliveries if (out_trade_no is None or d.out_trade_no == out_trade_no)
                    and (event_type is None or d.event_type == event_type) and (kind is None or d.kind == kind)]

    def notices(self, out_trade_no: str | None = None) -> list[Notice]:
        with self._lock:
            return [n for n in self._notices if out_trade_no is None or n.out_trade_no == out_trade_no]

    # ------------------------------------------------------------ sending

    def send(self, event_type: str, summary: str, original_type: str, resource: dict[str, Any], url: str,
             out_trade_no: str, out_refund_no: str | None = None) -> Notice:
        """Create a notification (encrypted with the APIv3 key) and start delivering it."""
        nonce, ciphertext = aes_gcm_encrypt(self._apiv3_key, _dumps(resource), original_type)
        notice_id = str(uuid.uuid4())
        body = _dumps({
            "id": notice_id, "create_time": rfc3339(self._clock.now()), "resource_type": "encrypt-resource",
            "event_type": event_type, "summary": summary,
            "resource": {"original_type": original_type, "algorithm": "AEAD_AES_256_GCM", "ciphertext": ciphertext,
                         "associated_data": original_type, "nonce": nonce},
        })
        with self._lock:
            controls = self.controls
            notice = Notice(notice_id, event_type, out_trade_no, out_refund_no, url, resource, body,
                            self.scheduler.now(), controls.duplicate, controls.delay, controls.probes)
            if controls.drop:
                notice.state = "dropped"
            elif controls.reorder and event_type.startswith("TRANSACTION."):
                notice.state = "held"
            self._notices.append(notice)
        if notice.state == "dropped":
            return notice
        for _ in range(notice.probes):
            self.scheduler.call_later(notice.delay, lambda: self._attempt(notice, "probe"))
        if notice.state == "pending":
            self.scheduler.call_later(notice.delay, lambda: self._deliver(notice))
        return notice

    def release(self, out_trade_no: str | None = None) -> int:
        """Send held (reordered) notifications now; return how many."""
        with self._lock:
            held = [n for n in self._notices if n.state == "held"
                    and (out_trade_no is None or n.out_trade_no == out_trade_no)]
            for notice in held:
                notice.state = "pending"
        for notice in held:
            self.scheduler.call_later(0, lambda notice=notice: self._deliver(notice))
        return len(held)

    def close(self) -> None:
        self.scheduler.close()

    def _deliver(self, notice: Notice) -> None:
        with self._lock:
            if notice.state != "pending":
                return
            notice.attempts += 1
            attempt = notice.attempts
        delivery = self._attempt(notice, "notify", attempt)
        if notice.event_type.startswith("REFUND.") and attempt == 1:
            self.release(notice.out_trade_no)  # reorder: the held payment notification follows the refund's
        if delivery.accepted:
            with self._lock:
                notice.state = "delivered"
            for _ in range(notice.duplicate - 1):
                self.scheduler.call_later(0, lambda: self._attempt(notice, "duplicate"))
        elif attempt <= len(RETRY_DELAYS):
            self.scheduler.call_later(RETRY_DELAYS[attempt - 1], lambda: self._deliver(notice))
        else:
            with self._lock:
                notice.state = "given_up"

    def _attempt(self, notice: Notice, kind: str, attempt: int = 0) -> Delivery:
        headers = {"Content-Type": "application/json", "User-Agent": "Mozilla/4.0", **dict(self._sign(notice.body))}
        if kind == "probe":
            headers["Wechatpay-Signature"] = PROBE_PREFIX + base64.b64encode(secrets.token_bytes(24)).decode()
        at = self.scheduler.now()
        try:
            response = self._post(notice.url, data=notice.body, headers=headers, timeout=self.answer_timeout,
                                  allow_redirects=False)
            status: int | None = response.status_code
            answer = response.text[:2000]
        except requests.RequestException as exc:
            status, answer = None, f"{type(exc).__name__}: {exc}"[:2000]
        delivery = Delivery(notice.id, notice.event_type, notice.out_trade_no, notice.out_refund_no, kind, attempt,
                            at, notice.url, headers, notice.body, status, answer)
        with self._lock:
            self._deliveries.append(delivery)
        return delivery


# ---------------------------------------------------------------- orders and refunds


@dataclass
class Order:
    request: dict[str, Any]  # the JSAPI body as received: a repeat must be identical
    out_trade_no: str
    appid: str
    mchid: str
    description: str
    total: int
    currency: str
    payer_openid: str
    notify_url: str
    attach: str | None
    time_expire: float | None
    created_at: float
    prepay_id: str
    prepay_expires_at: float
    state: str = "NOTPAY"  # NOTPAY -> SUCCESS -> REFUND; NOTPAY -> CLOSED
    transaction_id: str | None = None
    success_time: float | None = None
    refunded: int = 0  # fen refunded or being refunded

    def transaction(self) -> dict[str, Any]:
        """The order as the query API and the TRANSACTION notification show it."""
        data: dict[str, Any] = {
            "appid": self.appid, "mchid": self.mchid, "out_trade_no": self.out_trade_no,
            "trade_state": self.state, "trade_state_desc": STATE_DESC[self.state],
            "amount": {"total": self.total, "currency": self.currency},
        }
        if self.state in ("SUCCESS", "REFUND"):
            assert self.success_time is not None
            data.update({
                "transaction_id": self.transaction_id, "trade_type": "JSAPI", "bank_type": "OTHERS",
                "success_time": rfc3339(self.success_time), "payer": {"openid": self.payer_openid},
                "amount": {"total": self.total, "payer_total": self.total, "currency": self.currency,
                           "payer_currency": self.currency},
                "promotion_detail": [],
            })
            if self.attach is not None:
                data["attach"] = self.attach
        return data


@dataclass
class Refund:
    request: dict[str, Any]
    out_refund_no: str
    refund_id: str
    out_trade_no: str
    transaction_id: str
    refund: int
    total: int
    currency: str
    notify_url: str
    created_at: float
    status: str = "PROCESSING"  # -> SUCCESS
    success_time: float | None = None

    def as_dict(self) -> dict[str, Any]:
        """The refund as the refund APIs answer it."""
        data: dict[str, Any] = {
            "refund_id": self.refund_id, "out_refund_no": self.out_refund_no,
            "transaction_id": self.transaction_id, "out_trade_no": self.out_trade_no, "channel": "ORIGINAL",
            "user_received_account": "支付用户零钱", "create_time": rfc3339(self.created_at),
            "status": self.status, "funds_account": "AVAILABLE",
            "amount": {"total": self.total, "refund": self.refund, "payer_total": self.total,
                       "payer_refund": self.refund, "settlement_total": self.total,
                       "settlement_refund": self.refund, "discount_refund": 0, "currency": self.currency,
                       "refund_fee": 0},
            "promotion_detail": [],
        }
        if self.success_time is not None:
            data["success_time"] = rfc3339(self.success_time)
        return data

    def notification(self, mchid: str) -> dict[str, Any]:
        """The plaintext of the REFUND.* notification."""
        data: dict[str, Any] = {
            "mchid": mchid, "out_trade_no": self.out_trade_no, "transaction_id": self.transaction_id,
            "out_refund_no": self.out_refund_no, "refund_id": self.refund_id, "refund_status": self.status,
            "user_received_account": "支付用户零钱",
            "amount": {"total": self.total, "refund": self.refund, "payer_total": self.total,
                       "payer_refund": self.refund},
        }
        if self.success_time is not None:
            data["success_time"] = rfc3339(self.success_time)
        return data


# ---------------------------------------------------------------- the merchant


class Merchant:
    """WeChat Pay as one merchant sees it. Thread-safe: state changes take one lock."""

    def __init__(self, mchid: str, apiv3_key: str, merchant_public_key_pem: str | bytes, notify_url: str, *,
                 appid: str, clock: Clock | None = None, merchant_serial_no: str | None = None,
                 mode: str = "public_key", scheduler: Scheduler | None = None, time_factor: float = 1.0,
                 refund_delay: float = 5.0, folder: str | Path | None = None,
                 answer_timeout: float = ANSWER_TIMEOUT) -> None:
        """`mode`: "public_key" (WeChat Pay signs with the public key PUB_KEY_ID_..., the default for
        merchants since 2024) or "certificate" (signs with the platform certificate; /v3/certificates
        serves it either way). `merchant_serial_no`: when given, requests must carry this serial_no.
        `scheduler`: default a ThreadScheduler with `time_factor`. `refund_delay`: WeChat Pay seconds
        from PROCESSING to SUCCESS. `folder`: where the platform's key files go (default a temporary
        folder removed by `close()`)."""
        if len(apiv3_key.encode()) != 32:
            raise ValueError("the APIv3 key is 32 bytes")
        if mode not in ("public_key", "certificate"):
            raise ValueError("mode is public_key or certificate")
        self.mchid = mchid
        self.appid = appid
        self.apiv3_key = apiv3_key
        pem = merchant_public_key_pem.encode() if isinstance(merchant_public_key_pem, str) else merchant_public_key_pem
        public_key = serialization.load_pem_public_key(pem)
        if not isinstance(public_key, rsa.RSAPublicKey):
            raise ValueError("the merchant key is RSA")
        self.merchant_public_key = public_key
        self.merchant_serial_no = merchant_serial_no.upper() if merchant_serial_no else None
        self.notify_url = notify_url
        self.mode = mode
        self.clock = clock or Clock()
        self.refund_delay = refund_delay
        self._own_folder = folder is None
        self.folder = Path(folder) if folder is not None else Path(tempfile.mkdtemp(prefix="sandbox-pay-"))
        self.folder.mkdir(parents=True, exist_ok=True)
        self.platform = Platform(self.folder)
        self.scheduler: Scheduler = scheduler or ThreadScheduler(time_factor)
        self.notifier = Notifier(self.sign_headers, apiv3_key, self.clock, self.scheduler,
                                 answer_timeout=answer_timeout)
        self.orders: dict[str, Order] = {}
        self.refunds: dict[str, Refund] = {}
        self.bridge_calls: list[dict[str, Any]] = []  # what the JS bridge posted, and the answer
        self.bridge_action: str | None = None  # force the payer's choice: "pay", "cancel" or "fail"
        self._by_prepay: dict[str, str] = {}
        self._lock = threading.RLock()
        self._failures: list[tuple[str, PayApiError]] = []
        self._bad_signatures = 0

    @property
    def keys(self) -> PlatformKeys:
        return self.platform.keys

    def close(self) -> None:
        self.notifier.close()
        if self._own_folder:
            shutil.rmtree(self.folder, ignore_errors=True)

    # ------------------------------------------------------------ test hooks

    def fail_next(self, path_prefix: str, status: int = 500, code: str = "SYSTEM_ERROR",
                  message: str = "系统错误", times: int = 1) -> None:
        """The next `times` authenticated requests whose path starts with `path_prefix` get this answer."""
        with self._lock:
            self._failures.extend([(path_prefix, PayApiError(status, code, message))] * times)

    def corrupt_signatures(self, times: int = 1) -> None:
        """The next `times` answers carry a signature that does not verify (a forged or altered answer)."""
        with self._lock:
            self._bad_signatures += times

    def settle_refunds(self) -> int:
        """Finish every PROCESSING refund now (SUCCESS + notification); return how many."""
        with self._lock:
            waiting = [r.out_refund_no for r in self.refunds.values() if r.status == "PROCESSING"]
        for out_refund_no in waiting:
            self._settle(out_refund_no)
        return len(waiting)

    # ------------------------------------------------------------ signatures

    def sign_headers(self, body: bytes) -> list[tuple[str, str]]:
        """The Wechatpay-* headers of an answer or notification: SHA256withRSA over
        "timestamp\\nnonce\\nbody\\n" with the key of this mode (the body may be empty: 204)."""
        serial, key = self.platform.signer(self.mode)
        timestamp, nonce = str(int(self.clock.now())), uuid.uuid4().hex.upper()
        message = f"{timestamp}\n{nonce}\n".encode() + body + b"\n"
        with self._lock:
            corrupt = self._bad_signatures > 0
            self._bad_signatures -= corrupt
        signature = rsa_sign(key, message + b"tampered" if corrupt else message)
        return [("Wechatpay-Nonce", nonce), ("Wechatpay-Signature", signature), ("Wechatpay-Timestamp", timestamp),
                ("Wechatpay-Serial", serial), ("Wechatpay-Signature-Type", SIGNATURE_TYPE)]

    def authenticate(self, method: str, target: str, headers: Mapping[str, str], body: bytes) -> str:
        """Check the request's Authorization (WECHATPAY2-SHA256-RSA2048 over
        "METHOD\\nURL\\ntimestamp\\nnonce\\nbody\\n"); return the mchid. Failures: 401 SIGN_ERROR."""
        authorization = headers.get("Authorization") or ""
        scheme, _, params = authorization.strip().partition(" ")
        if not authorization:
            raise _sign_error("Http头Authorization值为空", "authorization missing")
        if scheme != SIGNATURE_TYPE:
            raise _sign_error("错误的签名方式", "unknown scheme")
        fields = dict(re.findall(r'(\w+)="([^"]*)"', params))
        for name in ("mchid", "nonce_str", "signature", "timestamp", "serial_no"):
            if not fields.get(name):
                raise _sign_error(f"Http头Authorization缺少{name}", f"{name} missing")
        if fields["mchid"] != self.mchid:
            raise _sign_error("商户号与签名不匹配", "mchid not match")
        if self.merchant_serial_no and fields["serial_no"].upper() != self.merchant_serial_no:
            raise _sign_error("商户证书序列号有误。请使用签名私钥匹配的证书序列号", "serial_no not match")
        if not fields["timestamp"].isdigit() or abs(self.clock.now() - int(fields["timestamp"])) > REQUEST_WINDOW:
            raise _sign_error("Http头Authorization中的timestamp已过期或格式错误", "timestamp expired")
        message = f"{method}\n{target}\n{fields['timestamp']}\n{fields['nonce_str']}\n".encode() + body + b"\n"
        if not rsa_verify(self.merchant_public_key, message, fields["signature"]):
            raise _sign_error("签名错误，请检查后再试", "sign not match")
        return fields["mchid"]

    # ------------------------------------------------------------ the v3 API

    def handle(self, method: str, target: str, headers: Mapping[str, str],
               body: bytes) -> tuple[int, bytes, list[tuple[str, str]]]:
        """One v3 request: (status, body, headers), every answer signed."""
        path, _, query_string = target.partition("?")
        query = {k: v[-1] for k, v in parse_qs(query_string, keep_blank_values=True).items()}
        try:
            self.authenticate(method, target, headers, body)
            self._injected(path)
            status, payload = self._route(method, path, query, body)
        except PayApiError as error:
            status, payload = error.status, error.payload()
        data = b"" if payload is None else _dumps(payload)
        return status, data, [*self.sign_headers(data), ("Request-ID", uuid.uuid4().hex)]

    def _injected(self, path: str) -> None:
        with self._lock:
            for index, (prefix, error) in enumerate(self._failures):
                if path.startswith(prefix):
                    del self._failures[index]
                    raise error

    def _route(self, method: str, path: str, query: dict[str, str], body: bytes) -> tuple[int, Any]:
        if (method, path) == ("POST", "/v3/pay/transactions/jsapi"):
            return 200, self.create_jsapi(_json_body(body))
        if (method, path) == ("GET", "/v3/certificates"):
            return 200, self.certificates()
        if (method, path) == ("POST", "/v3/refund/domestic/refunds"):
            return 200, self.create_refund(_json_body(body))
        if match := re.fullmatch(r"/v3/pay/transactions/out-trade-no/([^/]+)/close", path):
            if method == "POST":
                self.close_order(unquote(match[1]), _json_body(body))
                return 204, None
        elif match := re.fullmatch(r"/v3/pay/transactions/out-trade-no/([^/]+)", path):
            if method == "GET":
                return 200, self.query_order(unquote(match[1]), query.get("mchid"))
        elif match := re.fullmatch(r"/v3/pay/transactions/id/([^/]+)", path):
            if method == "GET":
                return 200, self.query_transaction(unquote(match[1]), query.get("mchid"))
        elif match := re.fullmatch(r"/v3/refund/domestic/refunds/([^/]+)", path):
            if method == "GET":
                return 200, self.query_refund(unquote(match[1]))
        raise PayApiError(404, "NOT_FOUND", "请求的资源不存在")

    def create_jsapi(self, data: dict[str, Any]) -> dict[str, str]:
        """POST /v3/pay/transactions/jsapi: the same out_trade_no with the same body answers the same
        prepay_id; with another body 400 INVALID_REQUEST "201 商户订单号重复"."""
        order = self._validate_order(data)
        with self._lock:
            existing = self.orders.get(order.out_trade_no)
            if existing is not None:
                if existing.request != data:
                    raise PayApiError(400, "INVALID_REQUEST", "201 商户订单号重复")
                if existing.state in ("SUCCESS", "REFUND"):
                    raise PayApiError(400, "ORDERPAID", "该订单已支付")
                if existing.state == "CLOSED":
                    raise PayApiError(400, "ORDER_CLOSED", "订单已关闭")
                if self.clock.now() >= existing.prepay_expires_at:  # a fresh prepay_id for the same order
                    del self._by_prepay[existing.prepay_id]
                    existing.prepay_id = _prepay_id(self.clock.now())
                    existing.prepay_expires_at = self.clock.now() + PREPAY_TTL
                    self._by_prepay[existing.prepay_id] = existing.out_trade_no
                return {"prepay_id": existing.prepay_id}
            self.orders[order.out_trade_no] = order
            self._by_prepay[order.prepay_id] = order.out_trade_no
            return {"prepay_id": order.prepay_id}

    def _validate_order(self, data: dict[str, Any]) -> Order:
        appid = _required_str(data, "appid", "公众号ID", 32)
        mchid = _required_str(data, "mchid", "直连商户号", 32)
        description = _required_str(data, "description", "商品描述", 127)
        out_trade_no = _required_str(data, "out_trade_no", "商户订单号", 32)
        notify_url = _required_str(data, "notify_url", "通知地址", 255)
        if mchid != self.mchid:
            raise _param_error("http header中的mchid与post payload中的mchid不匹配")
        if appid != self.appid:
            raise PayApiError(400, "APPID_MCHID_NOT_MATCH", "appid和mch_id不匹配")
        if not OUT_TRADE_NO.fullmatch(out_trade_no):
            raise _param_error("商户订单号out_trade_no应为6-32位数字、大小写字母、_-*")
        if not re.fullmatch(r"https?://[^\s?#]+", notify_url):
            raise _param_error("通知地址notify_url格式错误，不能携带参数")
        amount = data.get("amount")
        if not isinstance(amount, dict) or "total" not in amount:
            raise _missing("/body/amount/total", "总金额")
        total = amount["total"]
        if not isinstance(total, int) or isinstance(total, bool) or total <= 0:
            raise _param_error("订单金额amount.total必须为大于0的整数（单位：分）")
        currency = amount.get("currency", "CNY")
        if currency != "CNY":
            raise _param_error("不支持的货币类型，境内商户号仅支持人民币CNY")
        payer = data.get("payer")
        openid = payer.get("openid") if isinstance(payer, dict) else None
        if not isinstance(openid, str) or not openid:
            raise _missing("/body/payer/openid", "用户标识")
        if not OPENID.fullmatch(openid):
            raise _param_error("用户标识payer.openid格式错误")
        attach = data.get("attach")
        if attach is not None and (not isinstance(attach, str) or len(attach) > 128):
            raise _param_error("附加数据attach长度不能超过128")
        time_expire = None
        if data.get("time_expire") is not None:
            time_expire = _parse_time(data["time_expire"], "time_expire")
        now = self.clock.now()
        return Order(dict(data), out_trade_no, appid, mchid, description, total, currency, openid, notify_url,
                     attach, time_expire, now, _prepay_id(now), now + PREPAY_TTL)

    def query_order(self, out_trade_no: str, mchid: str | None) -> dict[str, Any]:
        """GET /v3/pay/transactions/out-trade-no/{out_trade_no}?mchid=: 404 ORDER_NOT_EXIST when unknown."""
        self._check_query_mchid(mchid)
        with self._lock:
            order = self.orders.get(out_trade_no)
            if order is None:
                raise PayApiError(404, "ORDER_NOT_EXIST", "订单不存在")
            return order.transaction()

    def query_transaction(self, transaction_id: str, mchid: str | None) -> dict[str, Any]:
        """GET /v3/pay/transactions/id/{transaction_id}?mchid=."""
        self._check_query_mchid(mchid)
        with self._lock:
            for order in self.orders.values():
                if order.transaction_id == transaction_id:
                    return order.transaction()
        raise PayApiError(404, "ORDER_NOT_EXIST", "订单不存在")

    def _check_query_mchid(self, mchid: str | None) -> None:
        if not mchid:
            raise _missing("/query/mchid", "直连商户号")
        if mchid != self.mchid:
            raise _param_error("mchid与请求头Authorization中的商户号不匹配")

    def close_order(self, out_trade_no: str, data: dict[str, Any]) -> None:
        """POST .../{out_trade_no}/close {mchid}: 204; paid -> 400 ORDERPAID; closing twice is fine."""
        mchid = _required_str(data, "mchid", "直连商户号", 32)
        if mchid != self.mchid:
            raise _param_error("http header中的mchid与post payload中的mchid不匹配")
        with self._lock:
            order = self.orders.get(out_trade_no)
            if order is None:
                raise PayApiError(404, "ORDER_NOT_EXIST", "订单不存在")
            if order.state in ("SUCCESS", "REFUND"):
                raise PayApiError(400, "ORDERPAID", "订单已支付")
            order.state = "CLOSED"

    def create_refund(self, data: dict[str, Any]) -> dict[str, Any]:
        """POST /v3/refund/domestic/refunds: PROCESSING now, SUCCESS (and REFUND.SUCCESS) after
        `refund_delay`. The same out_refund_no with the same body answers the same refund."""
        out_refund_no = _required_str(data, "out_refund_no", "商户退款单号", 64)
        if not OUT_REFUND_NO.fullmatch(out_refund_no):
            raise _param_error("商户退款单号out_refund_no格式错误")
        amount = data.get("amount")
        if not isinstance(amount, dict):
            raise _missing("/body/amount", "金额信息")
        refund, total = amount.get("refund"), amount.get("total")
        for name, value in (("refund", refund), ("total", total)):
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise _param_error(f"amount.{name}必须为大于0的整数（单位：分）")
        if amount.get("currency", "CNY") != "CNY":
            raise _param_error("退款币种currency仅支持CNY")
        notify_url = data.get("notify_url") or self.notify_url
        with self._lock:
            existing = self.refunds.get(out_refund_no)
            if existing is not None:
                if existing.request != data:
                    raise PayApiError(400, "INVALID_REQUEST", "商户退款单号重复，请核实退款参数是否与原请求一致")
                return existing.as_dict()
            order = self._refundable(data)
            if total != order.total:
                raise PayApiError(400, "INVALID_REQUEST", "订单金额total与原订单金额不一致")
            if refund > order.total - order.refunded:
                raise PayApiError(400, "INVALID_REQUEST", "申请退款金额超过订单可退金额")
            assert order.transaction_id is not None
            now = self.clock.now()
            record = Refund(dict(data), out_refund_no, _numbers("50", 27), order.out_trade_no,
                            order.transaction_id, refund, total, "CNY", notify_url, now)
            self.refunds[out_refund_no] = record
            order.refunded += refund
            order.state = "REFUND"
            answer = record.as_dict()
        self.scheduler.call_later(self.refund_delay, lambda: self._settle(out_refund_no))
        return answer

    def _refundable(self, data: dict[str, Any]) -> Order:
        order = None
        if data.get("transaction_id"):
            order = next((o for o in self.orders.values() if o.transaction_id == data["transaction_id"]), None)
        elif data.get("out_trade_no"):
            order = self.orders.get(str(data["out_trade_no"]))
        else:
            raise _param_error("transaction_id和out_trade_no必须二选一进行传参")
        if order is None:
            raise PayApiError(404, "RESOURCE_NOT_EXISTS", "订单不存在")
        if order.state not in ("SUCCESS", "REFUND"):
            raise PayApiError(400, "INVALID_REQUEST", "订单未支付，不能退款")
        return order

    def _settle(self, out_refund_no: str) -> None:
        with self._lock:
            refund = self.refunds[out_refund_no]
            if refund.status != "PROCESSING":
                return
            refund.status = "SUCCESS"
            refund.success_time = self.clock.now()
            resource = refund.notification(self.mchid)
        self.notifier.send("REFUND.SUCCESS", "退款成功", "refund", resource, refund.notify_url,
                           refund.out_trade_no, out_refund_no)

    def query_refund(self, out_refund_no: str) -> dict[str, Any]:
        """GET /v3/refund/domestic/refunds/{out_refund_no}: 404 RESOURCE_NOT_EXISTS when unknown."""
        with self._lock:
            refund = self.refunds.get(out_refund_no)
            if refund is None:
                raise PayApiError(404, "RESOURCE_NOT_EXISTS", "退款单不存在")
            return refund.as_dict()

    def certificates(self) -> dict[str, Any]:
        """GET /v3/certificates: the platform certificate, encrypted with the APIv3 key."""
        cert = self.platform.certificate
        nonce, ciphertext = aes_gcm_encrypt(self.apiv3_key, self.platform.certificate_pem, "certificate")
        return {"data": [{
            "serial_no": self.platform.certificate_serial,
            "effective_time": cert.not_valid_before_utc.astimezone(CST).isoformat(timespec="seconds"),
            "expire_time": cert.not_valid_after_utc.astimezone(CST).isoformat(timespec="seconds"),
            "encrypt_certificate": {"algorithm": "AEAD_AES_256_GCM", "nonce": nonce,
                                    "associated_data": "certificate", "ciphertext": ciphertext},
        }]}

    # ------------------------------------------------------------ the payer

    def pay(self, out_trade_no: str, payer_openid: str) -> dict[str, Any]:
        """The payer completes the payment: the order turns SUCCESS and TRANSACTION.SUCCESS goes out.
        Returns the transaction; raises PaymentRejected when this payer cannot pay this order."""
        with self._lock:
            order = self.orders.get(out_trade_no)
            if order is None:
                raise PaymentRejected("订单不存在")
            if order.state in ("SUCCESS", "REFUND"):
                raise PaymentRejected("该订单已支付")
            if order.state == "CLOSED":
                raise PaymentRejected("订单已关闭")
            now = self.clock.now()
            if order.time_expire is not None and now > order.time_expire:
                raise PaymentRejected("订单已过支付截止时间")
            if payer_openid != order.payer_openid:
                raise PaymentRejected("支付用户与下单用户不一致")
            order.state = "SUCCESS"
            order.transaction_id = _numbers("4200", 28)
            order.success_time = now
            resource = order.transaction()
        self.notifier.send("TRANSACTION.SUCCESS", "支付成功", "transaction", resource, order.notify_url, out_trade_no)
        return resource

    def confirm_bridge(self, params: Any, openid: str | None = None, action: str = "pay") -> dict[str, str]:
        """What WeChat's cashier does with getBrandWCPayRequest: check appId, the prepay_id and paySign
        (SHA256withRSA over "appId\\ntimeStamp\\nnonceStr\\npackage\\n" with the merchant's key), then the
        payer pays ("pay"), closes the cashier ("cancel") or the payment fails ("fail")."""
        action = self.bridge_action or action
        try:
            order = self._check_pay_params(params)
            if openid and openid != order.payer_openid:
                raise PaymentRejected("支付用户与下单用户不一致")
            if action == "cancel":
                result = {"err_msg": "get_brand_wcpay_request:cancel"}
            elif action == "fail":
                result = {"err_msg": "get_brand_wcpay_request:fail", "err_desc": "支付失败（沙箱）"}
            else:
                self.pay(order.out_trade_no, openid or order.payer_openid)
                result = {"err_msg": "get_brand_wcpay_request:ok"}
        except PaymentRejected as rejected:
            result = {"err_msg": "get_brand_wcpay_request:fail", "err_desc": rejected.reason}
        with self._lock:
            self.bridge_calls.append({"params": params, "openid": openid, "action": action, "result": result})
        return result

    def _check_pay_params(self, params: Any) -> Order:
        if not isinstance(params, dict):
            raise PaymentRejected("缺少支付参数")
        for name in ("appId", "timeStamp", "nonceStr", "package", "signType", "paySign"):
            if not isinstance(params.get(name), str) or not params[name]:
                raise PaymentRejected(f"缺少参数{name}")
        if params["appId"] != self.appid:
            raise PaymentRejected("appId与商户号不匹配")
        if params["signType"] != "RSA":
            raise PaymentRejected("signType应为RSA")
        if not params["timeStamp"].isdigit():
            raise PaymentRejected("timeStamp格式错误")
        message = "".join(f"{params[name]}\n" for name in ("appId", "timeStamp", "nonceStr", "package")).encode()
        if not rsa_verify(self.merchant_public_key, message, params["paySign"]):
            raise PaymentRejected("支付验证签名失败")
        prepay_id = params["package"].removeprefix("prepay_id=")
        with self._lock:
            out_trade_no = self._by_prepay.get(prepay_id) if params["package"].startswith("prepay_id=") else None
            order = self.orders.get(out_trade_no) if out_trade_no else None
            if order is None:
                raise PaymentRejected("prepay_id无效")
            if self.clock.now() >= order.prepay_expires_at:
                raise PaymentRejected("prepay_id已过期")
            return order


def _json_body(body: bytes) -> dict[str, Any]:
    try:
        data = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise _param_error("请求体格式错误，应为JSON") from None
    if not isinstance(data, dict):
        raise _param_error("请求体格式错误，应为JSON对象")
    return data


def _required_str(data: dict[str, Any], key: str, name: str, max_length: int) -> str:
    value = data.get(key)
    if value is None or value == "":
        raise _missing(f"/body/{key}", name)
    if not isinstance(value, str):
        raise _param_error(f"{key}应为字符串")
    if len(value) > max_length:
        raise _param_error(f"{key}长度不能超过{max_length}")
    return value


def _parse_time(value: Any, key: str) -> float:
    try:
        moment = dt.datetime.fromisoformat(str(value))
    except ValueError:
        raise _param_error(f"{key}应为rfc3339格式，如2018-06-08T10:34:56+08:00") from None
    if moment.tzinfo is None:
        raise _param_error(f"{key}应带时区，如2018-06-08T10:34:56+08:00")
    return moment.timestamp()


def _numbers(prefix: str, length: int) -> str:
    return prefix + "".join(secrets.choice("0123456789") for _ in range(length - len(prefix)))


def _prepay_id(now: float) -> str:
    return "wx" + dt.datetime.fromtimestamp(now, CST).strftime("%d%H%M%S") + secrets.token_hex(13)


# ---------------------------------------------------------------- the JS bridge


JSBRIDGE = Path(__file__).with_name("jsbridge.js")
SANDBOX_URL_MARK = "__SANDBOX_URL__"


def jsbridge_script(base_url: str) -> str:
    """sandbox/jsbridge.js bound to this sandbox: what a test injects with Playwright's
    `page.add_init_script(...)`, as WeChat's browser injects its WeixinJSBridge."""
    return JSBRIDGE.read_text(encoding="utf-8").replace(SANDBOX_URL_MARK, base_url.rstrip("/"))


# ---------------------------------------------------------------- HTTP adapter (sandbox/api.py)


@dataclass
class HeaderAnswer(Answer):
    """An Answer with extra response headers (sandbox/api.py writes them)."""

    headers: list[tuple[str, str]] = field(default_factory=list)


def request_headers(request: Request) -> Mapping[str, str]:
    """The request's headers (case-insensitive), as sandbox/api.py attaches them."""
    return getattr(request, "headers", None) or {}


def sandbox_openid(request: Request) -> str | None:
    """The sandbox browser's current WeChat user: `sandbox_openid` from the query, else the cookie
    that GET /sandbox/login sets (sandbox/oauth.py)."""
    if request.query.get("sandbox_openid"):
        return request.query["sandbox_openid"]
    cookie = SimpleCookie()
    try:
        cookie.load(request_headers(request).get("Cookie") or "")
    except CookieError:
        return None
    morsel = cookie.get("sandbox_openid")
    return morsel.value if morsel is not None and morsel.value else None


def _cors(request: Request) -> list[tuple[str, str]]:
    origin = request_headers(request).get("Origin")
    if not origin:
        return [("Access-Control-Allow-Origin", "*")]
    return [("Access-Control-Allow-Origin", origin), ("Access-Control-Allow-Credentials", "true"),
            ("Vary", "Origin")]


def _json(data: Any, status: int = 200, headers: list[tuple[str, str]] | None = None) -> HeaderAnswer:
    return HeaderAnswer(status, _dumps(data), JSON_TYPE, headers or [])


def _merchant(server: SandboxServer) -> Merchant | None:
    return getattr(server, "payments", None)


def _not_enabled() -> HeaderAnswer:
    return _json({"code": "MCH_NOT_EXISTS", "message": "sandbox: WeChat Pay is off (server.enable_pay(...))"}, 400)


def _v3(server: SandboxServer, request: Request) -> Answer:
    merchant = _merchant(server)
    if merchant is None:
        return _not_enabled()
    target = getattr(request, "target", None) or request.path
    status, body, headers = merchant.handle(request.method, target, request_headers(request), request.body)
    return HeaderAnswer(status, body, JSON_TYPE, headers)


def _confirm(server: SandboxServer, request: Request) -> Answer:
    merchant = _merchant(server)
    if merchant is None:
        return _json({"err_msg": "get_brand_wcpay_request:fail", "err_desc": "sandbox: WeChat Pay is off"},
                     headers=_cors(request))
    try:
        data = json.loads(request.body.decode("utf-8") or "{}")
    except (UnicodeDecodeError, ValueError):
        data = None
    if not isinstance(data, dict):
        return _json({"err_msg": "get_brand_wcpay_request:fail", "err_desc": "JSON expected"}, headers=_cors(request))
    openid = data.get("openid") if isinstance(data.get("openid"), str) and data.get("openid") else None
    action = data.get("action") if data.get("action") in ("pay", "cancel", "fail") else "pay"
    result = merchant.confirm_bridge(data.get("params"), openid or sandbox_openid(request), action)
    return _json(result, headers=_cors(request))


def _preflight(request: Request) -> Answer:
    return HeaderAnswer(204, b"", "text/plain", [*_cors(request), ("Access-Control-Allow-Methods", "POST, OPTIONS"),
                                                   ("Access-Control-Allow-Headers", "Content-Type"),
                                                   ("Access-Control-Max-Age", "600")])


def _script(server: SandboxServer, request: Request) -> Answer:
    return HeaderAnswer(200, jsbridge_script(server.url).encode("utf-8"), "application/javascript; charset=utf-8",
                        _cors(request))


def _notifications(server: SandboxServer, request: Request) -> Answer:
    merchant = _merchant(server)
    if merchant is None:
        return _not_enabled()
    rows = [{"id": d.notification_id, "event_type": d.event_type, "out_trade_no": d.out_trade_no,
             "out_refund_no": d.out_refund_no, "kind": d.kind, "attempt": d.attempt, "at": d.at,
             "status": d.status, "answer": d.answer[:200]}
            for d in merchant.notifier.deliveries(request.query.get("out_trade_no") or None)]
    return _json({"deliveries": rows})


def routes(server: SandboxServer) -> dict[tuple[str, str], Route]:
    """Fixed routes for sandbox/api.py's table."""
    return {
        ("GET", "/sandbox/jsbridge.js"): lambda request: _script(server, request),
        ("POST", "/sandbox/pay/confirm"): lambda request: _confirm(server, request),
        ("OPTIONS", "/sandbox/pay/confirm"): _preflight,
        ("GET", "/sandbox/pay/notifications"): lambda request: _notifications(server, request),
    }


def prefix_routes(server: SandboxServer) -> list[tuple[str, str, Route]]:
    """(method, path prefix, route): the v3 API, whose paths carry out_trade_no / out_refund_no."""
    return [("GET", "/v3/", lambda request: _v3(server, request)),
            ("POST", "/v3/", lambda request: _v3(server, request))]
