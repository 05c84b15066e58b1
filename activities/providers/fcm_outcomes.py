"""How an FCM HTTP v1 answer becomes an :class:`Outcome`.

The decision is the data in :data:`FCM_RULES`, looked up by the error code FCM
puts in its error body, never an if-chain per status. The code is the
``errorCode`` of the ``type.googleapis.com/google.firebase.fcm.v1.FcmError``
detail when there is one, else the Google RPC ``error.status``. A code that
is in no rule falls back on the HTTP status class (:data:`FCM_FALLBACK`).

``INVALID_ARGUMENT`` has two rules: one for an argument that is the
registration token (the device is gone or the token was never valid), one for
everything else (payload too big, bad field). The token rule applies when a
``google.rpc.BadRequest`` detail has a field violation on ``message.token``, or
when the error message speaks of the "registration token" (FCM's own wording:
"The registration token is not a valid FCM registration token").

``docs/providers-fcm.md`` shows :func:`markdown_table`; a test checks that the
two agree.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from activities.providers.base import Outcome, SendResult

FCM_ERROR_TYPE = "type.googleapis.com/google.firebase.fcm.v1.FcmError"
BAD_REQUEST_TYPE = "type.googleapis.com/google.rpc.BadRequest"
REGISTRATION_FIELD = "message.token"

#: Longest provider message kept in a :class:`SendResult`.
MAX_MESSAGE_CHARS = 500

About = Literal["any", "token"]


@dataclass(frozen=True)
class FcmRule:
    """One row of the classification table."""

    code: str  # FcmError errorCode, or google.rpc status when FCM gives none
    status: int  # the HTTP status FCM answers with for this code
    outcome: Outcome
    why: str
    about: About = "any"  # "token": only when the error is about the registration token


#: Rows looked up by ``(code, about)``; ``status`` is what FCM sends with the code.
FCM_RULES: tuple[FcmRule, ...] = (
    FcmRule("UNREGISTERED", 404, Outcome.INVALID_TOKEN, "app uninstalled or token expired"),
    FcmRule(
        "INVALID_ARGUMENT",
        400,
        Outcome.INVALID_TOKEN,
        "the registration token itself is malformed or not an FCM token",
        about="token",
    ),
    FcmRule("INVALID_ARGUMENT", 400, Outcome.FAILED, "bad field or message too big"),
    FcmRule(
        "SENDER_ID_MISMATCH",
        403,
        Outcome.FAILED,
        "token belongs to another Firebase project; usually a wrong credential, "
        "so the device is kept",
    ),
    FcmRule("THIRD_PARTY_AUTH_ERROR", 401, Outcome.FAILED, "APNs/Web Push certificate rejected"),
    FcmRule("QUOTA_EXCEEDED", 429, Outcome.RETRY, "sending rate over quota; honours Retry-After"),
    FcmRule("RESOURCE_EXHAUSTED", 429, Outcome.RETRY, "quota, without an FcmError detail"),
    FcmRule("UNAVAILABLE", 503, Outcome.RETRY, "FCM overloaded; honours Retry-After"),
    FcmRule("INTERNAL", 500, Outcome.RETRY, "FCM internal error"),
    FcmRule("DEADLINE_EXCEEDED", 504, Outcome.RETRY, "FCM timed out"),
    FcmRule("UNSPECIFIED_ERROR", 400, Outcome.FAILED, "FCM gives no more information"),
    FcmRule(
        "UNAUTHENTICATED",
        401,
        Outcome.FAILED,
        "access token refused; the client refetches the token and resends once first",
    ),
    FcmRule("PERMISSION_DENIED", 403, Outcome.FAILED, "service account may not send"),
    FcmRule("NOT_FOUND", 404, Outcome.FAILED, "project not found; not about the device"),
)

#: Codes in no rule (or no parsable error body): by HTTP status class.
FCM_FALLBACK: tuple[tuple[str, Outcome], ...] = (
    ("429", Outcome.RETRY),
    ("5xx", Outcome.RETRY),
    ("4xx", Outcome.FAILED),
    ("other", Outcome.FAILED),
)

#: The code FcmClient answers 401s with by refetching its access token once.
REFETCH_ON_CODE = "UNAUTHENTICATED"

_BY_KEY: dict[tuple[str, About], FcmRule] = {(r.code, r.about): r for r in FCM_RULES}
_FALLBACK: dict[str, Outcome] = dict(FCM_FALLBACK)


@dataclass(frozen=True)
class FcmError:
    """What an FCM error body says, reduced to what classification needs."""

    code: str | None
    about: About
    message: str | None


def parse_error(body: bytes) -> FcmError:
    """Read an FCM (Google API) error body; anything unparsable gives no code."""
    try:
        decoded: Any = json.loads(body)
    except ValueError:
        return FcmError(code=None, about="any", message=None)
    error = decoded.get("error") if isinstance(decoded, dict) else None
    if not isinstance(error, dict):
        return FcmError(code=None, about="any", message=None)
    message = error.get("message") if isinstance(error.get("message"), str) else None
    details = error.get("details")
    details = [d for d in details if isinstance(d, dict)] if isinstance(details, list) else []
    code: str | None = None
    about_token = bool(message and "registration token" in message.lower())
    for detail in details:
        kind = detail.get("@type")
        if kind == FCM_ERROR_TYPE and isinstance(detail.get("errorCode"), str):
            code = detail["errorCode"]
        elif kind == BAD_REQUEST_TYPE and _violates_token_field(detail):
            about_token = True
    if code is None and isinstance(error.get("status"), str):
        code = error["status"]
    return FcmError(code=code, about="token" if about_token else "any", message=message)


def _violates_token_field(detail: Mapping[str, Any]) -> bool:
    violations = detail.get("fieldViolations")
    if not isinstance(violations, list):
        return False
    return any(isinstance(v, dict) and v.get("field") == REGISTRATION_FIELD for v in violations)


def rule_for(code: str | None, about: About) -> FcmRule | None:
    """The table row for ``code`` (preferring the ``about`` variant), if any."""
    if code is None:
        return None
    return _BY_KEY.get((code, about)) or _BY_KEY.get((code, "any"))


def fallback_outcome(status: int) -> Outcome:
    if status == 429:
        return _FALLBACK["429"]
    if 500 <= status <= 599:
        return _FALLBACK["5xx"]
    if 400 <= status <= 499:
        return _FALLBACK["4xx"]
    return _FALLBACK["other"]


def parse_retry_after(value: str | None, *, now: dt.datetime | None = None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or HTTP-date)."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    current = now or dt.datetime.now(dt.UTC)
    return max(0.0, (when - current).total_seconds())


def classify(status: int, body: bytes, retry_after: str | None = None) -> SendResult:
    """Turn one messages:send answer into a :class:`SendResult`."""
    if status == 200:
        return SendResult(outcome=Outcome.SENT, provider_message_id=_message_name(body), status=200)
    error = parse_error(body)
    rule = rule_for(error.code, error.about)
    outcome = rule.outcome if rule else fallback_outcome(status)
    code = error.code or f"HTTP_{status}"
    message = (error.message or f"FCM answered HTTP {status}")[:MAX_MESSAGE_CHARS]
    delay = parse_retry_after(retry_after) if outcome is Outcome.RETRY else None
    return SendResult(outcome=outcome, code=code, status=status, message=message, retry_after=delay)


def _message_name(body: bytes) -> str | None:
    try:
        decoded: Any = json.loads(body)
    except ValueError:
        return None
    name = decoded.get("name") if isinstance(decoded, dict) else None
    return name if isinstance(name, str) else None


def markdown_table() -> str:
    """The classification table as Markdown (shown in docs/providers-fcm.md)."""
    lines = [
        "| FCM code | HTTP | applies to | outcome | why |",
        "|---|---|---|---|---|",
        "| (success) | 200 | any | SENT | `name` becomes providerMessageId |",
    ]
    for rule in FCM_RULES:
        about = "registration token" if rule.about == "token" else "any"
        lines.append(
            f"| {rule.code} | {rule.status} | {about} | {rule.outcome.value} | {rule.why} |"
        )
    for status_class, outcome in FCM_FALLBACK:
        lines.append(f"| (unknown code) | {status_class} | any | {outcome.value} | fallback |")
    return "\n".join(lines)
