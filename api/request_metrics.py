"""Counts and times API requests by endpoint name (never by raw path)."""

from __future__ import annotations

import time

from prometheus_client import Counter, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

REQUESTS = Counter("herald_api_requests_total", "API requests", ["method", "endpoint", "status"])
LATENCY = Histogram("herald_api_request_seconds", "API request time", ["method", "endpoint"])


class RequestMetrics:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def record_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, record_status)
        finally:
            endpoint = getattr(scope.get("route"), "name", "unmatched")
            REQUESTS.labels(scope["method"], endpoint, str(status)).inc()
            LATENCY.labels(scope["method"], endpoint).observe(time.perf_counter() - started)
