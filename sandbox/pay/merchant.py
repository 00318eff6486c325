"""`Merchant`: WeChat Pay as one merchant sees it. It checks the Authorization signature of each v3
request, routes it to the orders (sandbox/pay/orders.py) or refunds (sandbox/pay/refunds.py) it holds,
and signs every answer (204 too); the test hooks inject errors and bad signatures."""

from __future__ import annotations

import re
import shutil
import tempfile
import threading
import uuid
from pathlib import Path
from typing import Any, Mapping
from urllib.parse import parse_qs, unquote

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from sandbox.clock import Clock
from sandbox.pay.errors import PayApiError, json_body, sign_error
from sandbox.pay.formats import CST, dumps
from sandbox.pay.keys import SIGNATURE_TYPE, Platform, PlatformKeys, aes_gcm_encrypt, rsa_sign, rsa_verify
from sandbox.pay.notifications import ANSWER_TIMEOUT, Notifier
from sandbox.pay.orders import Order, OrderDesk
from sandbox.pay.refunds import Refund, RefundDesk
from sandbox.pay.schedulers import Scheduler, ThreadScheduler

REQUEST_WINDOW = 300  # seconds a request's Authorization timestamp may differ from WeChat Pay's clock


class Merchant(OrderDesk, RefundDesk):
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
            raise sign_error("Http头Authorization值为空", "authorization missing")
        if scheme != SIGNATURE_TYPE:
            raise sign_error("错误的签名方式", "unknown scheme")
        fields = dict(re.findall(r'(\w+)="([^"]*)"', params))
        for name in ("mchid", "nonce_str", "signature", "timestamp", "serial_no"):
            if not fields.get(name):
                raise sign_error(f"Http头Authorization缺少{name}", f"{name} missing")
        if fields["mchid"] != self.mchid:
            raise sign_error("商户号与签名不匹配", "mchid not match")
        if self.merchant_serial_no and fields["serial_no"].upper() != self.merchant_serial_no:
            raise sign_error("商户证书序列号有误。请使用签名私钥匹配的证书序列号", "serial_no not match")
        if not fields["timestamp"].isdigit() or abs(self.clock.now() - int(fields["timestamp"])) > REQUEST_WINDOW:
            raise sign_error("Http头Authorization中的timestamp已过期或格式错误", "timestamp expired")
        message = f"{method}\n{target}\n{fields['timestamp']}\n{fields['nonce_str']}\n".encode() + body + b"\n"
        if not rsa_verify(self.merchant_public_key, message, fields["signature"]):
            raise sign_error("签名错误，请检查后再试", "sign not match")
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
        data = b"" if payload is None else dumps(payload)
        return status, data, [*self.sign_headers(data), ("Request-ID", uuid.uuid4().hex)]

    def _injected(self, path: str) -> None:
        with self._lock:
            for index, (prefix, error) in enumerate(self._failures):
                if path.startswith(prefix):
                    del self._failures[index]
                    raise error

    def _route(self, method: str, path: str, query: dict[str, str], body: bytes) -> tuple[int, Any]:
        if (method, path) == ("POST", "/v3/pay/transactions/jsapi"):
            return 200, self.create_jsapi(json_body(body))
        if (method, path) == ("GET", "/v3/certificates"):
            return 200, self.certificates()
        if (method, path) == ("POST", "/v3/refund/domestic/refunds"):
            return 200, self.create_refund(json_body(body))
        if match := re.fullmatch(r"/v3/pay/transactions/out-trade-no/([^/]+)/close", path):
            if method == "POST":
                self.close_order(unquote(match[1]), json_body(body))
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
