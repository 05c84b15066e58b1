"""What each APNs answer means for Herald: the classification table.

APNs answers every request with an HTTP status and, unless it is 200, a JSON
body ``{"reason": "<Reason>"}``. :data:`APNS_RESPONSES` lists every answer
Apple documents ("Handling notification responses from APNs") with the
:class:`~activities.providers.base.Outcome` Herald gives it. It is data, not
code: :func:`classify` looks an answer up in it, and an answer it does not
list falls back on its status (:data:`STATUS_FALLBACK`, then 5xx RETRY and
anything else FAILED). ``docs/providers-apns.md`` shows the table as
:func:`markdown_table` renders it; a test keeps the two identical.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from activities.providers.base import Outcome

__all__ = [
    "APNS_RESPONSES",
    "STATUS_FALLBACK",
    "ApnsResponse",
    "classify",
    "describe",
    "markdown_table",
]


@dataclass(frozen=True)
class ApnsResponse:
    """One documented APNs answer and what Herald does with it."""

    status: int
    reason: str  # "" for 200, which has no body
    outcome: Outcome
    meaning: str


_SENT, _RETRY, _FAILED, _INVALID = (
    Outcome.SENT,
    Outcome.RETRY,
    Outcome.FAILED,
    Outcome.INVALID_TOKEN,
)

APNS_RESPONSES: Final[tuple[ApnsResponse, ...]] = (
    ApnsResponse(200, "", _SENT, "Accepted for delivery"),
    # 400: the request is wrong; only the token ones say "forget this device".
    ApnsResponse(400, "BadCollapseId", _FAILED, "apns-collapse-id longer than 64 bytes"),
    ApnsResponse(400, "BadDeviceToken", _INVALID, "Token invalid, or for the other environment"),
    ApnsResponse(400, "BadExpirationDate", _FAILED, "apns-expiration is not valid"),
    ApnsResponse(400, "BadMessageId", _FAILED, "apns-id is not valid"),
    ApnsResponse(400, "BadPriority", _FAILED, "apns-priority is not valid"),
    ApnsResponse(400, "BadTopic", _FAILED, "apns-topic is not valid"),
    ApnsResponse(400, "DeviceTokenNotForTopic", _INVALID, "Token does not belong to the topic"),
    ApnsResponse(400, "DuplicateHeaders", _FAILED, "A header was repeated"),
    ApnsResponse(400, "IdleTimeout", _RETRY, "Idle timeout"),
    ApnsResponse(400, "InvalidPushType", _FAILED, "apns-push-type is not valid"),
    ApnsResponse(400, "MissingDeviceToken", _FAILED, "No device token in :path"),
    ApnsResponse(400, "MissingTopic", _FAILED, "apns-topic is required and missing"),
    ApnsResponse(400, "PayloadEmpty", _FAILED, "Empty payload"),
    ApnsResponse(400, "TopicDisallowed", _FAILED, "Pushing to this topic is not allowed"),
    # 403: the credential is wrong; retrying with it cannot help.
    ApnsResponse(403, "BadCertificate", _FAILED, "Client certificate is not valid"),
    ApnsResponse(
        403, "BadCertificateEnvironment", _FAILED, "Certificate is for the other environment"
    ),
    ApnsResponse(403, "ExpiredProviderToken", _FAILED, "Provider token (JWT) is stale"),
    ApnsResponse(403, "Forbidden", _FAILED, "The action is not allowed"),
    ApnsResponse(403, "InvalidProviderToken", _FAILED, "Provider token (JWT) does not verify"),
    ApnsResponse(403, "MissingProviderToken", _FAILED, "Neither certificate nor provider token"),
    ApnsResponse(
        403, "UnrelatedKeyIdInToken", _FAILED, "JWT key id differs from the connection's first"
    ),
    ApnsResponse(403, "BadEnvironmentKeyInToken", _FAILED, "Key not allowed in this environment"),
    ApnsResponse(404, "BadPath", _FAILED, "The :path is not valid"),
    ApnsResponse(405, "MethodNotAllowed", _FAILED, "The :method is not POST"),
    # 410: the device is gone.
    ApnsResponse(410, "ExpiredToken", _INVALID, "Device token has expired"),
    ApnsResponse(410, "Unregistered", _INVALID, "Device token is no longer active for the topic"),
    ApnsResponse(413, "PayloadTooLarge", _FAILED, "Payload over 4 KiB (5 KiB for VoIP)"),
    # 429, 500, 503: try again later.
    ApnsResponse(429, "TooManyProviderTokenUpdates", _RETRY, "Provider token refreshed too often"),
    ApnsResponse(429, "TooManyRequests", _RETRY, "Too many requests to the same device token"),
    ApnsResponse(500, "InternalServerError", _RETRY, "Internal server error"),
    ApnsResponse(503, "ServiceUnavailable", _RETRY, "Service unavailable"),
    ApnsResponse(503, "Shutdown", _RETRY, "The APNs server is shutting down"),
)

STATUS_FALLBACK: Final[dict[int, Outcome]] = {
    200: _SENT,
    410: _INVALID,
    429: _RETRY,
}
"""Outcome of a status whose reason the table does not list (besides 5xx → RETRY)."""

_BY_ANSWER: Final[dict[tuple[int, str], ApnsResponse]] = {
    (row.status, row.reason): row for row in APNS_RESPONSES
}


def classify(status: int, reason: str | None) -> Outcome:
    """The outcome of one APNs answer (``reason`` as in its JSON body, if any)."""
    row = _BY_ANSWER.get((status, reason or ""))
    if row is not None:
        return row.outcome
    fallback = STATUS_FALLBACK.get(status)
    if fallback is not None:
        return fallback
    return _RETRY if status >= 500 else _FAILED


def describe(status: int, reason: str | None) -> str:
    """A short human explanation of one APNs answer (no request data in it)."""
    row = _BY_ANSWER.get((status, reason or ""))
    if row is not None:
        return f"APNs {status}: {row.meaning}"
    return f"APNs {status}: {reason}" if reason else f"APNs {status}"


def markdown_table() -> str:
    """The table as it appears in ``docs/providers-apns.md``."""
    lines = [
        "| status | reason | outcome | meaning |",
        "|---|---|---|---|",
    ]
    for row in APNS_RESPONSES:
        reason = f"`{row.reason}`" if row.reason else "(none)"
        lines.append(f"| {row.status} | {reason} | {row.outcome.value} | {row.meaning} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(markdown_table(), end="")
