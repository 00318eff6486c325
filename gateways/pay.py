"""The only code that calls WeChat Pay (API v3, JSAPI payments), over wechatpayv3's WeChatPay.

    gateway = PayGateway(settings.pay, settings.wechat.appid, settings.site.base_url + "/pay/notify")
    prepay_id = gateway.create_jsapi(out_trade_no, "文章：...", 990, openid, time_expire)
    params = gateway.jsapi_params(prepay_id)          # for WeixinJSBridge.invoke('getBrandWCPayRequest', ...)
    trade = gateway.query(out_trade_no)               # Trade(trade_state="SUCCESS", ...)
    gateway.close(out_trade_no)                       # OrderAlreadyPaid: it was paid after all
    refund = gateway.refund(out_trade_no, out_refund_no, 990, 990, "用户申请退款")
    notification = gateway.parse_notification(request_headers, raw_body)   # BadNotification

Amounts are integer fen, currency CNY. Verification: WeChat Pay public-key mode when `public_key_path` and
`public_key_id` are set, else platform-certificate mode (the certificates come from /v3/certificates,
decrypted with the APIv3 key, on the first answer whose serial is unknown, at most once a minute). In
public-key mode an unknown hex serial still looks in the platform certificates, which covers WeChat Pay's
switch-over period when some notifications are signed with the old certificate.

Every 2xx answer is signature-checked by wechatpayv3 (204 included: the signed message is then
"timestamp\\nnonce\\n\\n"); an answer that does not verify raises PayUnavailable. Error answers (4xx)
are not signed-checked by wechatpayv3 and are taken as reported: treat OrderAlreadyPaid as "query it".

Errors (in gateways/pay_results.py, with the result types): `PayError(code, message)` for WeChat Pay's 4xx
JSON {code, message} (`OrderAlreadyPaid` for ORDERPAID, `OrderNotFound` for ORDER_NOT_EXIST /
RESOURCE_NOT_EXISTS); `PayUnavailable` for network failures, timeouts, 5xx, 429 and unverifiable answers:
the outcome is unknown, query later.
"""

from __future__ import annotations

import binascii
import datetime as dt
import json
import logging
import re
import secrets
import threading
import time
from pathlib import Path
from typing import Any, Callable, Mapping

import requests
from wechatpayv3 import WeChatPay, WeChatPayType
from wechatpayv3.core import Core
from wechatpayv3.utils import aes_decrypt, load_certificate

from gateways.pay_results import (
    BadNotification, Notification, OrderAlreadyPaid, OrderNotFound, PayError, PayUnavailable, Refund, Trade,
    parse_time,
)
from settings import PaySettings

log = logging.getLogger(__name__)

SIGNATURE_TYPE = "WECHATPAY2-SHA256-RSA2048"
PROBE_PREFIX = "WECHATPAY/SIGNTEST/"  # WeChat Pay's signature probes: must be rejected
NOTIFY_WINDOW = 300.0  # seconds a notification's Wechatpay-Timestamp may differ from our clock
CERTIFICATE_REFRESH = 60.0  # at most one /v3/certificates download per this many seconds
CST = dt.timezone(dt.timedelta(hours=8))
OUT_TRADE_NO = re.compile(r"[0-9A-Za-z_\-*]{6,32}")
OUT_REFUND_NO = re.compile(r"[0-9A-Za-z_\-*@]{1,64}")  # WeChat also allows "|", which URLs would escape
HEX = re.compile(r"[0-9A-Fa-f]{1,64}")
TIMESTAMP = re.compile(r"[0-9]{1,12}")
NOTIFY_HEADERS = ("Wechatpay-Signature", "Wechatpay-Timestamp", "Wechatpay-Nonce", "Wechatpay-Serial",
                  "Wechatpay-Signature-Type")


_BY_CODE: dict[str, type[PayError]] = {
    "ORDERPAID": OrderAlreadyPaid,
    "ORDER_NOT_EXIST": OrderNotFound,
    "RESOURCE_NOT_EXISTS": OrderNotFound,
}


class _ResponseNotVerified(Exception):
    """Raised inside wechatpayv3's request() when an answer's signature does not verify."""


# ---------------------------------------------------------------- wechatpayv3 plumbing


class _Core(Core):
    """wechatpayv3's Core on a configurable gateway URL.

    Core.__init__ downloads the platform certificates (certificate mode) before `_gate_way` can be
    changed, so that download is made lazy here: on the first unknown serial. Downloads replace the list
    atomically and happen at most once per `refresh_interval` (Core's own clears the list first, and
    would call the network for every forged notification).
    """

    def __init__(self, gateway_url: str, refresh_interval: float, **kwargs: Any) -> None:
        self._gateway_url = gateway_url.rstrip("/")
        self._refresh_interval = refresh_interval
        self._refresh_lock = threading.Lock()
        self._refreshed_at: float | None = None
        super().__init__(**kwargs)
        self._gate_way = self._gateway_url

    def _init_certificates(self) -> None:
        """Lazy (see the class docstring)."""

    def _update_certificates(self) -> None:
        with self._refresh_lock:
            now = time.monotonic()
            if self._refreshed_at is not None and now - self._refreshed_at < self._refresh_interval:
                return
            code, text = self.request("/v3/certificates", skip_verify=True)  # the AEAD tag authenticates it
            if code != 200:
                log.warning("platform certificates not downloaded", extra={"status": code})
                return
            self._refreshed_at = now
            fresh = []
            for item in (json.loads(text).get("data") or []):
                encrypted = item.get("encrypt_certificate") or {}
                try:
                    pem = aes_decrypt(nonce=encrypted["nonce"], ciphertext=encrypted["ciphertext"],
                                      associated_data=encrypted.get("associated_data") or "",
                                      apiv3_key=self._apiv3_key)
                except (KeyError, TypeError, ValueError, binascii.Error):
                    pem = None
                certificate = load_certificate(pem) if pem else None
                moment = dt.datetime.now(dt.timezone.utc)
                if certificate and certificate.not_valid_before_utc <= moment <= certificate.not_valid_after_utc:
                    fresh.append(certificate)
            if fresh:
                self._certificates = fresh  # rebinding: verifications in flight keep the old list

    def knows(self, serial: str) -> bool:
        """Whether `serial` names a key we trust (the public key id or a platform certificate)."""
        if self._public_key_id and serial == self._public_key_id:
            return True
        if not HEX.fullmatch(serial):
            return False
        number = int(serial, 16)
        if any(c.serial_number == number for c in self._certificates):
            return True
        self._update_certificates()
        return any(c.serial_number == number for c in self._certificates)

    def verify(self, headers: Mapping[str, str], body: str) -> bool:
        """Core's signature check, as a boolean (for notifications)."""
        try:
            return bool(Core._verify_signature(self, headers, body))
        except requests.RequestException:
            raise
        except Exception:
            return False

    def _verify_signature(self, headers: Any, body: str) -> bool:
        """For answers inside Core.request: failures raise _ResponseNotVerified (Core raises a plain
        Exception, indistinguishable from its other errors)."""
        try:
            ok = super()._verify_signature(headers, body)
        except requests.RequestException:
            raise
        except Exception as exc:
            raise _ResponseNotVerified(str(exc)) from None
        if not ok:
            raise _ResponseNotVerified("signature does not verify")
        return True


class _WeChatPay(WeChatPay):
    """WeChatPay (JSAPI, direct merchant) around our Core: WeChatPay.__init__ would build its own Core
    on the default gateway (and, in certificate mode, call it at once)."""

    def __init__(self, core: _Core, appid: str, mchid: str, notify_url: str) -> None:  # noqa: D107
        self._type = WeChatPayType.JSAPI
        self._mchid = mchid
        self._appid = appid
        self._notify_url = notify_url
        self._partner_mode = False
        self._core = core


def _read(path: str, key: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ValueError(f"{key}: cannot read {path!r} ({exc.strerror})") from None


# ---------------------------------------------------------------- the gateway


class PayGateway:
    def __init__(self, pay: PaySettings, appid: str, notify_url: str, *, timeout: float = 5.0,
                 notify_window: float = NOTIFY_WINDOW, certificate_refresh: float = CERTIFICATE_REFRESH) -> None:
        """`pay`: mchid, apiv3_key, cert_serial_no, private_key_path, gateway_url and, for public-key
        mode, public_key_path + public_key_id. `timeout`: seconds per HTTP call. Nothing is fetched here."""
        for key in ("mchid", "apiv3_key", "cert_serial_no", "private_key_path", "gateway_url"):
            if not getattr(pay, key):
                raise ValueError(f"pay.{key} is required")
        if not appid or not notify_url:
            raise ValueError("the appid and the notify URL are required")
        if len(pay.apiv3_key.encode()) != 32:
            raise ValueError("pay.apiv3_key must be the 32-byte APIv3 key")
        if bool(pay.public_key_path) != bool(pay.public_key_id):
            raise ValueError("pay.public_key_path and pay.public_key_id go together (public-key mode)")
        private_key = _read(pay.private_key_path, "pay.private_key_path")
        public_key = _read(pay.public_key_path, "pay.public_key_path") if pay.public_key_path else None
        try:
            core = _Core(pay.gateway_url, certificate_refresh, mchid=pay.mchid, cert_serial_no=pay.cert_serial_no,
                         private_key=private_key, apiv3_key=pay.apiv3_key, timeout=timeout,
                         public_key=public_key, public_key_id=pay.public_key_id or None)
        except ValueError:
            raise
        except Exception as exc:  # wechatpayv3: "failed to load private key." and the like
            raise ValueError(f"pay keys: {exc}") from None
        self.mchid = pay.mchid
        self.appid = appid
        self.notify_url = notify_url
        self.notify_window = notify_window
        self.public_key_mode = bool(pay.public_key_id)
        self._apiv3_key = pay.apiv3_key
        self._core = core
        self._pay = _WeChatPay(core, appid, pay.mchid, notify_url)

    # ------------------------------------------------------------ payments

    def create_jsapi(self, out_trade_no: str, description: str, amount_fen: int, payer_openid: str,
                     time_expire: dt.datetime) -> str:
        """A JSAPI order; returns its prepay_id. Repeating it with the same arguments is safe (WeChat
        Pay answers the same order); other arguments for the same out_trade_no -> PayError
        INVALID_REQUEST. `time_expire` naive means UTC."""
        _check_out_trade_no(out_trade_no)
        _check_fen(amount_fen, "amount_fen")
        if not description or not payer_openid:
            raise ValueError("description and payer_openid are required")
        data = self._call(200, lambda: self._pay.pay(
            description=description, out_trade_no=out_trade_no,
            amount={"total": amount_fen, "currency": "CNY"}, payer={"openid": payer_openid},
            time_expire=_rfc3339(time_expire), pay_type=WeChatPayType.JSAPI))
        prepay_id = data.get("prepay_id")
        if not isinstance(prepay_id, str) or not prepay_id:
            raise PayUnavailable("JSAPI order answered without a prepay_id")
        return prepay_id

    def jsapi_params(self, prepay_id: str) -> dict[str, str]:
        """The arguments of WeixinJSBridge.invoke('getBrandWCPayRequest', ...): paySign is SHA256withRSA
        over "appId\\ntimeStamp\\nnonceStr\\npackage\\n" with the merchant's private key."""
        params = {"appId": self.appid, "timeStamp": str(int(time.time())), "nonceStr": secrets.token_hex(16),
                  "package": f"prepay_id={prepay_id}", "signType": "RSA"}
        params["paySign"] = self._pay.sign([params["appId"], params["timeStamp"], params["nonceStr"],
                                            params["package"]])
        return params

    def query(self, out_trade_no: str) -> Trade:
        """The order's state (by out_trade_no). Unknown -> OrderNotFound."""
        _check_out_trade_no(out_trade_no)
        return Trade.from_resource(self._call(200, lambda: self._pay.query(out_trade_no=out_trade_no)))

    def close(self, out_trade_no: str) -> None:
        """Close an unpaid order (204). Paid meanwhile -> OrderAlreadyPaid."""
        _check_out_trade_no(out_trade_no)
        self._call(204, lambda: self._pay.close(out_trade_no))

    def refund(self, out_trade_no: str, out_refund_no: str, refund_fen: int, total_fen: int, reason: str) -> Refund:
        """Ask for a refund (usually PROCESSING; the result comes as a REFUND.* notification or by
        query_refund). The same out_refund_no with the same arguments refunds once."""
        _check_out_trade_no(out_trade_no)
        if not OUT_REFUND_NO.fullmatch(out_refund_no):
            raise ValueError("out_refund_no: 1-64 of 0-9 A-Z a-z _ - * @")
        _check_fen(refund_fen, "refund_fen")
        _check_fen(total_fen, "total_fen")
        if refund_fen > total_fen:
            raise ValueError("refund_fen exceeds total_fen")
        data = self._call(200, lambda: self._pay.refund(
            out_refund_no=out_refund_no, amount={"refund": refund_fen, "total": total_fen, "currency": "CNY"},
            out_trade_no=out_trade_no, reason=reason or None, notify_url=self.notify_url))
        return Refund.from_resource(data)

    def query_refund(self, out_refund_no: str) -> Refund:
        if not OUT_REFUND_NO.fullmatch(out_refund_no):
            raise ValueError("out_refund_no: 1-64 of 0-9 A-Z a-z _ - * @")
        return Refund.from_resource(self._call(200, lambda: self._pay.query_refund(out_refund_no)))

    # ------------------------------------------------------------ notifications

    def parse_notification(self, headers: Mapping[str, str], body: bytes,
                           now: Callable[[], float] = time.time) -> Notification:
        """Verify and decrypt a notification POSTed to the notify URL (headers as received, raw body).

        Rejected with BadNotification: a signature probe (WECHATPAY/SIGNTEST/...), missing headers, a
        Wechatpay-Timestamp more than `notify_window` seconds off, an unknown Wechatpay-Serial, a bad
        signature, a resource that does not decrypt with the APIv3 key. PayUnavailable: the platform
        certificates could not be downloaded to look up a serial.
        """
        found = _notify_headers(headers)
        signature = found.get("Wechatpay-Signature", "")
        if not signature:
            raise BadNotification("no Wechatpay-Signature")
        if signature.startswith(PROBE_PREFIX):
            raise BadNotification("signature probe (WECHATPAY/SIGNTEST/)")
        for name in ("Wechatpay-Timestamp", "Wechatpay-Nonce", "Wechatpay-Serial"):
            if not found.get(name):
                raise BadNotification(f"no {name}")
        timestamp = found["Wechatpay-Timestamp"]
        if not TIMESTAMP.fullmatch(timestamp) or abs(now() - int(timestamp)) > self.notify_window:
            raise BadNotification("Wechatpay-Timestamp outside the window")
        found.setdefault("Wechatpay-Signature-Type", SIGNATURE_TYPE)
        if found["Wechatpay-Signature-Type"] != SIGNATURE_TYPE:
            raise BadNotification("unsupported Wechatpay-Signature-Type")
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            raise BadNotification("body is not UTF-8") from None
        try:
            known = self._core.knows(found["Wechatpay-Serial"])
        except requests.RequestException as exc:
            raise PayUnavailable(f"platform certificates unavailable: {type(exc).__name__}") from None
        if not known:
            raise BadNotification("unknown Wechatpay-Serial")
        if not self._core.verify(found, text):
            raise BadNotification("bad signature")
        try:
            data = json.loads(text)
        except (ValueError, RecursionError):
            raise BadNotification("body is not JSON") from None
        if not isinstance(data, dict):
            raise BadNotification("body is not a JSON object")
        resource = data.get("resource")
        if data.get("resource_type") != "encrypt-resource" or not isinstance(resource, dict):
            raise BadNotification("no encrypted resource")
        if resource.get("algorithm") != "AEAD_AES_256_GCM":
            raise BadNotification("unsupported resource algorithm")
        try:
            plain = aes_decrypt(nonce=resource["nonce"], ciphertext=resource["ciphertext"],
                                associated_data=resource.get("associated_data") or "",
                                apiv3_key=self._apiv3_key)
            content = json.loads(plain) if plain is not None else None
        except (KeyError, TypeError, ValueError, binascii.Error, AttributeError, RecursionError):
            content = None
        if not isinstance(content, dict):
            raise BadNotification("resource does not decrypt")
        return Notification(id=str(data.get("id") or ""), event_type=str(data.get("event_type") or ""),
                            create_time=parse_time(data.get("create_time")), resource=content,
                            resource_type=str(data["resource_type"]), summary=str(data.get("summary") or ""))

    # ------------------------------------------------------------ internals

    def _call(self, expected: int, call: Callable[[], tuple[int, Any]]) -> dict[str, Any]:
        """Run one wechatpayv3 call; the JSON answer, or the typed error."""
        try:
            status, content = call()
        except requests.Timeout:
            raise PayUnavailable("WeChat Pay timed out") from None
        except requests.RequestException as exc:
            raise PayUnavailable(f"WeChat Pay unreachable: {type(exc).__name__}") from None
        except _ResponseNotVerified as exc:
            log.warning("WeChat Pay answer failed verification", extra={"reason": str(exc)})
            raise PayUnavailable(f"answer not verified: {exc}") from None
        text = content.decode("utf-8", "replace") if isinstance(content, bytes) else str(content or "")
        if status == expected:
            if status == 204:
                return {}
            try:
                data = json.loads(text)
            except ValueError:
                raise PayUnavailable("WeChat Pay answered something other than JSON") from None
            if not isinstance(data, dict):
                raise PayUnavailable("WeChat Pay answered something other than a JSON object")
            return data
        if 400 <= status < 500 and status != 429:
            try:
                data = json.loads(text)
            except ValueError:
                data = None
            if isinstance(data, dict) and data.get("code"):
                code, message = str(data["code"]), str(data.get("message") or "")
            else:
                code, message = f"HTTP_{status}", text[:200]
            log.info("WeChat Pay refused", extra={"status": status, "code": code})
            raise _BY_CODE.get(code, PayError)(code, message, status)
        raise PayUnavailable(f"WeChat Pay answered HTTP {status}")


def _notify_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """The Wechatpay-* headers under their canonical names, from any casing (WSGI's HTTP_WECHATPAY_* too)."""
    wanted = {name.lower(): name for name in NOTIFY_HEADERS}
    found: dict[str, str] = {}
    for key, value in headers.items():
        name = key.lower().replace("_", "-").removeprefix("http-")
        if name in wanted and isinstance(value, str):
            found[wanted[name]] = value.strip()
    return found


def _rfc3339(moment: dt.datetime) -> str:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.timezone.utc)
    return moment.astimezone(CST).isoformat(timespec="seconds")


def _check_out_trade_no(out_trade_no: str) -> None:
    if not isinstance(out_trade_no, str) or not OUT_TRADE_NO.fullmatch(out_trade_no):
        raise ValueError("out_trade_no: 6-32 of 0-9 A-Z a-z _ - *")


def _check_fen(value: int, name: str) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise ValueError(f"{name} must be a positive integer (fen)")
