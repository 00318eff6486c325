"""`GET/POST /wechat`: every check WeChat's requests must pass before a handler may run.

Order: size cap -> no DOCTYPE/ENTITY -> signature (constant time) -> timestamp window -> safe-mode
msg_signature and decryption (appid must match) -> the shape of every element read (handlers/shape.py).
A rejection answers its status and a short reason, runs no handler and writes nothing.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import time
from typing import Any, Mapping

import xmltodict
from werobot.crypto import MessageCrypt
from werobot.crypto.exceptions import AppIdValidationError
from werobot.parser import process_message

from handlers import shape
from handlers.pipeline import NO_REPLY, Pipeline
from ops.metrics import Metrics
from settings import Settings
from web.http import HttpResponse

log = logging.getLogger(__name__)

MAX_BODY = 64 * 1024
MAX_CLOCK_SKEW = 300
_DTD = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)
_TIMESTAMP = re.compile(r"[0-9]{1,12}")


class Rejected(Exception):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def sign(*parts: str) -> str:
    """WeChat's signature: sha1 over the sorted parts (token, timestamp, nonce[, ciphertext])."""
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()


class WechatEndpoint:
    def __init__(self, settings: Settings, pipeline: Pipeline, metrics: Metrics) -> None:
        wechat = settings.wechat
        self.token = wechat.token
        self.appid = wechat.appid
        self.crypt = MessageCrypt(wechat.token, wechat.encoding_aes_key, wechat.appid) \
            if wechat.encoding_aes_key else None
        self.pipeline = pipeline
        self.metrics = metrics

    def verify_get(self, query: Mapping[str, str]) -> HttpResponse:
        """WeChat's URL check: echo `echostr` back when the signature is ours."""
        try:
            self._check_signature(query)
        except Rejected as rejected:
            return self._reject(rejected)
        return HttpResponse(200, query.get("echostr", ""))

    def receive(self, query: Mapping[str, str], body: bytes, started: float) -> HttpResponse:
        try:
            message, encrypted = self._verified_message(query, body)
        except Rejected as rejected:
            return self._reject(rejected)
        reply = self.pipeline.handle(message, started)
        if reply == NO_REPLY:
            return HttpResponse(200, NO_REPLY)
        if encrypted:
            reply = self.crypt.encrypt_message(reply)
        return HttpResponse(200, reply, "application/xml; charset=utf-8")

    def _verified_message(self, query: Mapping[str, str], body: bytes) -> tuple[Any, bool]:
        if len(body) > MAX_BODY:
            raise Rejected(413, "body too large")
        if _DTD.search(body):
            raise Rejected(400, "DOCTYPE and ENTITY are not allowed")
        self._check_signature(query)
        fields = _parse_xml(body)
        encrypted = query.get("encrypt_type") == "aes"
        if encrypted:
            fields = _parse_xml(self._decrypt(query, fields))
        try:
            return process_message(shape.message(fields)), encrypted
        except shape.Malformed as malformed:
            raise Rejected(400, str(malformed)) from None

    def _check_signature(self, query: Mapping[str, str]) -> None:
        timestamp, nonce = query.get("timestamp", ""), query.get("nonce", "")
        expected = sign(self.token, timestamp, nonce)
        if not hmac.compare_digest(expected, query.get("signature", "")):
            raise Rejected(403, "bad signature")
        if not _TIMESTAMP.fullmatch(timestamp) or abs(time.time() - int(timestamp)) > MAX_CLOCK_SKEW:
            raise Rejected(403, "stale timestamp")

    def _decrypt(self, query: Mapping[str, str], fields: dict[str, Any]) -> bytes:
        if self.crypt is None:
            raise Rejected(400, "encrypted message but no encoding_aes_key configured")
        try:
            ciphertext = shape.ciphertext(fields)
        except shape.Malformed as malformed:
            raise Rejected(400, str(malformed)) from None
        expected = sign(self.token, query.get("timestamp", ""), query.get("nonce", ""), ciphertext)
        if not hmac.compare_digest(expected, query.get("msg_signature", "")):
            raise Rejected(403, "bad msg_signature")
        try:
            plain = self.crypt.prp_crypto.decrypt(ciphertext, self.appid)
        except AppIdValidationError:
            raise Rejected(403, "appid mismatch") from None
        except Exception:
            raise Rejected(400, "undecryptable message") from None
        if _DTD.search(plain):
            raise Rejected(400, "DOCTYPE and ENTITY are not allowed")
        return plain

    def _reject(self, rejected: Rejected) -> HttpResponse:
        self.metrics.rejections.labels(rejected.reason).inc()
        log.warning("request rejected", extra={"status": rejected.status, "reason": rejected.reason})
        return HttpResponse(rejected.status, rejected.reason)


def _parse_xml(body: bytes) -> dict[str, Any]:
    try:
        document = xmltodict.parse(body)
    except Exception:
        raise Rejected(400, "malformed XML") from None
    fields = document.get("xml") if isinstance(document, dict) else None
    if not isinstance(fields, dict):
        raise Rejected(400, "malformed XML")
    return dict(fields)
