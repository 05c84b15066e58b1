"""Every error leaves as ``{"errors": [...]}``; validation is 400, never 422."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from herald import errors

log = logging.getLogger("herald.api")

_BY_STATUS = {
    400: errors.INVALID,
    401: errors.UNAUTHORIZED,
    404: errors.NOT_FOUND,
    405: errors.INVALID,
    409: errors.CONFLICT,
    413: errors.TOO_LARGE,
    429: errors.RATE_LIMITED,
    503: errors.UNAVAILABLE,
}


def field_name(loc: Sequence[Any]) -> str:
    """``("body", "to", 3, "token")`` → ``to[3].token``."""
    parts = list(loc[1:] if loc and loc[0] in ("body", "query", "path", "header") else loc)
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part in ("function-after", "function-before") or "[" in str(part):
            continue
        else:
            out += ("." if out else "") + str(part)
    return out or "body"


def error_response(error: errors.HeraldError) -> JSONResponse:
    return JSONResponse(error.body(), status_code=error.status, headers=error.headers)


async def _herald(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, errors.HeraldError)
    return error_response(exc)


async def _validation(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "invalid request"}
    field = field_name(first.get("loc", ()))
    message = str(first.get("msg", "invalid value"))
    if first.get("type") == "json_invalid":
        field, message = "body", "the body is not valid JSON"
    return error_response(errors.invalid(field, f"{field}: {message}"))


async def _http(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    code = _BY_STATUS.get(exc.status_code, errors.INTERNAL)
    status = exc.status_code if exc.status_code in _BY_STATUS else 500
    body = {"errors": [{"code": code, "message": str(exc.detail), "context": {}}]}
    return JSONResponse(body, status_code=status, headers=dict(exc.headers or {}))


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.error(
        "unhandled error",
        extra={"path": request.url.path, "error": type(exc).__name__},
        exc_info=exc,
    )
    return error_response(errors.HeraldError(errors.INTERNAL, "internal error"))


def install(app: FastAPI) -> None:
    app.add_exception_handler(errors.HeraldError, _herald)
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(HTTPException, _http)
    app.add_exception_handler(Exception, _unexpected)
