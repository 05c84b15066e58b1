"""Request bodies over ``HERALD_MAX_BODY_BYTES`` answer 413 in the API's error shape.

Starlette's own limit (FastAPI ``max_body_size``) answers a plain-text 413 and
replaces any response to a request whose Content-Length is too large, so
Herald uses this middleware instead: a declared length over the limit is
refused before the app runs, and a streamed (chunked) body is counted as it is
read, the app seeing an ``HTTPException(413)`` that the error handlers render.
"""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.error_handlers import error_response
from herald import errors


def too_large_message(limit: int) -> str:
    return f"the request body is larger than {limit} bytes"


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            error = errors.HeraldError(errors.TOO_LARGE, too_large_message(self.max_bytes))
            response = error_response(error)
            response.headers["Connection"] = "close"
            await response(scope, receive, send)
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            received = await receive()
            if received["type"] == "http.request":
                seen += len(received.get("body", b""))
                if seen > self.max_bytes:
                    raise HTTPException(413, too_large_message(self.max_bytes))
            return received

        await self.app(scope, counted, send)
