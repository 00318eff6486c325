"""Keys and certificates: the merchant's API key pair, WeChat Pay's public key and platform certificate,
and the signatures (SHA256withRSA) and encryption (AEAD_AES_256_GCM with the APIv3 key) made with them."""

from __future__ import annotations

import base64
import datetime as dt
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.x509.oid import NameOID

SIGNATURE_TYPE = "WECHATPAY2-SHA256-RSA2048"  # Authorization scheme and Wechatpay-Signature-Type


def new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def private_pem(key: rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def public_pem(key: rsa.RSAPublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def self_signed(key: rsa.RSAPrivateKey, common_name: str, organization: str, years: int = 5) -> x509.Certificate:
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
    key = new_key()
    certificate = self_signed(key, f"{mchid}", "sandbox merchant")
    paths = {"key": folder / "apiclient_key.pem", "cert": folder / "apiclient_cert.pem",
             "pub": folder / "apiclient_pub.pem"}
    paths["key"].write_bytes(private_pem(key))
    os.chmod(paths["key"], 0o600)
    paths["cert"].write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    paths["pub"].write_bytes(public_pem(key.public_key()))
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
        self.key = new_key()
        self.certificate_key = new_key()
        self.certificate = self_signed(self.certificate_key, "Tenpay.com sandbox platform", "Tenpay.com")
        self.certificate_serial = serial_hex(self.certificate)
        self.certificate_pem = self.certificate.public_bytes(serialization.Encoding.PEM)
        files = {
            "pub": folder / "wechatpay_pub_key.pem", "cert": folder / "wechatpay_platform_cert.pem",
            "pub_private": folder / "wechatpay_pub_key.private.pem",
            "cert_private": folder / "wechatpay_platform_cert.private.pem",
        }
        files["pub"].write_bytes(public_pem(self.key.public_key()))
        files["cert"].write_bytes(self.certificate_pem)
        files["pub_private"].write_bytes(private_pem(self.key))
        files["cert_private"].write_bytes(private_pem(self.certificate_key))
        self.keys = PlatformKeys(self.public_key_id, str(files["pub"]), self.certificate_serial, str(files["cert"]),
                                 str(files["pub_private"]), str(files["cert_private"]))

    def signer(self, mode: str) -> tuple[str, rsa.RSAPrivateKey]:
        """(Wechatpay-Serial, key) for answers and notifications in this mode."""
        if mode == "certificate":
            return self.certificate_serial, self.certificate_key
        return self.public_key_id, self.key
