"""APNs client: one :class:`ApnsClient` per APN / APN_SANDBOX credential.

Built on aioapns' HTTP/2 connection pool (see :mod:`.apns_pool` for the few
places Herald adapts it). The caller keeps one client per credential id for
the life of the worker, so a credential's sends share one long-lived
connection (a second one only opens past 1,000 concurrent streams).

* ``APN`` credentials connect to ``HERALD_APNS_URL``, ``APN_SANDBOX`` ones to
  ``HERALD_APNS_SANDBOX_URL``; the server is verified against the system
  roots plus ``HERALD_APNS_CA_FILE``.
* Certificate auth: ``content = {certificate, privateKey}`` (base64 PEM);
  topic = ``metadata["topic"]``, else the certificate's UID.
  Token auth: ``content = {keyId, teamId, bundleId, privateKey}`` (base64
  .p8); topic = ``bundleId``.
* Every send runs under ``HERALD_APNS_TIMEOUT_SECONDS``; a timeout or any
  transport failure is ``RETRY``; provider answers are classified by
  :mod:`.apns_outcomes`. :meth:`ApnsClient.send` never raises.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import logging
import ssl
from typing import Any, Final

from aioapns.common import NotificationRequest, PushType
from aioapns.exceptions import ConnectionClosed, MaxAttemptsExceeded
from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from h2.exceptions import H2Error
from jwt.exceptions import PyJWTError

from activities.providers.apns_outcomes import classify, describe
from activities.providers.apns_pool import (
    EXPIRE_IMMEDIATELY,
    ApnsAnswer,
    ApnsEndpoint,
    ApnsUnreachable,
    CertificatePool,
    TokenPool,
    tls_context,
)
from activities.providers.base import (
    Outcome,
    ProviderCredential,
    PushMessage,
    SendResult,
)
from herald.settings import Settings

__all__ = [
    "IMAGE_URL_KEY",
    "ApnsClient",
    "apns_payload",
    "apns_request",
]

logger = logging.getLogger(__name__)

IMAGE_URL_KEY: Final = "image-url"
"""Payload key carrying ``imageUrl`` for the app's notification service extension."""

PRIORITY: Final = {"HIGH": 10, "LOW": 5}


def apns_payload(message: PushMessage) -> dict[str, Any]:
    """The JSON body: ``data`` keys at the top level, then ``image-url``, then ``aps``.

    ``aps`` always wins over a data key of the same name.
    """
    alert: dict[str, str] = {"body": message.body}
    if message.title is not None:
        alert = {"title": message.title, **alert}
    aps: dict[str, Any] = {"alert": alert}
    if message.sound is not None:
        aps["sound"] = message.sound
    if message.badge is not None:
        aps["badge"] = message.badge
    payload: dict[str, Any] = dict(message.data)
    if message.image_url is not None:
        aps["mutable-content"] = 1
        payload[IMAGE_URL_KEY] = message.image_url
    payload["aps"] = aps
    return payload


def apns_request(message: PushMessage) -> NotificationRequest:
    """The aioapns request: priority 10/5, collapse id, expiration from ttl, push type alert."""
    ttl = message.ttl_seconds
    return NotificationRequest(
        device_token=message.token,
        message=apns_payload(message),
        time_to_live=EXPIRE_IMMEDIATELY if ttl == 0 else ttl,
        priority=PRIORITY[message.priority],
        collapse_key=message.collapse_key,
        push_type=PushType.ALERT,
    )


def _pem(content: dict[str, str], field: str) -> bytes:
    value = content.get(field)
    if not value:
        raise ValueError(f"APNs credential content.{field} is missing")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError(f"APNs credential content.{field} is not base64") from None


def _certificate_topic(certificate: x509.Certificate) -> str:
    uids = certificate.subject.get_attributes_for_oid(NameOID.USER_ID)
    if uids and isinstance(uids[0].value, str):
        return uids[0].value
    raise ValueError("APNs certificate has no UID (topic) and the credential names none")


def _public_der(key: Any) -> bytes:
    der: bytes = key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return der


class _CertificateAuth:
    def __init__(self, credential: ProviderCredential) -> None:
        self.certificate_pem = _pem(credential.content, "certificate")
        self.key_pem = _pem(credential.content, "privateKey")
        try:
            certificate = x509.load_pem_x509_certificate(self.certificate_pem)
            key = serialization.load_pem_private_key(self.key_pem, password=None)
        except (ValueError, TypeError, UnsupportedAlgorithm):
            raise ValueError("APNs certificate or private key does not parse") from None
        if _public_der(key.public_key()) != _public_der(certificate.public_key()):
            raise ValueError("APNs private key does not match the certificate")
        self.topic = credential.metadata.get("topic") or _certificate_topic(certificate)

    def pool(self, endpoint: ApnsEndpoint, context: ssl.SSLContext, connections: int) -> Any:
        return CertificatePool(
            endpoint,
            certificate_pem=self.certificate_pem,
            key_pem=self.key_pem,
            topic=self.topic,
            ssl_context=context,
            max_connections=connections,
            max_connection_attempts=2,
        )


class _TokenAuth:
    def __init__(self, credential: ProviderCredential) -> None:
        content = credential.content
        missing = [f for f in ("keyId", "teamId", "bundleId") if not content.get(f)]
        if missing:
            raise ValueError(f"APNs credential content.{missing[0]} is missing")
        key_pem = _pem(content, "privateKey")
        try:
            key = serialization.load_pem_private_key(key_pem, password=None)
        except (ValueError, TypeError, UnsupportedAlgorithm):
            raise ValueError("APNs .p8 key does not parse") from None
        if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != "secp256r1":
            raise ValueError("APNs .p8 key must be an EC P-256 private key")
        self.key_pem = key_pem.decode("ascii")
        self.key_id = content["keyId"]
        self.team_id = content["teamId"]
        self.topic = credential.metadata.get("topic") or content["bundleId"]

    def pool(self, endpoint: ApnsEndpoint, context: ssl.SSLContext, connections: int) -> Any:
        return TokenPool(
            endpoint,
            key_pem=self.key_pem,
            key_id=self.key_id,
            team_id=self.team_id,
            topic=self.topic,
            ssl_context=context,
            max_connections=connections,
            max_connection_attempts=2,
        )


def _retry(code: str, message: str) -> SendResult:
    return SendResult(outcome=Outcome.RETRY, code=code, message=message)


class ApnsClient:
    """Sends :class:`PushMessage` s with one APN / APN_SANDBOX credential.

    Raises ``ValueError`` (naming the field, never quoting it) when the
    credential or the TLS settings are unusable; :meth:`send` never raises.
    The connection pool is created on the first send, inside the running loop.
    """

    def __init__(
        self,
        credential: ProviderCredential,
        settings: Settings,
        *,
        max_connections: int = 4,
    ) -> None:
        if credential.type not in ("APN", "APN_SANDBOX"):
            raise ValueError("ApnsClient needs an APN or APN_SANDBOX credential")
        url = settings.apns_sandbox_url if credential.type == "APN_SANDBOX" else settings.apns_url
        self.endpoint = ApnsEndpoint.from_url(url)
        self._auth: _CertificateAuth | _TokenAuth = (
            _CertificateAuth(credential)
            if "certificate" in credential.content
            else _TokenAuth(credential)
        )
        try:
            self._context = tls_context(settings.apns_ca_file)
        except (OSError, ValueError):
            raise ValueError("HERALD_APNS_CA_FILE cannot be loaded") from None
        self._timeout = settings.apns_timeout_seconds
        self._max_connections = max_connections
        self._pool: Any = None
        self._pool_error: str | None = None
        self._closed_connections = 0

    @property
    def topic(self) -> str:
        return self._auth.topic

    @property
    def connections_opened(self) -> int:
        """Connections this client has opened (1 while the first one stays up)."""
        current = 0 if self._pool is None else int(self._pool.connections_opened)
        return self._closed_connections + current

    def _ensure_pool(self) -> Any:
        if self._pool is None and self._pool_error is None:
            try:
                self._pool = self._auth.pool(self.endpoint, self._context, self._max_connections)
            except (ssl.SSLError, ValueError):
                self._pool_error = "certificate and key cannot be used for TLS"
        return self._pool

    async def send(self, message: PushMessage) -> SendResult:
        pool = self._ensure_pool()
        if pool is None:
            return SendResult(
                outcome=Outcome.FAILED, code="InvalidCredential", message=self._pool_error
            )
        try:
            async with asyncio.timeout(self._timeout):
                answer: ApnsAnswer = await pool.send_notification(apns_request(message))
        except TimeoutError:
            return _retry("Timeout", f"no answer within {self._timeout:g} s")
        except ApnsUnreachable as exc:
            return _retry("ConnectionError", str(exc))
        except (MaxAttemptsExceeded, ConnectionClosed):
            return _retry("ConnectionClosed", "connection to APNs lost")
        except (OSError, H2Error) as exc:
            return _retry("TransportError", type(exc).__name__)
        except PyJWTError:
            return SendResult(
                outcome=Outcome.FAILED,
                code="InvalidProviderKey",
                message="cannot sign a provider token",
            )
        except Exception as exc:  # the contract: a send never raises
            logger.warning("APNs send failed unexpectedly: %s", type(exc).__name__)
            return _retry("ClientError", type(exc).__name__)
        return self._result(answer)

    @staticmethod
    def _result(answer: ApnsAnswer) -> SendResult:
        try:
            status = int(answer.status)
        except ValueError:
            return _retry("BadResponse", "APNs answer without a status")
        reason = answer.description
        return SendResult(
            outcome=classify(status, reason),
            provider_message_id=answer.notification_id,
            code=reason,
            status=status,
            message=None if status == 200 else describe(status, reason),
            retry_after=answer.retry_after,
        )

    async def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            self._closed_connections += int(pool.connections_opened)
            pool.close()
            await asyncio.sleep(0)
