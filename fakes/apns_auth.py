"""How the fake APNs decides who is calling.

Certificate auth is checked by TLS itself (the fake trusts its own CA and any
``client_ca`` files); :class:`ClientCertificate` reads topic and environment
from the certificate the way Apple's certificates carry them. Token auth is
an ES256 JWT (``authorization: bearer <jwt>``, header ``kid``, claims ``iss``
= team id and ``iat``) verified against keys registered in :class:`KeyRing`.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Final

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

__all__ = [
    "TOKEN_LIFETIME_SECONDS",
    "AuthError",
    "ClientCertificate",
    "KeyRing",
    "VerifiedToken",
]

TOKEN_LIFETIME_SECONDS: Final = 3600
"""APNs rejects provider tokens older than an hour (ExpiredProviderToken)."""

_SANDBOX_CN_PREFIX: Final = "Apple Development IOS Push Services"


class AuthError(Exception):
    """An APNs 403 answer; the argument is the APNs reason."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class ClientCertificate:
    """What the fake needs from a verified APNs client certificate."""

    topic: str
    sandbox_only: bool  # "Apple Development IOS Push Services" certificates

    @classmethod
    def from_der(cls, der: bytes) -> ClientCertificate:
        certificate = x509.load_der_x509_certificate(der)
        uids = certificate.subject.get_attributes_for_oid(NameOID.USER_ID)
        cns = certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
        cn = str(cns[0].value) if cns else ""
        topic = str(uids[0].value) if uids else cn.rpartition(": ")[2]
        return cls(topic=topic, sandbox_only=cn.startswith(_SANDBOX_CN_PREFIX))


@dataclass(frozen=True)
class _RegisteredKey:
    team_id: str
    public_key: ec.EllipticCurvePublicKey
    topics: frozenset[str]  # empty: any topic


@dataclass(frozen=True)
class VerifiedToken:
    key_id: str
    team_id: str
    issued_at: int
    topics: frozenset[str]


class KeyRing:
    """Registered token-auth keys, and a cache of JWTs already verified."""

    def __init__(self) -> None:
        self._keys: dict[str, _RegisteredKey] = {}
        self._verified: dict[str, VerifiedToken] = {}
        self._lock = threading.Lock()

    def register(
        self, key_id: str, team_id: str, public_key_pem: str, topics: list[str] | None = None
    ) -> None:
        """Trust JWTs signed by this key (PEM public key, or the .p8 private key)."""
        data = public_key_pem.encode("ascii")
        public: object
        if b"PRIVATE KEY" in data:
            public = serialization.load_pem_private_key(data, password=None).public_key()
        else:
            public = serialization.load_pem_public_key(data)
        if not isinstance(public, ec.EllipticCurvePublicKey):
            raise ValueError("token-auth keys are EC P-256")
        with self._lock:
            self._keys[key_id] = _RegisteredKey(team_id, public, frozenset(topics or ()))
            self._verified.clear()

    def clear(self) -> None:
        with self._lock:
            self._keys.clear()
            self._verified.clear()

    def verify(self, authorization: bytes | None, *, now: float | None = None) -> VerifiedToken:
        """The verified token behind an ``authorization`` header, or :class:`AuthError`."""
        if not authorization:
            raise AuthError("MissingProviderToken")
        scheme, _, token = authorization.decode("latin-1").partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise AuthError("InvalidProviderToken")
        with self._lock:
            verified = self._verified.get(token)
        if verified is None:
            verified = self._verify_signature(token)
            with self._lock:
                self._verified[token] = verified
        if verified.issued_at < (now if now is not None else time.time()) - TOKEN_LIFETIME_SECONDS:
            raise AuthError("ExpiredProviderToken")
        return verified

    def _verify_signature(self, token: str) -> VerifiedToken:
        try:
            key_id = jwt.get_unverified_header(token).get("kid")
        except jwt.PyJWTError:
            raise AuthError("InvalidProviderToken") from None
        with self._lock:
            key = self._keys.get(key_id) if isinstance(key_id, str) else None
        if key is None or not isinstance(key_id, str):
            raise AuthError("InvalidProviderToken")
        try:
            claims = jwt.decode(
                token,
                key.public_key,
                algorithms=["ES256"],
                options={"require": ["iss", "iat"], "verify_iat": False},
            )
        except jwt.PyJWTError:
            raise AuthError("InvalidProviderToken") from None
        issued_at = claims.get("iat")
        if claims.get("iss") != key.team_id or not isinstance(issued_at, int):
            raise AuthError("InvalidProviderToken")
        return VerifiedToken(key_id, key.team_id, issued_at, key.topics)
