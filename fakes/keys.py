"""Key material for tests, fakes, demo and bench: CAs, TLS server certs and
provider credentials shaped like the real ones (Apple push certificates,
``AuthKey_XXXX.p8`` files, Google service-account JSON).

Everything is generated in memory with ``cryptography``; only
:func:`write_ca_files` touches the disk. RSA keys are slow to make, so a small
per-process pool of them is reused round-robin (:data:`RSA_POOL_SIZE` distinct
keys): two consecutive calls never share a key, which keeps "mismatched key"
tests meaningful while a test run makes hundreds of credentials cheaply.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import ipaddress
import itertools
import json
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

__all__ = [
    "RSA_POOL_SIZE",
    "PemPair",
    "apn_certificate_content",
    "apn_token_content",
    "b64",
    "fcm_content",
    "make_apn_certificate",
    "make_ca",
    "make_p8_key",
    "make_server_cert",
    "make_service_account",
    "write_ca_files",
]

RSA_POOL_SIZE = 8

_ONE_DAY = dt.timedelta(days=1)


@dataclass(frozen=True)
class PemPair:
    """A PEM certificate and the PEM private key that goes with it."""

    cert_pem: bytes
    key_pem: bytes


def b64(data: bytes | str) -> str:
    """Standard (padded) base64 of ``data``; text is UTF-8 encoded first."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    return base64.b64encode(raw).decode("ascii")


@lru_cache(maxsize=RSA_POOL_SIZE)
def _pooled_rsa_key(slot: int) -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


_slots = itertools.count()
_slots_lock = threading.Lock()


def _rsa_key() -> rsa.RSAPrivateKey:
    with _slots_lock:
        slot = next(_slots) % RSA_POOL_SIZE
    return _pooled_rsa_key(slot)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def _load_key(pem: bytes) -> ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey:
    key = serialization.load_pem_private_key(pem, password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey):
        raise TypeError("CA key must be EC or RSA")
    return key


def _ski(key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey) -> x509.SubjectKeyIdentifier:
    return x509.SubjectKeyIdentifier.from_public_key(key.public_key())


def _pair(cert: x509.Certificate, key_pem: bytes) -> PemPair:
    return PemPair(cert_pem=cert.public_bytes(serialization.Encoding.PEM), key_pem=key_pem)


def make_ca(common_name: str = "Herald Fake CA") -> PemPair:
    """A self-signed CA (EC P-256), valid from yesterday for ten years."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = _now()
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - _ONE_DAY)
        .not_valid_after(now + 3650 * _ONE_DAY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(_ski(key), critical=False)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return _pair(cert, key_pem)


def _leaf_key_usage(*, key_encipherment: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=key_encipherment,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=False,
        crl_sign=False,
        encipher_only=False,
        decipher_only=False,
    )


def make_server_cert(ca: PemPair, hosts: Sequence[str] = ("127.0.0.1", "localhost")) -> PemPair:
    """A TLS server certificate (EC P-256, serverAuth) signed by ``ca``.

    Each host that parses as an IP address becomes an IP SAN, the others DNS
    SANs; the first host is also the subject CN.
    """
    if not hosts:
        raise ValueError("at least one host is needed")
    ca_cert = x509.load_pem_x509_certificate(ca.cert_pem)
    ca_key = _load_key(ca.key_pem)
    key = ec.generate_private_key(ec.SECP256R1())
    sans: list[x509.GeneralName] = []
    for host in hosts:
        try:
            sans.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            sans.append(x509.DNSName(host))
    now = _now()
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hosts[0])]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - _ONE_DAY)
        .not_valid_after(now + 825 * _ONE_DAY)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_leaf_key_usage(key_encipherment=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectAlternativeName(sans), critical=False)
        .add_extension(_ski(key), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return _pair(cert, key_pem)


def make_apn_certificate(
    topic: str = "com.example.shop",
    *,
    ca: PemPair | None = None,
    expired: bool = False,
    sandbox: bool = False,
) -> PemPair:
    """An APNs client certificate shaped like Apple's push certificates.

    Subject ``UID=<topic>, CN=Apple Push Services: <topic>`` (``Apple
    Development IOS Push Services: <topic>`` when ``sandbox``), RSA 2048 key
    (PEM ``RSA PRIVATE KEY``, as ``openssl pkcs12 -nodes`` exports it),
    clientAuth EKU. Signed by ``ca`` when given (a fake APNs trusting that CA
    accepts it), else self-signed. ``expired`` puts ``not_valid_after`` one
    day in the past.
    """
    key = _rsa_key()
    prefix = "Apple Development IOS Push Services" if sandbox else "Apple Push Services"
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.USER_ID, topic),
            x509.NameAttribute(NameOID.COMMON_NAME, f"{prefix}: {topic}"),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "DEF123GHIJ"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Herald Test Shop"),
            x509.NameAttribute(NameOID.COUNTRY_NAME, "US"),
        ]
    )
    signing_key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey
    if ca is None:
        issuer, signing_key = subject, key
    else:
        issuer = x509.load_pem_x509_certificate(ca.cert_pem).subject
        signing_key = _load_key(ca.key_pem)
    now = _now()
    if expired:
        not_before, not_after = now - 400 * _ONE_DAY, now - _ONE_DAY
    else:
        not_before, not_after = now - _ONE_DAY, now + 365 * _ONE_DAY
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_leaf_key_usage(key_encipherment=True), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        .add_extension(_ski(key), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(signing_key.public_key()),
            critical=False,
        )
        .sign(signing_key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    return _pair(cert, key_pem)


def make_p8_key() -> bytes:
    """A PEM PKCS#8 EC P-256 private key, like Apple's ``AuthKey_XXXX.p8``."""
    key = ec.generate_private_key(ec.SECP256R1())
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def make_service_account(
    project_id: str = "herald-test", *, client_email: str | None = None
) -> dict[str, str]:
    """A Google service-account key file as a dict (RSA 2048 PKCS#8 key)."""
    key = _rsa_key()
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode("ascii")
    public_der = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    digest = hashlib.sha256(public_der).hexdigest()
    email = client_email or f"herald-sender@{project_id}.iam.gserviceaccount.com"
    return {
        "type": "service_account",
        "project_id": project_id,
        "private_key_id": digest[:40],
        "private_key": key_pem,
        "client_email": email,
        "client_id": str(int(digest[:16], 16)),
        "auth_uri": "https://accounts.google.com/o/oauth2/auth",
        "token_uri": "https://oauth2.googleapis.com/token",
    }


def fcm_content(service_account: dict[str, str]) -> dict[str, str]:
    """``content`` for an FCM credential upload."""
    return {"privateKey": b64(json.dumps(service_account))}


def apn_certificate_content(pair: PemPair) -> dict[str, str]:
    """``content`` for an APN/APN_SANDBOX certificate-auth credential upload."""
    return {"certificate": b64(pair.cert_pem), "privateKey": b64(pair.key_pem)}


def apn_token_content(
    p8: bytes,
    *,
    key_id: str = "ABC123DEFG",
    team_id: str = "DEF123GHIJ",
    bundle_id: str = "com.example.shop",
) -> dict[str, str]:
    """``content`` for an APN/APN_SANDBOX token-auth credential upload."""
    return {"keyId": key_id, "teamId": team_id, "bundleId": bundle_id, "privateKey": b64(p8)}


def write_ca_files(directory: Path, ca: PemPair) -> Path:
    """Write ``ca.pem`` and ``ca.key`` (mode 0600) into ``directory``.

    Returns the certificate's path, for ``HERALD_APNS_CA_FILE`` /
    ``HERALD_FCM_CA_FILE`` and the fakes' trust settings.
    """
    directory.mkdir(parents=True, exist_ok=True)
    cert_path = directory / "ca.pem"
    key_path = directory / "ca.key"
    cert_path.write_bytes(ca.cert_pem)
    key_path.touch(mode=0o600, exist_ok=True)
    key_path.chmod(0o600)
    key_path.write_bytes(ca.key_pem)
    return cert_path
