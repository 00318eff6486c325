"""WeChat Pay's notifications written from the spec with the `cryptography` package alone: an
independent peer for the bot's verification (neither wechatpayv3 nor the sandbox is used here).

Spec: resource = AEAD_AES_256_GCM(apiv3_key, nonce, associated_data) as base64; signature =
base64(SHA256withRSA("{timestamp}\\n{nonce}\\n{body}\\n")) under the key named by Wechatpay-Serial.
"""

from __future__ import annotations

import base64
import json
import os
import time
import uuid
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM


def load_private_key(path: str):
    with open(path, "rb") as handle:
        return serialization.load_pem_private_key(handle.read(), password=None)


def other_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def transaction(out_trade_no: str, amount: int, openid: str, mchid: str, appid: str,
                trade_state: str = "SUCCESS", currency: str = "CNY") -> dict[str, Any]:
    return {"mchid": mchid, "appid": appid, "out_trade_no": out_trade_no, "transaction_id": "4200001234" + out_trade_no[-8:],
            "trade_type": "JSAPI", "trade_state": trade_state, "trade_state_desc": "支付成功", "bank_type": "OTHERS",
            "success_time": "2026-11-27T18:00:00+08:00", "payer": {"openid": openid},
            "amount": {"total": amount, "payer_total": amount, "currency": currency, "payer_currency": currency}}


def refund(out_trade_no: str, amount: int, mchid: str, out_refund_no: str = "RF1") -> dict[str, Any]:
    return {"mchid": mchid, "out_trade_no": out_trade_no, "transaction_id": "4200001234" + out_trade_no[-8:],
            "out_refund_no": out_refund_no, "refund_id": "50000000" + out_refund_no, "refund_status": "SUCCESS",
            "success_time": "2026-11-27T19:00:00+08:00", "user_received_account": "支付用户零钱",
            "amount": {"total": amount, "refund": amount, "payer_total": amount, "payer_refund": amount}}


def notification(resource: dict[str, Any] | bytes, event_type: str, apiv3_key: str, signing_key, serial: str,
                 timestamp: int | None = None, signature: str | None = None) -> tuple[dict[str, str], bytes]:
    """(headers, body) of one notification, exactly as WeChat Pay would send it (`resource` as bytes: the
    plaintext to encrypt, as given)."""
    associated = "transaction" if event_type.startswith("TRANSACTION") else "refund"
    nonce = base64.b16encode(os.urandom(6)).decode()  # 12 characters, as WeChat Pay uses
    plain = resource if isinstance(resource, bytes) else json.dumps(resource).encode()
    ciphertext = AESGCM(apiv3_key.encode()).encrypt(nonce.encode(), plain, associated.encode())
    body = json.dumps({
        "id": str(uuid.uuid4()), "create_time": "2026-11-27T18:00:01+08:00", "resource_type": "encrypt-resource",
        "event_type": event_type, "summary": "支付成功" if associated == "transaction" else "退款成功",
        "resource": {"original_type": associated, "algorithm": "AEAD_AES_256_GCM",
                     "ciphertext": base64.b64encode(ciphertext).decode(), "associated_data": associated,
                     "nonce": nonce},
    }, ensure_ascii=False).encode()
    stamp, header_nonce = str(timestamp or int(time.time())), uuid.uuid4().hex
    message = f"{stamp}\n{header_nonce}\n{body.decode()}\n".encode()
    signed = base64.b64encode(signing_key.sign(message, padding.PKCS1v15(), hashes.SHA256())).decode()
    headers = {"Wechatpay-Timestamp": stamp, "Wechatpay-Nonce": header_nonce, "Wechatpay-Serial": serial,
               "Wechatpay-Signature": signature or signed, "Wechatpay-Signature-Type": "WECHATPAY2-SHA256-RSA2048",
               "Content-Type": "application/json"}
    return headers, body
