"""API errors: ``{"errors": [{"code", "message", "context"}]}`` (DESIGN §3)."""

from __future__ import annotations

from typing import Any

INVALID = 20400
UNAUTHORIZED = 20401
NOT_FOUND = 20404
CONFLICT = 20409
TOO_LARGE = 20413
RATE_LIMITED = 20429
INTERNAL = 20500
UNAVAILABLE = 20503

_HTTP_STATUS = {
    INVALID: 400,
    UNAUTHORIZED: 401,
    NOT_FOUND: 404,
    CONFLICT: 409,
    TOO_LARGE: 413,
    RATE_LIMITED: 429,
    INTERNAL: 500,
    UNAVAILABLE: 503,
}


class HeraldError(Exception):
    """An error with an API code; the message is safe to show to the caller."""

    def __init__(
        self,
        code: int,
        message: str,
        context: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.context = context or {}
        self.headers = headers or {}

    @property
    def status(self) -> int:
        return _HTTP_STATUS[self.code]

    def body(self) -> dict[str, Any]:
        return {"errors": [{"code": self.code, "message": self.message, "context": self.context}]}


def invalid(field: str, message: str) -> HeraldError:
    return HeraldError(INVALID, message, {"field": field})


def not_found(kind: str, ident: str) -> HeraldError:
    return HeraldError(NOT_FOUND, f"{kind} not found", {"resource": kind, "id": ident})


def conflict(message: str, **context: Any) -> HeraldError:
    return HeraldError(CONFLICT, message, context)


def unavailable(dependency: str) -> HeraldError:
    return HeraldError(
        UNAVAILABLE,
        f"{dependency} is unavailable, retry later",
        {"dependency": dependency},
        {"Retry-After": "1"},
    )
