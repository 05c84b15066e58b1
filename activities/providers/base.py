"""What every provider client takes and returns.

A client turns one :class:`PushMessage` into one :class:`SendResult`; it never
raises for a provider answer or a transport problem: those are classified
(see each provider's ``classification`` table) and returned as values.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Literal, Protocol

Priority = Literal["HIGH", "LOW"]
CredentialType = Literal["APN", "APN_SANDBOX", "FCM"]


class Outcome(enum.StrEnum):
    SENT = "SENT"
    RETRY = "RETRY"  # transient: try again later (``retry_after`` seconds if known)
    FAILED = "FAILED"  # permanent for this message
    INVALID_TOKEN = "INVALID_TOKEN"  # noqa: S105 (permanent: forget the device)


@dataclass(frozen=True)
class PushMessage:
    """One rendered notification for one device token."""

    token: str
    body: str
    title: str | None = None
    image_url: str | None = None
    data: dict[str, str] = field(default_factory=dict)
    badge: int | None = None
    sound: str | None = None
    priority: Priority = "HIGH"
    collapse_key: str | None = None
    ttl_seconds: int | None = None


@dataclass(frozen=True)
class SendResult:
    outcome: Outcome
    provider_message_id: str | None = None
    code: str | None = None  # provider reason, e.g. "BadDeviceToken", "UNREGISTERED"
    status: int | None = None  # provider HTTP status, None for transport errors
    message: str | None = None
    retry_after: float | None = None  # seconds, from Retry-After where given


@dataclass(frozen=True)
class ProviderCredential:
    """A decrypted credential, as uploaded (base64 fields) plus its metadata."""

    id: str
    type: CredentialType
    content: dict[str, str]
    metadata: dict[str, str]


class ProviderClient(Protocol):
    async def send(self, message: PushMessage) -> SendResult: ...

    async def close(self) -> None: ...
